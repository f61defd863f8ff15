import type { Qcow2Node } from './node.js';
import type { CheckResult } from '../types.js';
import { BlockError } from '../errors.js';
export async function checkImage(_n: Qcow2Node, _fix: { leaks: boolean; all: boolean }, _report: (l: string) => void): Promise<CheckResult> { throw new BlockError('Operation not supported'); }
