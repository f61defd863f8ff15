/**
 * Changes to an existing qcow2 image: backing file (rebase), emptying
 * (commit), option amendment (compat up/downgrade, lazy_refcounts,
 * refcount_bits, size, backing) and read-only views of internal snapshots.
 */
import { BlockError } from '../errors.js';
import { serializeHeader, INCOMPAT_DIRTY, COMPAT_LAZY_REFCOUNTS, INCOMPAT_MASK } from './header.js';
import { type Qcow2Node, entryOffset, COPIED_HI, COMPRESSED_HI } from './node.js';
import { updateSnapshotRefcount } from './snapshot.js';
import { resizeImage } from './resize.js';
import { parseBool, parseSizeOpt, parseNumberOpt } from '../options.js';
import { changeRefcountWidth } from './check.js';

/** Rewrite the whole header cluster from n.h (extensions, backing name). */
export async function rewriteHeader(n: Qcow2Node): Promise<void> {
  const head = serializeHeader(n.h, n.h.version >= 3);
  // Only the bytes up to the end of the backing name / extensions matter; write the header cluster.
  await n.file.write(0, head);
  await n.file.sync();
}

export async function changeBackingFile(n: Qcow2Node, file: string | null, format: string | null): Promise<void> {
  if (n.readOnly) throw new BlockError('Permission denied');
  await n.flushRaw();
  const old = { f: n.h.backingFile, fmt: n.h.backingFormat };
  n.h.backingFile = file || null;
  n.h.backingFormat = file ? format : null;
  try {
    await rewriteHeader(n);
  } catch (e) {
    n.h.backingFile = old.f;
    n.h.backingFormat = old.fmt;
    throw e;
  }
}

/** Drop every cluster of the active image so reads fall through to the backing file. */
export async function makeEmpty(n: Qcow2Node): Promise<void> {
  if (n.readOnly) throw new BlockError('Permission denied');
  await n.flushRaw();
  const old = n.l1.slice();
  n.l1.fill(0);
  n.metaVersion++;
  await n.file.write(n.h.l1TableOffset, n.l1);
  await n.file.sync();
  n.l1Dirty = false;
  await updateSnapshotRefcount(n, n.h.l1TableOffset, n.h.l1Size, -1, old);
  n.l2cache.clear();
}

/** Turn zero clusters into something a v2 reader understands (before a downgrade). */
async function expandZeroClusters(n: Qcow2Node): Promise<void> {
  const cs = n.cs;
  const tables: { off: number; l1: Uint8Array; size: number }[] = [{ off: n.h.l1TableOffset, l1: n.l1, size: n.h.l1Size }];
  for (const s of n.snaps) tables.push({ off: s.l1TableOffset, l1: await n.readL1(s.l1TableOffset, s.l1Size), size: s.l1Size });
  const zero = new Uint8Array(cs);
  for (const tb of tables) {
    const dv = new DataView(tb.l1.buffer, tb.l1.byteOffset, tb.l1.byteLength);
    for (let i = 0; i < tb.size; i++) {
      const l2off = entryOffset(dv.getUint32(i * 8), dv.getUint32(i * 8 + 4));
      if (!l2off) continue;
      const t = await n.getL2(l2off);
      for (let j = 0; j < n.l2Entries; j++) {
        const hi = t.dv.getUint32(j * 8);
        const lo = t.dv.getUint32(j * 8 + 4);
        if (hi & COMPRESSED_HI || !(lo & 1)) continue;
        const host = entryOffset(hi, lo);
        if (host) {
          await n.file.write(host, zero);
          t.dv.setUint32(j * 8 + 4, lo & ~1);
        } else if (!n.backing && !n.h.backingFile) {
          t.dv.setUint32(j * 8 + 4, 0);
        } else {
          const nh = await n.rc.alloc(1);
          await n.file.write(nh, zero);
          t.dv.setUint32(j * 8, Math.floor(nh / 4294967296) | COPIED_HI);
          t.dv.setUint32(j * 8 + 4, nh >>> 0);
        }
        t.dirty = true;
      }
    }
  }
  await n.flushRaw();
}

