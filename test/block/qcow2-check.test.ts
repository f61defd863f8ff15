import { describe, it, expect, afterAll } from 'vitest';
import { readFileSync, writeFileSync, copyFileSync, appendFileSync } from 'node:fs';
import { openImage } from '../../src/block/index.js';
import type { BlockNode, Checkable, CheckResult } from '../../src/block/types.js';
import { tempDir, qemuImg, qemuIo } from './helpers.js';

const t = tempDir('check');
afterAll(() => t.cleanup());

/** A 64 MiB image with 1 MiB of data: L1 at 0x30000, L2 at 0x40000, data clusters 5..20. */
function base(name: string): string {
  const f = t.path(name);
  qemuImg(['create', '-q', '-f', 'qcow2', f, '64M']);
  qemuIo(f, ['write -P 1 0 1M']);
  return f;
}

function patch(f: string, fn: (b: Buffer) => void): void {
  const b = readFileSync(f);
  fn(b);
  writeFileSync(f, b);
}

async function ourCheck(f: string, fix: { leaks: boolean; all: boolean }): Promise<{ lines: string[]; res: CheckResult | null; err: string | null }> {
  const lines: string[] = [];
  const n = (await openImage(f, { readOnly: !(fix.leaks || fix.all), forCheck: true, allowCorrupt: true })) as BlockNode & Checkable;
  try {
    return { lines, res: await n.check(fix, (l) => lines.push(l)), err: null };
  } catch (e) {
    return { lines, res: null, err: (e as Error).message };
  } finally {
    await n.close();
  }
}

function rcOf(r: CheckResult): number {
  if (r.checkErrors) return 1;
  if (r.corruptions) return 2;
  if (r.leaks) return 3;
  return 0;
}

const CASES: [string, (b: Buffer, f: string) => void][] = [
  ['extra cluster at EOF with refcount 1', (b) => b.writeUInt16BE(1, 0x20000 + 21 * 2)],
  ['data cluster refcount 0', (b) => b.writeUInt16BE(0, 0x20000 + 5 * 2)],
  ['data cluster refcount 2', (b) => b.writeUInt16BE(2, 0x20000 + 5 * 2)],
  ['L2 entry past EOF', (b) => b.writeBigUInt64BE(0x8000000040000000n, 0x40000)],
  ['L2 entry unaligned', (b) => b.writeBigUInt64BE(0x8000000000060200n, 0x40008)],
  ['L1 entry past EOF', (b) => b.writeBigUInt64BE(0x8000000040000000n, 0x30000)],
  ['two L2 entries to one cluster', (b) => b.writeBigUInt64BE(0x8000000000050000n, 0x40008)],
  ['L2 entry to the refcount table', (b) => b.writeBigUInt64BE(0x8000000000010000n, 0x40000)],
  ['refcount table past EOF', (b) => b.writeBigUInt64BE(0x40000000n, 48)],
];

