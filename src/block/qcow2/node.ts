/**
 * An open qcow2 image: cluster mapping through L1/L2 (standard and extended
 * entries), reads (data, zero, compressed, backing fall-through), writes with
 * cluster allocation and copy-on-write, zero writes, flush with crash-safe
 * ordering, and resize.
 *
 * Write ordering (flush): dirty refcount blocks → sync → dirty L2 tables →
 * sync → L1 table → sync → deferred cluster frees → sync. Data clusters are
 * written before the L2 entry that points to them is updated in memory, so a
 * crash at any point leaves at worst leaked clusters.
 */
import type { BlockDriver, BlockNode, BlockStatus, CheckResult, Checkable, Resizable, SnapshotCapable, SnapshotInfo } from '../types.js';
import type { HostFile } from '../file.js';
import { BlockError, blockWarning } from '../errors.js';
import {
  be64, setBe64, type Qcow2Header,
  INCOMPAT_DIRTY, INCOMPAT_EXTL2, INCOMPAT_DATA_FILE, COMPAT_LAZY_REFCOUNTS, AUTOCLEAR_DATA_FILE_RAW, INCOMPAT_CORRUPT, AUTOCLEAR_BITMAPS,
} from './header.js';
import { Refcounts } from './refcount.js';
import { decompressCluster, compressCluster, compressClusterAsync, initZstd } from './compress.js';
import type { Qcow2Snapshot } from './snapshot-table.js';

export const KIND_UNALLOC = 0;
export const KIND_ZERO = 1;
export const KIND_DATA = 2;
export const KIND_COMPRESSED = 3;

const COPIED_HI = 0x80000000;
const COMPRESSED_HI = 0x40000000;

export interface L2Table {
  buf: Uint8Array;
  dv: DataView;
  dirty: boolean;
}

/** Result of a mapping lookup for a run of guest bytes. */
export interface Mapping {
  kind: number;
  /** Bytes from the queried offset with this status. */
  len: number;
  /** Host offset of the first byte (data), or of the compressed stream. */
  host: number;
  /** Compressed stream length in bytes. */
  csize: number;
}

function entryOffset(hi: number, lo: number): number {
  return (hi & 0x00ffffff) * 4294967296 + ((lo & 0xfffffe00) >>> 0);
}

let zeroCluster: Uint8Array | null = null;

export class Qcow2Node implements BlockNode, SnapshotCapable, Checkable, Resizable {
  backing: BlockNode | null = null;
  readonly cs: number;
  readonly cbits: number;
  readonly extL2: boolean;
  readonly entryBytes: number;
  readonly l2Entries: number;
  readonly subSize: number;
  l1: Uint8Array;
  l1dv: DataView;
  l1Dirty = false;
  readonly l2cache = new Map<number, L2Table>();
  private readonly l2cacheMax: number;
  unsynced = false;
  pendingFrees: number[] = [];
  snaps: Qcow2Snapshot[];
  private lastCompressed: { host: number; data: Uint8Array } | null = null;
  private queue: Promise<unknown> = Promise.resolve();
  closed = false;
  /** Metadata clusters by kind (QEMU's overlap check), rebuilt when metadata moves. */
  private metaMap: Map<number, string> | null = null;
  private metaKey = '';
  metaVersion = 0;
  private corruptReported = false;
  /** Persistent dirty bitmaps (kept, not maintained): directory and tables for check, list for info. */
  bitmaps: { name: string; granularity: number; flags: string[]; tableOffset: number; tableSize: number }[] = [];
  bitmapDir: { offset: number; size: number } | null = null;
  /** Byte size of the on-disk snapshot table, once known. */
  tableSize: number | undefined = undefined;

  constructor(
    readonly driver: BlockDriver,
    readonly filename: string,
    readonly file: HostFile,
    readonly dataFile: HostFile,
    readonly h: Qcow2Header,
    public rc: Refcounts,
    l1: Uint8Array,
    snaps: Qcow2Snapshot[],
    readonly readOnly: boolean,
  ) {
    this.cbits = h.clusterBits;
    this.cs = 2 ** h.clusterBits;
    this.extL2 = (h.incompatible & INCOMPAT_EXTL2) !== 0;
    this.entryBytes = this.extL2 ? 16 : 8;
    this.l2Entries = this.cs / this.entryBytes;
    this.subSize = this.extL2 ? this.cs / 32 : this.cs;
    this.l1 = l1;
    this.l1dv = new DataView(l1.buffer, l1.byteOffset, l1.byteLength);
    this.snaps = snaps;
    this.l2cacheMax = Math.max(4, Math.floor((8 << 20) / this.cs));
  }

  get hasDataFile(): boolean {
    return (this.h.incompatible & INCOMPAT_DATA_FILE) !== 0;
  }

  /** Run `fn` after every earlier operation on this node (one at a time). */
  serialize<T>(fn: () => Promise<T>): Promise<T> {
    const p = this.queue.then(fn, fn);
    this.queue = p.catch(() => undefined);
    return p;
  }

  // ---- BlockNode basics -------------------------------------------------

