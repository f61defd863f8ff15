/**
 * qcow2 consistency check (qemu-img check): recount every reference from the
 * metadata, compare with the stored refcounts, verify OFLAG_COPIED, and with
 * `fix` repair leaks, refcount errors (rebuilding the refcount structures
 * when a referenced cluster has refcount 0) and COPIED flags. Findings are
 * reported with qemu-img 7.2's exact lines.
 */
import type { CheckResult } from '../types.js';
import { BlockError } from '../errors.js';
import { setBe64, serializeHeader, INCOMPAT_CORRUPT, INCOMPAT_DIRTY } from './header.js';
import { Refcounts } from './refcount.js';
import { bitmapReferences } from './bitmaps.js';
import { type Qcow2Node, entryOffset, COPIED_HI, COMPRESSED_HI } from './node.js';

const hex = (n: number): string => n.toString(16);

/** A 64-bit L1/L2 entry as lowercase hex without leading zeros (like PRIx64). */
function hex64(hi: number, lo: number): string {
  return hi ? hi.toString(16) + lo.toString(16).padStart(8, '0') : lo.toString(16);
}

class RefTable {
  a: Uint32Array;
  constructor(n: number) {
    this.a = new Uint32Array(Math.max(n, 1));
  }
  get size(): number {
    return this.a.length;
  }
  get(i: number): number {
    return i < this.a.length ? this.a[i]! : 0;
  }
  inc(i: number): void {
    if (i >= this.a.length) {
      const b = new Uint32Array(Math.max(i + 1, this.a.length * 2));
      b.set(this.a);
      this.a = b;
    }
    this.a[i]!++;
  }
}

export interface Counts {
  corruptions: number;
  leaks: number;
  checkErrors: number;
  corruptionsFixed: number;
  leaksFixed: number;
  allocated: number;
  fragmented: number;
  compressed: number;
}

export interface Pass {
  refs: RefTable;
  /** Number of clusters compared (grows when references go past EOF by less than a cluster). */
  nbClusters: number;
  rebuild: boolean;
}

export async function checkImage(n: Qcow2Node, fix: { leaks: boolean; all: boolean }, report: (line: string) => void): Promise<CheckResult> {
  const fixLeaks = fix.leaks || fix.all;
  const fixErrors = fix.all;
  if ((fixLeaks || fixErrors) && n.readOnly) throw new BlockError('Permission denied');
  await n.flushRaw();
  const cs = n.cs;
  const res: Counts = { corruptions: 0, leaks: 0, checkErrors: 0, corruptionsFixed: 0, leaksFixed: 0, allocated: 0, fragmented: 0, compressed: 0 };
  const calculate = (res: Counts, doFix: boolean): Promise<Pass> => calculateRefs(n, res, report, fixErrors && doFix);

  /** Compare stored refcounts with references; returns the highest cluster in use. */
  const compare = async (res: Counts, pass: Pass, fixL: boolean, fixE: boolean): Promise<number> => {
    let highest = 0;
    for (let i = 0; i < pass.nbClusters; i++) {
      let r1: number;
      const ti = Math.floor(i / n.rc.perBlock);
      const blk = n.rc.tableEntry(ti);
      if (blk % cs !== 0) {
        report(`Can't get refcount for cluster ${i}: Input/output error`);
        res.checkErrors++;
        continue;
      }
      r1 = await n.rc.get(i);
      const r2 = pass.refs.get(i);
      if (r1 > 0 || r2 > 0) highest = i;
      if (r1 === r2) continue;
      let fixed: 'leaks' | 'corr' | null = null;
      if (r1 === 0) pass.rebuild = true;
      else if (r1 > r2 && fixL) fixed = 'leaks';
      else if (r1 < r2 && fixE) fixed = 'corr';
      report(`${fixed ? 'Repairing' : r1 < r2 ? 'ERROR' : 'Leaked'} cluster ${i} refcount=${r1} reference=${r2}`);
      if (fixed) {
        await n.rc.set(i, r2);
        if (fixed === 'leaks') res.leaksFixed++;
        else res.corruptionsFixed++;
        continue;
      }
      if (r1 < r2) res.corruptions++;
      else res.leaks++;
    }
    await n.rc.flushBlocks();
    await n.syncIfNeeded();
    return highest;
  };

  let pass = await calculate(res, true);
  const pre = { ...res };
  let highest = await compare(res, pass, false, false);
  if (pass.rebuild && fixErrors) {
    report('Rebuilding refcount structure');
    const old = { ...res };
    await rebuildRefcounts(n, pass);
    res.corruptions = 0;
    res.leaks = 0;
    const tmp: Counts = { ...res };
    pass = await calculate(tmp, false);
    Object.assign(res, { corruptions: tmp.corruptions, leaks: tmp.leaks, checkErrors: tmp.checkErrors });
    const saved = { ...res };
    const r2: Counts = { corruptions: 0, leaks: 0, checkErrors: 0, corruptionsFixed: 0, leaksFixed: 0, allocated: 0, fragmented: 0, compressed: 0 };
    pass.rebuild = false;
    highest = await compare(r2, pass, true, false);
    if (pass.rebuild) report('ERROR rebuilt refcount structure is still broken');
    const freshLeaks = r2.leaks;
    Object.assign(res, saved);
    if (res.corruptions < old.corruptions) res.corruptionsFixed += old.corruptions - res.corruptions;
    if (res.leaks < old.leaks) res.leaksFixed += old.leaks - res.leaks;
    res.leaks += freshLeaks;
    res.allocated = old.allocated;
    res.fragmented = old.fragmented;
    res.compressed = old.compressed;
  } else if (fixLeaks) {
    if (pass.rebuild) {
      report('ERROR need to rebuild refcount structures');
      res.checkErrors++;
      throw new BlockError('Check failed: Input/output error');
    }
    if (res.leaks || res.corruptions) {
      Object.assign(res, pre);
      highest = await compare(res, pass, fixLeaks, fixErrors);
    }
  }

  await checkOflagCopied(n, res, fixErrors, report);

  if ((fixLeaks || fixErrors) && res.checkErrors === 0 && res.corruptions === 0) {
    const before = n.h.incompatible;
    n.h.incompatible &= ~(INCOMPAT_CORRUPT | ((n.h.incompatible & INCOMPAT_DIRTY) && !(n.h.compatible & 1) ? INCOMPAT_DIRTY : 0));
    if (n.h.incompatible !== before) await n.writeIncompatible();
  }
  return {
    corruptions: res.corruptions,
    leaks: res.leaks,
    checkErrors: res.checkErrors,
    corruptionsFixed: res.corruptionsFixed,
    leaksFixed: res.leaksFixed,
    imageEndOffset: (highest + 1) * cs,
    totalClusters: Math.ceil(n.h.size / cs),
    allocatedClusters: res.allocated,
    fragmentedClusters: res.fragmented,
    compressedClusters: res.compressed,
  };
}

