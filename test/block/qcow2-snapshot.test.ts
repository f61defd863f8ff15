import { describe, it, expect, afterAll } from 'vitest';
import { readFileSync, copyFileSync } from 'node:fs';
import { openImage } from '../../src/block/index.js';
import type { BlockNode, SnapshotCapable, Resizable } from '../../src/block/types.js';
import { tempDir, qemuImg, qemuIo, info } from './helpers.js';

const t = tempDir('snap');
afterAll(() => t.cleanup());

type Node = BlockNode & SnapshotCapable & Resizable;
const open = async (f: string) => (await openImage(f, { readOnly: false })) as Node;

function content(f: string): Buffer {
  const out = `${f}.raw`;
  const r = qemuImg(['convert', '-O', 'raw', f, out]);
  expect(r.stderr).toBe('');
  return readFileSync(out);
}

function check(f: string): void {
  const r = qemuImg(['check', f]);
  expect(r.stderr).toBe('');
  expect(r.status).toBe(0);
}

/** File bytes with the snapshot dates blanked (they differ between runs). */
function masked(f: string): Buffer {
  const b = readFileSync(f);
  const nb = b.readUInt32BE(60);
  let off = Number(b.readBigUInt64BE(64));
  for (let i = 0; i < nb; i++) {
    b.fill(0, off + 16, off + 24);
    const extra = b.readUInt32BE(off + 36);
    const len = 40 + extra + b.readUInt16BE(off + 12) + b.readUInt16BE(off + 14);
    off += (len + 7) & ~7;
  }
  return b;
}

function sameMasked(a: string, b: string): void {
  const x = masked(a);
  const y = masked(b);
  const diffs: number[] = [];
  for (let i = 0; i < Math.max(x.length, y.length) && diffs.length < 8; i++) if (x[i] !== y[i]) diffs.push(i);
  expect({ len: y.length, diffs }).toEqual({ len: x.length, diffs: [] });
}

function img(name: string, opts = ''): string {
  const f = t.path(name);
  qemuImg(['create', '-q', '-f', 'qcow2', ...(opts ? ['-o', opts] : []), f, '16M']);
  qemuIo(f, ['write -P 1 0 1M', 'write -c -P 2 2M 128k', 'write -z 3M 64k', 'write -P 3 5M 100k']);
  return f;
}

describe('internal snapshots', () => {
  it('create is byte-identical to qemu-img snapshot -c (dates aside)', async () => {
    const a = img('a.qcow2');
    const b = t.path('b.qcow2');
    copyFileSync(a, b);
    qemuImg(['snapshot', '-c', 'snap1', a]);
    const n = await open(b);
    await n.createSnapshot('snap1');
    await n.close();
    sameMasked(a, b);
    qemuImg(['snapshot', '-c', 'second', a]);
    const n2 = await open(b);
    await n2.createSnapshot('second');
    expect(n2.snapshots().map((s) => [s.id, s.name])).toEqual([['1', 'snap1'], ['2', 'second']]);
    await n2.close();
    sameMasked(a, b);
    check(b);
    const i = info(b) as { snapshots: { id: string; name: string }[] };
    expect(i.snapshots.map((s) => s.name)).toEqual(['snap1', 'second']);
  });

  it('writes after a snapshot copy on write; apply restores; delete frees', async () => {
    for (const opts of ['', 'extended_l2=on', 'compat=0.10', 'refcount_bits=8,cluster_size=4k']) {
      const f = img(`w${opts.length}.qcow2`, opts);
      const before = content(f);
      const n = await open(f);
      await n.createSnapshot('s');
      await n.write(4096, new Uint8Array(100000).fill(0x55));
      await n.write(2 << 20, new Uint8Array(5000).fill(0x66));
      await n.writeZeroes(5 << 20, 65536, true);
      await n.close();
      check(f);
      const after = content(f);
      expect(after.equals(before)).toBe(false);
      // qemu-img sees our snapshot's content.
      const copy = t.path(`w${opts.length}-copy.qcow2`);
      copyFileSync(f, copy);
      expect(qemuImg(['snapshot', '-a', 's', copy]).status).toBe(0);
      expect(content(copy).equals(before)).toBe(true);
      // Apply through us.
      const n2 = await open(f);
      await n2.applySnapshot('1');
      await n2.close();
      check(f);
      expect(content(f).equals(before)).toBe(true);
      const n3 = await open(f);
      await n3.write(0, new Uint8Array(70000).fill(0x77));
      await n3.deleteSnapshot('s');
      expect(n3.snapshots()).toEqual([]);
      await n3.close();
      check(f);
      const expected = Buffer.from(before);
      expected.fill(0x77, 0, 70000);
      expect(content(f).equals(expected)).toBe(true);
    }
  });

  it('delete matches qemu-img snapshot -d byte for byte', async () => {
    const a = img('d.qcow2');
    qemuImg(['snapshot', '-c', 'x', a]);
    qemuImg(['snapshot', '-c', 'y', a]);
    const b = t.path('d2.qcow2');
    copyFileSync(a, b);
    qemuImg(['snapshot', '-d', 'x', a]);
    const n = await open(b);
    await n.deleteSnapshot('x');
    await n.close();
    sameMasked(a, b);
    qemuImg(['snapshot', '-d', 'y', a]);
    const n2 = await open(b);
    await n2.deleteSnapshot('y');
    await n2.close();
    expect(readFileSync(b).equals(readFileSync(a))).toBe(true);
  });

  it('errors', async () => {
    const f = img('e.qcow2');
    const n = await open(f);
    await expect(n.applySnapshot('nosuch')).rejects.toThrow('Failed to load snapshot: No such file or directory');
    await expect(n.deleteSnapshot('nosuch')).rejects.toThrow('snapshot not found');
    await n.createSnapshot('one');
    await expect(n.deleteSnapshot('1')).rejects.toThrow('snapshot not found');
    await n.close();
  });
});

describe('resize', () => {
  for (const [from, to, shrink] of [['16M', 2 * 2 ** 30, false], ['16M', 8 << 20, true], ['16M', 20 << 20, false]] as const) {
    it(`${from} -> ${to} matches qemu-img resize`, async () => {
      const a = img(`r${to}.qcow2`);
      const b = t.path(`r${to}-ours.qcow2`);
      copyFileSync(a, b);
      expect(qemuImg(['resize', ...(shrink ? ['--shrink'] : []), a, String(to)]).status).toBe(0);
      const n = await open(b);
      await n.truncate(to, { shrink, prealloc: 'off' });
      expect(n.size()).toBe(to);
      await n.close();
      check(b);
      expect(readFileSync(b).equals(readFileSync(a))).toBe(true);
    });
  }
  it('refuses sizes that are not multiples of 512 and shrinking without the flag', async () => {
    const n = await open(img('rr.qcow2'));
    await expect(n.truncate(1000, { shrink: true, prealloc: 'off' })).rejects.toThrow('The new size must be a multiple of 512');
    await expect(n.truncate(1 << 20, { shrink: false, prealloc: 'off' })).rejects.toThrow('Use the --shrink option to perform a shrink operation.');
    await n.close();
  });
});
