/**
 * info, check, map, measure, compare, resize, snapshot, commit, rebase,
 * amend, dd, bench: output, exit code and resulting files against qemu-img.
 */
import { describe, expect, it } from 'vitest';
import { readFileSync, readdirSync, existsSync } from 'node:fs';
import { join } from 'node:path';
import { argv, dispose, qemuCheck, qemuCompare, qemuInfo, qemuMap, runOurs, sh, tmp, cleanup, twin, type Twin } from './harness.js';

const SETUP = [
  'qemu-img create -q -f qcow2 b.qcow2 64M',
  'qemu-io -c "write -P 1 0 1M" -c "write -P 2 3M 64k" -c "write -z 5M 64k" b.qcow2 >/dev/null',
  'qemu-img create -q -f qcow2 -b b.qcow2 -F qcow2 t.qcow2',
  'qemu-io -c "write -P 3 512k 64k" t.qcow2 >/dev/null',
  'qemu-img create -q r.raw 1M',
  'qemu-io -f raw -c "write -P 5 0 4k" r.raw >/dev/null',
  'qemu-img create -q -f qcow2 b2.qcow2 2M',
  'qemu-io -c "write -P 1 0 4k" b2.qcow2 >/dev/null',
  'sync',
].join(' && ');
// snapshots carry the creation time: make them in one dir and copy to the twin
const SNAP = `${SETUP} && qemu-img snapshot -c s1 b.qcow2 && qemu-io -c "write -P 4 0 64k" b.qcow2 >/dev/null && qemu-img snapshot -c s2 b.qcow2`;

async function same(setup: string, args: string, then?: (t: Twin) => void): Promise<void> {
  const t = await twin(setup, argv(args));
  try {
    expect({ rc: t.t.rc, out: t.t.out, err: t.t.err }).toEqual({ rc: t.q.rc, out: t.q.out, err: t.q.err });
    expect(readdirSync(t.tdir).sort()).toEqual(readdirSync(t.qdir).sort());
    then?.(t);
  } finally {
    dispose(t);
  }
}

/** The files qemu-img and we changed must read back the same and describe themselves the same. */
function sameImage(file: string, fmt = 'qcow2') {
  return (t: Twin) => {
    const q = join(t.qdir, file);
    const o = join(t.tdir, file);
    expect(qemuCompare(q, o, fmt, fmt).out).toBe('Images are identical.\n');
    const strip = ({ 'actual-size': _a, filename: _f, 'full-backing-filename': _b, snapshots, ...rest }: Record<string, unknown>) =>
      ({ ...rest, snapshots: (snapshots as Array<Record<string, unknown>> | undefined)?.map(({ 'date-sec': _s, 'date-nsec': _n, ...x }) => x) });
    expect(strip(qemuInfo(o, fmt))).toEqual(strip(qemuInfo(q, fmt)));
    expect(qemuMap(o, fmt)).toEqual(qemuMap(q, fmt));
    if (fmt === 'qcow2') expect(qemuCheck(o).rc).toBe(0);
  };
}

/** Snapshot dates differ between twins made a second apart: compare one prepared dir against itself. */
async function sameIn(setup: string, args: string): Promise<void> {
  const dir = tmp();
  try {
    sh(dir, setup);
    const { runQemu } = await import('./harness.js');
    const q = runQemu(dir, argv(args));
    const t = await runOurs(dir, argv(args));
    expect(t).toEqual(q);
  } finally {
    cleanup(dir);
  }
}

describe('info', () => {
  for (const a of ['info b.qcow2', 'info t.qcow2', 'info --output=json t.qcow2', 'info --backing-chain t.qcow2',
    'info --backing-chain --output=json t.qcow2', 'info r.raw', 'info -f raw r.raw', 'info --output=json r.raw',
    'info -f qcow2 r.raw', 'info -f raw b.qcow2', 'info -U b.qcow2']) {
    it(a, () => same(SETUP, a));
  }
  it('relative backing in a subdirectory shows the actual path', () => same(
    'mkdir sub && qemu-img create -q -f qcow2 sub/base.qcow2 1M && qemu-img create -q -f qcow2 -b base.qcow2 -F qcow2 sub/top.qcow2',
    'info sub/top.qcow2'));
  it('snapshot table (human)', () => sameIn(SNAP, 'info b.qcow2'));
  it('snapshot table (json)', () => sameIn(SNAP, 'info --output=json b.qcow2'));
  it('compat=0.10 format specific block', () => same('qemu-img create -q -f qcow2 -o compat=0.10 v2.qcow2 1M', 'info v2.qcow2'));
});

