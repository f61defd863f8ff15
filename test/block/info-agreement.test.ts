import { describe, it, expect, afterAll } from 'vitest';
import { openImage, createImage } from '../../src/block/index.js';
import type { BlockNode, SnapshotCapable } from '../../src/block/types.js';
import { tempDir, qemuImg, info } from './helpers.js';

const t = tempDir('info');
afterAll(() => t.cleanup());

async function agree(f: string): Promise<void> {
  const real = info(f) as Record<string, unknown>;
  const n = await openImage(f, { readOnly: true, noBacking: true });
  expect(n.driver.name).toBe(real['format']);
  expect(n.size()).toBe(real['virtual-size']);
  expect(await n.allocatedFileSize()).toBe(real['actual-size']);
  expect(n.dirty()).toBe(real['dirty-flag']);
  if (real['format'] === 'qcow2') {
    expect(n.clusterSize()).toBe(real['cluster-size']);
    expect(n.formatSpecific()).toEqual(real['format-specific']);
  }
  expect(n.backingFilename() ?? undefined).toBe(real['backing-filename']);
  expect(n.backingFormat() ?? undefined).toBe(real['backing-filename-format']);
  const snaps = (real['snapshots'] as Record<string, unknown>[] | undefined) ?? [];
  expect(n.snapshots().map((s) => ({
    icount: s.icount, 'vm-clock-nsec': s.vmClockNsec % 1e9, name: s.name, 'date-sec': s.dateSec,
    'date-nsec': s.dateNsec, 'vm-clock-sec': Math.floor(s.vmClockNsec / 1e9), id: s.id, 'vm-state-size': s.vmStateSize,
  }))).toEqual(snaps);
  await n.close();
}

describe('our view of images agrees with qemu-img info --output=json', () => {
  const cases: [string, Record<string, string>][] = [
    ['plain', {}],
    ['v2', { compat: '0.10' }],
    ['lazy-extl2-zstd', { lazy_refcounts: 'on', extended_l2: 'on', compression_type: 'zstd' }],
    ['rc8-4k', { refcount_bits: '8', cluster_size: '4k' }],
    ['datafile', { data_file: 'DATA' }],
  ];
  for (const [name, o] of cases) {
    it(name, async () => {
      const f = t.path(`${name}.qcow2`);
      const m = new Map(Object.entries(o).map(([k, v]) => [k, v === 'DATA' ? t.path(`${name}.data`) : v]));
      await createImage('qcow2', f, 32 << 20, m);
      const n = (await openImage(f, { readOnly: false })) as BlockNode & SnapshotCapable;
      await n.write(1 << 20, new Uint8Array(300000).fill(1));
      if (name !== 'datafile') await n.createSnapshot(`snap-${name}`);
      await n.close();
      await agree(f);
    });
  }
  it('with a backing file, and raw', async () => {
    const b = t.path('b.raw');
    await createImage('raw', b, 5 << 20, new Map());
    await agree(b);
    const top = t.path('top.qcow2');
    await createImage('qcow2', top, null, new Map([['backing_file', 'b.raw'], ['backing_fmt', 'raw']]));
    await agree(top);
    expect(qemuImg(['check', top]).status).toBe(0);
  });
});
