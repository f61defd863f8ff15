/** qemu-img measure [--output=human|json] [-O fmt] [-o opts] (--size N | [-f fmt] [-l snap] FILE) */
import { ImgError, unknownFormat, addOpt, parseArgs, parseOutput, report, sizeArg, type IO, type OutputFormat } from '../common.js';
import type { BlockNode } from '../../block/types.js';
import { INT64_MAX } from '../../util/size.js';
import { parseOptList } from '../opts.js';
import { qcow2FullSize } from '../measure-calc.js';
import { loadSnapshot, parseSnapshotParam } from '../snapshot-load.js';
import { toJson } from '../json.js';


export async function run(argv: string[], io: IO): Promise<number> {
  let fmt: string | undefined;
  let outFmt = 'raw';
  let optList: string | undefined;
  let snap: string | undefined;
  let output = 'human' as OutputFormat;
  let size: number | null = null;
  const ops = parseArgs(argv, ':hf:O:o:l:U', [
    { name: 'image-opts', hasArg: 0, val: 'I' },
    { name: 'object', hasArg: 1, val: 'J' },
    { name: 'output', hasArg: 1, val: 'P' },
    { name: 'size', hasArg: 1, val: 'z' },
    { name: 'force-share', hasArg: 0, val: 'U' },
  ], (o, a) => {
    switch (o) {
      case 'f': fmt = a; break;
      case 'O': outFmt = a; break;
      case 'o': optList = addOpt(optList, a); break;
      case 'l': snap = a; break;
      case 'P': output = parseOutput(a); break;
      case 'z': size = sizeArg(io, 'image size', a, 0n, INT64_MAX); break;
      case 'I': throw new ImgError('--image-opts is not supported by qemu-ts-img');
    }
  });
  const block = await import('../../block/index.js');
  if (ops.length > 1) throw new ImgError('At most one filename argument is allowed.');
  const filename = ops[0];
  const givenSize = size as number | null;
  if (filename === undefined && (fmt !== undefined || snap !== undefined)) {
    throw new ImgError('--image-opts, -f, and -l require a filename argument.');
  }
  if (filename !== undefined && givenSize !== null) throw new ImgError('--size N cannot be used together with a filename.');
  if (filename === undefined && givenSize === null) throw new ImgError('Either --size N or one filename must be specified.');

  let node: BlockNode | null = null;
  try {
    let virtualSize: number;
    if (filename !== undefined) {
      node = await block.openImage(filename, { readOnly: true, format: fmt });
      if (snap !== undefined) node = await loadSnapshot(node, parseSnapshotParam(snap));
      virtualSize = node.size();
    } else {
      virtualSize = Math.ceil(givenSize! / 512) * 512;
    }
    const drv = block.getDriver(outFmt);
    if (!drv) {
      throw new ImgError(unknownFormat(outFmt));
    }
    let opts: Map<string, string>;
    try {
      opts = parseOptList(optList, drv.createOptions, ['backing_file', 'backing_fmt'], (w) => report(io, w)).values;
    } catch (e) {
      if (e instanceof ImgError) throw new ImgError(`${e.message}\nqemu-ts-img: Invalid options for file format '${outFmt}'`);
      throw e;
    }
    let required: number;
    let full: number;
    let bitmaps: number | undefined;
    if (outFmt === 'qcow2') {
      const cs = Number(opts.get('cluster_size') ?? 65536);
      if (!(cs >= 512 && cs <= 2 * 1024 * 1024 && (cs & (cs - 1)) === 0)) {
        throw new ImgError('Cluster size must be a power of two between 512 and 2048k');
      }
      const rb = Number(opts.get('refcount_bits') ?? 16);
      if (!(rb >= 1 && rb <= 64 && (rb & (rb - 1)) === 0)) {
        throw new ImgError('Refcount width must be a power of two and may not exceed 64 bits');
      }
      const ext = opts.get('extended_l2') === 'on';
      const prealloc = opts.get('preallocation') ?? 'off';
      full = qcow2FullSize(virtualSize, cs, rb, ext);
      let data = 0;
      if (node) {
        // A raw source has no allocation map here (qemu-img asks SEEK_DATA): count only
        // clusters that hold non-zero bytes, which is what our convert allocates.
        const isRaw = node.driver.name === 'raw' && !node.backing;
        const { dataExtents } = await import('../../util/extents.js');
        const ext = isRaw ? await dataExtents(node.filename) : null;
        const buf = isRaw && !ext ? new Uint8Array(cs) : null;
        let off = 0;
        while (off < virtualSize) {
          const st = await node.blockStatus(off, virtualSize - off);
          let len = Math.max(1, Math.min(st.length, virtualSize - off));
          if (!st.zero && st.allocated && st.data) {
            len = Math.min(virtualSize, Math.ceil((off + len) / cs) * cs) - off;
            if (ext) {
              // qemu-img counts the clusters SEEK_DATA reports, zero-filled or not
              for (let c = off - (off % cs); c < off + len; c += cs) {
                if (ext.some(([a, b]) => a < c + cs && b > c)) data += cs;
              }
            } else if (buf) {
              let c = off - (off % cs);
              for (; c < off + len; c += cs) {
                const v = buf.subarray(0, Math.min(cs, virtualSize - c));
                await node.read(c, v);
                if (!Buffer.from(v.buffer, 0, v.length).equals(Buffer.alloc(v.length))) data += cs;
              }
            } else data += (off % cs) + len;
          }
          off += len;
        }
        if (node.driver.name === 'qcow2') bitmaps = 0;
      }
      const alignedSize = Math.ceil(virtualSize / cs) * cs;
      required = prealloc === 'full' || prealloc === 'falloc' ? full : full - alignedSize + Math.min(data, alignedSize);
    } else {
      required = full = virtualSize;
    }
    if (output === 'json') {
      const o: Record<string, number> = {};
      if (bitmaps !== undefined) o['bitmaps'] = bitmaps;
      o['required'] = required;
      o['fully-allocated'] = full;
      io.out(toJson(o) + '\n');
    } else {
      io.out(`required size: ${required}\nfully allocated size: ${full}\n`);
      if (bitmaps !== undefined) io.out(`bitmaps size: ${bitmaps}\n`);
    }
    return 0;
  } finally {
    if (node) await block.closeChain(node);
  }
}
