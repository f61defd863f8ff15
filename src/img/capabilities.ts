/**
 * Optional block-node capabilities qemu-ts-img uses beyond src/block/types.ts.
 * Each is detected at run time; a node without it gets a clear error.
 */
import type { BlockNode } from '../block/types.js';

/** Drop every cluster of the image so reads fall through to the backing file (commit). */
export interface MakeEmpty { makeEmpty(): Promise<void> }
/** Rewrite the backing file name/format stored in the header (rebase). */
export interface ChangeBacking { changeBackingFile(file: string | null, format: string | null): Promise<void> }
/** Change format options of an existing image (amend). */
export interface Amendable { amend(opts: Map<string, string>, force: boolean): Promise<void> }

export function has<K extends string>(n: BlockNode, method: K): boolean {
  return typeof (n as unknown as Record<string, unknown>)[method] === 'function';
}