describe('check', () => {
  for (const a of ['check b.qcow2', 'check t.qcow2', 'check --output=json b.qcow2', 'check -q b.qcow2', 'check r.raw',
    'check -f raw r.raw', 'check -r leaks b.qcow2', 'check -r all t.qcow2', 'check -r leaks r.raw']) {
    it(a, () => same(SETUP, a));
  }
  it('leaked cluster: rc 3, then -r leaks repairs', async () => {
    const leak = `${SETUP} && qemu-io -c "write -P 1 10M 64k" b.qcow2 >/dev/null && ` +
      'python3 -c "import os,struct;f=open(\'b.qcow2\',\'r+b\');f.seek(0,2);f.write(bytes(65536))"';
    await same(leak, 'check b.qcow2');
    await same(leak, 'check --output=json b.qcow2');
  });
});

describe('map', () => {
  for (const a of ['map b.qcow2', 'map t.qcow2', 'map --output=json b.qcow2', 'map --output=json t.qcow2',
    'map --start-offset=1M --max-length=10M --output=json t.qcow2', 'map --start-offset=3M --output=json b.qcow2']) {
    it(a, () => same(SETUP, a));
  }
  const ODD = 'truncate -s 1000000 o.raw && qemu-io -f raw -c "write -P 1 4096 8192" -c "write -P 2 999000 1000" o.raw >/dev/null && truncate -s 2M e.raw';
  for (const a of ['map -f raw --output=json o.raw', 'map -f raw o.raw', 'map o.raw', 'map --output=json e.raw',
    'map -f raw --output=json --start-offset 5000 --max-length 10000 o.raw', 'map -f raw --output=json r.raw']) {
    it(`raw holes: ${a}`, () => same(`${SETUP} && ${ODD}`, a));
  }
  it('compressed clusters are refused in human form', () => same(`${SETUP} && qemu-img convert -c -O qcow2 b.qcow2 c.qcow2`, 'map c.qcow2'));
});

describe('measure', () => {
  // z.raw: written zeros count as data for qemu-img (SEEK_DATA), holes do not
  const MEASURE_SETUP = `${SETUP} && truncate -s 8M z.raw && qemu-io -f raw -c "write -P 0 1M 128k" -c "write -P 3 5M 4k" z.raw >/dev/null`;
  for (const a of ['measure --size 0 -O qcow2', 'measure --size 3000M -O qcow2', 'measure --size 12345678901 -O qcow2',
    'measure --size 1T -O qcow2', 'measure --size 1G -O qcow2 -o cluster_size=4k', 'measure --size 1G -O qcow2 -o cluster_size=512',
    'measure --size 5T -O qcow2 -o cluster_size=2M', 'measure --size 1G -O qcow2 -o refcount_bits=1',
    'measure --size 1G -O qcow2 -o extended_l2=on', 'measure --size 1G -O qcow2 -o preallocation=full',
    'measure --size 1G', 'measure --size 1000 --output=json', 'measure --output=json --size 1G -O qcow2',
    'measure b.qcow2', 'measure -O qcow2 b.qcow2', 'measure -O qcow2 t.qcow2', 'measure -O qcow2 r.raw',
    'measure --output=json -O qcow2 t.qcow2', 'measure -O qcow2 -o help', 'measure --size 1G -O qcow2 -o bogus=1',
    'measure -O qcow2 -f raw z.raw']) {
    it(a, () => same(MEASURE_SETUP, a));
  }
});

