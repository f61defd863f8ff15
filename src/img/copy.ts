/**
 * The streaming copier behind convert (and commit): walks the sources in
 * windows of 2 MiB, asks block status to skip zero and unallocated runs,
 * reads data runs with several windows in flight, finds zero granules with
 * 32-bit word scans and writes only what must be written, in order.
 * Memory stays bounded: at most `depth` window buffers exist at once.
 */
import type { BlockNode } from '../block/types.js';

export const WINDOW = 8 * 1024 * 1024;

/** Optional capability of a format node: write one guest cluster compressed. */
export interface CompressWriter {
  /** `precompressed`: the result of compressForWrite for this data (null = incompressible). */
  writeCompressed(offset: number, data: Uint8Array, precompressed?: Uint8Array | null): Promise<void>;
  /** Compress a cluster as writeCompressed would, possibly on another thread. */
  compressForWrite?(data: Uint8Array): Promise<Uint8Array | null>;
}

export function canCompress(n: BlockNode): n is BlockNode & CompressWriter {
  return typeof (n as Partial<CompressWriter>).writeCompressed === 'function';
}

export interface CopySource {
  node: BlockNode;
  size: number;
  /**
   * For a raw source: the host file's data extents (SEEK_DATA). Everything
   * outside them reads as zeros and is neither read nor scanned.
   */
  extents?: Array<[number, number]> | null;
}

/** Does [a, b) meet any extent? `list` is sorted. */
function overlaps(list: Array<[number, number]>, a: number, b: number): boolean {
  let lo = 0;
  let hi = list.length;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (list[mid]![1] <= a) lo = mid + 1; else hi = mid;
  }
  return lo < list.length && list[lo]![0] < b;
}

export interface CopyPlan {
  sources: CopySource[];
  target: BlockNode;
  /** Zero runs at least this long are not written; 0 = write everything (fully allocate). */
  minSparse: number;
  /** Target reads as zeros where nothing is written (fresh image without backing). */
  targetZeroInit: boolean;
  /** Copy only what the top layer of each source allocates (convert -B). */
  topOnly: boolean;
  compress: boolean;
  /** Target allocation unit (cluster size, or 4096 for raw). */
  granule: number;
  depth?: number;
  onProgress?: (done: number, total: number) => void;
}

/** Error raised while copying, with qemu-img's wording. */
export class CopyError extends Error {}

const KIND_DATA = 0;
const KIND_ZERO = 1;
const KIND_SKIP = 2;
/** Read as data, found all zero: like KIND_ZERO, but -S may still write it. */
const KIND_ZERO_READ = 3;

interface Window {
  src: CopySource;
  srcOff: number;
  tgtOff: number;
  len: number;
}

interface Prepared {
  w: Window;
  /** One kind per granule. */
  kinds: Uint8Array;
  buf: Uint8Array | null;
}

/** True when buf[from, to) is all zero; from/to multiples of 4 (buffer offset 8-aligned). */
export function isZeroRange(words: Uint32Array, from: number, to: number): boolean {
  let i = from >>> 2;
  const end = to >>> 2;
  // unrolled by 4: most data granules exit on the first word
  for (; i + 4 <= end; i += 4) {
    if ((words[i]! | words[i + 1]! | words[i + 2]! | words[i + 3]!) !== 0) return false;
  }
  for (; i < end; i++) if (words[i] !== 0) return false;
  return true;
}

const ZERO_BLOCK = 64 * 1024;
const zeroBlock = Buffer.alloc(ZERO_BLOCK);

/**
 * Turn DATA granules whose bytes are all zero into ZERO. Whole 64 KiB blocks
 * are tested first with a native compare (memcmp speed); only blocks that hold
 * data are looked at granule by granule, where data usually ends the scan at
 * the first word.
 */
