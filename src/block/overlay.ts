/**
 * The `-snapshot` overlay: a temporary qcow2 image in os.tmpdir() over a base
 * node; guest writes go to the overlay, which is deleted on close.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { BlockNode } from './types.js';
import { qcow2Driver } from './qcow2/driver.js';

export async function openOverlay(base: BlockNode): Promise<BlockNode> {
  const dir = await mkdtemp(join(tmpdir(), 'qemu-ts-snapshot-'));
  const path = join(dir, 'overlay.qcow2');
  try {
    await qcow2Driver.create!(path, base.size(), new Map());
    const node = await qcow2Driver.open(path, { readOnly: false });
    node.backing = base;
    const close = node.close.bind(node);
    node.close = async () => {
      try {
        await close();
      } finally {
        await rm(dir, { recursive: true, force: true });
      }
    };
    return node;
  } catch (e) {
    await rm(dir, { recursive: true, force: true });
    throw e;
  }
}
