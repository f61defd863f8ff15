/** qemu-img amend [-p] [-q] [-f fmt] [-t cache] [--force] -o options FILE */
import { ImgError, addOpt, parseArgs, report, usageError, wantsHelp, type IO } from '../common.js';
import type { OptionSpec } from '../../block/types.js';
import { optionsHelp, parseOptList } from '../opts.js';
import { has, type Amendable } from '../capabilities.js';
import { Progress } from '../progress.js';

/** qcow2 options that can only be set at creation time. */
const CREATE_ONLY = ['cluster_size', 'compression_type', 'preallocation', 'extended_l2', 'encryption'];
const AMEND_QCOW2 = ['backing_file', 'backing_fmt', 'compat', 'data_file', 'data_file_raw', 'encrypt.iter-time',
  'encrypt.keyslot', 'lazy_refcounts', 'refcount_bits', 'size'];

const EXTRA_HELP: OptionSpec[] = [
  { name: 'encrypt.keyslot', type: 'number', help: 'Select a single keyslot to modify explicitly' },
  { name: 'encrypt.new-secret', type: 'string', help: 'New secret to set in the matching keyslots. Empty string to erase' },
  { name: 'encrypt.old-secret', type: 'string', help: 'Select all keyslots that match this password' },
  { name: 'encrypt.state', type: 'string', help: 'Select new state of affected keyslots (active/inactive)' },
];

function amendSchema(fmt: string, schema: OptionSpec[]): OptionSpec[] {
  if (fmt !== 'qcow2') return [];
  const own = schema.filter((o) => AMEND_QCOW2.includes(o.name));
  return [...own, ...EXTRA_HELP.filter((e) => !own.some((o) => o.name === e.name))];
}

/** Amend help: a blank line follows the list only when an image was named. */
function amendHelp(fmt: string, schema: OptionSpec[], withImage: boolean): string {
  const text = optionsHelp(fmt, schema).replace(/^Supported (\S+) options:/, "Amend options for '$1':");
  return text.slice(0, text.indexOf('\nThe protocol level') + (withImage ? 1 : 0));
}

export async function run(argv: string[], io: IO): Promise<number> {
  let fmt: string | undefined;
  let optList: string | undefined;
  let quiet = false;
  let progress = false;
  let force = false;
  const ops = parseArgs(argv, ':ho:f:t:pq', [
    { name: 'object', hasArg: 1, val: 'J' },
    { name: 'image-opts', hasArg: 0, val: 'I' },
    { name: 'force', hasArg: 0, val: 'F' },
  ], (o, a) => {
    switch (o) {
      case 'o': optList = addOpt(optList, a); break;
      case 'f': fmt = a; break;
      case 'q': quiet = true; break;
      case 'p': progress = true; break;
      case 'F': force = true; break;
      case 'I': throw new ImgError('--image-opts is not supported by qemu-ts-img');
    }
  });
  if (quiet) progress = false;
  if (optList === undefined) throw usageError('Must specify options (-o)');
  const block = await import('../../block/index.js');
  if (wantsHelp(optList) && ops.length === 0 && fmt !== undefined) {
    const drv = block.getDriver(fmt);
    if (!drv) throw new ImgError(`Unknown file format '${fmt}'`);
    io.out(amendHelp(fmt, amendSchema(fmt, drv.createOptions), false));
    return 0;
  }
  if (ops.length !== 1) throw usageError('Expecting one image file name');
  const filename = ops[0]!;
  const node = await block.openImage(filename, { readOnly: wantsHelp(optList), format: fmt, noBacking: true });
  try {
    const format = node.driver.name;
    const schema = amendSchema(format, node.driver.createOptions);
    if (wantsHelp(optList)) {
      if (schema.length === 0) throw new ImgError(`Format driver '${format}' does not support option amendment`);
      io.out(amendHelp(format, schema, false));
      return 0;
    }
    if (block.isProbedRaw(node)) io.err(block.probedRawWarning(filename));
    if (schema.length === 0) throw new ImgError(`Format driver '${format}' does not support option amendment`);
    const all = node.driver.createOptions;
    for (const k of parseOptList(optList, all, [], () => {}).values.keys()) {
      if (CREATE_ONLY.includes(k)) throw new ImgError(`Invalid parameter '${k}'\nThis option is only supported for image creation`);
    }
    if (!has(node, 'amend')) throw new ImgError(`Format driver '${format}' does not support option amendment`);
    const opts = parseOptList(optList, schema, [], (w) => report(io, w)).values;
    const bar = await Progress.start(io, progress, 'amending');
    await (node as typeof node & Amendable).amend(opts, force);
    bar.update(100);
    bar.end();
    return 0;
  } finally {
    await node.close();
  }
}
