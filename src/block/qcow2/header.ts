/**
 * The qcow2 header and its extensions: parsing with QEMU's validation (and
 * its error texts), and serialisation into cluster 0 exactly as qemu-img 7.2
 * lays it out.
 */
import { BlockError } from '../errors.js';

export const QCOW2_MAGIC = 0x514649fb;
export const EXT_BACKING_FORMAT = 0xe2792aca;
export const EXT_FEATURE_TABLE = 0x6803f857;
export const EXT_BITMAPS = 0x23852875;
export const EXT_CRYPTO = 0x0537be77;
export const EXT_DATA_FILE = 0x44415441;

export const INCOMPAT_DIRTY = 1;
export const INCOMPAT_CORRUPT = 2;
export const INCOMPAT_DATA_FILE = 4;
export const INCOMPAT_COMPRESSION = 8;
export const INCOMPAT_EXTL2 = 16;
export const INCOMPAT_MASK = 31;
export const COMPAT_LAZY_REFCOUNTS = 1;
export const AUTOCLEAR_BITMAPS = 1;
export const AUTOCLEAR_DATA_FILE_RAW = 2;

/** Entries of the feature-name table qemu writes, in its order. */
export const FEATURE_NAMES: [number, number, string][] = [
  [0, 0, 'dirty bit'],
  [0, 1, 'corrupt bit'],
  [0, 2, 'external data file'],
  [0, 3, 'compression type'],
  [0, 4, 'extended L2 entries'],
  [1, 0, 'lazy refcounts'],
  [2, 0, 'bitmaps'],
  [2, 1, 'raw external data'],
];

const MAX_L1_BYTES = 32 * 1024 * 1024;
const MAX_REFTABLE_BYTES = 8 * 1024 * 1024;

export interface HeaderExtension {
  type: number;
  data: Uint8Array;
}

export interface Qcow2Header {
  version: number;
  backingFileOffset: number;
  backingFileSize: number;
  clusterBits: number;
  size: number;
  cryptMethod: number;
  l1Size: number;
  l1TableOffset: number;
  refcountTableOffset: number;
  refcountTableClusters: number;
  nbSnapshots: number;
  snapshotsOffset: number;
  incompatible: number;
  compatible: number;
  autoclear: number;
  refcountOrder: number;
  headerLength: number;
  compressionType: number;
  /** Header bytes beyond the fields we know (header_length > 112), kept verbatim. */
  extraHeader: Uint8Array;
  backingFile: string | null;
  backingFormat: string | null;
  dataFile: string | null;
  /** Extensions we do not interpret (bitmaps, unknown), preserved on rewrite. */
  otherExtensions: HeaderExtension[];
  /** Whether the file carried a feature-name table. */
  hasFeatureTable: boolean;
  featureTable: [number, number, string][];
}

export function be64(dv: DataView, at: number): number {
  return dv.getUint32(at) * 4294967296 + dv.getUint32(at + 4);
}

export function setBe64(dv: DataView, at: number, v: number): void {
  dv.setUint32(at, Math.floor(v / 4294967296));
  dv.setUint32(at + 4, v >>> 0);
}

/** Flags as a number (the masks we care about live in the low 32 bits; high bits are kept exactly). */
function flags64(dv: DataView, at: number): number {
  return be64(dv, at);
}

const latin1 = new TextDecoder('latin1');
const utf8 = new TextDecoder();

function validateTableOffset(offset: number, entries: number, entryLen: number, clusterSize: number): boolean {
  if (entries > Number.MAX_SAFE_INTEGER / entryLen) return false;
  if (offset + entries * entryLen > 2 ** 63 - 1) return false;
  return offset % clusterSize === 0;
}

/**
 * Parse and validate a header. `head` must hold cluster 0 (zero-padded when
 * the file is shorter). `fileSize` is used for bounds of the backing name.
 */