describe('check findings match qemu-img check', () => {
  CASES.forEach(([name, p], i) => {
    it(name, async () => {
      const f = base(`c${i}.qcow2`);
      if (i === 0) appendFileSync(f, Buffer.alloc(65536));
      patch(f, (b) => p(b, f));
      const real = qemuImg(['check', '--output=json', f]);
      const ours = await ourCheck(f, { leaks: false, all: false });
      expect(real.stderr).toMatch(/ERROR|Leaked/);
      expect(ours.lines.join('\n') + '\n').toBe(real.stderr);
      const j = JSON.parse(real.stdout) as Record<string, number>;
      expect(rcOf(ours.res!)).toBe(real.status);
      expect(ours.res!.corruptions).toBe(j['corruptions'] ?? 0);
      expect(ours.res!.leaks).toBe(j['leaks'] ?? 0);
      expect(ours.res!.imageEndOffset).toBe(j['image-end-offset']);
      expect(ours.res!.allocatedClusters).toBe(j['allocated-clusters'] ?? 0);
      expect(ours.res!.fragmentedClusters).toBe(j['fragmented-clusters'] ?? 0);
      expect(ours.res!.totalClusters).toBe(j['total-clusters']);
    });
  });

  for (const mode of ['leaks', 'all'] as const) {
    CASES.forEach(([name, p], i) => {
      it(`-r ${mode}: ${name}`, async () => {
        const f = base(`r${mode}${i}.qcow2`);
        if (i === 0) appendFileSync(f, Buffer.alloc(65536));
        patch(f, (b) => p(b, f));
        const g = t.path(`r${mode}${i}-real.qcow2`);
        copyFileSync(f, g);
        const real = qemuImg(['check', '--output=json', '-r', mode, g]);
        const first = await ourCheck(f, { leaks: mode === 'leaks', all: mode === 'all' });
        if (first.err) {
          expect(real.stderr).toContain(`qemu-img: ${first.err}`);
          expect(real.status).toBe(1);
          return;
        }
        // qemu-img runs a second, read-only pass when something was repaired.
        const repaired = first.res!.corruptionsFixed + first.res!.leaksFixed > 0;
        const second = repaired ? await ourCheck(f, { leaks: false, all: false }) : first;
        const lines = repaired ? [...first.lines, ...second.lines] : first.lines;
        expect(lines.join('\n') + (lines.length ? '\n' : '')).toBe(real.stderr);
        expect(rcOf(second.res!)).toBe(real.status);
        // Both repaired files now give the same verdict.
        const after = qemuImg(['check', f]);
        const afterReal = qemuImg(['check', g]);
        expect(after.status).toBe(afterReal.status);
        if (afterReal.status === 0) expect(after.stdout.split('\n')[0]).toBe('No errors were found on the image.');
      });
    });
  }

  it('clean image with compressed data: statistics', async () => {
    const f = t.path('stats.qcow2');
    qemuImg(['create', '-q', '-f', 'qcow2', f, '64M']);
    qemuIo(f, ['write -P 1 0 1M', 'write -c -P 2 4M 256k', 'write -P 3 8M 64k', 'write -z 9M 128k']);
    const real = JSON.parse(qemuImg(['check', '--output=json', f]).stdout) as Record<string, number>;
    const ours = await ourCheck(f, { leaks: false, all: false });
    expect(ours.lines).toEqual([]);
    expect(ours.res!.allocatedClusters).toBe(real['allocated-clusters']);
    expect(ours.res!.fragmentedClusters).toBe(real['fragmented-clusters']);
    expect(ours.res!.compressedClusters).toBe(real['compressed-clusters']);
    expect(ours.res!.imageEndOffset).toBe(real['image-end-offset']);
  });

  it('a dirty lazy-refcounts image is repaired when opened for writing', async () => {
    const f = t.path('dirty.qcow2');
    qemuImg(['create', '-q', '-f', 'qcow2', '-o', 'lazy_refcounts=on', f, '64M']);
    qemuIo(f, ['write -P 1 0 1M']);
    // As after a crash: dirty bit set, refcount updates of a data cluster lost.
    patch(f, (b) => {
      b.writeUInt32BE(1, 76);
      b.writeUInt16BE(0, 0x20000 + 5 * 2);
    });
    expect(qemuImg(['check', f]).status).toBe(2);
    const n = await openImage(f, { readOnly: false });
    expect(n.dirty()).toBe(true);
    await n.close();
    const r = qemuImg(['check', f]);
    expect(r.stderr).toBe('');
    expect(r.status).toBe(0);
    expect(readFileSync(f).readUInt32BE(76) & 1).toBe(0);
  });

  it('a corrupt image refuses read-write opens like qemu-img', async () => {
    const f = base('corrupt.qcow2');
    patch(f, (b) => b.writeUInt32BE(2, 76));
    const real = qemuImg(['resize', f, '+1M']).stderr.replace(/^qemu-img: /, '').trim();
    await expect(openImage(f, { readOnly: false })).rejects.toThrow(real);
    const ro = await openImage(f, { readOnly: true });
    await ro.close();
  });

  it('a write through a mapping onto metadata marks the image corrupt, like QEMU', async () => {
    const f = base('overlap.qcow2');
    patch(f, (b) => b.writeBigUInt64BE(0x8000000000010000n, 0x40000));
    const g = t.path('overlap-real.qcow2');
    copyFileSync(f, g);
    const real = qemuIo(g, ['write -P 9 0 512']);
    expect(real.stdout).toContain('Marking image as corrupt: Preventing invalid write on metadata (overlaps with refcount table)');
    const { setBlockWarningHandler } = await import('../../src/block/errors.js');
    const warnings: string[] = [];
    setBlockWarningHandler((m) => warnings.push(m));
    const n = await openImage(f, { readOnly: false });
    await expect(n.write(0, new Uint8Array(512).fill(9))).rejects.toThrow('Input/output error');
    await n.close();
    expect(warnings).toEqual(['qcow2: Marking image as corrupt: Preventing invalid write on metadata (overlaps with refcount table); further corruption events will be suppressed']);
    expect(readFileSync(f).readUInt32BE(76) & 2).toBe(2);
    expect(readFileSync(f).subarray(0x10000, 0x10200).equals(readFileSync(g).subarray(0x10000, 0x10200))).toBe(true);
    await expect(openImage(f, { readOnly: false })).rejects.toThrow('qcow2: Image is corrupt; cannot be opened read/write');
  });
});