  size(): number {
    return this.h.size;
  }
  backingFilename(): string | null {
    return this.h.backingFile;
  }
  backingFormat(): string | null {
    return this.h.backingFormat;
  }
  clusterSize(): number {
    return this.cs;
  }
  dirty(): boolean {
    return (this.h.incompatible & INCOMPAT_DIRTY) !== 0;
  }
  /** Host bytes of the image file (like qemu-img, an external data file is not counted). */
  async allocatedFileSize(): Promise<number> {
    return this.file.allocatedSize();
  }
  formatSpecific(): { type: string; data: Record<string, unknown> } {
    const h = this.h;
    const data: Record<string, unknown> = {};
    if (h.version < 3) {
      data['compat'] = '0.10';
      data['compression-type'] = 'zlib';
      data['refcount-bits'] = 16;
    } else {
      data['compat'] = '1.1';
      data['compression-type'] = h.compressionType === 1 ? 'zstd' : 'zlib';
      data['lazy-refcounts'] = (h.compatible & COMPAT_LAZY_REFCOUNTS) !== 0;
      if (this.bitmaps.length) {
        data['bitmaps'] = this.bitmaps.map((b) => ({ flags: b.flags, name: b.name, granularity: b.granularity }));
      }
      data['refcount-bits'] = 2 ** h.refcountOrder;
      if (this.hasDataFile) {
        if (h.dataFile) data['data-file'] = h.dataFile;
        data['data-file-raw'] = (h.autoclear & AUTOCLEAR_DATA_FILE_RAW) !== 0;
      }
      data['corrupt'] = (h.incompatible & INCOMPAT_CORRUPT) !== 0;
      data['extended-l2'] = this.extL2;
    }
    return { type: 'qcow2', data };
  }
  snapshots(): SnapshotInfo[] {
    return this.snaps.map((s) => ({
      id: s.id,
      name: s.name,
      vmStateSize: s.vmStateSize,
      dateSec: s.dateSec,
      dateNsec: s.dateNsec,
      vmClockNsec: s.vmClockNsec,
      icount: s.icount,
      diskSize: s.diskSize ?? undefined,
    }));
  }

  // ---- L1 / L2 access ---------------------------------------------------

  get l1Size(): number {
    return this.h.l1Size;
  }
  l1Hi(i: number): number {
    return this.l1dv.getUint32(i * 8);
  }
  l1Offset(i: number): number {
    if (i >= this.h.l1Size) return 0;
    return entryOffset(this.l1dv.getUint32(i * 8), this.l1dv.getUint32(i * 8 + 4));
  }
  setL1(i: number, offset: number, copied: boolean): void {
    this.metaVersion++;
    this.l1dv.setUint32(i * 8, Math.floor(offset / 4294967296) | (copied ? COPIED_HI : 0));
    this.l1dv.setUint32(i * 8 + 4, offset >>> 0);
    this.l1Dirty = true;
  }

  /** The L2 table at host offset `off`, through the bounded write-back cache. */
  async getL2(off: number): Promise<L2Table> {
    let t = this.l2cache.get(off);
    if (t) {
      this.l2cache.delete(off);
      this.l2cache.set(off, t);
      return t;
    }
    while (this.l2cache.size >= this.l2cacheMax) {
      const [k, v] = this.l2cache.entries().next().value as [number, L2Table];
      if (v.dirty) await this.writeL2(k, v);
      this.l2cache.delete(k);
    }
    const buf = new Uint8Array(this.cs);
    await this.file.read(off, buf);
    t = { buf, dv: new DataView(buf.buffer), dirty: false };
    this.l2cache.set(off, t);
    return t;
  }

  /** Write one dirty L2 table, after the refcounts and data it depends on are stable. */
  private async writeL2(off: number, t: L2Table): Promise<void> {
    await this.rc.flushBlocks();
    await this.syncIfNeeded();
    await this.file.write(off, t.buf);
    t.dirty = false;
    this.unsynced = true;
  }

  async syncIfNeeded(): Promise<void> {
    if (this.unsynced) {
      await this.file.sync();
      if (this.dataFile !== this.file) await this.dataFile.sync();
      this.unsynced = false;
    }
  }

  /** Decode the mapping of guest offset `off`, for at most `maxLen` bytes. */
  async lookup(off: number, maxLen: number): Promise<Mapping> {
    const cs = this.cs;
    const span = cs * this.l2Entries;
    const l1i = Math.floor(off / span);
    const inTable = off - l1i * span;
    const l2off = this.l1Offset(l1i);
    if (l2off === 0) return { kind: KIND_UNALLOC, len: Math.min(maxLen, span - inTable), host: 0, csize: 0 };
    if (l2off % cs !== 0) throw new BlockError('Input/output error'); // corrupt L1 entry
    const t = await this.getL2(l2off);
    const i = Math.floor(inTable / cs);
    const first = this.classify(t, i, off % cs);
    if (first.kind === KIND_DATA && (first.host - (off % cs)) % cs !== 0) throw new BlockError('Input/output error');
    let len = first.len;
    let endRel = (off % cs) + len;
    let j = i;
    // Extend the run over following clusters of the same table with the same status.
    while (first.kind !== KIND_COMPRESSED && len < maxLen && endRel === (j - i + 1) * cs && j + 1 < this.l2Entries) {
      const m = this.classify(t, j + 1, 0);
      if (m.kind !== first.kind) break;
      if ((m.kind === KIND_DATA || first.host !== 0 || m.host !== 0) && m.host !== first.host + len) break;
      len += m.len;
      endRel += m.len;
      j++;
    }
    return { kind: first.kind, len: Math.min(len, maxLen), host: first.host, csize: first.csize };
  }