export function parseHeader(head: Uint8Array, readBacking: (off: number, len: number) => Uint8Array): Qcow2Header {
  const dv = new DataView(head.buffer, head.byteOffset, head.byteLength);
  if (head.length < 8 || dv.getUint32(0) !== QCOW2_MAGIC) throw new BlockError('Image is not in qcow2 format');
  const version = dv.getUint32(4);
  if (version < 2 || version > 3) throw new BlockError(`Unsupported qcow2 version ${version}`);
  const clusterBits = dv.getUint32(20);
  if (clusterBits < 9 || clusterBits > 21) throw new BlockError(`Unsupported cluster size: 2^${clusterBits}`);
  const clusterSize = 2 ** clusterBits;
  const h: Qcow2Header = {
    version,
    backingFileOffset: be64(dv, 8),
    backingFileSize: dv.getUint32(16),
    clusterBits,
    size: be64(dv, 24),
    cryptMethod: dv.getUint32(32),
    l1Size: dv.getUint32(36),
    l1TableOffset: be64(dv, 40),
    refcountTableOffset: be64(dv, 48),
    refcountTableClusters: dv.getUint32(56),
    nbSnapshots: dv.getUint32(60),
    snapshotsOffset: be64(dv, 64),
    incompatible: 0,
    compatible: 0,
    autoclear: 0,
    refcountOrder: 4,
    headerLength: 72,
    compressionType: 0,
    extraHeader: new Uint8Array(0),
    backingFile: null,
    backingFormat: null,
    dataFile: null,
    otherExtensions: [],
    hasFeatureTable: false,
    featureTable: [],
  };
  if (version === 3) {
    h.incompatible = flags64(dv, 72);
    h.compatible = flags64(dv, 80);
    h.autoclear = flags64(dv, 88);
    h.refcountOrder = dv.getUint32(96);
    h.headerLength = dv.getUint32(100);
    if (h.headerLength < 104) throw new BlockError('qcow2 header too short');
    if (h.headerLength > clusterSize) throw new BlockError('qcow2 header exceeds cluster size');
    if (h.headerLength >= 105) h.compressionType = head[104]!;
    if (h.headerLength > 112) h.extraHeader = head.slice(112, h.headerLength);
  }
  if (h.backingFileOffset > clusterSize) throw new BlockError('Invalid backing file offset');

  // Header extensions, up to the backing file name (or the end of cluster 0).
  const extEnd = h.backingFileOffset ? h.backingFileOffset : clusterSize;
  let off = h.headerLength;
  while (off + 8 <= extEnd) {
    const type = dv.getUint32(off);
    const len = dv.getUint32(off + 4);
    off += 8;
    if (type === 0) break;
    if (len > extEnd - off) throw new BlockError('ext_len too large');
    const data = head.slice(off, off + len);
    switch (type) {
      case EXT_BACKING_FORMAT:
        if (len > 15) throw new BlockError(`ERROR: ext_backing_format: len=${len} too large (>=16)`);
        h.backingFormat = latin1.decode(data);
        break;
      case EXT_FEATURE_TABLE:
        h.hasFeatureTable = true;
        for (let i = 0; i + 48 <= len; i += 48) {
          let e = i + 2;
          while (e < i + 48 && data[e] !== 0) e++;
          h.featureTable.push([data[i]!, data[i + 1]!, latin1.decode(data.subarray(i + 2, e))]);
        }
        break;
      case EXT_DATA_FILE:
        h.dataFile = utf8.decode(data);
        break;
      case EXT_CRYPTO:
        break;
      default:
        h.otherExtensions.push({ type, data });
    }
    off += (len + 7) & ~7;
  }

  const unknown = h.incompatible & ~INCOMPAT_MASK;
  if (unknown !== 0 || Math.floor(h.incompatible / 4294967296) !== 0) {
    const names: string[] = [];
    let rest = h.incompatible - (h.incompatible & INCOMPAT_MASK);
    for (const [t, bit, name] of h.featureTable) {
      if (t !== 0) continue;
      const m = 2 ** bit;
      if (Math.floor(rest / m) % 2 === 1 && bit >= 5) {
        names.push(name);
        rest -= m;
      }
    }
    if (rest > 0) names.push(`Unknown incompatible feature: ${rest.toString(16)}`);
    throw new BlockError(`Unsupported qcow2 feature(s): ${names.join(', ')}`);
  }

  if (h.refcountOrder > 6) throw new BlockError('Reference count entry width too large; may not exceed 64 bits');

  if (h.compressionType > 1) throw new BlockError(`qcow2: Unknown compression type value: ${h.compressionType}`);
  if (h.compressionType === 0 && (h.incompatible & INCOMPAT_COMPRESSION)) {
    throw new BlockError('qcow2: Compression type incompatible feature bit must not be set');
  }
  if (h.compressionType !== 0 && !(h.incompatible & INCOMPAT_COMPRESSION)) {
    throw new BlockError('qcow2: Compression type incompatible feature bit must be set');
  }

  if (h.cryptMethod > 2) throw new BlockError(`Unsupported encryption method ${h.cryptMethod}`);

  if (h.refcountTableClusters * clusterSize > MAX_REFTABLE_BYTES) throw new BlockError('Reference count table too large');
  if (h.refcountTableClusters === 0) throw new BlockError('Image does not contain a reference count table');
  if (!validateTableOffset(h.refcountTableOffset, h.refcountTableClusters * clusterSize, 1, clusterSize)) {
    throw new BlockError('Reference count table offset invalid');
  }
  if (h.nbSnapshots > 65536) throw new BlockError('Snapshot table too large');
  if (h.nbSnapshots && !validateTableOffset(h.snapshotsOffset, h.nbSnapshots, 40, clusterSize)) {
    throw new BlockError('Snapshot table offset invalid');
  }
  if (h.l1Size > MAX_L1_BYTES / 8) throw new BlockError('Active L1 table too large');
  const l2Entries = clusterSize / ((h.incompatible & INCOMPAT_EXTL2) ? 16 : 8);
  const needL1 = Math.ceil(h.size / (clusterSize * l2Entries));
  if (h.size > 2 ** 63 - 1) throw new BlockError('Image is too big');
  if (h.l1Size < needL1) throw new BlockError('L1 table is too small');
  if (!validateTableOffset(h.l1TableOffset, h.l1Size, 8, clusterSize)) throw new BlockError('Active L1 table offset invalid');

  if (h.backingFileOffset) {
    if (h.backingFileSize > 1023 || h.backingFileOffset + h.backingFileSize > clusterSize && h.backingFileSize > 1023) {
      throw new BlockError('Backing file name too long');
    }
    h.backingFile = utf8.decode(readBacking(h.backingFileOffset, h.backingFileSize));
  }
  return h;
}

