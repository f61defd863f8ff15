/** qemu-img map [-f fmt] [--start-offset=N] [--max-length=N] [--output=human|json] FILE */
import { ImgError, parseArgs, parseOutput, sizeArg, usageError, type IO, type OutputFormat } from '../common.js';
import type { BlockNode } from '../../block/types.js';
import { INT64_MAX } from '../../util/size.js';

interface MapEntry {
  start: number;
  length: number;
  depth: number;
  present: boolean;
  zero: boolean;
  data: boolean;
  offset?: number;
  filename?: string;
}

const hex = (n: number) => (n === 0 ? '0' : '0x' + n.toString(16));

function mergeable(a: MapEntry, b: MapEntry): boolean {
  if (a.start + a.length !== b.start) return false;
  if (a.depth !== b.depth || a.present !== b.present || a.zero !== b.zero || a.data !== b.data) return false;
  if (a.filename !== b.filename) return false;
  if ((a.offset === undefined) !== (b.offset === undefined)) return false;
  if (a.offset !== undefined && a.offset + a.length !== b.offset) return false;
  return true;
}

export async function run(argv: string[], io: IO): Promise<number> {
  let fmt: string | undefined;
  let output = 'human' as OutputFormat;
  let start = 0;
  let maxLen = -1;
  const ops = parseArgs(argv, ':f:hU', [
    { name: 'format', hasArg: 1, val: 'f' },
    { name: 'output', hasArg: 1, val: 'o' },
    { name: 'object', hasArg: 1, val: 'J' },
    { name: 'image-opts', hasArg: 0, val: 'I' },
    { name: 'force-share', hasArg: 0, val: 'U' },
    { name: 'start-offset', hasArg: 1, val: 's' },
    { name: 'max-length', hasArg: 1, val: 'l' },
  ], (o, a) => {
    switch (o) {
      case 'f': fmt = a; break;
      case 'o': output = parseOutput(a); break;
      case 's': start = sizeArg(io, 'start offset', a, 0n, INT64_MAX); break;
      case 'l': maxLen = sizeArg(io, 'max length', a, 0n, INT64_MAX); break;
      case 'I': throw new ImgError('--image-opts is not supported by qemu-ts-img');
    }
  });
  if (ops.length !== 1) throw usageError('Expecting one image file name');
  const block = await import('../../block/index.js');
  const node: BlockNode = await block.openImage(ops[0]!, { readOnly: true, format: fmt });
  try {
    const size = node.size();
    const end = maxLen >= 0 ? Math.min(size, start + maxLen) : size;
    let first = true;
    let pending: MapEntry | null = null;
    let chainLen = 0;
    for (let n = node.backing; n; n = n.backing) chainLen++;
    const emit = (e: MapEntry) => {
      if (output === 'json') {
        let s = `${first ? '[' : ',\n'}{ "start": ${e.start}, "length": ${e.length}, "depth": ${e.depth},` +
          ` "present": ${e.present}, "zero": ${e.zero}, "data": ${e.data}`;
        if (e.offset !== undefined) s += `, "offset": ${e.offset}`;
        io.out(s + '}');
      } else {
        if (e.data && e.offset === undefined) throw new ImgError('File contains external, encrypted or compressed clusters.');
        if (e.data && !e.zero) {
          io.out(`${hex(e.start).padEnd(16)}${hex(e.length).padEnd(16)}${hex(e.offset ?? 0).padEnd(16)}${e.filename ?? ''}\n`);
        }
      }
      first = false;
    };
    if (output === 'human') io.out(`${'Offset'.padEnd(16)}${'Length'.padEnd(16)}${'Mapped to'.padEnd(16)}File\n`);
    // raw files: holes come from SEEK_DATA/SEEK_HOLE as in qemu-img (block status sees none)
    let statusAt = (o: number, l: number) => node.blockStatus(o, l);
    if (node.driver.name === 'raw' && !node.backing) {
      const { dataExtents } = await import('../../util/extents.js');
      const { stat } = await import('node:fs/promises');
      const ext = await dataExtents(node.filename);
      const fileSize = (await stat(node.filename)).size;
      if (ext) {
        statusAt = async (o: number, l: number) => {
          const host = { hostOffset: o, hostFile: node.filename, depth: 0, allocated: true };
          if (o >= fileSize) return { ...host, length: l, zero: true, data: false };
          const hit = ext.find(([a, b]) => a <= o && o < b);
          if (hit) return { ...host, length: Math.min(l, hit[1] - o, fileSize - o), zero: false, data: true };
          const next = ext.find(([a]) => a > o);
          return { ...host, length: Math.min(l, (next ? next[0] : fileSize) - o, fileSize - o), zero: true, data: false };
        };
      }
    }
    let off = start;
    while (off < end) {
      const st = await statusAt(off, Math.min(end - off, 1 << 30));
      const len = Math.max(1, Math.min(st.length, end - off));
      const found = st.allocated || st.zero || st.data;
      const e: MapEntry = {
        start: off,
        length: len,
        depth: found ? st.depth : chainLen,
        present: st.allocated,
        zero: st.allocated ? st.zero : true,
        data: st.data,
      };
      if (st.hostOffset !== undefined && !st.compressed && st.data) {
        e.offset = st.hostOffset;
        e.filename = st.hostFile;
      } else if (st.hostOffset !== undefined && !st.compressed && st.zero && st.allocated && st.hostFile) {
        e.offset = st.hostOffset;
        e.filename = st.hostFile;
      }
      if (pending && mergeable(pending, e)) pending.length += e.length;
      else {
        if (pending) emit(pending);
        pending = e;
      }
      off += len;
    }
    if (pending) emit(pending);
    if (output === 'json') io.out(first ? '[]\n' : ']\n');
    return 0;
  } finally {
    await block.closeChain(node);
  }
}