  /** Host byte offset and extra sector count of a compressed L2 entry (x = 62 - (cluster_bits - 8)). */
  compressedInfo(hi: number, lo: number): { coff: number; nb: number } {
    const shift = 62 - (this.cbits - 8) - 32;
    const coff = (hi & ((1 << shift) - 1)) * 4294967296 + lo;
    const nb = (hi & 0x3fffffff) >>> shift;
    return { coff, nb };
  }

  /** Status of the bytes from `inCluster` in entry i, up to the end of the cluster or subcluster run. */
  classify(t: L2Table, i: number, inCluster: number): Mapping {
    const cs = this.cs;
    const at = i * this.entryBytes;
    const hi = t.dv.getUint32(at);
    const lo = t.dv.getUint32(at + 4);
    if (hi & COMPRESSED_HI) {
      const { coff, nb } = this.compressedInfo(hi, lo);
      return { kind: KIND_COMPRESSED, len: cs - inCluster, host: coff, csize: (nb + 1) * 512 - (coff % 512) };
    }
    const host = entryOffset(hi, lo);
    if (!this.extL2) {
      if (lo & 1 && this.h.version >= 3) return { kind: KIND_ZERO, len: cs - inCluster, host: host ? host + inCluster : 0, csize: 0 };
      if (host !== 0 || (this.hasDataFile && hi & COPIED_HI)) return { kind: KIND_DATA, len: cs - inCluster, host: host + inCluster, csize: 0 };
      return { kind: KIND_UNALLOC, len: cs - inCluster, host: 0, csize: 0 };
    }
    const zeroBits = t.dv.getUint32(at + 8);
    const allocBits = t.dv.getUint32(at + 12);
    const ss = this.subSize;
    let s = Math.floor(inCluster / ss);
    const kindOf = (k: number): number => {
      const z = (zeroBits >>> k) & 1;
      const a = (allocBits >>> k) & 1;
      if (z && a) return -1;
      return z ? KIND_ZERO : a ? KIND_DATA : KIND_UNALLOC;
    };
    const kind = kindOf(s);
    if (kind < 0) throw new BlockError('Input/output error');
    let end = s + 1;
    while (end < 32 && kindOf(end) === kind) end++;
    s = end;
    return { kind, len: end * ss - inCluster, host: host || (this.hasDataFile && hi & COPIED_HI) ? host + inCluster : 0, csize: 0 };
  }

  // ---- reads ------------------------------------------------------------

  read(offset: number, buf: Uint8Array): Promise<void> {
    if (offset < 0 || offset + buf.length > this.h.size) return Promise.reject(new BlockError('Input/output error'));
    return this.serialize(() => this.readRaw(offset, buf));
  }

  /** Read without taking the queue (callers already hold it). */
  async readRaw(offset: number, buf: Uint8Array): Promise<void> {
    let done = 0;
    while (done < buf.length) {
      const off = offset + done;
      const m = await this.lookup(off, buf.length - done);
      const n = Math.min(m.len, buf.length - done);
      const dst = buf.subarray(done, done + n);
      switch (m.kind) {
        case KIND_DATA:
          await this.dataFile.read(m.host, dst);
          break;
        case KIND_ZERO:
          dst.fill(0);
          break;
        case KIND_COMPRESSED: {
          const data = await this.readCompressed(m.host, m.csize);
          const inC = off % this.cs;
          dst.set(data.subarray(inC, inC + n));
          break;
        }
        default:
          await this.readBacking(off, dst);
      }
      done += n;
    }
  }

  private async readBacking(off: number, dst: Uint8Array): Promise<void> {
    const b = this.backing;
    if (!b) {
      dst.fill(0);
      return;
    }
    const bsize = b.size();
    const n = Math.max(0, Math.min(dst.length, bsize - off));
    if (n > 0) await b.read(off, dst.subarray(0, n));
    if (n < dst.length) dst.fill(0, n);
  }

  async readCompressed(host: number, csize: number): Promise<Uint8Array> {
    if (this.lastCompressed && this.lastCompressed.host === host) return this.lastCompressed.data;
    const raw = new Uint8Array(csize);
    await this.file.read(host, raw);
    const data = decompressCluster(this.h.compressionType, raw, this.cs);
    this.lastCompressed = { host, data };
    return data;
  }