describe('compare', () => {
  for (const a of ['compare b.qcow2 t.qcow2', 'compare t.qcow2 t.qcow2', 'compare -p b.qcow2 t.qcow2', 'compare -p t.qcow2 t.qcow2',
    'compare -q b.qcow2 t.qcow2', 'compare -s b.qcow2 b2.qcow2', 'compare b.qcow2 b2.qcow2', 'compare b2.qcow2 b.qcow2',
    'compare -s r.raw b.qcow2', 'compare r.raw b.qcow2', 'compare -f qcow2 -F raw b2.qcow2 r.raw', 'compare nope b.qcow2']) {
    it(a, () => same(SETUP, a));
  }
  it('mismatch offsets are sector aligned', () => same(
    `${SETUP} && qemu-img convert -O raw b.qcow2 x.raw && qemu-io -f raw -c "write -P 9 3158073 1" x.raw >/dev/null`,
    'compare b.qcow2 x.raw'));
  it('strict mode reports block status mismatches', () => same(
    'qemu-img create -q -f qcow2 a.qcow2 4M && qemu-img create -q -f qcow2 z.qcow2 4M && qemu-io -c "write -z 1M 64k" z.qcow2 >/dev/null',
    'compare -s a.qcow2 z.qcow2'));
});

describe('resize', () => {
  for (const a of ['resize b.qcow2 128M', 'resize b.qcow2 +1G', 'resize b.qcow2 -1M', 'resize b.qcow2 +1',
    'resize --shrink b.qcow2 32M', 'resize -q b.qcow2 --shrink -512k', 'resize b.qcow2 32M', 'resize -q b.qcow2 32M',
    'resize -f raw r.raw 2M', 'resize r.raw 3M', 'resize -f raw r.raw 1000', 'resize -f raw --shrink r.raw 1000',
    'resize b.qcow2 -- -1M', 'resize --preallocation=full -f raw r.raw 2M']) {
    it(a, () => same(SETUP, a, (t) => {
      const f = a.includes('r.raw') ? 'r.raw' : 'b.qcow2';
      if (a.includes('r.raw')) expect(readFileSync(join(t.tdir, f)).equals(readFileSync(join(t.qdir, f)))).toBe(true);
      else sameImage(f)(t);
    }));
  }
});

describe('snapshot', () => {
  for (const a of ['snapshot -l b.qcow2', 'snapshot b.qcow2', 'snapshot -a nosuch b.qcow2', 'snapshot -d nosuch b.qcow2',
    'snapshot -c x r.raw', 'snapshot -l r.raw', 'snapshot -f qcow2 -l b.qcow2', 'snapshot -a s r.raw', 'snapshot -d s r.raw']) {
    it(a, () => same(SETUP, a));
  }
  it('-l lists snapshots', () => sameIn(SNAP, 'snapshot -l b.qcow2'));
  it('-c creates a snapshot qemu-img lists', async () => {
    const dir = tmp();
    try {
      sh(dir, SETUP);
      const r = await runOurs(dir, argv('snapshot -c first b.qcow2'));
      expect(r).toEqual({ rc: 0, out: '', err: '' });
      const l = sh(dir, 'qemu-img snapshot -l b.qcow2');
      expect(l).toMatch(/^Snapshot list:\nID        TAG               VM SIZE                DATE     VM CLOCK     ICOUNT\n1         first                 0 B /);
      expect(qemuCheck(join(dir, 'b.qcow2')).rc).toBe(0);
    } finally {
      cleanup(dir);
    }
  });
  for (const a of ['snapshot -a s1 b.qcow2', 'snapshot -a 1 b.qcow2', 'snapshot -d s1 b.qcow2', 'snapshot -d 1 b.qcow2']) {
    it(a, async () => {
      const dir = tmp();
      try {
        sh(dir, `${SNAP} && cp b.qcow2 ref.qcow2`);
        const { runQemu } = await import('./harness.js');
        const q = runQemu(dir, argv(a.replace('b.qcow2', 'ref.qcow2')));
        const t = await runOurs(dir, argv(a));
        expect(t).toEqual(q);
        expect(readFileSync(join(dir, 'b.qcow2')).equals(readFileSync(join(dir, 'ref.qcow2')))).toBe(true);
      } finally {
        cleanup(dir);
      }
    });
  }
});