export async function calculateRefs(n: Qcow2Node, res: Counts, report: (line: string) => void, fixing: boolean): Promise<Pass> {
  const cs = n.cs;
  const fileLen = () => n.file.size();
  const nb = Math.ceil(fileLen() / cs);
  const pass: Pass = { refs: new RefTable(nb), nbClusters: nb, rebuild: false };
  const inc = (offset: number, size: number): void => {
    if (size <= 0) return;
    if (offset + size - fileLen() >= cs) {
      report(`ERROR: counting reference for region exceeding the end of the file by one cluster or more: offset 0x${hex(offset)} size 0x${hex(size)}`);
      res.corruptions++;
      return;
    }
    const first = Math.floor(offset / cs);
    const last = Math.floor((offset + size - 1) / cs);
    for (let k = first; k <= last; k++) {
      pass.refs.inc(k);
      if (k + 1 > pass.nbClusters) pass.nbClusters = k + 1;
    }
  };
  inc(0, cs);
  await checkL1(n, res, inc, n.h.l1TableOffset, n.h.l1Size, true, fixing, report);
  if (n.hasDataFile && n.snaps.length) {
    report(`ERROR ${n.snaps.length} snapshots in image with data file`);
    res.corruptions++;
  }
  for (const sn of n.snaps) {
    if (sn.l1TableOffset % cs) {
      report(`ERROR snapshot ${sn.id} (${sn.name}) l1_offset=0x${hex(sn.l1TableOffset)}: L1 table is not cluster aligned; snapshot table entry corrupted`);
      res.corruptions++;
      continue;
    }
    if (sn.l1Size > (32 << 20) / 8) {
      report(`ERROR snapshot ${sn.id} (${sn.name}) l1_size=0x${hex(sn.l1Size)}: L1 table is too large; snapshot table entry corrupted`);
      res.corruptions++;
      continue;
    }
    await checkL1(n, res, inc, sn.l1TableOffset, sn.l1Size, false, false, report);
  }
  inc(n.h.snapshotsOffset, snapshotTableSize(n));
  inc(n.rc.tableOffset, n.rc.tableClusters * cs);
  await bitmapReferences(n, inc);
  // Refcount blocks.
  for (let i = 0; i < n.rc.tableEntries; i++) {
    const e = n.rc.tableEntry(i);
    if (e === 0) continue;
    if (e % 512 !== 0 || e >= 2 ** 56) {
      report(`ERROR refcount table entry ${i} has reserved bits set`);
      res.corruptions++;
      pass.rebuild = true;
      continue;
    }
    if (e % cs !== 0) {
      report(`ERROR refcount block ${i} is not cluster aligned; refcount table entry corrupted`);
      res.corruptions++;
      pass.rebuild = true;
      continue;
    }
    const c = e / cs;
    if (c >= pass.nbClusters) {
      res.corruptions++;
      report(`${fixing ? 'Repairing' : 'ERROR'} refcount block ${i} is outside image`);
      if (fixing) pass.rebuild = true;
      continue;
    }
    inc(e, cs);
    if (pass.refs.get(c) !== 1) {
      report(`ERROR refcount block ${i} refcount=${pass.refs.get(c)}`);
      res.corruptions++;
      pass.rebuild = true;
    }
  }
  return pass;
}

