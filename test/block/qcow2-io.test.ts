import { describe, it, expect, afterAll } from 'vitest';
import { readFileSync, writeFileSync } from 'node:fs';
import { openImage, createImage, closeChain } from '../../src/block/index.js';
import type { BlockNode, SnapshotCapable } from '../../src/block/types.js';
import { tempDir, qemuImg, qemuIo, pattern } from './helpers.js';

const t = tempDir('io');
afterAll(() => t.cleanup());

/** Guest content of an image as qemu-img sees it. */
function realContent(file: string): Buffer {
  const out = `${file}.out.raw`;
  const r = qemuImg(['convert', '-O', 'raw', file, out]);
  expect(r.stderr).toBe('');
  return readFileSync(out);
}

async function ourContent(node: BlockNode): Promise<Uint8Array> {
  const buf = new Uint8Array(node.size());
  // Odd-sized chunks so reads cross cluster and subcluster boundaries.
  const step = 98765;
  for (let off = 0; off < buf.length; off += step) await node.read(off, buf.subarray(off, Math.min(buf.length, off + step)));
  return buf;
}

function check(file: string): void {
  const r = qemuImg(['check', file]);
  expect(r.stderr).toBe('');
  expect(r.stdout).toContain('No errors were found on the image.');
  expect(r.status).toBe(0);
}

describe('reading images written by qemu-io', () => {
  const setups: [string, string, string[]][] = [
    ['default', '', []],
    ['v2', 'compat=0.10', []],
    ['ext-l2', 'extended_l2=on', []],
    ['512', 'cluster_size=512', []],
    ['zstd', 'compression_type=zstd', []],
    ['rc1', 'refcount_bits=1', []],
  ];
  for (const [name, o] of setups) {
    it(`${name}: data, zero, compressed, partial clusters`, async () => {
      const f = t.path(`q-${name}.qcow2`);
      qemuImg(['create', '-q', '-f', 'qcow2', ...(o ? ['-o', o] : []), f, '8M']);
      const cmds = [
        'write -P 0xab 0 64k',
        'write -P 0x11 70000 5000',
        'write -c -P 0x5a 1M 64k',
        'write -c -P 0x33 2M 128k',
        'write -P 0x77 3M 200k',
        'write -z 3100k 64k',
        'write -P 0x99 8384000 4608',
      ];
      const r = qemuIo(f, cmds);
      expect(r.status).toBe(0);
      const n = await openImage(f, { readOnly: true });
      expect(Buffer.from(await ourContent(n)).equals(realContent(f))).toBe(true);
      await n.close();
    });
  }

  it('backing chain: reads fall through, beyond a smaller backing read zeros', async () => {
    const b = t.path('chain-base.qcow2');
    const m = t.path('chain-mid.qcow2');
    const top = t.path('chain-top.qcow2');
    qemuImg(['create', '-q', '-f', 'qcow2', b, '2M']);
    qemuIo(b, ['write -P 0x01 0 2M']);
    qemuImg(['create', '-q', '-f', 'qcow2', '-b', b, '-F', 'qcow2', m, '4M']);
    qemuIo(m, ['write -P 0x02 1M 100k', 'write -z 1536k 64k']);
    qemuImg(['create', '-q', '-f', 'qcow2', '-o', 'extended_l2=on', '-b', m, '-F', 'qcow2', top, '6M']);
    qemuIo(top, ['write -P 0x03 4k 4k', 'write -P 0x04 1900k 300k']);
    const n = await openImage(top, { readOnly: true });
    expect(n.backing?.backing).not.toBeNull();
    expect(Buffer.from(await ourContent(n)).equals(realContent(top))).toBe(true);
    const st = await n.blockStatus(0, 4096);
    expect(st.depth).toBe(2);
    const st2 = await n.blockStatus(4096, 4096);
    expect(st2.depth).toBe(0);
    expect(st2.data).toBe(true);
    await closeChain(n);
  });

  it('raw-deflate streams with a 32 KiB window read back (convert -c output)', async () => {
    const src = t.path('c-src.raw');
    const data = Buffer.alloc(4 << 20);
    const p = pattern(8192, 7);
    for (let i = 0; i < data.length; i += 8192) data.set(p, i);
    writeFileSync(src, data);
    const f = t.path('c.qcow2');
    qemuImg(['convert', '-c', '-O', 'qcow2', '-f', 'raw', src, f]);
    const n = await openImage(f, { readOnly: true });
    expect(Buffer.from(await ourContent(n)).equals(data)).toBe(true);
    await n.close();
  });
});

