import type { Qcow2Node } from './node.js';
import { BlockError } from '../errors.js';
export async function resizeImage(_n: Qcow2Node, _size: number, _o: { shrink: boolean; prealloc: string }): Promise<void> { throw new BlockError('Operation not supported'); }