/** Size in bytes of the on-disk snapshot table (the last entry unpadded). */
function snapshotTableSize(n: Qcow2Node): number {
  if (!n.h.nbSnapshots) return 0;
  let size = 0;
  const enc = new TextEncoder();
  n.snaps.forEach((s, i) => {
    const len = 40 + 24 + s.unknownExtra.length + enc.encode(s.id).length + enc.encode(s.name).length;
    size += i === n.snaps.length - 1 ? len : (len + 7) & ~7;
  });
  return size;
}

async function checkL1(
  n: Qcow2Node, res: Counts, inc: (off: number, size: number) => void,
  l1Offset: number, l1Size: number, active: boolean, _fix: boolean, report: (l: string) => void,
): Promise<void> {
  if (l1Size === 0) return;
  const cs = n.cs;
  inc(l1Offset, l1Size * 8);
  const l1 = active ? n.l1 : await n.readL1(l1Offset, l1Size);
  const dv = new DataView(l1.buffer, l1.byteOffset, l1.byteLength);
  const l2 = new Uint8Array(cs);
  const l2dv = new DataView(l2.buffer);
  for (let i = 0; i < l1Size; i++) {
    const hi = dv.getUint32(i * 8);
    const lo = dv.getUint32(i * 8 + 4);
    if (hi === 0 && lo === 0) continue;
    if ((hi & 0x7f000000) || (lo & 0x1ff)) {
      report(`ERROR found L1 entry with reserved bits set: ${hex64(hi, lo)}`);
      res.corruptions++;
    }
    const l2off = entryOffset(hi, lo);
    inc(l2off, cs);
    if (l2off % cs) {
      report(`ERROR l2_offset=${hex(l2off)}: Table is not cluster aligned; L1 entry corrupted`);
      res.corruptions++;
    }
    await n.file.read(l2off, l2);
    let nextContiguous = 0;
    for (let j = 0; j < n.l2Entries; j++) {
      const at = j * n.entryBytes;
      const ehi = l2dv.getUint32(at);
      const elo = l2dv.getUint32(at + 4);
      const bmZero = n.extL2 ? l2dv.getUint32(at + 8) : 0;
      const bmAlloc = n.extL2 ? l2dv.getUint32(at + 12) : 0;
      if (ehi & COMPRESSED_HI) {
        if (ehi & COPIED_HI) {
          const { coff } = n.compressedInfo(ehi, elo);
          report(`ERROR: coffset=0x${hex(coff)}: copied flag must never be set for compressed clusters`);
          res.corruptions++;
        }
        if (n.hasDataFile) {
          report(`ERROR compressed cluster ${j} with data file, entry=0x${hex64(ehi, elo)}`);
          res.corruptions++;
          continue;
        }
        if (bmZero || bmAlloc) {
          report(`ERROR compressed cluster ${j} with non-zero subcluster allocation bitmap, entry=0x${hex64(ehi, elo)}`);
          res.corruptions++;
          continue;
        }
        const { coff, nb } = n.compressedInfo(ehi, elo);
        inc(coff, (nb + 1) * 512 - (coff % 512));
        if (active) {
          res.allocated++;
          res.compressed++;
          res.fragmented++;
        }
        continue;
      }
      if ((ehi & 0x3f000000) || (elo & 0x1fe)) {
        report(`ERROR found l2 entry with reserved bits set: ${hex64(ehi, elo)}`);
        res.corruptions++;
      }
      const off = entryOffset(ehi, elo);
      const zeroFlag = !n.extL2 && (elo & 1) !== 0 && n.h.version >= 3;
      const allocated = off !== 0 || (n.hasDataFile && (ehi & COPIED_HI) !== 0);
      if (!allocated) {
        if (bmAlloc) {
          report(`ERROR: Unallocated cluster has non-zero subcluster allocation bitmap, entry=0x${hex64(ehi, elo)}`);
          res.corruptions++;
        }
        continue;
      }
      if (bmZero & bmAlloc) {
        report(`ERROR offset=${hex(off)}: Allocated cluster has corrupted subcluster allocation bitmap`);
        res.corruptions++;
      }
      if (off % cs) {
        res.corruptions++;
        const containsData = n.extL2 ? bmAlloc !== 0 : !zeroFlag;
        report(containsData
          ? `ERROR offset=${hex(off)}: Data cluster is not properly aligned; L2 entry corrupted.`
          : `ERROR offset=${hex(off)}: Preallocated cluster is not properly aligned; L2 entry corrupted.`);
      }
      if (active) {
        res.allocated++;
        if (nextContiguous && off !== nextContiguous) res.fragmented++;
        nextContiguous = off + cs;
      }
      if (!n.hasDataFile) inc(off, cs);
    }
  }
}