const CREATE_ONLY = ['cluster_size', 'compression_type', 'preallocation', 'extended_l2', 'encryption', 'nocow', 'extent_size_hint'];

export async function amend(n: Qcow2Node, opts: Map<string, string>, _force: boolean): Promise<void> {
  if (n.readOnly) throw new BlockError('Permission denied');
  for (const k of opts.keys()) {
    if (CREATE_ONLY.includes(k) || k.startsWith('encrypt.')) {
      throw new BlockError(`Invalid parameter '${k}'\nThis option is only supported for image creation`);
    }
    if (!['compat', 'lazy_refcounts', 'refcount_bits', 'size', 'backing_file', 'backing_fmt', 'data_file', 'data_file_raw'].includes(k)) {
      throw new BlockError(`Invalid parameter '${k}'`);
    }
  }
  await n.flushRaw();
  const h = n.h;
  const compat = opts.get('compat');
  let version = h.version;
  if (compat !== undefined) {
    if (compat === '0.10' || compat === 'v2') version = 2;
    else if (compat === '1.1' || compat === 'v3') version = 3;
    else throw new BlockError(`Invalid compatibility level: '${compat}'`);
  }
  const lazy = opts.has('lazy_refcounts') ? parseBool('lazy_refcounts', opts.get('lazy_refcounts'), false) : (h.compatible & COMPAT_LAZY_REFCOUNTS) !== 0;
  const bits = parseNumberOpt('refcount_bits', opts.get('refcount_bits'), 2 ** h.refcountOrder);
  if (bits > 64 || bits < 1 || (bits & (bits - 1)) !== 0) throw new BlockError('Refcount width must be a power of two and may not exceed 64 bits');
  if (opts.has('data_file') || opts.has('data_file_raw')) throw new BlockError('Changing the external data file is not supported');
  if (version < 3) {
    if (lazy) throw new BlockError('Lazy refcounts only supported with compatibility level 1.1 and above (use compat=1.1 or greater)');
    if (bits !== 16) throw new BlockError('Different refcount widths than 16 bits require compatibility level 1.1 or above (use compat=1.1 or greater)');
  }
  if (version < h.version) {
    if (h.incompatible & (INCOMPAT_MASK & ~INCOMPAT_DIRTY)) {
      throw new BlockError('Cannot downgrade an image with incompatible features other than the dirty bit set');
    }
  }
  if (bits !== 2 ** h.refcountOrder) {
    await changeRefcountWidth(n, Math.log2(bits));
  }
  if (version < h.version) {
    await expandZeroClusters(n);
    h.version = 2;
    h.headerLength = 72;
    h.incompatible = 0;
    h.compatible = 0;
    h.autoclear = 0;
    h.extraHeader = new Uint8Array(0);
    await rewriteHeader(n);
  } else if (version > h.version) {
    h.version = 3;
    h.headerLength = 112;
    await rewriteHeader(n);
  }
  if (h.version >= 3 && lazy !== ((h.compatible & COMPAT_LAZY_REFCOUNTS) !== 0)) {
    if (lazy) h.compatible |= COMPAT_LAZY_REFCOUNTS;
    else {
      h.compatible &= ~COMPAT_LAZY_REFCOUNTS;
      h.incompatible &= ~INCOMPAT_DIRTY;
    }
    await rewriteHeader(n);
  }
  if (opts.has('backing_file') || opts.has('backing_fmt')) {
    const bf = opts.has('backing_file') ? opts.get('backing_file')! : h.backingFile;
    const bfmt = opts.has('backing_fmt') ? opts.get('backing_fmt')! : h.backingFormat;
    h.backingFile = bf || null;
    h.backingFormat = bf ? bfmt : null;
    await rewriteHeader(n);
  }
  if (opts.has('size')) {
    const size = parseSizeOpt('size', opts.get('size'), h.size);
    if (size !== h.size) await resizeImage(n, size, { shrink: true, prealloc: 'off' });
  }
}
