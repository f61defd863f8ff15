/**
 * qcow2 reference counts: the refcount table (in memory) and a bounded
 * write-back cache of refcount blocks, cluster allocation (first fit from a
 * hint), refcount block allocation and refcount table growth.
 *
 * Ordering: new refcount blocks and tables reach the disk (with a flush
 * barrier) before the table/header points at them. Callers flush dirty
 * blocks (and sync) before any L1/L2 entry referencing a new cluster is
 * written, so a crash leaves at worst leaked clusters.
 */
import type { HostFile } from '../file.js';
import { BlockError } from '../errors.js';
import { be64, setBe64 } from './header.js';

interface RBlock {
  buf: Uint8Array;
  dv: DataView;
  dirty: boolean;
}

export interface RefcountHooks {
  /** The refcount table moved: persist the header fields (then sync). */
  tableMoved(offset: number, clusters: number): Promise<void>;
  /** A write happened that a later sync must cover. */
  markUnsynced(): void;
}

export class Refcounts {
  readonly cs: number;
  readonly bits: number;
  readonly perBlock: number;
  readonly maxValue: number;
  private table: Uint8Array;
  private tdv: DataView;
  private cache = new Map<number, RBlock>();
  private readonly cacheMax: number;
  /** Lowest cluster index that may be free. */
  freeHint = 0;
  /** Clusters below this index may be in use; everything at or above is free unless allocated. */
  hostEndCluster: number;
  /** Bumped whenever refcount structures move or grow (metadata overlap cache key). */
  version = 0;
  /** Byte position for packing compressed clusters (0 = none open). */
  freeByteOffset = 0;

  constructor(
    private readonly file: HostFile,
    clusterBits: number,
    refcountOrder: number,
    public tableOffset: number,
    public tableClusters: number,
    table: Uint8Array,
    private readonly hooks: RefcountHooks,
  ) {
    this.cs = 2 ** clusterBits;
    this.bits = 2 ** refcountOrder;
    this.perBlock = (this.cs * 8) / this.bits;
    this.maxValue = this.bits === 64 ? Number.MAX_SAFE_INTEGER : 2 ** this.bits - 1;
    this.table = table;
    this.tdv = new DataView(table.buffer, table.byteOffset, table.byteLength);
    this.cacheMax = Math.max(8, Math.floor((4 << 20) / this.cs));
    this.hostEndCluster = Math.ceil(file.size() / this.cs);
  }

  /** The hooks, for a replacement Refcounts after the structures were rewritten. */
  hooksForReplacement(): RefcountHooks {
    return this.hooks;
  }

  static async load(file: HostFile, clusterBits: number, refcountOrder: number, offset: number, clusters: number, hooks: RefcountHooks): Promise<Refcounts> {
    const buf = new Uint8Array(clusters * 2 ** clusterBits);
    await file.read(offset, buf);
    return new Refcounts(file, clusterBits, refcountOrder, offset, clusters, buf, hooks);
  }

  get tableEntries(): number {
    return this.table.length / 8;
  }

  /** Refcount-table entry i (block offset, 0 when none). */
  tableEntry(i: number): number {
    if (i >= this.tableEntries) return 0;
    return be64(this.tdv, i * 8);
  }

  private async block(offset: number): Promise<RBlock> {
    let b = this.cache.get(offset);
    if (b) {
      this.cache.delete(offset);
      this.cache.set(offset, b);
      return b;
    }
    if (this.cache.size >= this.cacheMax) {
      for (const [k, v] of this.cache) {
        if (v.dirty) {
          await this.file.write(k, v.buf);
          this.hooks.markUnsynced();
        }
        this.cache.delete(k);
        if (this.cache.size < this.cacheMax) break;
      }
    }
    const buf = new Uint8Array(this.cs);
    await this.file.read(offset, buf);
    b = { buf, dv: new DataView(buf.buffer), dirty: false };
    this.cache.set(offset, b);
    return b;
  }

  private readEntry(b: RBlock, i: number): number {
    switch (this.bits) {
      case 16: return b.dv.getUint16(i * 2);
      case 32: return b.dv.getUint32(i * 4);
      case 64: return be64(b.dv, i * 8);
      case 8: return b.buf[i]!;
      default: {
        const bit = i * this.bits;
        return (b.buf[bit >> 3]! >> (bit & 7)) & (2 ** this.bits - 1);
      }
    }
  }

  private writeEntry(b: RBlock, i: number, v: number): void {
    switch (this.bits) {
      case 16: b.dv.setUint16(i * 2, v); break;
      case 32: b.dv.setUint32(i * 4, v); break;
      case 64: setBe64(b.dv, i * 8, v); break;
      case 8: b.buf[i] = v; break;
      default: {
        const bit = i * this.bits;
        const mask = (2 ** this.bits - 1) << (bit & 7);
        b.buf[bit >> 3] = (b.buf[bit >> 3]! & ~mask) | ((v << (bit & 7)) & mask);
      }
    }
    b.dirty = true;
  }