/** Apply random operations to our image and to a model; compare with qemu-img's view. */
async function fuzz(name: string, createOpts: Record<string, string>, size: number, ops: number, withBacking: boolean, extra = false): Promise<void> {
  const f = t.path(`w-${name}.qcow2`);
  const model = new Uint8Array(size);
  const o = new Map(Object.entries(createOpts));
  if (withBacking) {
    const b = t.path(`w-${name}-base.qcow2`);
    qemuImg(['create', '-q', '-f', 'qcow2', b, String(size / 2)]);
    qemuIo(b, [`write -P 0x42 0 ${size / 2}`]);
    model.fill(0x42, 0, size / 2);
    o.set('backing_file', b);
    o.set('backing_fmt', 'qcow2');
  }
  await createImage('qcow2', f, size, o);
  type Full = BlockNode & SnapshotCapable & { writeCompressed(off: number, d: Uint8Array): Promise<void>; clusterSize(): number };
  let n = (await openImage(f, { readOnly: false })) as Full;
  const cs = n.clusterSize();
  const snaps = new Map<string, Uint8Array>();
  let seed = 12345 + name.length;
  const rnd = (k: number) => {
    seed = (seed * 1103515245 + 12345) >>> 0;
    return seed % k;
  };
  for (let i = 0; i < ops; i++) {
    const kind = rnd(extra ? 14 : 10);
    const off = rnd(size);
    const len = Math.min(size - off, 1 + rnd(kind < 2 ? 300000 : 70000));
    if (kind < 7) {
      const d = pattern(len, i + 1);
      await n.write(off, d);
      model.set(d, off);
    } else if (kind < 10) {
      await n.writeZeroes(off, len, kind === 9);
      model.fill(0, off, off + len);
    } else if (kind < 12) {
      // Whole compressible clusters, written compressed.
      const c0 = Math.floor(off / cs);
      for (let c = c0; c < Math.min(c0 + 1 + rnd(4), size / cs); c++) {
        const d = new Uint8Array(cs);
        for (let k = 0; k < cs; k++) d[k] = ((k >> 5) * (i + 3)) & 0xff;
        await n.writeCompressed(c * cs, d);
        model.set(d, c * cs);
      }
    } else if (kind === 12) {
      const sn = `s${i}`;
      await n.createSnapshot(sn);
      snaps.set(sn, model.slice());
    } else if (snaps.size) {
      const names = [...snaps.keys()];
      const sn = names[rnd(names.length)]!;
      if (rnd(2)) {
        await n.applySnapshot(sn);
        model.set(snaps.get(sn)!);
      } else {
        await n.deleteSnapshot(sn);
        snaps.delete(sn);
      }
    }
    if (i === Math.floor(ops / 2)) {
      // Reopen half-way: everything must have been persisted.
      await closeChain(n);
      n = (await openImage(f, { readOnly: false })) as Full;
    }
  }
  expect(Buffer.from(await ourContent(n)).equals(Buffer.from(model))).toBe(true);
  await closeChain(n);
  check(f);
  expect(realContent(f).equals(Buffer.from(model))).toBe(true);
  for (const [sn, m] of snaps) expect(content(f, sn).equals(Buffer.from(m))).toBe(true);
  if (createOpts['data_file_raw'] === 'on') {
    // The external data file itself is a valid raw image of the guest disk.
    expect(readFileSync(createOpts['data_file']!).equals(Buffer.from(model))).toBe(true);
  }
}

function content(f: string, snapshot: string): Buffer {
  const out = `${f}.${snapshot}.raw`;
  const r = qemuImg(['convert', '-l', snapshot, '-O', 'raw', f, out]);
  expect(r.stderr).toBe('');
  return readFileSync(out);
}

