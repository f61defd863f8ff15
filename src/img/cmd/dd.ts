/** qemu-img dd [-f fmt] [-O fmt] [bs=N] [count=N] [skip=N] if=IN of=OUT */
import { unlink } from 'node:fs/promises';
import { ImgError, unknownFormat, parseArgs, report, type IO } from '../common.js';
import type { BlockNode } from '../../block/types.js';
import { cvtnum, INT64_MAX } from '../../util/size.js';
import { refuseIfInUse } from '../same-file.js';

export async function run(argv: string[], io: IO): Promise<number> {
  let fmt: string | undefined;
  let outFmt = 'raw';
  const ops = parseArgs(argv, ':hf:O:U', [
    { name: 'image-opts', hasArg: 0, val: 'I' },
    { name: 'object', hasArg: 1, val: 'J' },
    { name: 'force-share', hasArg: 0, val: 'U' },
  ], (o, a) => {
    switch (o) {
      case 'f': fmt = a; break;
      case 'O': outFmt = a; break;
      case 'I': throw new ImgError('--image-opts is not supported by qemu-ts-img');
    }
  });
  let bs = 512;
  let count: number | null = null;
  let skip = 0;
  let inName: string | undefined;
  let outName: string | undefined;
  const num = (name: string, v: string, min: bigint, max: bigint): number => {
    const r = cvtnum(name, v, min, max);
    if (!r.ok) throw new ImgError(r.lines.join('\nqemu-ts-img: '));
    if (r.warning) report(io, r.warning);
    return Number(r.value);
  };
  for (const arg of ops) {
    const eq = arg.indexOf('=');
    const key = eq < 0 ? arg : arg.slice(0, eq);
    const val = eq < 0 ? '' : arg.slice(eq + 1);
    switch (eq < 0 ? '' : key) {
      case 'bs': bs = num('bs', val, 1n, 2147483647n); break;
      case 'count': count = num('count', val, 0n, INT64_MAX); break;
      case 'skip': skip = num('skip', val, 0n, INT64_MAX); break;
      case 'if': inName = val; break;
      case 'of': outName = val; break;
      default: throw new ImgError(`unrecognized operand ${key}`);
    }
  }
  if (inName === undefined || outName === undefined) throw new ImgError('Must specify both input and output files');
  const block = await import('../../block/index.js');
  const src: BlockNode = await block.openImage(inName, { readOnly: true, format: fmt });
  let out: BlockNode | null = null;
  let created = false;
  let ok = false;
  try {
    const inSize = src.size();
    let size = inSize;
    if (count !== null && count * bs < size) size = count * bs;
    const start = skip * bs;
    let skipFailed = false;
    if (start > inSize) skipFailed = true;
    const outSize = Math.max(0, size - start);
    const drv = block.getDriver(outFmt);
    if (!drv) throw new ImgError(unknownFormat(outFmt));
    await refuseIfInUse(outName, [src], `${outName}: error while creating output image: `);
    try {
      await block.createImage(outFmt, outName, outSize, new Map(), { unsafe: true });
      created = true;
    } catch (e) {
      if (e instanceof Error && e.name === 'BlockError') throw new ImgError(`${outName}: error while creating output image: ${e.message}`);
      throw e;
    }
    out = await block.openImage(outName, { readOnly: false, format: outFmt, noBacking: true });
    if (skipFailed) {
      report(io, `${inName}: cannot skip to specified offset`);
      ok = true;
      return 0;
    }
    const chunk = Math.max(bs, Math.floor((2 << 20) / bs) * bs);
    const buf = new Uint8Array(chunk);
    for (let pos = 0; pos < outSize; pos += chunk) {
      const n = Math.min(chunk, outSize - pos);
      const v = buf.subarray(0, n);
      try {
        await src.read(start + pos, v);
      } catch (e) {
        throw new ImgError(`error while reading from input image file: ${(e as Error).message}`);
      }
      try {
        await out.write(pos, v);
      } catch (e) {
        throw new ImgError(`error while writing to output image file: ${(e as Error).message}`);
      }
    }
    ok = true;
    return 0;
  } finally {
    if (out) await out.close();
    await block.closeChain(src);
    if (!ok && created) { try { await unlink(outName!); } catch { /* gone */ } }
  }
}