  blockStatus(offset: number, length: number): Promise<BlockStatus> {
    return this.serialize(async () => {
      length = Math.min(length, this.h.size - offset);
      const m = await this.lookup(offset, length);
      const len = Math.min(m.len, length);
      switch (m.kind) {
        case KIND_DATA:
          return { length: len, allocated: true, zero: false, data: true, hostOffset: m.host, hostFile: this.dataFile.filename, depth: 0 };
        case KIND_ZERO:
          // A zero cluster that keeps its host cluster (no unmap) still reports where it lives.
          return m.host
            ? { length: len, allocated: true, zero: true, data: false, hostOffset: m.host, hostFile: this.dataFile.filename, depth: 0 }
            : { length: len, allocated: true, zero: true, data: false, depth: 0 };
        case KIND_COMPRESSED:
          return { length: len, allocated: true, zero: false, data: true, compressed: true, depth: 0 };
        default: {
          const b = this.backing;
          if (b && offset < b.size()) {
            const st = await b.blockStatus(offset, Math.min(len, b.size() - offset));
            return { ...st, depth: st.depth + 1, allocated: st.allocated };
          }
          return { length: len, allocated: false, zero: true, data: false, depth: b ? this.chainDepth() : 0 };
        }
      }
    });
  }

  private chainDepth(): number {
    let d = 0;
    for (let n: BlockNode | null = this.backing; n; n = n.backing) d++;
    return d;
  }

  // ---- writes -----------------------------------------------------------

  private async checkWritable(offset: number, length: number): Promise<void> {
    if (this.readOnly) throw new BlockError('Permission denied');
    if (this.closed) throw new BlockError('Input/output error');
    if (offset < 0 || length < 0 || offset + length > this.h.size) throw new BlockError('Input/output error');
    if (this.h.autoclear & AUTOCLEAR_BITMAPS) await this.invalidateBitmaps();
  }

  /**
   * We do not maintain dirty bitmaps: before the first guest write, clear the
   * autoclear bit so readers know they are stale (their clusters then leak,
   * as with any writer that lacks bitmap support; check -r leaks frees them).
   */
  async invalidateBitmaps(): Promise<void> {
    this.h.autoclear &= ~AUTOCLEAR_BITMAPS;
    const b = new Uint8Array(8);
    setBe64(new DataView(b.buffer), 0, this.h.autoclear);
    await this.writeHeaderBytes(88, b);
    this.bitmaps = [];
    this.bitmapDir = null;
  }

  write(offset: number, buf: Uint8Array): Promise<void> {
    return this.serialize(async () => {
      await this.checkWritable(offset, buf.length);
      let done = 0;
      const cs = this.cs;
      const batch = !this.extL2 && !this.hasDataFile;
      while (done < buf.length) {
        const off = offset + done;
        if (batch && off % cs === 0 && buf.length - done >= 2 * cs) {
          const n = await this.writeNewRun(off, buf.subarray(done, done + Math.floor((buf.length - done) / cs) * cs));
          if (n > 0) {
            done += n;
            continue;
          }
        }
        const n = Math.min(cs - (off % cs), buf.length - done);
        await this.writeInCluster(off, buf.subarray(done, done + n));
        done += n;
      }
    });
  }

  /**
   * Fast path for whole clusters that have no host cluster yet (the common
   * case of convert and of a guest filling a fresh image): allocate the run
   * of clusters contiguously, write the data with one call, then point the
   * L2 entries at it in memory. Returns the bytes written, 0 when the first
   * two clusters do not qualify (the caller then goes cluster by cluster).
   * Order is the same as writeInCluster's: data before the in-memory L2
   * update; refcounts and L2 reach the disk at flush, refcounts first.
   */
  private async writeNewRun(off: number, data: Uint8Array): Promise<number> {
    const cs = this.cs;
    const span = cs * this.l2Entries;
    const i0 = Math.floor((off % span) / cs);
    const maxK = Math.min(data.length / cs, this.l2Entries - i0);
    const { t } = await this.l2ForWrite(Math.floor(off / span));
    const dv = t.dv;
    const v3 = this.h.version >= 3;
    let k = 0;
    while (k < maxK) {
      const at = (i0 + k) * 8;
      const lo = dv.getUint32(at + 4);
      // no host cluster, not compressed; a v3 zero flag is overwritten as a whole
      if (dv.getUint32(at) !== 0 || (lo !== 0 && !(lo === 1 && v3))) break;
      k++;
    }
    if (k < 2) return 0;
    const host = await this.rc.alloc(k);
    await this.dataFile.write(host, k * cs === data.length ? data : data.subarray(0, k * cs));
    this.unsynced = true;
    for (let j = 0; j < k; j++) {
      const h = host + j * cs;
      dv.setUint32((i0 + j) * 8, Math.floor(h / 4294967296) | COPIED_HI);
      dv.setUint32((i0 + j) * 8 + 4, h >>> 0);
    }
    t.dirty = true;
    return k * cs;
  }

