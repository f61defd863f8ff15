/**
 * convert against qemu-img: same messages and exit codes, and the images we
 * write read back identically (qemu-img compare), allocate the same guest
 * ranges (qemu-img map without host offsets), describe themselves the same
 * way (qemu-img info without disk size) and pass qemu-img check.
 */
import { describe, expect, it } from 'vitest';
import { existsSync, readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { argv, dispose, qemuCheck, qemuCompare, qemuInfo, qemuMap, runOurs, sh, tmp, cleanup, twin } from './harness.js';

const SETUP = [
  'qemu-img create -q -f qcow2 b.qcow2 64M',
  'qemu-io -c "write -P 1 0 1M" -c "write -P 2 3M 64k" -c "write -z 5M 64k" -c "write -P 0 7M 64k" -c "write -P 9 9M 4k" b.qcow2 >/dev/null',
  'qemu-img create -q -f qcow2 -b b.qcow2 -F qcow2 t.qcow2',
  'qemu-io -c "write -P 3 512k 64k" -c "write -z 3M 32k" t.qcow2 >/dev/null',
  'qemu-img create -q r.raw 8M',
  'qemu-io -f raw -c "write -P 5 0 4k" -c "write -P 6 1M 1M" -c "write -P 0 3M 1M" r.raw >/dev/null',
].join(' && ');

function stripInfo(i: Record<string, unknown>): Record<string, unknown> {
  const { 'actual-size': _a, filename: _f, 'full-backing-filename': _b, ...rest } = i;
  return rest;
}

async function convertCase(args: string, out: string, fmt: string, opts: { sameMap?: boolean } = {}): Promise<void> {
  return convertCase0(SETUP, args, out, fmt, opts);
}

async function convertCase0(setup: string, args: string, out: string, fmt: string, opts: { sameMap?: boolean } = {}): Promise<void> {
  const t = await twin(setup, argv(args));
  try {
    expect({ rc: t.t.rc, out: t.t.out, err: t.t.err }).toEqual({ rc: t.q.rc, out: t.q.out, err: t.q.err });
    const q = join(t.qdir, out);
    const o = join(t.tdir, out);
    expect(existsSync(o)).toBe(existsSync(q));
    if (!existsSync(q)) return;
    expect(qemuCompare(q, o, fmt, fmt).out).toBe('Images are identical.\n');
    expect(stripInfo(qemuInfo(o, fmt))).toEqual(stripInfo(qemuInfo(q, fmt)));
    if (opts.sameMap !== false) expect(qemuMap(o, fmt)).toEqual(qemuMap(q, fmt));
    if (fmt === 'qcow2') expect(qemuCheck(o).rc).toBe(0);
    if (fmt === 'raw') expect(readFileSync(o).equals(readFileSync(q))).toBe(true);
  } finally {
    dispose(t);
  }
}

describe('convert: results match qemu-img', () => {
  it('qcow2 -> raw (default format)', () => convertCase('convert b.qcow2 x', 'x', 'raw'));
  it('qcow2 -> qcow2', () => convertCase('convert -O qcow2 b.qcow2 x', 'x', 'qcow2'));
  it('overlay -> qcow2 flattens the chain', () => convertCase('convert -O qcow2 t.qcow2 x', 'x', 'qcow2'));
  it('overlay -> raw', () => convertCase('convert -O raw t.qcow2 x', 'x', 'raw'));
  it('raw -> qcow2 skips zero clusters', () => convertCase('convert -f raw -O qcow2 r.raw x', 'x', 'qcow2'));
  it('-B keeps only the top layer', () => convertCase('convert -O qcow2 -B b.qcow2 -F qcow2 t.qcow2 x', 'x', 'qcow2'));
  it('-S 0 fully allocates a qcow2', () => convertCase('convert -O qcow2 -S 0 -f raw r.raw x', 'x', 'qcow2'));
  it('-S 0 to raw', () => convertCase('convert -S 0 b.qcow2 x', 'x', 'raw'));
  it('-S 64k', () => convertCase('convert -S 64k -f raw -O qcow2 r.raw x', 'x', 'qcow2'));
  it('several sources are concatenated', () => convertCase('convert -O qcow2 -f raw r.raw r.raw x', 'x', 'qcow2'));
  it('mixed sources', () => convertCase('convert -O qcow2 r.raw b.qcow2 x', 'x', 'qcow2'));
  it('-o cluster_size=4k,compat=0.10', () => convertCase('convert -O qcow2 -o cluster_size=4k,compat=0.10 t.qcow2 x', 'x', 'qcow2'));
  it('-o lazy_refcounts=on', () => convertCase('convert -O qcow2 -o lazy_refcounts=on t.qcow2 x', 'x', 'qcow2'));
  it('-c writes compressed clusters qemu-img reads back', () => convertCase('convert -c -O qcow2 t.qcow2 x', 'x', 'qcow2'));
  it('-W -m 4 -t none -T none are accepted', () => convertCase('convert -W -m 4 -O qcow2 t.qcow2 x', 'x', 'qcow2'));
  it('-n into an existing large enough image', () => convertCase(
    'convert -n -O qcow2 b.qcow2 t.qcow2', 't.qcow2', 'qcow2', { sameMap: false }));
  it('-q is silent', () => convertCase('convert -q -O qcow2 b.qcow2 x', 'x', 'qcow2'));
  const SNAP = `${SETUP} && qemu-img snapshot -c s1 b.qcow2 && qemu-io -c "write -P 8 0 2M" b.qcow2 >/dev/null`;
  it('-l NAME converts an internal snapshot', () => convertCase0(SNAP, 'convert -l s1 -O qcow2 b.qcow2 x', 'x', 'qcow2'));
  it('-l snapshot.id=1', () => convertCase0(SNAP, 'convert -l snapshot.id=1 b.qcow2 x', 'x', 'raw'));
  it('-l snapshot.name=s1 to raw', () => convertCase0(SNAP, 'convert -l snapshot.name=s1 -O raw b.qcow2 x', 'x', 'raw'));
});

describe('convert: big sparse raw sources (holes found with SEEK_DATA)', () => {
  // 80 MiB with scattered data, including zero-filled written blocks and a data block crossing a window edge
  const BIG = 'truncate -s 80M s.raw && qemu-io -f raw -c "write -P 1 0 64k" -c "write -P 2 5M 300k" ' +
    '-c "write -P 0 9M 1M" -c "write -P 3 16760k 64k" -c "write -P 4 79M 1M" s.raw >/dev/null';
  it('raw -> qcow2', () => convertCase0(BIG, 'convert -f raw -O qcow2 s.raw x', 'x', 'qcow2'));
  it('raw -> raw', () => convertCase0(BIG, 'convert -f raw -O raw s.raw x', 'x', 'raw'));
  it('raw -> qcow2 -c', () => convertCase0(BIG, 'convert -c -f raw -O qcow2 s.raw x', 'x', 'qcow2'));
  it('the helper reports the data extents', async () => {
    const { dataExtents } = await import('../../src/util/extents.js');
    const dir = tmp();
    try {
      sh(dir, BIG);
      const e = await dataExtents(join(dir, 's.raw'));
      expect(e).not.toBeNull();
      // every written range lies inside a reported extent
      for (const [a, b] of [[0, 65536], [5 << 20, (5 << 20) + 300 * 1024], [79 << 20, 80 << 20]] as const) {
        expect(e!.some(([s, t]) => s <= a && t >= b)).toBe(true);
      }
    } finally {
      cleanup(dir);
    }
  });
});

describe('convert: refusals match qemu-img and leave nothing behind', () => {
  const cases = [
    'convert -O qcow2 -o bogus=1 b.qcow2 x', 'convert -O qcow2 -o cluster_size=1000 b.qcow2 x',
    'convert -n b.qcow2 r.raw', 'convert -n b.qcow2 nope', 'convert -c b.qcow2 x', 'convert -O bogus b.qcow2 x',
    'convert -l nosnap b.qcow2 x', 'convert b.qcow2 nope x', 'convert -B b.qcow2 b.qcow2 x',
    'convert -O qcow2 -B b.qcow2 b.qcow2 x', 'convert b.qcow2 /nonexistent/x', 'convert -O qcow2 -o help',
    'convert -o help', 'convert -O qcow2 -o size=1M b.qcow2 x',
    // the source (or its backing file) as target: qemu-img's lock error, source untouched
    'convert -O raw b.qcow2 b.qcow2', 'convert -n -O qcow2 b.qcow2 b.qcow2', 'convert -O qcow2 t.qcow2 b.qcow2',
    'dd if=b.qcow2 of=b.qcow2',
  ];
  for (const c of cases) {
    it(c, async () => {
      const t = await twin(SETUP, argv(c));
      try {
        expect({ rc: t.t.rc, out: t.t.out, err: t.t.err }).toEqual({ rc: t.q.rc, out: t.q.out, err: t.q.err });
        expect(readdirSync(t.tdir).sort()).toEqual(readdirSync(t.qdir).sort());
        for (const f of readdirSync(t.qdir)) {
          expect(readFileSync(join(t.tdir, f)).equals(readFileSync(join(t.qdir, f)))).toBe(true);
        }
      } finally {
        dispose(t);
      }
    });
  }
});

describe('convert: progress and failure handling', () => {
  it('-p prints qemu-img progress text: starts at 0.00, ends with 100.00 twice and a newline', async () => {
    const dir = tmp();
    try {
      sh(dir, SETUP);
      const r = await runOurs(dir, argv('convert -p -O qcow2 t.qcow2 x'));
      expect(r.rc).toBe(0);
      expect(r.out.startsWith('    (0.00/100%)\r')).toBe(true);
      expect(r.out.endsWith('    (100.00/100%)\r    (100.00/100%)\r\n')).toBe(true);
      for (const part of r.out.slice(0, -1).split('\r').filter(Boolean)) expect(part).toMatch(/^ {4}\(\d{1,3}\.\d\d\/100%\)$/);
    } finally {
      cleanup(dir);
    }
  });
  it('removes a target it created when the copy fails', async () => {
    const dir = tmp();
    try {
      // an L2 entry pointing far past the end: reads past EOF are zeros for qemu, so break the
      // source differently: a raw source truncated after open is not portable; use a bad backing format
      sh(dir, 'qemu-img create -q -f qcow2 b.qcow2 1M && qemu-img create -q -f qcow2 -u -b b.qcow2 -F raw t.qcow2 2M && rm b.qcow2 && mkdir b.qcow2');
      const r = await runOurs(dir, argv('convert -O qcow2 t.qcow2 x'));
      expect(r.rc).toBe(1);
      expect(existsSync(join(dir, 'x'))).toBe(false);
    } finally {
      cleanup(dir);
    }
  });
});
