import type { Qcow2Node } from './node.js';
import { BlockError } from '../errors.js';
export async function createSnapshot(_n: Qcow2Node, _name: string, _clock: number): Promise<void> { throw new BlockError('Operation not supported'); }
export async function applySnapshot(_n: Qcow2Node, _id: string): Promise<void> { throw new BlockError('Operation not supported'); }
export async function deleteSnapshot(_n: Qcow2Node, _name: string): Promise<void> { throw new BlockError('Operation not supported'); }