  /** L2 table for guest L1 index l1i, allocated or copied (COW) so it can be modified. */
  async l2ForWrite(l1i: number): Promise<{ t: L2Table; off: number }> {
    const hi = this.l1Hi(l1i);
    const old = this.l1Offset(l1i);
    if (old % this.cs !== 0) throw new BlockError('Input/output error');
    if (old !== 0 && hi & COPIED_HI) return { t: await this.getL2(old), off: old };
    const off = await this.rc.alloc(1);
    const buf = new Uint8Array(this.cs);
    if (old !== 0) {
      buf.set((await this.getL2(old)).buf);
      this.pendingFrees.push(old / this.cs);
    }
    const t: L2Table = { buf, dv: new DataView(buf.buffer), dirty: true };
    // A new table goes to disk before the L1 can point at it (flush order).
    while (this.l2cache.size >= this.l2cacheMax) {
      const [k, v] = this.l2cache.entries().next().value as [number, L2Table];
      if (v.dirty) await this.writeL2(k, v);
      this.l2cache.delete(k);
    }
    this.l2cache.set(off, t);
    this.setL1(l1i, off, true);
    return { t, off };
  }

  /** Free the host cluster(s) an L2 entry holds (deferred until the entry change is on disk). */
  private freeEntryHost(hi: number, lo: number): void {
    if (hi & COMPRESSED_HI) {
      const { coff, nb } = this.compressedInfo(hi, lo);
      const end = coff - (coff % 512) + (nb + 1) * 512;
      for (let c = Math.floor(coff / this.cs); c * this.cs < end; c++) this.pendingFrees.push(c);
      return;
    }
    const host = entryOffset(hi, lo);
    if (host !== 0 && !this.hasDataFile) this.pendingFrees.push(host / this.cs);
  }

  private setEntry(t: L2Table, i: number, hi: number, lo: number, bitmapZero?: number, bitmapAlloc?: number): void {
    const at = i * this.entryBytes;
    t.dv.setUint32(at, hi);
    t.dv.setUint32(at + 4, lo);
    if (this.extL2) {
      t.dv.setUint32(at + 8, bitmapZero ?? 0);
      t.dv.setUint32(at + 12, bitmapAlloc ?? 0);
    }
    t.dirty = true;
  }

  /** Allocate a host cluster for guest data (in the data file when there is one). */
  private async allocDataCluster(guestCluster: number): Promise<number> {
    if (this.hasDataFile) return guestCluster * this.cs;
    return this.rc.alloc(1);
  }

  /** Write `data` at guest offset `off`; the range lies within one cluster. */
  private async writeInCluster(off: number, data: Uint8Array): Promise<void> {
    const cs = this.cs;
    const span = cs * this.l2Entries;
    const l1i = Math.floor(off / span);
    const i = Math.floor((off % span) / cs);
    const a = off % cs;
    const b = a + data.length;
    const clusterStart = off - a;
    const { t } = await this.l2ForWrite(l1i);
    const at = i * this.entryBytes;
    const hi = t.dv.getUint32(at);
    const lo = t.dv.getUint32(at + 4);
    const compressed = (hi & COMPRESSED_HI) !== 0;
    const host = compressed ? 0 : entryOffset(hi, lo);
    const hasHost = !compressed && (host !== 0 || (this.hasDataFile && (hi & COPIED_HI) !== 0));
    const inPlace = hasHost && (hi & COPIED_HI) !== 0;

    if (!this.extL2) {
      // Bit 0 of a compressed entry belongs to its byte offset, not a zero flag.
      const zeroFlag = !compressed && (lo & 1) !== 0 && this.h.version >= 3;
      if (inPlace && !zeroFlag) {
        await this.guardWrite(host + a, data.length);
        await this.dataFile.write(host + a, data);
        this.unsynced = true;
        return;
      }
      let content: Uint8Array;
      if (a === 0 && b === cs) content = data;
      else {
        content = new Uint8Array(cs);
        if (!zeroFlag) await this.readRaw(clusterStart, content);
        content.set(data, a);
      }
      const target = inPlace ? host : await this.allocDataCluster(clusterStart / cs);
      if (inPlace) await this.guardWrite(target, cs);
      await this.dataFile.write(target, content);
      this.unsynced = true;
      if (!inPlace && (hasHost || compressed)) this.freeEntryHost(hi, lo);
      this.setEntry(t, i, Math.floor(target / 4294967296) | COPIED_HI, target >>> 0);
      return;
    }

    // Extended L2: subcluster granularity.
    const ss = this.subSize;
    const zeroBits = t.dv.getUint32(at + 8);
    const allocBits = t.dv.getUint32(at + 12);
    const s0 = Math.floor(a / ss);
    const s1 = Math.floor((b - 1) / ss);
    let touched = 0;
    for (let s = s0; s <= s1; s++) touched |= 1 << s;
    touched >>>= 0;
    if (inPlace) {
      await this.guardWrite(host, cs);
      if ((allocBits & touched) >>> 0 === touched) {
        await this.dataFile.write(host + a, data);
        this.unsynced = true;
        return;
      }
      const sa = s0 * ss;
      const content = new Uint8Array((s1 + 1) * ss - sa);
      await this.readRaw(clusterStart + sa, content);
      content.set(data, a - sa);
      await this.dataFile.write(host + sa, content);
      this.unsynced = true;
      this.setEntry(t, i, hi, lo, (zeroBits & ~touched) >>> 0, (allocBits | touched) >>> 0);
      return;
    }
    const target = await this.allocDataCluster(clusterStart / cs);
    if (hasHost || compressed) {
      // The old cluster holds data for other subclusters: copy the whole cluster.
      const content = new Uint8Array(cs);
      await this.readRaw(clusterStart, content);
      content.set(data, a);
      await this.dataFile.write(target, content);
      this.unsynced = true;
      this.freeEntryHost(hi, lo);
      const alloc = compressed ? 0xffffffff : (allocBits | touched) >>> 0;
      this.setEntry(t, i, Math.floor(target / 4294967296) | COPIED_HI, target >>> 0, (zeroBits & ~alloc) >>> 0, alloc);
      return;
    }
    const sa = s0 * ss;
    const content = new Uint8Array((s1 + 1) * ss - sa);
    await this.readRaw(clusterStart + sa, content);
    content.set(data, a - sa);
    await this.dataFile.write(target + sa, content);
    this.unsynced = true;
    this.setEntry(t, i, Math.floor(target / 4294967296) | COPIED_HI, target >>> 0, (zeroBits & ~touched) >>> 0, touched);
  }