describe('writing: qemu-img check passes and content matches', () => {
  it('default options', () => fuzz('default', {}, 8 << 20, 150, false));
  it('with backing file', () => fuzz('backing', {}, 8 << 20, 150, true));
  it('compat 0.10 with backing', () => fuzz('v2', { compat: '0.10' }, 4 << 20, 100, true));
  it('extended L2 with backing', () => fuzz('extl2', { extended_l2: 'on', cluster_size: '32k' }, 8 << 20, 150, true));
  it('512-byte clusters grow the refcount table', () => fuzz('c512', { cluster_size: '512' }, 12 << 20, 60, false));
  it('1-bit refcounts', () => fuzz('rc1', { refcount_bits: '1', cluster_size: '4k' }, 4 << 20, 100, false));
  it('64-bit refcounts', () => fuzz('rc64', { refcount_bits: '64' }, 4 << 20, 60, true));
  it('lazy refcounts', () => fuzz('lazy', { lazy_refcounts: 'on' }, 4 << 20, 60, false));
  it('mixed with compressed writes and snapshots', () => fuzz('mix', {}, 8 << 20, 200, true, true));
  it('mixed, 4k clusters, 8-bit refcounts', () => fuzz('mix4k', { cluster_size: '4k', refcount_bits: '8' }, 4 << 20, 200, false, true));
  it('mixed, extended L2, zstd', () => fuzz('mixext', { extended_l2: 'on', compression_type: 'zstd' }, 8 << 20, 200, true, true));
  it('mixed, compat 0.10', () => fuzz('mixv2', { compat: '0.10' }, 4 << 20, 150, true, true));
  it('mixed, 512-byte clusters (refcount table growth with snapshots)', () => fuzz('mix512', { cluster_size: '512' }, 10 << 20, 120, false, true));
  it('external data file', () => fuzz('datafile', { data_file: t.path('w-datafile.data') }, 4 << 20, 120, false));
  it('external raw data file', () => fuzz('datafileraw', { data_file: t.path('w-datafileraw.data'), data_file_raw: 'on' }, 4 << 20, 120, false));
});

describe('refcount table growth', () => {
  it('512-byte clusters: 10 MiB of data moves the refcount table; qemu-img check passes', async () => {
    const f = t.path('grow.qcow2');
    await createImage('qcow2', f, 16 << 20, new Map([['cluster_size', '512']]));
    const n = await openImage(f, { readOnly: false });
    const d = pattern(10 << 20, 99);
    for (let off = 0; off < d.length; off += 1 << 20) await n.write(off + 4096, d.subarray(off, off + (1 << 20)));
    await n.close();
    const head = readFileSync(f).subarray(0, 64);
    expect(head.readUInt32BE(52)).not.toBe(512);
    expect(head.readUInt32BE(56)).toBeGreaterThan(1);
    check(f);
    expect(realContent(f).subarray(4096, 4096 + d.length).equals(Buffer.from(d))).toBe(true);
  });
});

describe('our writes read back through qemu-io', () => {
  it('pattern checks', async () => {
    const f = t.path('qio.qcow2');
    await createImage('qcow2', f, 4 << 20, new Map());
    const n = await openImage(f, { readOnly: false });
    await n.write(0, new Uint8Array(65536).fill(0xab));
    await n.write(100000, new Uint8Array(3000).fill(0xcd));
    await n.writeZeroes(1 << 20, 1 << 20, false);
    await n.close();
    const r = qemuIo(f, ['read -P 0xab 0 64k', 'read -P 0xcd 100000 3000', 'read -P 0 1M 1M']);
    expect(r.stdout).not.toContain('Pattern verification failed');
    expect(r.status).toBe(0);
    // write -z on v3 makes zero clusters without host clusters, as qemu does.
    const map = JSON.parse(qemuImg(['map', '--output=json', f]).stdout) as { start: number; zero: boolean; data: boolean }[];
    expect(map.find((e) => e.start === 1 << 20)).toMatchObject({ zero: true, data: false });
  });

  it('compressed cluster writes (zlib and zstd)', async () => {
    for (const ct of ['zlib', 'zstd']) {
      const f = t.path(`cw-${ct}.qcow2`);
      await createImage('qcow2', f, 2 << 20, new Map([['compression_type', ct]]));
      const n = (await openImage(f, { readOnly: false })) as BlockNode & { writeCompressed(o: number, d: Uint8Array): Promise<void> };
      const model = new Uint8Array(2 << 20);
      for (let c = 0; c < 32; c++) {
        const d = new Uint8Array(65536);
        if (c % 3 === 0) d.set(pattern(65536, c + 1)); // incompressible: stored as a normal cluster
        else for (let i = 0; i < d.length; i++) d[i] = (i * c) & 0x3f;
        await n.writeCompressed(c * 65536, d);
        model.set(d, c * 65536);
      }
      await n.close();
      check(f);
      expect(realContent(f).equals(Buffer.from(model))).toBe(true);
      const ck = qemuImg(['check', f]).stdout;
      expect(ck).toMatch(/compressed clusters/);
      expect(ck).not.toContain('0.00% compressed');
    }
  });
});

