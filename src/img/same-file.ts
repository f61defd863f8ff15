/**
 * qemu-img holds shared locks on the images it reads, so writing to one of
 * them fails with the "write" lock error. Our block layer locks writers only,
 * so commands that read some images and write another check identity here.
 */
import { stat } from 'node:fs/promises';
import type { BlockNode } from '../block/types.js';
import { ImgError } from './common.js';

async function key(path: string): Promise<string | null> {
  try {
    const st = await stat(path, { bigint: true });
    return `${st.dev}:${st.ino}`;
  } catch {
    return null;
  }
}

/** Throw `${prefix}Failed to get "write" lock...` when `target` is one of the open images (chains included). */
export async function refuseIfInUse(target: string, nodes: BlockNode[], prefix: string): Promise<void> {
  const t = await key(target);
  if (t === null) return;
  for (const top of nodes) {
    for (let n: BlockNode | null = top; n; n = n.backing) {
      if ((await key(n.filename)) === t) {
        throw new ImgError(`${prefix}Failed to get "write" lock\nIs another process using the image [${target}]?`);
      }
    }
  }
}