function pad8(n: number): number {
  return (n + 7) & ~7;
}

/**
 * Serialise the header, extensions and backing name into a buffer of
 * `clusterSize` bytes (the layout qemu-img writes). The feature table is
 * left out for v2, or when it does not fit. Throws when even without it the
 * header does not fit in cluster 0.
 */
export function serializeHeader(h: Qcow2Header, withFeatureTable: boolean): Uint8Array {
  const cs = 2 ** h.clusterBits;
  const build = (featureTable: boolean): Uint8Array | null => {
    const buf = new Uint8Array(cs);
    const dv = new DataView(buf.buffer);
    dv.setUint32(0, QCOW2_MAGIC);
    dv.setUint32(4, h.version);
    dv.setUint32(16, h.backingFile ? new TextEncoder().encode(h.backingFile).length : 0);
    dv.setUint32(20, h.clusterBits);
    setBe64(dv, 24, h.size);
    dv.setUint32(32, h.cryptMethod);
    dv.setUint32(36, h.l1Size);
    setBe64(dv, 40, h.l1TableOffset);
    setBe64(dv, 48, h.refcountTableOffset);
    dv.setUint32(56, h.refcountTableClusters);
    dv.setUint32(60, h.nbSnapshots);
    setBe64(dv, 64, h.snapshotsOffset);
    let off = 72;
    if (h.version >= 3) {
      setBe64(dv, 72, h.incompatible);
      setBe64(dv, 80, h.compatible);
      setBe64(dv, 88, h.autoclear);
      dv.setUint32(96, h.refcountOrder);
      const hl = Math.max(112, 112 + h.extraHeader.length);
      dv.setUint32(100, hl);
      buf[104] = h.compressionType;
      buf.set(h.extraHeader, 112);
      off = hl;
    }
    const ext = (type: number, data: Uint8Array): boolean => {
      if (off + 8 + pad8(data.length) > cs) return false;
      dv.setUint32(off, type);
      dv.setUint32(off + 4, data.length);
      buf.set(data, off + 8);
      off += 8 + pad8(data.length);
      return true;
    };
    const enc = new TextEncoder();
    if (h.backingFormat && !ext(EXT_BACKING_FORMAT, enc.encode(h.backingFormat))) return null;
    if (h.dataFile && !ext(EXT_DATA_FILE, enc.encode(h.dataFile))) return null;
    if (featureTable) {
      const t = new Uint8Array(48 * FEATURE_NAMES.length);
      FEATURE_NAMES.forEach(([type, bit, name], i) => {
        t[i * 48] = type;
        t[i * 48 + 1] = bit;
        t.set(enc.encode(name), i * 48 + 2);
      });
      if (!ext(EXT_FEATURE_TABLE, t)) return null;
    }
    for (const e of h.otherExtensions) if (!ext(e.type, e.data)) return null;
    if (off + 8 > cs) return null;
    off += 8; // end marker
    if (h.backingFile) {
      const name = enc.encode(h.backingFile);
      if (off + name.length > cs) return null;
      setBe64(dv, 8, off);
      buf.set(name, off);
    }
    return buf;
  };
  // qemu-img 7.2 writes the feature-name table only for v3 images with clusters above 4 KiB.
  const ft = withFeatureTable && h.version >= 3 && h.clusterBits > 12;
  const out = (ft ? build(true) : null) ?? build(false);
  if (!out) throw new BlockError('Header extension too large');
  return out;
}
