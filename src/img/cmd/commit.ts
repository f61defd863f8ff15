/** qemu-img commit [-q] [-f fmt] [-t cache] [-b base] [-d] [-p] [-r rate] FILE */
import { ImgError, parseArgs, usageError, type IO } from '../common.js';
import type { BlockNode } from '../../block/types.js';
import { cvtnum } from '../../util/size.js';
import { Progress } from '../progress.js';
import { WINDOW } from '../copy.js';
import { has, type MakeEmpty } from '../capabilities.js';

export async function run(argv: string[], io: IO): Promise<number> {
  let fmt: string | undefined;
  let base: string | undefined;
  let drop = false;
  let progress = false;
  let quiet = false;
  const ops = parseArgs(argv, ':f:ht:b:dpqr:', [
    { name: 'object', hasArg: 1, val: 'J' },
    { name: 'image-opts', hasArg: 0, val: 'I' },
  ], (o, a) => {
    switch (o) {
      case 'f': fmt = a; break;
      case 'b': base = a; drop = true; break;
      case 'd': drop = true; break;
      case 'p': progress = true; break;
      case 'q': quiet = true; break;
      case 'r': {
        const r = cvtnum('rate limit', a, 0n, (1n << 63n) - 1n);
        if (!r.ok) throw new ImgError(r.lines.join('\nqemu-ts-img: '));
        break;
      }
      case 'I': throw new ImgError('--image-opts is not supported by qemu-ts-img');
    }
  });
  if (quiet) progress = false;
  if (ops.length !== 1) throw usageError('Expecting one image file name');
  const filename = ops[0]!;
  const block = await import('../../block/index.js');
  const top: BlockNode = await block.openImage(filename, { readOnly: false, format: fmt });
  let baseRw: BlockNode | null = null;
  try {
    if (block.isProbedRaw(top)) io.err(block.probedRawWarning(filename));
    if (!top.backing) throw new ImgError('Image does not have a backing file');
    // find the base node and its depth in the chain
    let baseNode: BlockNode | null = null;
    let depth = 0;
    let path = filename;
    const { resolve } = await import('node:path');
    for (let n: BlockNode | null = top; n && n.backing; n = n.backing) {
      depth++;
      const name = block.resolveBackingPath(path, n.backingFilename() ?? '');
      path = name;
      const b: BlockNode = n.backing;
      if (base === undefined || resolve(name) === resolve(base) || b.filename === base) {
        baseNode = b;
        break;
      }
    }
    if (!baseNode) throw new ImgError(`Did not find '${base}' in the backing chain of '${filename}'`);
    const basePath = path;
    baseRw = await block.openImage(basePath, { readOnly: false, format: baseNode.driver.name, noBacking: true });
    const size = top.size();
    const bar = await Progress.start(io, progress, 'committing');
    const buf = new Uint8Array(WINDOW);
    let off = 0;
    const baseSize = baseRw.size();
    while (off < size) {
      const st = await top.blockStatus(off, Math.min(size - off, WINDOW));
      const len = Math.max(1, Math.min(st.length, WINDOW, size - off));
      if (st.allocated && st.depth < depth) {
        if (off + len > baseSize) throw new ImgError('Top image is larger than the base image; resize the base first');
        if (st.zero) await baseRw.writeZeroes(off, len, false);
        else {
          const v = buf.subarray(0, len);
          await top.read(off, v);
          await baseRw.write(off, v);
        }
      }
      off += len;
      bar.update((off * 100) / size, off);
    }
    await baseRw.flush();
    if (!drop) {
      if (!has(top, 'makeEmpty')) throw new ImgError('Could not empty the top image: not supported for this format');
      await (top as BlockNode & MakeEmpty).makeEmpty();
    }
    bar.update(100);
    bar.end();
    if (!quiet) io.out('Image committed.\n');
    return 0;
  } finally {
    if (baseRw) await baseRw.close();
    await block.closeChain(top);
  }
}
