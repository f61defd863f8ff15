/**
 * qemu-ts-img against the real qemu-img 7.2: usage errors, getopt quirks,
 * size strings (reference section 2) and the bad-input table (section 15).
 * Every case runs both programs on twin directories and compares stdout,
 * stderr (prefix `qemu-ts-img: ` mapped back to `qemu-img: `) and the exit code.
 */
import { afterAll, describe, expect, it } from 'vitest';
import { existsSync, openSync, writeSync, closeSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { argv, dispose, runOurs, tmp, cleanup, sh, twin, type Twin } from './harness.js';

async function same(setup: string, args: string, check?: (t: Twin) => void): Promise<void> {
  const t = await twin(setup, argv(args));
  try {
    expect({ rc: t.t.rc, out: t.t.out, err: t.t.err }).toEqual({ rc: t.q.rc, out: t.q.out, err: t.q.err });
    // a refused command leaves the same files behind as qemu-img does
    expect(readdirSync(t.tdir).sort()).toEqual(readdirSync(t.qdir).sort());
    check?.(t);
  } finally {
    dispose(t);
  }
}

describe('usage errors and getopt quirks', () => {
  const cases = [
    '', 'info', 'check', 'map', 'snapshot', 'commit', 'bench', 'resize x', 'create', 'compare a', 'convert x',
    'rebase x', 'amend x', 'foo', '-x', '--foo', 'info -f', 'info --output', 'info --foo x', 'info -x a.img',
    'create x.img -5M', 'snapshot -fqcow2 -l s.qcow2', 'snapshot -f qcow2 -l s.qcow2', 'info --output=xml a',
    'check -r bogus a', 'create -f qcow2 x 1M extra', 'snapshot -l -c x a', 'snapshot -c 1 -a 2 a',
    'convert -m 17 a b', 'dd if=a', 'dd if=a of=b foo=1', 'measure', 'measure --size 1M a',
    'bench -c x a', 'bench --flush-interval=10 a', 'resize --preallocation=bogus a 1G',
    'info nope', 'check nope', 'map nope', 'snapshot -l nope', 'convert nope x', 'compare nope nope',
    'create -f bogus F 1M', 'convert -O bogus nope x', 'info -f bogus nope', 'info --backing-chain nope',
  ];
  for (const c of cases) it(`qemu-img ${c}`, () => same('', c));
});

describe('size strings through create (section 2)', () => {
  const sizes = ['3000M', '100', '100b', '1k', '1.5G', '0.1k', '1.0', '1.', '1.5', '1.7', '.5k', '1e3', '1,5k',
    '1MB', '1KiB', '5G5', '0x', '12abc', "''", "' '", "'1M '", "' 1M'", '+5M', '010', '0x100', '0x1k', '8E',
    '9223372036854775808', '18446744073709551615', '-- -5M'];
  for (const s of sizes) it(`create -f qcow2 x.qcow2 ${s}`, () => same('', `create -f qcow2 x.qcow2 ${s}`));
  it('raw create prints the Formatting line with the size as parsed', () => same('', 'create x.img 3000M'));
  it('resize has its own size message', () => same('qemu-img create -q -f qcow2 a 1M', 'resize a 1.5'));
  it('measure uses the image size message', () => same('', 'measure --size 1.5'));
  it('convert -S checks multiples of 512', () => same('', 'convert -S 1000 a b'));
  it('convert -S with a bad suffix', () => same('', 'convert -S 1x a b'));
  it('convert -S above 16M', () => same('', 'convert -S 32M a b'));
  it('dd bs=0', () => same('', 'dd bs=0 if=a of=b'));
  it('dd bs with a bad suffix', () => same('', 'dd bs=1x if=a of=b'));
});

/** Write bytes at an offset of a file (image patching). */
function patchScript(file: string, off: number, hex: string): string {
  const esc = hex.match(/../g)!.map((b) => `\\x${b}`).join('');
  return `printf '${esc}' | dd of=${file} bs=1 seek=${off} conv=notrunc status=none`;
}

const BASE = 'qemu-img create -q -f qcow2 i.qcow2 64M && qemu-io -c "write -P 7 0 128k" i.qcow2 >/dev/null';

describe('bad input (section 15)', () => {
  const infoCases: Array<[string, string]> = [
    ['truncated to 3 bytes', `${BASE} && truncate -s 3 i.qcow2`],
    ['truncated to 4 bytes', `${BASE} && truncate -s 4 i.qcow2`],
    ['truncated to 50 bytes', `${BASE} && truncate -s 50 i.qcow2`],
    ['truncated to 100 bytes', `${BASE} && truncate -s 100 i.qcow2`],
    ['header only (512 bytes)', `${BASE} && truncate -s 512 i.qcow2`],
    ['bad magic', `${BASE} && ${patchScript('i.qcow2', 0, '51464900')}`],
    ['version 4', `${BASE} && ${patchScript('i.qcow2', 4, '00000004')}`],
    ['version 99', `${BASE} && ${patchScript('i.qcow2', 4, '00000063')}`],
    ['version 0', `${BASE} && ${patchScript('i.qcow2', 4, '00000000')}`],
    ['unknown incompatible bit 5', `${BASE} && ${patchScript('i.qcow2', 79, '20')}`],
    ['compression-type bit with zlib', `${BASE} && ${patchScript('i.qcow2', 79, '08')}`],
    ['cluster_bits 8', `${BASE} && ${patchScript('i.qcow2', 20, '00000008')}`],
    ['cluster_bits 22', `${BASE} && ${patchScript('i.qcow2', 20, '00000016')}`],
    ['cluster_bits 31', `${BASE} && ${patchScript('i.qcow2', 20, '0000001f')}`],
    ['refcount_order 7', `${BASE} && ${patchScript('i.qcow2', 96, '00000007')}`],
    ['header_length 50', `${BASE} && ${patchScript('i.qcow2', 100, '00000032')}`],
    ['header_length 1000000', `${BASE} && ${patchScript('i.qcow2', 100, '000f4240')}`],
    ['l1_table_offset unaligned', `${BASE} && ${patchScript('i.qcow2', 40, '0000000000030200')}`],
    ['l1_size 0', `${BASE} && ${patchScript('i.qcow2', 36, '00000000')}`],
    ['l1_size 100000000', `${BASE} && ${patchScript('i.qcow2', 36, '05f5e100')}`],
    ['dirty bit', `${BASE} && ${patchScript('i.qcow2', 79, '01')}`],
  ];
  for (const [name, setup] of infoCases) {
    it(`info: ${name}`, () => same(setup, 'info i.qcow2'));
    it(`info -f qcow2: ${name}`, () => same(setup, 'info -f qcow2 i.qcow2'));
    it(`info --output=json: ${name}`, () => same(setup, 'info --output=json i.qcow2'));
  }
  it('a directory', () => same('mkdir d', 'info d'));
  it('missing backing file: info works', () => same(
    'qemu-img create -q -f qcow2 b.qcow2 1M && qemu-img create -q -f qcow2 -b b.qcow2 -F qcow2 top.qcow2 && rm b.qcow2',
    'info top.qcow2'));
  for (const cmd of ['info --backing-chain', 'convert', 'map', 'check', 'compare top.qcow2']) {
    it(`missing backing file: ${cmd}`, () => same(
      'qemu-img create -q -f qcow2 bb.qcow2 1M && qemu-img create -q -f qcow2 -b bb.qcow2 -F qcow2 top.qcow2 && rm bb.qcow2',
      cmd === 'convert' ? 'convert top.qcow2 out.raw' : `${cmd} top.qcow2`));
  }
  const LOOP = 'qemu-img create -q -f qcow2 la.qcow2 1M && qemu-img create -q -f qcow2 -b la.qcow2 -F qcow2 lb.qcow2 ' +
    '&& qemu-img rebase -u -b lb.qcow2 -F qcow2 la.qcow2';
  it('loop in the backing chain: info works', () => same(LOOP, 'info la.qcow2'));
  it('loop in the backing chain: info --backing-chain refuses', () => same(LOOP, 'info --backing-chain la.qcow2'));
  // qemu-img hangs on these (reference 17.1); qemu-ts-img must refuse instead
  for (const cmd of ['check la.qcow2', 'convert la.qcow2 out.raw', 'map la.qcow2', 'compare la.qcow2 lb.qcow2']) {
    it(`loop in the backing chain: ${cmd} fails instead of hanging`, async () => {
      const dir = tmp();
      try {
        sh(dir, LOOP);
        const r = await runOurs(dir, argv(cmd));
        expect(r.rc).not.toBe(0);
        expect(r.err).toMatch(/creates an infinite loop\.\n$/);
        expect(existsSync(join(dir, 'out.raw'))).toBe(false);
      } finally {
        cleanup(dir);
      }
    });
  }
});

describe('end to end through bin/qemu-ts-img.js (needs npm run build)', () => {
  const built = existsSync(new URL('../../dist/img/main.js', import.meta.url));
  it.skipIf(!built)('runs a subcommand and passes the exit code', async () => {
    const { spawnSync } = await import('node:child_process');
    const bin = new URL('../../bin/qemu-ts-img.js', import.meta.url).pathname;
    const r = spawnSync(process.execPath, [bin, 'info', '/nonexistent/x'], { encoding: 'utf8' });
    expect(r.status).toBe(1);
    expect(r.stderr).toBe("qemu-ts-img: Could not open '/nonexistent/x': Could not open '/nonexistent/x': No such file or directory\n");
    const v = spawnSync(process.execPath, [bin, '--version'], { encoding: 'utf8' });
    expect(v.status).toBe(0);
    expect(v.stdout.split(' ')[2]).toMatch(/^7\.2\./);
  });
});

afterAll(() => {
  // nothing global to clean: each case removes its own directories
  void openSync; void writeSync; void closeSync;
});