describe('commit', () => {
  for (const a of ['commit b.qcow2', 'commit -b nosuch t.qcow2', 'commit nope']) it(a, () => same(SETUP, a));
  it('commit t.qcow2', () => same(SETUP, 'commit t.qcow2', (t) => { sameImage('b.qcow2')(t); sameImage('t.qcow2')(t); }));
  it('commit -d t.qcow2', () => same(SETUP, 'commit -d t.qcow2', (t) => { sameImage('b.qcow2')(t); sameImage('t.qcow2')(t); }));
  it('commit -q -b b.qcow2 t.qcow2', () => same(SETUP, 'commit -q -b b.qcow2 t.qcow2', (t) => { sameImage('b.qcow2')(t); sameImage('t.qcow2')(t); }));
  it('commit -p prints progress and the result', async () => {
    const dir = tmp();
    try {
      sh(dir, SETUP);
      const r = await runOurs(dir, argv('commit -p t.qcow2'));
      expect(r.rc).toBe(0);
      expect(r.out.startsWith('    (0.00/100%)\r')).toBe(true);
      expect(r.out.endsWith('    (100.00/100%)\r\nImage committed.\n')).toBe(true);
    } finally {
      cleanup(dir);
    }
  });
});

describe('rebase', () => {
  for (const a of ['rebase t.qcow2', 'rebase -b nosuch t.qcow2', 'rebase -b b2.qcow2 t.qcow2', 'rebase -u -b b2.qcow2 t.qcow2']) {
    it(a, () => same(SETUP, a));
  }
  for (const a of ['rebase -u -b b2.qcow2 -F qcow2 t.qcow2', 'rebase -b b2.qcow2 -F qcow2 t.qcow2', "rebase -b '' t.qcow2",
    'rebase -q -b r.raw -F raw t.qcow2']) {
    it(a, () => same(SETUP, a, sameImage('t.qcow2')));
  }
});

describe('amend', () => {
  for (const a of ['amend t.qcow2', 'amend -o help t.qcow2', 'amend -f qcow2 -o help', 'amend -o cluster_size=4k b.qcow2',
    'amend -o compat=1.1 r.raw', 'amend -f raw -o compat=1.1 r.raw', 'amend -o bogus=1 b.qcow2']) {
    it(a, () => same(SETUP, a));
  }
  for (const a of ['amend -o compat=0.10 b.qcow2', 'amend -o lazy_refcounts=on b.qcow2', 'amend -o refcount_bits=8 b.qcow2',
    'amend -o size=128M b.qcow2']) {
    it(a, () => same(SETUP, a, sameImage('b.qcow2')));
  }
});

describe('dd', () => {
  for (const a of ['dd if=b.qcow2 of=x foo=1', 'dd if=b.qcow2', 'dd if=b.qcow2 of=x count=x', 'dd if=b.qcow2 of=x skip=10000']) {
    it(a, () => same(SETUP, a));
  }
  for (const a of ['dd if=b.qcow2 of=x bs=64k skip=2 count=20', 'dd if=b.qcow2 of=x bs=1k skip=1 count=1', 'dd if=r.raw of=x',
    'dd -f qcow2 if=t.qcow2 of=x bs=1M count=2']) {
    it(a, () => same(SETUP, a, (t) => expect(readFileSync(join(t.tdir, 'x')).equals(readFileSync(join(t.qdir, 'x')))).toBe(true)));
  }
  it('dd -O qcow2', () => same(SETUP, 'dd if=b.qcow2 of=x -O qcow2 bs=1M count=4', sameImage('x')));
});

describe('bench and bitmap', () => {
  it('bench prints the request line and a run time', async () => {
    const t = await twin(SETUP, argv('bench -c 200 -d 64 -s 64k -S 128k -w b.qcow2'));
    try {
      expect(t.t.rc).toBe(t.q.rc);
      expect(t.t.out.split('\n')[0]).toBe(t.q.out.split('\n')[0]);
      expect(t.t.out).toMatch(/\nRun completed in \d+\.\d{3} seconds\.\n$/);
      sameImage('b.qcow2')(t);
    } finally {
      dispose(t);
    }
  });
  for (const a of ['bench -c x b.qcow2', 'bench --flush-interval=10 b.qcow2', 'bench -w --flush-interval=10 b.qcow2',
    'bench -c 10 -s 1M -o 63M b.qcow2']) {
    it(a, () => same(SETUP, a.includes('-o 63M') ? SETUP : SETUP, (t) => void t));
  }
  it('bitmap answers with a clear "not supported"', async () => {
    const dir = tmp();
    try {
      sh(dir, SETUP);
      const r = await runOurs(dir, argv('bitmap --add b.qcow2 bm'));
      expect(r.rc).toBe(1);
      expect(r.err).toMatch(/not supported/);
      expect(existsSync(join(dir, 'b.qcow2'))).toBe(true);
    } finally {
      cleanup(dir);
    }
  });
});
