/** qemu-img compare [-f fmt] [-F fmt] [-p] [-q] [-s] [-U] A B -> 0 same, 1 differ, 2 open error, 3 status error, 4 read error */
import { ImgError, parseArgs, usageError, type IO } from '../common.js';
import type { BlockNode } from '../../block/types.js';
import { Progress } from '../progress.js';
import { WINDOW, isZeroRange } from '../copy.js';

function firstDiff(a: Uint8Array, b: Uint8Array): number {
  const ba = Buffer.from(a.buffer, a.byteOffset, a.length);
  const bb = Buffer.from(b.buffer, b.byteOffset, b.length);
  if (ba.equals(bb)) return -1;
  // narrow down by sectors using native compares
  for (let s = 0; s < a.length; s += 512) {
    const e = Math.min(a.length, s + 512);
    if (!ba.subarray(s, e).equals(bb.subarray(s, e))) return s;
  }
  return -1;
}

function firstNonZero(buf: Uint8Array): number {
  const words = new Uint32Array(buf.buffer, buf.byteOffset, buf.length >>> 2);
  for (let s = 0; s < buf.length; s += 512) {
    const e = Math.min(buf.length, s + 512);
    if ((e & 3) === 0 ? !isZeroRange(words, s, e) : buf.subarray(s, e).some((x) => x !== 0)) return s;
  }
  return -1;
}

export async function run(argv: string[], io: IO): Promise<number> {
  let fmt1: string | undefined;
  let fmt2: string | undefined;
  let progress = false;
  let quiet = false;
  let strict = false;
  const ops = parseArgs(argv, ':hf:F:T:pqsU', [
    { name: 'object', hasArg: 1, val: 'J' },
    { name: 'image-opts', hasArg: 0, val: 'I' },
    { name: 'force-share', hasArg: 0, val: 'U' },
  ], (o, a) => {
    switch (o) {
      case 'f': fmt1 = a; break;
      case 'F': fmt2 = a; break;
      case 'p': progress = true; break;
      case 'q': quiet = true; break;
      case 's': strict = true; break;
      case 'I': throw new ImgError('--image-opts is not supported by qemu-ts-img', 2);
    }
  });
  if (quiet) progress = false;
  if (ops.length !== 2) throw usageError('Expecting two image file names');
  const say = (s: string) => { if (!quiet) io.out(s); };
  const block = await import('../../block/index.js');
  let n1: BlockNode | null = null;
  let n2: BlockNode | null = null;
  try {
    try {
      n1 = await block.openImage(ops[0]!, { readOnly: true, format: fmt1 });
      n2 = await block.openImage(ops[1]!, { readOnly: true, format: fmt2 ?? fmt1 });
    } catch (e) {
      throw new ImgError((e as Error).message, 2);
    }
    const a = n1, b = n2;
    const size1 = a.size(), size2 = b.size();
    const common = Math.min(size1, size2);
    const bar = await Progress.start(io, progress, 'comparing', 2);
    const base = Math.max(size1, size2);
    if (strict && size1 !== size2) {
      say('Strict mode: Image size mismatch!\n');
      return 1;
    }
    const buf1 = new Uint8Array(WINDOW);
    const buf2 = new Uint8Array(WINDOW);
    const status = async (n: BlockNode, off: number, len: number) => {
      try {
        return await n.blockStatus(off, len);
      } catch (e) {
        throw new ImgError(`Sector allocation test failed for ${n.filename}`, 3);
      }
    };
    const read = async (n: BlockNode, off: number, buf: Uint8Array) => {
      try {
        await n.read(off, buf);
      } catch (e) {
        throw new ImgError(`Error while reading offset ${off} of ${n.filename}: ${(e as Error).message}`, 4);
      }
    };
    const mismatch = (off: number) => {
      bar.stop();
      say(`Content mismatch at offset ${off}!\n`);
      if (progress) say('\n');
      return 1;
    };
    let off = 0;
    while (off < common) {
      const s1 = await status(a, off, common - off);
      const s2 = await status(b, off, common - off);
      // qemu compares the whole status word, including BDRV_BLOCK_EOF (the run reaches the end)
      const word = (s: typeof s1, size: number) =>
        `${s.allocated}/${s.zero}/${s.data}/${off + s.length >= size}`;
      if (strict && word(s1, size1) !== word(s2, size2)) {
        say(`Strict mode: Offset ${off} block status mismatch!\n`);
        return 1;
      }
      const bothZero = s1.zero && s2.zero;
      const len = Math.max(1, Math.min(s1.length, s2.length, bothZero ? Infinity : WINDOW, common - off));
      if (!bothZero) {
        const v1 = buf1.subarray(0, len), v2 = buf2.subarray(0, len);
        if (s1.zero) v1.fill(0); else await read(a, off, v1);
        if (s2.zero) v2.fill(0); else await read(b, off, v2);
        const d = firstDiff(v1, v2);
        if (d >= 0) return mismatch(off + d);
      }
      off += len;
      bar.update((off * 100) / base);
    }
    if (size1 !== size2) {
      say('Warning: Image size mismatch!\n');
      const big = size1 > size2 ? a : b;
      const end = Math.max(size1, size2);
      while (off < end) {
        const st = await status(big, off, end - off);
        const len = Math.max(1, Math.min(st.length, st.zero ? Infinity : WINDOW, end - off));
        if (!st.zero) {
          const v = buf1.subarray(0, len);
          await read(big, off, v);
          const d = firstNonZero(v);
          if (d >= 0) return mismatch(off + d);
        }
        off += len;
        bar.update((off * 100) / base);
      }
    }
    bar.update(100);
    bar.stop();
    say('Images are identical.\n');
    if (progress) say('\n');
    return 0;
  } finally {
    if (n1) await block.closeChain(n1);
    if (n2) await block.closeChain(n2);
  }
}
