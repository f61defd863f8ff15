import { describe, it, expect, afterAll } from 'vitest';
import { openImage } from '../../src/block/index.js';
import type { BlockNode, Checkable } from '../../src/block/types.js';
import { tempDir, qemuImg, qemuIo, info } from './helpers.js';

const t = tempDir('bitmaps');
afterAll(() => t.cleanup());

type FS = { data: Record<string, unknown> };

describe('persistent bitmaps', () => {
  it('are listed like qemu-img info and counted by check', async () => {
    const f = t.path('bm.qcow2');
    qemuImg(['create', '-q', '-f', 'qcow2', f, '16M']);
    qemuIo(f, ['write -P 1 0 1M']);
    qemuImg(['bitmap', '--add', f, 'b0']);
    qemuImg(['bitmap', '--add', '-g', '128k', f, 'b1']);
    qemuImg(['bitmap', '--disable', f, 'b1']);
    qemuIo(f, ['write -P 2 4M 1M']);
    const n = (await openImage(f, { readOnly: true })) as BlockNode & Checkable;
    expect(n.formatSpecific()!.data).toEqual((info(f)['format-specific'] as FS).data);
    const lines: string[] = [];
    const r = await n.check({ leaks: false, all: false }, (l) => lines.push(l));
    expect(lines).toEqual([]);
    expect(r.corruptions + r.leaks).toBe(0);
    const real = JSON.parse(qemuImg(['check', '--output=json', f]).stdout) as Record<string, number>;
    expect(r.imageEndOffset).toBe(real['image-end-offset']);
    await n.close();
  });

  it('a guest write marks them stale (autoclear bit cleared); check -r leaks then cleans up', async () => {
    const f = t.path('bw.qcow2');
    qemuImg(['create', '-q', '-f', 'qcow2', f, '16M']);
    qemuImg(['bitmap', '--add', f, 'b0']);
    qemuIo(f, ['write -P 2 0 1M']);
    const n = await openImage(f, { readOnly: false });
    await n.write(0, new Uint8Array(4096).fill(3));
    await n.close();
    expect((info(f)['format-specific'] as FS).data['bitmaps']).toBeUndefined();
    expect(qemuImg(['check', f]).status).toBe(3);
    expect(qemuImg(['check', '-r', 'leaks', f]).status).toBe(0);
    expect(qemuIo(f, ['read -P 3 0 4k', 'read -P 2 4k 1020k']).stdout).not.toContain('failed');
  });
});
