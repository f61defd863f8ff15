/** qemu-img check [-q] [-f fmt] [--output=human|json] [-r leaks|all] FILE -> 0/1/2/3/63 */
import { ImgError, parseArgs, parseOutput, usageError, type IO, type OutputFormat } from '../common.js';
import type { BlockNode, CheckResult, Checkable } from '../../block/types.js';
import { formatFixed } from '../../util/size.js';
import { toJson } from '../json.js';

function isCheckable(n: BlockNode): n is BlockNode & Checkable {
  return typeof (n as Partial<Checkable>).check === 'function';
}

export function humanReport(r: CheckResult): string {
  let s = '';
  if (!(r.corruptions || r.leaks || r.checkErrors)) {
    s += 'No errors were found on the image.\n';
  } else {
    if (r.corruptions) {
      s += `\n${r.corruptions} errors were found on the image.\n` +
        'Data may be corrupted, or further writes to the image may corrupt it.\n';
    }
    if (r.leaks) {
      s += `\n${r.leaks} leaked clusters were found on the image.\n` +
        'This means waste of disk space, but no harm to data.\n';
    }
    if (r.checkErrors) s += `\n${r.checkErrors} internal errors have occurred during the check.\n`;
  }
  const total = r.totalClusters ?? 0;
  const alloc = r.allocatedClusters ?? 0;
  if (total !== 0 && alloc !== 0) {
    s += `${alloc}/${total} = ${formatFixed(alloc * 100 / total, 2)}% allocated, ` +
      `${formatFixed((r.fragmentedClusters ?? 0) * 100 / alloc, 2)}% fragmented, ` +
      `${formatFixed((r.compressedClusters ?? 0) * 100 / alloc, 2)}% compressed clusters\n`;
  }
  if (r.imageEndOffset) s += `Image end offset: ${r.imageEndOffset}\n`;
  return s;
}

export function jsonReport(r: CheckResult, filename: string, format: string): string {
  const o: Record<string, unknown> = {};
  const opt = (k: string, v: number | undefined) => { if (v) o[k] = v; };
  opt('image-end-offset', r.imageEndOffset);
  opt('compressed-clusters', r.compressedClusters);
  opt('total-clusters', r.totalClusters);
  opt('corruptions', r.corruptions);
  opt('corruptions-fixed', r.corruptionsFixed);
  o['check-errors'] = r.checkErrors;
  opt('leaks', r.leaks);
  opt('leaks-fixed', r.leaksFixed);
  opt('allocated-clusters', r.allocatedClusters);
  o['filename'] = filename;
  o['format'] = format;
  opt('fragmented-clusters', r.fragmentedClusters);
  return toJson(o) + '\n';
}

export async function run(argv: string[], io: IO): Promise<number> {
  let fmt: string | undefined;
  let output = 'human' as OutputFormat;
  let fix: { leaks: boolean; all: boolean } | null = null;
  let quiet = false;
  const ops = parseArgs(argv, ':hf:r:T:qU', [
    { name: 'format', hasArg: 1, val: 'f' },
    { name: 'repair', hasArg: 1, val: 'r' },
    { name: 'object', hasArg: 1, val: 'J' },
    { name: 'output', hasArg: 1, val: 'o' },
    { name: 'image-opts', hasArg: 0, val: 'I' },
    { name: 'force-share', hasArg: 0, val: 'U' },
  ], (o, a) => {
    switch (o) {
      case 'f': fmt = a; break;
      case 'r':
        if (a === 'leaks') fix = { leaks: true, all: false };
        else if (a === 'all') fix = { leaks: true, all: true };
        else throw usageError(`Unknown option value for -r (expecting 'leaks' or 'all'): ${a}`);
        break;
      case 'o': output = parseOutput(a); break;
      case 'q': quiet = true; break;
      case 'I': throw new ImgError('--image-opts is not supported by qemu-ts-img');
    }
  });
  if (ops.length !== 1) throw usageError('Expecting one image file name');
  const filename = ops[0]!;
  const repair = fix as { leaks: boolean; all: boolean } | null;
  const block = await import('../../block/index.js');
  const node = await block.openImage(filename, {
    readOnly: repair === null, format: fmt, allowCorrupt: true, forCheck: true,
  });
  try {
    if (repair !== null && block.isProbedRaw(node)) io.err(block.probedRawWarning(filename));
    if (!isCheckable(node)) throw new ImgError('This image format does not support checks', 63);
    const out = (s: string) => { if (!quiet) io.out(s); };
    const findings = (line: string) => io.err(line.endsWith('\n') ? line : line + '\n');
    let r: CheckResult;
    try {
      r = await node.check(repair ?? { leaks: false, all: false }, findings);
      if (r.corruptionsFixed || r.leaksFixed) {
        if (output === 'human') {
          out('The following inconsistencies were found and repaired:\n\n' +
            `    ${r.leaksFixed} leaked clusters\n    ${r.corruptionsFixed} corruptions\n\n` +
            'Double checking the fixed image now...\n');
        }
        const again = await node.check({ leaks: false, all: false }, findings);
        again.leaksFixed = r.leaksFixed;
        again.corruptionsFixed = r.corruptionsFixed;
        r = again;
      }
    } catch (e) {
      if (e instanceof Error && e.name === 'BlockError') throw new ImgError(`Check failed: ${e.message}`);
      throw e;
    }
    out(output === 'json' ? jsonReport(r, filename, node.driver.name) : humanReport(r));
    if (r.checkErrors) throw new ImgError('Check failed');
    return r.corruptions ? 2 : r.leaks ? 3 : 0;
  } finally {
    await node.close();
  }
}
