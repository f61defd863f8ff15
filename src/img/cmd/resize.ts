/** qemu-img resize [-f fmt] [--preallocation=mode] [-q] [--shrink] FILE [+|-]SIZE */
import { ImgError, parseArgs, usageError, type IO } from '../common.js';
import type { BlockNode, Resizable } from '../../block/types.js';
import { parseSize } from '../../util/size.js';
import { sizeParamError } from '../opts.js';

const PREALLOC = ['off', 'metadata', 'falloc', 'full'];

export async function run(argv: string[], io: IO): Promise<number> {
  // the size is taken off the end first, so "-1G" is not seen as an option
  if (argv.length < 3) throw usageError('Not enough arguments');
  const sizeStr = argv[argv.length - 1]!;
  let fmt: string | undefined;
  let quiet = false;
  let shrink = false;
  let prealloc = 'off';
  const ops = parseArgs(argv.slice(0, -1), ':f:hq', [
    { name: 'object', hasArg: 1, val: 'J' },
    { name: 'image-opts', hasArg: 0, val: 'I' },
    { name: 'preallocation', hasArg: 1, val: 'P' },
    { name: 'shrink', hasArg: 0, val: 'S' },
  ], (o, a) => {
    switch (o) {
      case 'f': fmt = a; break;
      case 'q': quiet = true; break;
      case 'S': shrink = true; break;
      case 'P':
        if (!PREALLOC.includes(a)) throw new ImgError(`Invalid preallocation mode '${a}'`);
        prealloc = a;
        break;
      case 'I': throw new ImgError('--image-opts is not supported by qemu-ts-img');
    }
  });
  if (ops.length !== 1) throw usageError('Expecting image file name and size');
  let rel = 0;
  let s = sizeStr;
  if (s.startsWith('+')) { rel = 1; s = s.slice(1); } else if (s.startsWith('-')) { rel = -1; s = s.slice(1); }
  const r = parseSize(s);
  if (!r.ok) throw new ImgError(sizeParamError('size'));
  const n = Number(r.value);
  const filename = ops[0]!;
  const block = await import('../../block/index.js');
  const node: BlockNode = await block.openImage(filename, { readOnly: false, format: fmt, noBacking: true });
  try {
    if (block.isProbedRaw(node)) io.err(block.probedRawWarning(filename));
    const cur = node.size();
    const total = rel === 0 ? n : cur + rel * n;
    if (total <= 0) throw new ImgError('New image size must be positive');
    if (total < cur && !shrink) {
      throw new ImgError('Use the --shrink option to perform a shrink operation.\n' +
        'qemu-ts-img: warning: Shrinking an image will delete all data beyond the shrunken image\'s end. ' +
        'Before performing such an operation, make sure there is no important data there.');
    }
    const rz = node as Partial<Resizable>;
    if (typeof rz.truncate !== 'function') throw new ImgError('Image format driver does not support resize');
    await (node as BlockNode & Resizable).truncate(total, { shrink, prealloc });
    if (!quiet) io.out('Image resized.\n');
    return 0;
  } finally {
    await node.close();
  }
}