  /** Refcount of cluster index c (0 when no block covers it). */
  async get(c: number): Promise<number> {
    const ti = Math.floor(c / this.perBlock);
    const off = this.tableEntry(ti);
    if (off === 0) return 0;
    return this.readEntry(await this.block(off), c % this.perBlock);
  }

  /** Set the refcount of cluster c, allocating a refcount block when needed. */
  async set(c: number, v: number): Promise<void> {
    if (v < 0 || v > this.maxValue) throw new BlockError('Invalid argument');
    const ti = Math.floor(c / this.perBlock);
    let off = this.tableEntry(ti);
    if (off === 0) {
      if (v === 0) return;
      off = await this.allocBlock(ti);
    }
    const b = await this.block(off);
    this.writeEntry(b, c % this.perBlock, v);
    if (v === 0 && c < this.freeHint) this.freeHint = c;
    // A freed cluster may be reused for anything: stop packing compressed data into it.
    if (v === 0 && this.freeByteOffset !== 0 && Math.floor(this.freeByteOffset / this.cs) === c) this.freeByteOffset = 0;
  }

  /**
   * Change the refcount of cluster c. With `discard`, a cluster that becomes
   * free is zeroed like QEMU's discard of freed snapshot clusters (Node has
   * no hole punching; the bytes read the same).
   */
  async add(c: number, delta: number, discard = false): Promise<void> {
    const v = (await this.get(c)) + delta;
    if (v < 0 || v > this.maxValue) throw new BlockError(v < 0 ? 'Invalid argument' : 'Numerical result out of range');
    await this.set(c, v);
    if (v === 0 && discard && c * this.cs < this.file.size()) {
      await this.file.write(c * this.cs, new Uint8Array(Math.min(this.cs, this.file.size() - c * this.cs)));
      this.hooks.markUnsynced();
    }
  }

  /** Find n contiguous free clusters (not yet referenced). */
  private async findFree(n: number): Promise<number> {
    let c = this.freeHint;
    let run = 0;
    let start = c;
    const covered = this.tableEntries * this.perBlock;
    for (;;) {
      if (c >= this.hostEndCluster && c >= covered) {
        // Everything from here on is free.
        if (run === 0) start = c;
        return start;
      }
      const free = (await this.get(c)) === 0;
      if (free) {
        if (run === 0) start = c;
        run++;
        if (run === n) return start;
      } else run = 0;
      c++;
    }
  }

  /** Allocate n contiguous clusters with refcount 1; returns the host offset. */
  async alloc(n: number): Promise<number> {
    const start = await this.findFree(n);
    // Like QEMU's free_cluster_index: later searches (also for refcount blocks) start past this range.
    this.freeHint = start + n;
    if (start + n > this.hostEndCluster) this.hostEndCluster = start + n;
    for (let i = 0; i < n; i++) await this.set(start + i, 1);
    return start * this.cs;
  }

  /** Allocate a refcount block for table index ti; returns its offset. */
  private async allocBlock(ti: number): Promise<number> {
    if (ti >= this.tableEntries) {
      await this.growTable(ti + 1);
      // Growing may already have created the block for ti (it covers the new table).
      const existing = this.tableEntry(ti);
      if (existing !== 0) return existing;
    }
    const f = await this.findFree(1);
    this.freeHint = f + 1;
    const buf = new Uint8Array(this.cs);
    const b: RBlock = { buf, dv: new DataView(buf.buffer), dirty: true };
    if (Math.floor(f / this.perBlock) === ti) {
      this.writeEntry(b, f % this.perBlock, 1);
    } else {
      await this.set(f, 1);
      await this.flushBlocks();
    }
    if (f + 1 > this.hostEndCluster) this.hostEndCluster = f + 1;
    const off = f * this.cs;
    await this.file.write(off, buf);
    b.dirty = false;
    await this.file.sync();
    setBe64(this.tdv, ti * 8, off);
    this.version++;
    await this.file.write(this.tableOffset + ti * 8, this.table.subarray(ti * 8, ti * 8 + 8));
    this.hooks.markUnsynced();
    this.cache.set(off, b);
    return off;
  }

