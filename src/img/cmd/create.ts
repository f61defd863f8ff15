/** qemu-img create [-q] [-f fmt] [-b backing [-F fmt]] [-u] [-o opts] FILE [SIZE] */
import { ImgError, unknownFormat, addOpt, parseArgs, report, sizeArg, usageError, wantsHelp, type IO } from '../common.js';
import { INT64_MAX } from '../../util/size.js';
import { formatOptions, optionsHelp, parseOptList } from '../opts.js';
import { formattingLine } from '../formatting.js';

export async function run(argv: string[], io: IO): Promise<number> {
  let fmt = 'raw';
  let backing: string | undefined;
  let backingFmt: string | undefined;
  let optList: string | undefined;
  let quiet = false;
  let unsafe = false;
  const ops = parseArgs(argv, ':F:b:f:ho:qu', [{ name: 'object', hasArg: 1, val: 'O' }], (o, a) => {
    switch (o) {
      case 'F': backingFmt = a; break;
      case 'b': backing = a; break;
      case 'f': fmt = a; break;
      case 'o': optList = addOpt(optList, a); break;
      case 'q': quiet = true; break;
      case 'u': unsafe = true; break;
    }
  });
  const block = await import('../../block/index.js');
  if (wantsHelp(optList)) {
    const drv = block.getDriver(fmt);
    if (!drv) throw new ImgError(unknownFormat(fmt));
    // without a target filename only the format's own options are listed (raw: size)
    io.out(optionsHelp(fmt, formatOptions(fmt, drv.createOptions)));
    return 0;
  }
  if (ops.length < 1) throw usageError('Expecting image file name');
  const filename = ops[0]!;
  let size: number | null = null;
  if (ops.length >= 2) size = sizeArg(io, 'image size', ops[1]!, 0n, INT64_MAX);
  if (ops.length > 2) throw usageError(`Unexpected argument: ${ops[2]}`);

  const fail = (e: unknown): never => {
    if (e instanceof Error && (e.name === 'BlockError' || e instanceof ImgError)) {
      const noNl = (e as { noTrailingNewline?: boolean }).noTrailingNewline === true;
      if (noNl) throw new ImgError('', 1, false, `qemu-ts-img: ${filename}: ${e.message}`);
      throw new ImgError(`${filename}: ${e.message}`);
    }
    throw e;
  };

  const drv = block.getDriver(fmt);
  if (!drv) fail(new ImgError(unknownFormat(fmt)));
  let parsed;
  try {
    parsed = parseOptList(optList, drv!.createOptions, ['backing_file', 'backing_fmt'], (w) => report(io, w));
  } catch (e) {
    return fail(e);
  }
  const opts = parsed.values;
  const display = parsed.display;
  if (backing !== undefined) { opts.set('backing_file', backing); display.set('backing_file', backing); }
  if (backingFmt !== undefined) { opts.set('backing_fmt', backingFmt); display.set('backing_fmt', backingFmt); }
  const hasBacking = opts.has('backing_file');
  if (hasBacking && !drv!.createOptions.some((o) => o.name === 'backing_file')) {
    fail(new ImgError(`Backing file not supported for file format '${fmt}'`));
  }
  if (unsafe && hasBacking && size === null && !opts.has('size')) fail(new ImgError('Image creation needs a size parameter'));
  try {
    await block.createImage(fmt, filename, size, opts, {
      unsafe,
      onFormatting: (finalSize: number) => {
        if (!quiet) io.out(formattingLine(filename, fmt, finalSize, display, drv!.createOptions) + '\n');
      },
    });
  } catch (e) {
    fail(e);
  }
  return 0;
}