  writeZeroes(offset: number, length: number, mayUnmap: boolean): Promise<void> {
    return this.serialize(async () => {
      await this.checkWritable(offset, length);
      const end = offset + length;
      let off = offset;
      while (off < end) {
        const cs = this.cs;
        const a = off % cs;
        const n = Math.min(cs - a, end - off);
        await this.zeroInCluster(off, n, mayUnmap);
        off += n;
      }
    });
  }

  private async zeroInCluster(off: number, n: number, mayUnmap: boolean): Promise<void> {
    const cs = this.cs;
    if (this.hasDataFile && (this.h.autoclear & AUTOCLEAR_DATA_FILE_RAW)) {
      // data_file_raw: the data file must stay a valid raw image, so zeros go there.
      await this.writeInCluster(off, new Uint8Array(n));
      return;
    }
    const a = off % cs;
    const ss = this.subSize;
    const full = a === 0 && n === cs;
    const subAligned = this.extL2 && a % ss === 0 && n % ss === 0;
    if (this.h.version < 3) {
      if (full && !this.backing) {
        const m = await this.lookup(off, cs);
        if (m.kind === KIND_UNALLOC && m.len >= cs) return;
        const span = cs * this.l2Entries;
        const { t } = await this.l2ForWrite(Math.floor(off / span));
        const i = Math.floor((off % span) / cs);
        const hi = t.dv.getUint32(i * 8);
        const lo = t.dv.getUint32(i * 8 + 4);
        this.freeEntryHost(hi, lo);
        this.setEntry(t, i, 0, 0);
        return;
      }
      await this.writeInCluster(off, new Uint8Array(n));
      return;
    }
    if (!full && !subAligned) {
      // Partial cluster: nothing to do when it already reads as zeros without backing data.
      const m = await this.lookup(off, n);
      if (m.len >= n && (m.kind === KIND_ZERO || (m.kind === KIND_UNALLOC && !this.backing))) return;
      await this.writeInCluster(off, new Uint8Array(n));
      return;
    }
    const span = cs * this.l2Entries;
    const { t } = await this.l2ForWrite(Math.floor(off / span));
    const i = Math.floor((off % span) / cs);
    const at = i * this.entryBytes;
    const hi = t.dv.getUint32(at);
    const lo = t.dv.getUint32(at + 4);
    const compressed = (hi & COMPRESSED_HI) !== 0;
    const host = compressed ? 0 : entryOffset(hi, lo);
    const allocated = compressed || host !== 0 || (this.hasDataFile && (hi & COPIED_HI) !== 0);
    if (!this.extL2) {
      const unmap = compressed || (mayUnmap && allocated);
      if (unmap) {
        this.freeEntryHost(hi, lo);
        this.setEntry(t, i, 0, 1);
      } else this.setEntry(t, i, hi, (lo | 1) >>> 0);
      return;
    }
    const zeroBits = t.dv.getUint32(at + 8);
    const allocBits = t.dv.getUint32(at + 12);
    if (full) {
      const unmap = compressed || (mayUnmap && allocated);
      if (unmap) {
        this.freeEntryHost(hi, lo);
        this.setEntry(t, i, 0, 0, 0xffffffff, 0);
      } else this.setEntry(t, i, hi, lo, 0xffffffff, 0);
      return;
    }
    if (compressed) {
      await this.writeInCluster(off, new Uint8Array(n));
      return;
    }
    let mask = 0;
    for (let s = a / ss; s < (a + n) / ss; s++) mask |= 1 << s;
    mask >>>= 0;
    this.setEntry(t, i, hi, lo, (zeroBits | mask) >>> 0, (allocBits & ~mask) >>> 0);
  }