  /**
   * Grow the refcount table to at least `minEntries` entries: the new table
   * and the refcount blocks that describe it go to the end of the image.
   */
  private async growTable(minEntries: number): Promise<void> {
    const per = this.perBlock;
    const E = Math.max(this.hostEndCluster, Math.ceil(this.file.size() / this.cs));
    let T = Math.ceil(Math.max(minEntries, Math.ceil(this.tableEntries * 1.5)) * 8 / this.cs);
    let B = 0;
    let newBlocks: number[] = [];
    for (let iter = 0; iter < 64; iter++) {
      const end = E + T + B;
      const entries = Math.max(minEntries, Math.ceil(end / per), this.tableEntries);
      const T2 = Math.max(T, Math.ceil(entries * 8 / this.cs));
      newBlocks = [];
      for (let ti = Math.floor(E / per); ti <= Math.floor((E + T2 + B - 1) / per); ti++) {
        if (this.tableEntry(ti) === 0) newBlocks.push(ti);
      }
      if (T2 === T && newBlocks.length === B) break;
      T = T2;
      B = newBlocks.length;
    }
    const table = new Uint8Array(T * this.cs);
    table.set(this.table);
    const tdv = new DataView(table.buffer);
    const blockBufs = new Map<number, Uint8Array>();
    newBlocks.forEach((ti, k) => {
      setBe64(tdv, ti * 8, (E + T + k) * this.cs);
      blockBufs.set(ti, new Uint8Array(this.cs));
    });
    // Refcounts of the new clusters (table + blocks), in new or existing blocks.
    const oldTable = this.table;
    const oldOffset = this.tableOffset;
    const oldClusters = this.tableClusters;
    this.table = table;
    this.tdv = tdv;
    for (const [ti, buf] of blockBufs) {
      this.cache.set(tdv.getUint32(ti * 8) * 4294967296 + tdv.getUint32(ti * 8 + 4), { buf, dv: new DataView(buf.buffer), dirty: true });
    }
    // Until the header points at the new table, entries written for new blocks live only here.
    this.hostEndCluster = E + T + B;
    for (let c = E; c < E + T + B; c++) await this.set(c, 1);
    await this.flushBlocks();
    await this.file.write(E * this.cs, table);
    await this.file.sync();
    this.tableOffset = E * this.cs;
    this.tableClusters = T;
    this.version++;
    await this.hooks.tableMoved(this.tableOffset, T);
    // The old table is no longer referenced.
    void oldTable;
    for (let i = 0; i < oldClusters; i++) await this.add(oldOffset / this.cs + i, -1);
  }

  /** Write all dirty refcount blocks; returns true when something was written. */
  async flushBlocks(): Promise<boolean> {
    let wrote = false;
    for (const [off, b] of this.cache) {
      if (!b.dirty) continue;
      await this.file.write(off, b.buf);
      b.dirty = false;
      wrote = true;
    }
    if (wrote) this.hooks.markUnsynced();
    return wrote;
  }

  /**
   * Reserve `len` bytes for a compressed cluster, packed after the previous
   * one; a host cluster shared by several compressed clusters has a refcount
   * equal to their number.
   */
  async allocBytes(len: number): Promise<number> {
    const cs = this.cs;
    let off = this.freeByteOffset;
    if (off !== 0 && (await this.get(Math.floor(off / cs))) >= this.maxValue) off = 0;
    if (off !== 0 && off % cs !== 0) {
      const room = cs - (off % cs);
      const first = Math.floor(off / cs);
      if (len <= room) {
        await this.add(first, 1);
        this.setFreeByte(off + len);
        return off;
      }
      // Spill into the following cluster when it is free.
      const nextFree = (await this.get(first + 1)) === 0 && len - room <= cs;
      if (nextFree) {
        await this.add(first, 1);
        await this.set(first + 1, 1);
        if (first + 2 > this.hostEndCluster) this.hostEndCluster = first + 2;
        if (first + 2 > this.freeHint && this.freeHint >= first + 1) this.freeHint = first + 2;
        this.setFreeByte(off + len);
        return off;
      }
    }
    const n = Math.ceil(len / cs);
    off = await this.alloc(n);
    this.setFreeByte(off + len);
    return off;
  }

  private setFreeByte(v: number): void {
    this.freeByteOffset = v % this.cs === 0 ? 0 : v;
  }

  /**
   * Switch to a new in-memory refcount table at `offset` (the caller writes it);
   * `newBlocks` are block offsets that start out empty (not read from disk).
   */
  replaceTable(offset: number, clusters: number, table: Uint8Array, newBlocks: number[]): void {
    this.table = table;
    this.tdv = new DataView(table.buffer, table.byteOffset, table.byteLength);
    this.tableOffset = offset;
    this.tableClusters = clusters;
    this.version++;
    for (const off of newBlocks) {
      const buf = new Uint8Array(this.cs);
      this.cache.set(off, { buf, dv: new DataView(buf.buffer), dirty: true });
    }
  }

  /** Drop cached blocks (after the structures were rebuilt on disk). */
  async reload(offset: number, clusters: number): Promise<void> {
    this.cache.clear();
    const buf = new Uint8Array(clusters * this.cs);
    await this.file.read(offset, buf);
    this.table = buf;
    this.tdv = new DataView(buf.buffer);
    this.tableOffset = offset;
    this.tableClusters = clusters;
    this.version++;
    this.freeHint = 0;
    this.freeByteOffset = 0;
  }
}