describe('corrupt mappings fail cleanly', () => {
  it('unaligned L1 or L2 offsets give Input/output error, not garbage', async () => {
    const f = t.path('bad.qcow2');
    qemuImg(['create', '-q', '-f', 'qcow2', f, '4M']);
    qemuIo(f, ['write -P 1 0 128k']);
    const b = readFileSync(f);
    b.writeBigUInt64BE(0x8000000000050200n, 0x40000);
    writeFileSync(f, b);
    const real = qemuImg(['convert', '-O', 'raw', f, t.path('bad.raw')]);
    expect(real.stderr).toContain('Input/output error');
    const n = await openImage(f, { readOnly: true });
    await expect(n.read(0, new Uint8Array(512))).rejects.toThrow('Input/output error');
    const ok = new Uint8Array(512);
    await n.read(65536, ok);
    expect(ok[0]).toBe(1);
    await n.close();
    b.writeBigUInt64BE(0x8000000000040200n, 0x30000);
    writeFileSync(f, b);
    const n2 = await openImage(f, { readOnly: true });
    await expect(n2.read(0, new Uint8Array(512))).rejects.toThrow('Input/output error');
    await n2.close();
  });
});

describe('block status agrees with qemu-img map', () => {
  it('data, zero (with and without host cluster), compressed, backing', async () => {
    const b = t.path('map-base.qcow2');
    const f = t.path('map.qcow2');
    qemuImg(['create', '-q', '-f', 'qcow2', b, '8M']);
    qemuIo(b, ['write -P 1 6M 1M']);
    qemuImg(['create', '-q', '-f', 'qcow2', '-b', b, '-F', 'qcow2', f]);
    qemuIo(f, ['write -P 2 0 1M', 'write -P 3 2M 256k', 'write -z 2M 128k', 'write -z -u 1M 64k', 'write -P 4 3M 64k', 'write -z -u 3M 64k', 'write -P 5 4M 192k']);
    const real = JSON.parse(qemuImg(['map', '--output=json', f]).stdout) as { start: number; length: number; depth: number; present: boolean; zero: boolean; data: boolean; offset?: number }[];
    const n = await openImage(f, { readOnly: true });
    const ours: typeof real = [];
    for (let off = 0; off < n.size();) {
      const st = await n.blockStatus(off, n.size() - off);
      const e = { start: off, length: st.length, depth: st.depth, present: st.allocated, zero: st.zero, data: st.data, ...(st.hostOffset !== undefined ? { offset: st.hostOffset } : {}) };
      const prev = ours[ours.length - 1];
      // Merge like qemu-img map: same flags and contiguous host offsets.
      if (prev && prev.depth === e.depth && prev.present === e.present && prev.zero === e.zero && prev.data === e.data &&
          (prev.offset === undefined) === (e.offset === undefined) && (prev.offset === undefined || prev.offset + prev.length === e.offset)) {
        prev.length += e.length;
      } else ours.push(e);
      off += st.length;
    }
    await closeChain(n);
    expect(ours).toEqual(real);
  });
});

describe('compressed packing and frees', () => {
  it('overwriting compressed clusters between compressed writes keeps everything consistent', async () => {
    const f = t.path('pack.qcow2');
    await createImage('qcow2', f, 4 << 20, new Map([['cluster_size', '4k'], ['refcount_bits', '4']]));
    const n = (await openImage(f, { readOnly: false })) as BlockNode & { writeCompressed(o: number, d: Uint8Array): Promise<void> };
    const model = new Uint8Array(4 << 20);
    const comp = (c: number, v: number) => {
      const d = new Uint8Array(4096);
      for (let i = 0; i < d.length; i++) d[i] = (i >> 6) ^ v;
      return d;
    };
    for (let round = 0; round < 3; round++) {
      for (let c = 0; c < 200; c++) {
        const d = comp(c, c + round);
        await n.writeCompressed(c * 4096, d);
        model.set(d, c * 4096);
        if (c % 17 === 0) {
          const w = new Uint8Array(6000).fill(round + 1);
          await n.write(c * 4096 + 100, w);
          model.set(w, c * 4096 + 100);
          await n.flush();
        }
      }
    }
    const ours = await ourContent(n);
    await n.close();
    check(f);
    const real = realContent(f);
    const firstDiff = (a: Uint8Array, b: Uint8Array) => { for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return i; return -1; };
    expect({ oursVsModel: firstDiff(ours, model), realVsModel: firstDiff(real, model) }).toEqual({ oursVsModel: -1, realVsModel: -1 });
  });
});