  /** Compress one whole cluster the way writeCompressed would (may run off the main thread). */
  async compressForWrite(data: Uint8Array): Promise<Uint8Array | null> {
    if (this.h.compressionType === 1) await initZstd();
    let full = data;
    if (data.length < this.cs) {
      full = new Uint8Array(this.cs);
      full.set(data);
    }
    return compressClusterAsync(this.h.compressionType, full);
  }

  /**
   * Write one whole guest cluster compressed (convert -c). Falls back to a
   * normal write when compression does not shrink it; all-zero clusters are
   * skipped when they already read as zeros.
   */
  writeCompressed(offset: number, data: Uint8Array, precompressed?: Uint8Array | null): Promise<void> {
    return this.serialize(async () => {
      const cs = this.cs;
      if (offset % cs !== 0 || (data.length !== cs && offset + data.length !== this.h.size)) {
        throw new BlockError('Compression requires whole clusters');
      }
      await this.checkWritable(offset, data.length);
      if (this.hasDataFile) throw new BlockError('Compression is not supported with external data files');
      let full = data;
      if (data.length < cs) {
        full = new Uint8Array(cs);
        full.set(data);
      }
      let packed: Uint8Array | null;
      if (precompressed !== undefined) packed = precompressed;
      else {
        if (this.h.compressionType === 1) await initZstd();
        packed = compressCluster(this.h.compressionType, full);
      }
      if (!packed) {
        await this.writeInCluster(offset, data);
        return;
      }
      const span = cs * this.l2Entries;
      const { t } = await this.l2ForWrite(Math.floor(offset / span));
      const i = Math.floor((offset % span) / cs);
      const at = i * this.entryBytes;
      const ohi = t.dv.getUint32(at);
      const olo = t.dv.getUint32(at + 4);
      const host = await this.rc.allocBytes(packed.length);
      // The decompressed-cluster cache is keyed by host offset, which may now hold new data.
      this.lastCompressed = null;
      await this.file.write(host, packed);
      this.unsynced = true;
      const oldHost = entryOffset(ohi, olo);
      if ((ohi & COMPRESSED_HI) || oldHost !== 0) this.freeEntryHost(ohi, olo);
      const shift = 62 - (this.cbits - 8) - 32;
      const nb = Math.floor((host + packed.length - 1) / 512) - Math.floor(host / 512);
      this.setEntry(t, i, ((nb << shift) | Math.floor(host / 4294967296) | COMPRESSED_HI) >>> 0, host >>> 0, 0, 0);
    });
  }

  /** Kind of metadata held by host cluster c, or undefined (for the overlap check). */
  private metadataAt(c: number): string | undefined {
    const key = `${this.metaVersion}:${this.rc.version}:${this.rc.tableOffset}:${this.rc.tableClusters}:${this.h.l1TableOffset}:${this.h.l1Size}:${this.h.snapshotsOffset}:${this.h.nbSnapshots}`;
    if (!this.metaMap || key !== this.metaKey) {
      const m = new Map<number, string>();
      const cs = this.cs;
      const range = (off: number, bytes: number, kind: string) => {
        for (let k = Math.floor(off / cs); k * cs < off + bytes; k++) if (!m.has(k)) m.set(k, kind);
      };
      m.set(0, 'qcow2_header');
      range(this.h.l1TableOffset, this.h.l1Size * 8, 'active L1 table');
      for (let i = 0; i < this.h.l1Size; i++) {
        const o = this.l1Offset(i);
        if (o) range(o, cs, 'active L2 table');
      }
      range(this.rc.tableOffset, this.rc.tableClusters * cs, 'refcount table');
      for (let i = 0; i < this.rc.tableEntries; i++) {
        const o = this.rc.tableEntry(i);
        if (o) range(o, cs, 'refcount block');
      }
      if (this.h.nbSnapshots) range(this.h.snapshotsOffset, this.tableSize ?? cs, 'snapshot table');
      for (const s of this.snaps) range(s.l1TableOffset, s.l1Size * 8, 'inactive L1 table');
      this.metaMap = m;
      this.metaKey = key;
    }
    return this.metaMap.get(c);
  }

  /**
   * Refuse a data write onto metadata (a corrupted mapping): mark the image
   * corrupt once, as QEMU does, and fail the request.
   */
  private async guardWrite(host: number, length: number): Promise<void> {
    if (this.hasDataFile) return;
    const cs = this.cs;
    for (let c = Math.floor(host / cs); c * cs < host + length; c++) {
      const kind = this.metadataAt(c);
      if (kind === undefined) continue;
      if (!this.corruptReported) {
        this.corruptReported = true;
        blockWarning(`qcow2: Marking image as corrupt: Preventing invalid write on metadata (overlaps with ${kind}); further corruption events will be suppressed`);
        this.h.incompatible |= INCOMPAT_CORRUPT;
        await this.writeIncompatible();
      }
      throw new BlockError('Input/output error');
    }
  }

  // ---- flush / close ------------------------------------------------------