export function markZeroGranules(view: Uint8Array, g: number, kinds: Uint8Array): void {
  const len = view.length;
  const buf = Buffer.from(view.buffer, view.byteOffset, len);
  const words = (view.byteOffset & 3) === 0 ? new Uint32Array(view.buffer, view.byteOffset, len >>> 2) : null;
  const block = g >= ZERO_BLOCK ? g : ZERO_BLOCK - (ZERO_BLOCK % g);
  for (let b = 0; b < len; b += block) {
    const be = Math.min(len, b + block);
    const gi0 = Math.floor(b / g);
    const gi1 = Math.ceil(be / g);
    let anyData = false;
    for (let i = gi0; i < gi1; i++) if (kinds[i] === KIND_DATA) { anyData = true; break; }
    if (!anyData) continue;
    const allZero = be - b <= ZERO_BLOCK
      ? buf.subarray(b, be).equals(zeroBlock.subarray(0, be - b))
      : isZeroBytes(buf, b, be);
    if (allZero) {
      for (let i = gi0; i < gi1; i++) if (kinds[i] === KIND_DATA) kinds[i] = KIND_ZERO_READ;
      continue;
    }
    if (block === g) continue;
    for (let i = gi0; i < gi1; i++) {
      if (kinds[i] !== KIND_DATA) continue;
      const from = i * g;
      const to = Math.min(len, from + g);
      const zero = words && (to & 3) === 0 ? isZeroRange(words, from, to) : isZeroBytes(buf, from, to);
      if (zero) kinds[i] = KIND_ZERO_READ;
    }
  }
}

function isZeroBytes(buf: Buffer, from: number, to: number): boolean {
  for (let o = from; o < to; o += ZERO_BLOCK) {
    const e = Math.min(to, o + ZERO_BLOCK);
    if (!buf.subarray(o, e).equals(zeroBlock.subarray(0, e - o))) return false;
  }
  return true;
}