async function checkOflagCopied(n: Qcow2Node, res: Counts, fix: boolean, report: (l: string) => void): Promise<void> {
  const cs = n.cs;
  const l2 = new Uint8Array(cs);
  const l2dv = new DataView(l2.buffer);
  for (let i = 0; i < n.h.l1Size; i++) {
    const hi = n.l1dv.getUint32(i * 8);
    const lo = n.l1dv.getUint32(i * 8 + 4);
    const l2off = entryOffset(hi, lo);
    if (!l2off) continue;
    if (n.rc.tableEntry(Math.floor(l2off / cs / n.rc.perBlock)) % cs) continue;
    const rc = await n.rc.get(Math.floor(l2off / cs));
    if ((rc === 1) !== ((hi & COPIED_HI) !== 0)) {
      res.corruptions++;
      report(`${fix ? 'Repairing' : 'ERROR'} OFLAG_COPIED L2 cluster: l1_index=${i} l1_entry=${hex64(hi, lo)} refcount=${rc}`);
      if (fix) {
        n.l1dv.setUint32(i * 8, rc === 1 ? (hi | COPIED_HI) >>> 0 : hi & ~COPIED_HI);
        await n.file.write(n.h.l1TableOffset + i * 8, n.l1.subarray(i * 8, i * 8 + 8));
        await n.file.sync();
        res.corruptions--;
        res.corruptionsFixed++;
      }
    }
    n.l2cache.delete(l2off);
    await n.file.read(l2off, l2);
    let dirty = 0;
    for (let j = 0; j < n.l2Entries; j++) {
      const at = j * n.entryBytes;
      const ehi = l2dv.getUint32(at);
      const elo = l2dv.getUint32(at + 4);
      if (ehi & COMPRESSED_HI) continue;
      const off = entryOffset(ehi, elo);
      const allocated = off !== 0 || (n.hasDataFile && (ehi & COPIED_HI) !== 0);
      if (!allocated) continue;
      let r: number;
      if (n.hasDataFile) r = 1;
      else {
        if (n.rc.tableEntry(Math.floor(off / cs / n.rc.perBlock)) % cs) continue;
        r = await n.rc.get(Math.floor(off / cs));
      }
      if ((r === 1) !== ((ehi & COPIED_HI) !== 0)) {
        res.corruptions++;
        report(`${fix ? 'Repairing' : 'ERROR'} OFLAG_COPIED data cluster: l2_entry=${hex64(ehi, elo)} refcount=${r}`);
        if (fix) {
          l2dv.setUint32(at, r === 1 ? (ehi | COPIED_HI) >>> 0 : ehi & ~COPIED_HI);
          dirty++;
        }
      }
    }
    if (dirty) {
      await n.file.write(l2off, l2);
      await n.file.sync();
      res.corruptions -= dirty;
      res.corruptionsFixed += dirty;
    }
  }
}

/**
 * Write fresh refcount blocks and a fresh table (at the end of the image)
 * from the recounted references, then point the header at them.
 */