  flush(): Promise<void> {
    return this.serialize(() => this.flushRaw());
  }

  async flushRaw(): Promise<void> {
    if (this.readOnly) return;
    await this.rc.flushBlocks();
    await this.syncIfNeeded();
    let wrote = false;
    for (const [off, t] of this.l2cache) {
      if (t.dirty) {
        await this.file.write(off, t.buf);
        t.dirty = false;
        wrote = true;
      }
    }
    if (wrote) this.unsynced = true;
    await this.syncIfNeeded();
    if (this.l1Dirty) {
      await this.file.write(this.h.l1TableOffset, this.l1);
      this.l1Dirty = false;
      this.unsynced = true;
      await this.syncIfNeeded();
    }
    if (this.pendingFrees.length) {
      this.lastCompressed = null;
      const frees = this.pendingFrees;
      this.pendingFrees = [];
      for (const c of frees) await this.rc.add(c, -1);
      await this.rc.flushBlocks();
      await this.syncIfNeeded();
    }
  }

  async writeHeaderBytes(at: number, bytes: Uint8Array): Promise<void> {
    await this.file.write(at, bytes);
    await this.file.sync();
  }

  /** Write the 8-byte incompatible-features field. */
  async writeIncompatible(): Promise<void> {
    const b = new Uint8Array(8);
    setBe64(new DataView(b.buffer), 0, this.h.incompatible);
    await this.writeHeaderBytes(72, b);
  }

  close(): Promise<void> {
    return this.serialize(async () => {
      if (this.closed) return;
      try {
        await this.flushRaw();
        if (!this.readOnly && this.h.version >= 3 && (this.h.incompatible & INCOMPAT_DIRTY) && (this.h.compatible & COMPAT_LAZY_REFCOUNTS)) {
          this.h.incompatible &= ~INCOMPAT_DIRTY;
          await this.writeIncompatible();
        }
      } finally {
        this.closed = true;
        if (this.dataFile !== this.file) await this.dataFile.close();
        await this.file.close();
      }
    });
  }

  // ---- capabilities implemented in sibling modules -------------------------

  async createSnapshot(name: string, vmClockNsec = 0): Promise<void> {
    const { createSnapshot } = await import('./snapshot.js');
    return this.serialize(() => createSnapshot(this, name, vmClockNsec));
  }
  async applySnapshot(idOrName: string): Promise<void> {
    const { applySnapshot } = await import('./snapshot.js');
    return this.serialize(() => applySnapshot(this, idOrName));
  }
  async deleteSnapshot(name: string): Promise<void> {
    const { deleteSnapshot } = await import('./snapshot.js');
    return this.serialize(() => deleteSnapshot(this, name));
  }
  async check(fix: { leaks: boolean; all: boolean }, report: (line: string) => void): Promise<CheckResult> {
    const { checkImage } = await import('./check.js');
    return this.serialize(() => checkImage(this, fix, report));
  }
  async truncate(size: number, opts: { shrink: boolean; prealloc: string }): Promise<void> {
    const { resizeImage } = await import('./resize.js');
    return this.serialize(() => resizeImage(this, size, opts));
  }

  async changeBackingFile(file: string | null, format: string | null): Promise<void> {
    const m = await import('./amend.js');
    return this.serialize(() => m.changeBackingFile(this, file, format));
  }
  async makeEmpty(): Promise<void> {
    const m = await import('./amend.js');
    return this.serialize(() => m.makeEmpty(this));
  }
  async amend(opts: Map<string, string>, force: boolean): Promise<void> {
    const m = await import('./amend.js');
    return this.serialize(() => m.amend(this, opts, force));
  }

  /** A read-only view of internal snapshot `idOrName` (convert -l). Closing it leaves this node open. */
  async openSnapshotView(idOrName: string): Promise<BlockNode> {
    const sn = this.snaps.find((s) => s.id === idOrName) ?? this.snaps.find((s) => s.name === idOrName);
    if (!sn) throw new BlockError("Failed to load snapshot: Can't find snapshot");
    await this.flush();
    const l1 = await this.readL1(sn.l1TableOffset, sn.l1Size);
    const h = { ...this.h, size: sn.diskSize ?? this.h.size, l1Size: sn.l1Size, l1TableOffset: sn.l1TableOffset };
    const view = new Qcow2Node(this.driver, this.filename, this.file, this.dataFile, h, this.rc, l1, [], true);
    view.backing = this.backing;
    view.close = async () => { view.closed = true; };
    return view;
  }

  /** Read the L1 table of a snapshot (or any L1 at `offset` with `entries`). */
  async readL1(offset: number, entries: number): Promise<Uint8Array> {
    const buf = new Uint8Array(entries * 8);
    await this.file.read(offset, buf);
    return buf;
  }

  zeroClusterBuf(): Uint8Array {
    if (!zeroCluster || zeroCluster.length < this.cs) zeroCluster = new Uint8Array(this.cs);
    return zeroCluster.subarray(0, this.cs);
  }
}

export { entryOffset, COPIED_HI, COMPRESSED_HI, be64 };
