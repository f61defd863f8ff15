/** qemu-img bench: timed batches of reads or writes with a queue depth. */
import { ImgError, parseArgs, sizeArg, usageError, type IO } from '../common.js';
import type { BlockNode } from '../../block/types.js';
import { INT64_MAX, formatFixed } from '../../util/size.js';

function int(s: string): number | null {
  return /^\s*[0-9]+$/.test(s) ? Number(s) : null;
}

export async function run(argv: string[], io: IO): Promise<number> {
  let count = 75000;
  let depth = 64;
  let bufSize = 4096;
  let step = 0;
  let offset = 0;
  let write = false;
  let fmt: string | undefined;
  let quiet = false;
  let pattern = 0;
  let flushInterval = 0;
  let drain = true;
  const ops = parseArgs(argv, ':hc:d:f:ni:o:qs:S:t:wU', [
    { name: 'flush-interval', hasArg: 1, val: 'F' },
    { name: 'image-opts', hasArg: 0, val: 'I' },
    { name: 'pattern', hasArg: 1, val: 'P' },
    { name: 'no-drain', hasArg: 0, val: 'N' },
    { name: 'force-share', hasArg: 0, val: 'U' },
  ], (o, a) => {
    switch (o) {
      case 'c': { const v = int(a); if (v === null || v < 1 || v > 2147483647) throw new ImgError('Invalid request count specified'); count = v; break; }
      case 'd': { const v = int(a); if (v === null || v < 1 || v > 2147483647) throw new ImgError('Invalid queue depth specified'); depth = v; break; }
      case 'f': fmt = a; break;
      case 'o': offset = sizeArg(io, 'offset', a, 0n, INT64_MAX); break;
      case 'q': quiet = true; break;
      case 's': bufSize = sizeArg(io, 'buffer size', a, 1n, 2147483647n); break;
      case 'S': step = sizeArg(io, 'step size', a, 0n, 2147483647n); break;
      case 'w': write = true; break;
      case 'P': { const v = int(a); if (v === null || v > 255) throw new ImgError('Invalid pattern byte specified'); pattern = v; break; }
      case 'F': { const v = int(a); if (v === null || v > 2147483647) throw new ImgError('Invalid flush interval specified'); flushInterval = v; break; }
      case 'N': drain = false; break;
      case 'I': throw new ImgError('--image-opts is not supported by qemu-ts-img');
    }
  });
  if (ops.length !== 1) throw usageError('Expecting one image file name');
  if (flushInterval && !write) throw new ImgError('--flush-interval is only available in write tests');
  if (flushInterval && flushInterval < depth) throw new ImgError("Flush interval can't be smaller than depth");
  void drain;
  const block = await import('../../block/index.js');
  const node: BlockNode = await block.openImage(ops[0]!, { readOnly: !write, format: fmt });
  try {
    const size = node.size();
    const stepSize = step || bufSize;
    if (!quiet) {
      io.out(`Sending ${count} ${write ? 'write' : 'read'} requests, ${bufSize} bytes each, ${depth} in parallel ` +
        `(starting at offset ${offset}, step size ${stepSize})\n`);
    }
    const t0 = process.hrtime.bigint();
    let pos = offset;
    let issued = 0;
    let sinceFlush = 0;
    const worker = async () => {
      const buf = new Uint8Array(bufSize);
      if (write) buf.fill(pattern);
      while (issued < count) {
        issued++;
        const at = pos;
        pos += stepSize;
        if (size > 0) pos %= size; else pos = 0;
        try {
          if (write) await node.write(at, buf); else await node.read(at, buf);
        } catch (e) {
          throw new ImgError(`Failed request: ${(e as Error).message}`);
        }
        if (flushInterval && ++sinceFlush >= flushInterval) { sinceFlush = 0; await node.flush(); }
      }
    };
    await Promise.all(Array.from({ length: Math.min(depth, count) }, worker));
    const secs = Number(process.hrtime.bigint() - t0) / 1e9;
    if (!quiet) io.out(`Run completed in ${formatFixed(secs, 3)} seconds.\n`);
    return 0;
  } finally {
    await block.closeChain(node);
  }
}