export async function copyImage(plan: CopyPlan): Promise<void> {
  const g = plan.granule;
  const depth = plan.depth ?? 4;
  const total = plan.sources.reduce((a, s) => a + s.size, 0);
  const windows: Window[] = [];
  let tgt = 0;
  for (const s of plan.sources) {
    for (let off = 0; off < s.size; off += WINDOW) {
      windows.push({ src: s, srcOff: off, tgtOff: tgt + off, len: Math.min(WINDOW, s.size - off) });
    }
    tgt += s.size;
  }
  const pool: Uint8Array[] = [];
  const getBuf = () => pool.pop() ?? new Uint8Array(WINDOW);

  const prepare = async (w: Window): Promise<Prepared> => {
    const n = Math.ceil(w.len / g);
    const kinds = new Uint8Array(n);
    // block status runs, classified per granule (a granule is data if any part is)
    const node = w.src.node;
    let pos = w.srcOff;
    const end = w.srcOff + w.len;
    let anyData = false;
    kinds.fill(255);
    while (pos < end) {
      let st;
      try {
        st = await node.blockStatus(pos, end - pos);
      } catch (e) {
        throw new CopyError(`error while reading block status at offset ${pos}: ${(e as Error).message}`);
      }
      const len = st.length > 0 ? Math.min(st.length, end - pos) : end - pos;
      let kind: number;
      if (plan.topOnly && (!st.allocated || st.depth > 0)) kind = KIND_SKIP;
      else if (st.zero) kind = KIND_ZERO;
      else kind = KIND_DATA;
      if (plan.minSparse === 0 && kind === KIND_ZERO) kind = KIND_DATA;
      const a = Math.floor((pos - w.srcOff) / g);
      const b = Math.ceil((pos + len - w.srcOff) / g);
      for (let i = a; i < b; i++) {
        const cur = kinds[i]!;
        // priority: data > zero > skip
        if (cur === 255 || kind < cur) kinds[i] = kind;
      }
      if (kind === KIND_DATA) anyData = true;
      pos += len;
    }
    const ext = w.src.extents;
    if (ext && anyData && plan.minSparse > 0) {
      anyData = false;
      for (let i = 0; i < n; i++) {
        if (kinds[i] !== KIND_DATA) continue;
        const a = w.srcOff + i * g;
        if (overlaps(ext, a, Math.min(a + g, end))) anyData = true;
        else kinds[i] = KIND_ZERO;
      }
    }
    if (!anyData) return { w, kinds, buf: null };
    const buf = getBuf();
    const view = buf.subarray(0, w.len);
    try {
      if (ext || plan.minSparse > 0) {
        // read only the granule runs that hold data; zero and unallocated runs
        // (block status, SEEK_DATA) are never read, filled or scanned
        let i = 0;
        while (i < n) {
          if (kinds[i] !== KIND_DATA) { i++; continue; }
          let j = i;
          while (j < n && kinds[j] === KIND_DATA) j++;
          const from = i * g;
          const to = Math.min(w.len, j * g);
          await node.read(w.srcOff + from, view.subarray(from, to));
          i = j;
        }
      } else {
        await node.read(w.srcOff, view);
      }
    } catch (e) {
      pool.push(buf);
      throw new CopyError(`error while reading at byte ${w.tgtOff}: ${(e as Error).message}`);
    }
    if (plan.minSparse > 0) {
      markZeroGranules(view, g, kinds);
      // zero runs found in read data, shorter than minSparse and between
      // data, are written as data (as qemu-img does); holes that block
      // status or SEEK_DATA reported are never written
      if (plan.minSparse > g && !plan.compress) {
        let i = 0;
        while (i < n) {
          if (kinds[i] !== KIND_ZERO_READ) { i++; continue; }
          let j = i;
          while (j < n && kinds[j] === KIND_ZERO_READ) j++;
          const bounded = i > 0 && j < n && kinds[i - 1] === KIND_DATA && kinds[j] === KIND_DATA;
          if (bounded && (j - i) * g < plan.minSparse) kinds.fill(KIND_DATA, i, j);
          i = j;
        }
      }
    }
    return { w, kinds, buf };
  };

  const target = plan.target;
  const compressor = plan.compress && canCompress(target) ? target : null;
  let done = 0;

  const commit = async (p: Prepared): Promise<void> => {
    const { w, kinds, buf } = p;
    const n = kinds.length;
    let i = 0;
    try {
      while (i < n) {
        const k = kinds[i]!;
        let j = i + 1;
        while (j < n && kinds[j] === k) j++;
        const from = i * g;
        const to = Math.min(w.len, j * g);
        if (k === KIND_DATA) {
          if (compressor) {
            const clusters: Uint8Array[] = [];
            for (let c = i; c < j; c++) {
              const cf = c * g;
              const ct = Math.min(w.len, cf + g);
              let data = buf!.subarray(cf, ct);
              if (data.length < g) {
                const padded = new Uint8Array(g);
                padded.set(data);
                data = padded;
              }
              clusters.push(data);
            }
            // compress the run's clusters in parallel (thread pool), write them in order
            const packed = compressor.compressForWrite
              ? clusters.map((d) => {
                const p = compressor.compressForWrite!(d);
                p.catch(() => { /* awaited below */ });
                return p;
              })
              : null;
            for (let c = 0; c < clusters.length; c++) {
              const off = w.tgtOff + (i + c) * g;
              if (packed) await compressor.writeCompressed(off, clusters[c]!, await packed[c]!);
              else await compressor.writeCompressed(off, clusters[c]!);
            }
          } else {
            await target.write(w.tgtOff + from, buf!.subarray(from, to));
          }
        } else if ((k === KIND_ZERO || k === KIND_ZERO_READ) && !plan.targetZeroInit) {
          await target.writeZeroes(w.tgtOff + from, to - from, true);
        }
        i = j;
      }
    } catch (e) {
      if (e instanceof CopyError) throw e;
      throw new CopyError(`error while writing at byte ${w.tgtOff + i * g}: ${(e as Error).message}`);
    } finally {
      if (buf) pool.push(buf);
    }
    done += w.len;
    plan.onProgress?.(done, total);
  };

  const inflight: Promise<Prepared>[] = [];
  let next = 0;
  const launch = () => {
    const p = prepare(windows[next++]!);
    p.catch(() => { /* surfaced when awaited */ });
    inflight.push(p);
  };
  while (next < windows.length && inflight.length < depth) launch();
  while (inflight.length > 0) {
    const p = await inflight.shift()!;
    if (next < windows.length) launch();
    await commit(p);
  }
}
