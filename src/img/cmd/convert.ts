/**
 * qemu-img convert [-p] [-q] [-n] [-c] [-f fmt] [-O fmt] [-o opts] [-B backing [-F fmt]]
 *   [-l snapshot] [-S size] [-m n] [-W] [-t cache] [-T cache] [-r rate] SRC... DST
 */
import { unlink } from 'node:fs/promises';
import { ImgError, unknownFormat, addOpt, parseArgs, report, usageError, wantsHelp, type IO } from '../common.js';
import type { BlockNode } from '../../block/types.js';
import { cvtnum } from '../../util/size.js';
import { formatOptions, optionsHelp, parseOptList } from '../opts.js';
import { CopyError, canCompress, copyImage } from '../copy.js';
import { Progress } from '../progress.js';
import { refuseIfInUse } from '../same-file.js';
import { loadSnapshot, parseSnapshotParam } from '../snapshot-load.js';

export async function run(argv: string[], io: IO): Promise<number> {
  let fmt: string | undefined;
  let outFmt: string | undefined;
  let optList: string | undefined;
  let backing: string | undefined;
  let backingFmt: string | undefined;
  let snapshotParam: string | undefined;
  let minSparse = 4096;
  let compress = false;
  let progress = false;
  let skipCreate = false;
  let quiet = false;
  let cacheMode = 'unsafe';
  const ops = parseArgs(argv, ':hf:O:B:CcF:o:l:S:pt:T:qnm:WUr:', [
    { name: 'object', hasArg: 1, val: 'J' },
    { name: 'image-opts', hasArg: 0, val: 'I' },
    { name: 'target-image-opts', hasArg: 0, val: 'K' },
    { name: 'salvage', hasArg: 0, val: 'V' },
    { name: 'target-is-zero', hasArg: 0, val: 'Z' },
    { name: 'bitmaps', hasArg: 0, val: 'M' },
    { name: 'skip-broken-bitmaps', hasArg: 0, val: 'X' },
  ], (o, a) => {
    switch (o) {
      case 'f': fmt = a; break;
      case 'O': outFmt = a; break;
      case 'B': backing = a; break;
      case 'F': backingFmt = a; break;
      case 'c': compress = true; break;
      case 'o': optList = addOpt(optList, a); break;
      case 'l': snapshotParam = a; break;
      case 'S': {
        const r = cvtnum('buffer size for sparse output', a, 0n, (1n << 63n) - 1n);
        if (!r.ok) throw new ImgError(r.lines.join('\nqemu-ts-img: '));
        const v = Number(r.value);
        if (v % 512 !== 0 || v / 512 > 32768) {
          throw new ImgError('Invalid buffer size for sparse output specified. Valid sizes are multiples of 512 up to 16777216. Select 0 to disable sparse detection (fully allocates output).');
        }
        minSparse = v;
        break;
      }
      case 'p': progress = true; break;
      case 'q': quiet = true; break;
      case 't': cacheMode = a; break;
      case 'n': skipCreate = true; break;
      case 'm': {
        const n = /^[0-9]+$/.test(a) ? Number(a) : NaN;
        if (!(n >= 1 && n <= 16)) throw new ImgError('Invalid number of coroutines. Allowed number of coroutines is between 1 and 16');
        break;
      }
      case 'r': {
        const r = cvtnum('rate limit', a, 0n, (1n << 63n) - 1n);
        if (!r.ok) throw new ImgError(r.lines.join('\nqemu-ts-img: '));
        break;
      }
      case 'I': case 'K': throw new ImgError('--image-opts is not supported by qemu-ts-img');
      case 'M': throw new ImgError('--bitmaps is not supported by qemu-ts-img');
      // -C, -W, -U, -t, -T, --salvage, --target-is-zero: accepted
    }
  });
  if (quiet) progress = false;
  const outputFormat = outFmt ?? 'raw';
  const block = await import('../../block/index.js');
  if (wantsHelp(optList)) {
    const drv = block.getDriver(outputFormat);
    if (!drv) throw new ImgError(unknownFormat(outputFormat));
    io.out(optionsHelp(outputFormat, formatOptions(outputFormat, drv.createOptions)));
    return 0;
  }
  if (ops.length < 2) throw new ImgError('Must specify image file name');
  const outName = ops[ops.length - 1]!;
  const srcNames = ops.slice(0, -1);
  // Raw sources: skip holes like qemu-img does with SEEK_DATA. The lookup runs
  // in a helper process, so it starts first and overlaps opening the images
  // and creating the target (it declines cheaply for files without holes).
  const { sparseExtents } = await import('../../util/extents.js');
  const extentsP = srcNames.map((name) => {
    const p = fmt === undefined || fmt === 'raw' ? sparseExtents(name) : Promise.resolve(null);
    p.catch(() => { /* awaited below */ });
    return p;
  });

  const sources: BlockNode[] = [];
  let target: BlockNode | null = null;
  let created = false;
  let ok = false;
  // A batch copy overlaps nothing with its I/O: synchronous syscalls are
  // cheapest. Like qemu-img, the target's cache mode defaults to unsafe
  // (flushes ignored); any other -t mode keeps them.
  const file = await import('../../block/file.js');
  file.setBatchMode(true);
  file.setFlushes(cacheMode !== 'unsafe');
  try {
    for (const s of srcNames) sources.push(await block.openImage(s, { readOnly: true, format: fmt }));
    if (snapshotParam !== undefined) {
      if (sources.length > 1) throw new ImgError('No support for concatenating multiple snapshot');
      const p = parseSnapshotParam(snapshotParam);
      sources[0] = await loadSnapshot(sources[0]!, p);
    }
    const total = sources.reduce((a, n) => a + n.size(), 0);

    const drv = block.getDriver(outputFormat);
    if (!drv) throw new ImgError(unknownFormat(outputFormat));
    const parsed = parseOptList(optList, drv.createOptions, ['backing_file', 'backing_fmt'], (w) => report(io, w));
    const opts = parsed.values;
    opts.delete('size');
    if (backing !== undefined) {
      if (!drv.createOptions.some((o) => o.name === 'backing_file')) {
        throw new ImgError(`Backing file not supported for file format '${outputFormat}'`);
      }
      if (backingFmt === undefined) throw new ImgError('Use of backing file requires explicit backing format');
      opts.set('backing_file', backing);
      opts.set('backing_fmt', backingFmt);
    }
    const topOnly = opts.has('backing_file') && opts.get('backing_file') !== '';
    if (compress && outputFormat !== 'qcow2') throw new ImgError('Compression not supported for this file format');

    await refuseIfInUse(outName, sources, skipCreate ? `Could not open '${outName}': ` : `${outName}: error while converting ${outputFormat}: `);
    if (!skipCreate) {
      try {
        await block.createImage(outputFormat, outName, total, opts, { unsafe: true });
        created = true;
      } catch (e) {
        if (e instanceof Error && e.name === 'BlockError') {
          // a lock conflict means the file belongs to someone else: never remove it
          throw new ImgError(`${outName}: error while converting ${outputFormat}: ${e.message}`);
        }
        throw e;
      }
    }
    target = await block.openImage(outName, { readOnly: false, format: outputFormat, noBacking: true });
    if (skipCreate && target.size() < total) throw new ImgError('output file is smaller than input file');
    if (compress && !canCompress(target)) throw new ImgError('Compression not supported for this file format');

    const bar = await Progress.start(io, progress, 'converting');
    const cs = target.clusterSize();
    const copySources = await Promise.all(sources.map(async (node, i) => ({
      node,
      size: node.size(),
      extents: node.driver.name === 'raw' && !node.backing ? await extentsP[i]! : null,
    })));
    await copyImage({
      sources: copySources,
      target,
      minSparse: compress ? Math.max(minSparse, 512) : minSparse,
      targetZeroInit: !skipCreate && !topOnly,
      topOnly,
      compress,
      granule: cs ?? (minSparse > 0 ? Math.min(4096, minSparse) : 4096),
      onProgress: (done, t) => bar.update(t > 0 ? (done * 100) / t : 100, done),
    });
    bar.update(100);
    bar.end();
    ok = true;
    return 0;
  } catch (e) {
    if (e instanceof CopyError) throw new ImgError(e.message);
    throw e;
  } finally {
    if (target) { try { await target.close(); } catch { /* reported below */ } }
    for (const s of sources) { try { await block.closeChain(s); } catch { /* read-only */ } }
    if (!ok && created) { try { await unlink(outName); } catch { /* already gone */ } }
    // back to the defaults (the CLI exits next; in-process callers carry on)
    file.setBatchMode(false);
    file.setFlushes(true);
  }
}