async function rebuildRefcounts(n: Qcow2Node, pass: Pass, order = n.h.refcountOrder): Promise<void> {
  const cs = n.cs;
  const bits = 2 ** order;
  const per = (cs * 8) / bits;
  let used = 0;
  for (let i = pass.refs.size - 1; i >= 0; i--) {
    if (pass.refs.get(i)) {
      used = i + 1;
      break;
    }
  }
  const start = Math.max(used, Math.ceil(n.file.size() / cs));
  // Blocks for every cluster up to the end of the new structures, then the table.
  let nBlocks = 0;
  let nTable = 0;
  for (;;) {
    const end = start + nBlocks + nTable;
    const nb2 = Math.ceil(end / per);
    const nt2 = Math.max(1, Math.ceil((nb2 * 8) / cs));
    if (nb2 === nBlocks && nt2 === nTable) break;
    nBlocks = nb2;
    nTable = nt2;
  }
  const refAt = (c: number): number => (c >= start && c < start + nBlocks + nTable ? 1 : pass.refs.get(c));
  const table = new Uint8Array(nTable * cs);
  const tdv = new DataView(table.buffer);
  const block = new Uint8Array(cs);
  const bdv = new DataView(block.buffer);
  for (let b = 0; b < nBlocks; b++) {
    block.fill(0);
    for (let k = 0; k < per; k++) {
      const v = refAt(b * per + k);
      if (!v) continue;
      switch (bits) {
        case 64: setBe64(bdv, k * 8, v); break;
        case 32: bdv.setUint32(k * 4, v); break;
        case 16: bdv.setUint16(k * 2, v); break;
        case 8: block[k] = v; break;
        default: {
          const bit = k * bits;
          block[bit >> 3] = block[bit >> 3]! | ((Math.min(v, 2 ** bits - 1)) << (bit & 7));
        }
      }
    }
    const off = (start + b) * cs;
    await n.file.write(off, block);
    setBe64(tdv, b * 8, off);
  }
  const tableOff = (start + nBlocks) * cs;
  await n.file.write(tableOff, table);
  await n.file.sync();
  if (order !== n.h.refcountOrder) {
    // Table location and entry width change together, in one header write.
    n.h.refcountOrder = order;
    n.h.refcountTableOffset = tableOff;
    n.h.refcountTableClusters = nTable;
    await n.file.write(0, serializeHeader(n.h, n.h.version >= 3));
    await n.file.sync();
    n.rc = new Refcounts(n.file, n.cbits, order, tableOff, nTable, table, n.rc.hooksForReplacement());
    n.rc.hostEndCluster = start + nBlocks + nTable;
    return;
  }
  const hb = new Uint8Array(12);
  const hdv = new DataView(hb.buffer);
  setBe64(hdv, 0, tableOff);
  hdv.setUint32(8, nTable);
  await n.file.write(48, hb);
  await n.file.sync();
  n.h.refcountTableOffset = tableOff;
  n.h.refcountTableClusters = nTable;
  await n.rc.reload(tableOff, nTable);
  n.rc.hostEndCluster = start + nBlocks + nTable;
}

/** Rewrite the refcount structures with entries of 2^order bits (amend refcount_bits). */
export async function changeRefcountWidth(n: Qcow2Node, order: number): Promise<void> {
  await n.flushRaw();
  const res: Counts = { corruptions: 0, leaks: 0, checkErrors: 0, corruptionsFixed: 0, leaksFixed: 0, allocated: 0, fragmented: 0, compressed: 0 };
  const lines: string[] = [];
  const pass = await calculateRefs(n, res, (l) => lines.push(l), false);
  if (res.corruptions || res.checkErrors) throw new BlockError('Image is not consistent; run qemu-img check -r all first');
  // The old structures are dropped once the header points at the new ones.
  const cs = n.cs;
  const drop = (c: number) => { if (c < pass.refs.size) pass.refs.a[c] = Math.max(0, pass.refs.a[c]! - 1); };
  for (let k = 0; k < n.rc.tableClusters; k++) drop(n.rc.tableOffset / cs + k);
  for (let i = 0; i < n.rc.tableEntries; i++) {
    const e = n.rc.tableEntry(i);
    if (e) drop(e / cs);
  }
  const max = 2 ** (2 ** order) - 1;
  for (let i = 0; i < pass.refs.size; i++) {
    if (pass.refs.a[i]! > max) throw new BlockError(`Cannot decrease refcount entry width to ${2 ** order} bits: Cluster at offset 0x${hex(i * cs)} has a refcount of ${pass.refs.a[i]}`);
  }
  await rebuildRefcounts(n, pass, order);
}
