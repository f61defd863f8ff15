/**
 * qcow2 image creation, laid out as qemu-img 7.2 does: cluster 0 header,
 * cluster 1 refcount table, cluster 2 refcount block 0, then the L1 table
 * (and for preallocation, L2 tables and data clusters in allocation order).
 */
import { unlink } from 'node:fs/promises';
import type { CreateOptions, OptionSpec } from '../types.js';
import { BlockError } from '../errors.js';
import { HostFile } from '../file.js';
import { checkKnown, parseBool, parseEnum, parseNumberOpt, parseSizeOpt } from '../options.js';
import {
  serializeHeader, setBe64, type Qcow2Header,
  COMPAT_LAZY_REFCOUNTS, INCOMPAT_COMPRESSION, INCOMPAT_DATA_FILE, INCOMPAT_EXTL2, AUTOCLEAR_DATA_FILE_RAW,
} from './header.js';
import { Refcounts } from './refcount.js';
import { writeZeroRange } from '../raw.js';

export const QCOW2_CREATE_OPTIONS: OptionSpec[] = [
  { name: 'backing_file', type: 'string', help: 'File name of a base image' },
  { name: 'backing_fmt', type: 'string', help: 'Image format of the base image' },
  { name: 'cluster_size', type: 'size', help: 'qcow2 cluster size', defaultValue: '65536' },
  { name: 'compat', type: 'string', help: 'Compatibility level (v2 [0.10] or v3 [1.1])', values: ['0.10', 'v2', '1.1', 'v3'] },
  { name: 'compression_type', type: 'string', help: 'Compression method used for image cluster compression', values: ['zlib', 'zstd'], defaultValue: 'zlib' },
  { name: 'data_file', type: 'string', help: 'File name of an external data file' },
  { name: 'data_file_raw', type: 'bool', help: 'The external data file must stay valid as a raw image' },
  { name: 'encrypt.cipher-alg', type: 'string', help: 'Name of encryption cipher algorithm' },
  { name: 'encrypt.cipher-mode', type: 'string', help: 'Name of encryption cipher mode' },
  { name: 'encrypt.format', type: 'string', help: "Encrypt the image, format choices: 'aes', 'luks'" },
  { name: 'encrypt.hash-alg', type: 'string', help: 'Name of encryption hash algorithm' },
  { name: 'encrypt.iter-time', type: 'number', help: 'Time to spend in PBKDF in milliseconds' },
  { name: 'encrypt.ivgen-alg', type: 'string', help: 'Name of IV generator algorithm' },
  { name: 'encrypt.ivgen-hash-alg', type: 'string', help: 'Name of IV generator hash algorithm' },
  { name: 'encrypt.key-secret', type: 'string', help: 'ID of secret providing qcow AES key or LUKS passphrase' },
  { name: 'encryption', type: 'bool', help: "Encrypt the image with format 'aes'. (Deprecated in favor of encrypt.format=aes)" },
  { name: 'extended_l2', type: 'bool', help: 'Extended L2 tables', defaultValue: 'off' },
  { name: 'extent_size_hint', type: 'size', help: 'Extent size hint for the image file, 0 to disable' },
  { name: 'lazy_refcounts', type: 'bool', help: 'Postpone refcount updates', defaultValue: 'off' },
  { name: 'nocow', type: 'bool', help: 'Turn off copy-on-write (valid only on btrfs)' },
  { name: 'preallocation', type: 'string', help: 'Preallocation mode (allowed values: off, metadata, falloc, full)', values: ['off', 'metadata', 'falloc', 'full'] },
  { name: 'refcount_bits', type: 'number', help: 'Width of a reference count entry in bits', defaultValue: '16' },
  { name: 'size', type: 'size', help: 'Virtual disk size' },
];

export interface Qcow2CreateParams {
  size: number;
  clusterSize: number;
  version: number;
  prealloc: string;
  lazyRefcounts: boolean;
  refcountBits: number;
  extendedL2: boolean;
  compressionType: number;
  backingFile: string | null;
  backingFormat: string | null;
  dataFile: string | null;
  dataFileRaw: boolean;
}

const MAX_L1_ENTRIES = (32 * 1024 * 1024) / 8;

/** Validate options in qemu-img's order; throws its error texts. */
export function parseCreateOptions(size: number, opts: CreateOptions): Qcow2CreateParams {
  checkKnown(opts, QCOW2_CREATE_OPTIONS.map((o) => o.name));
  const compat = opts.get('compat');
  let version = 3;
  if (compat !== undefined) {
    if (compat === '0.10' || compat === 'v2') version = 2;
    else if (compat === '1.1' || compat === 'v3') version = 3;
    else throw new BlockError(`Parameter 'version' does not accept value '${compat}'`);
  }
  const prealloc = parseEnum('preallocation', opts.get('preallocation'), ['off', 'metadata', 'falloc', 'full'], 'off');
  const lazyRefcounts = parseBool('lazy_refcounts', opts.get('lazy_refcounts'), false);
  const extendedL2 = parseBool('extended_l2', opts.get('extended_l2'), false);
  const dataFileRaw = parseBool('data_file_raw', opts.get('data_file_raw'), false);
  const ct = parseEnum('compression_type', opts.get('compression_type'), ['zlib', 'zstd'], 'zlib');
  const clusterSize = parseSizeOpt('cluster_size', opts.get('cluster_size'), 65536);
  const refcountBits = parseNumberOpt('refcount_bits', opts.get('refcount_bits'), 16);
  if (parseBool('encryption', opts.get('encryption'), false) || opts.has('encrypt.format')) {
    throw new BlockError('encrypted qcow2 images are not supported');
  }
  const backingFile = opts.get('backing_file') || null;
  const backingFormat = opts.get('backing_fmt') ?? null;
  const dataFile = opts.get('data_file') ?? null;

  if (clusterSize < 512 || clusterSize > 2 * 1024 * 1024 || (clusterSize & (clusterSize - 1)) !== 0) {
    throw new BlockError('Cluster size must be a power of two between 512 and 2048k');
  }
  if (extendedL2 && clusterSize < 16384) {
    throw new BlockError('Extended L2 entries are only supported with cluster sizes of at least 16384 bytes');
  }
  if (backingFile && prealloc !== 'off' && !extendedL2) {
    throw new BlockError('Backing file and preallocation can only be used at the same time if extended_l2 is on');
  }
  if (backingFormat !== null && !backingFile) throw new BlockError('Backing format cannot be used without backing file');
  if (version < 3 && lazyRefcounts) {
    throw new BlockError('Lazy refcounts only supported with compatibility level 1.1 and above (use version=v3 or greater)');
  }
  if (refcountBits > 64 || refcountBits < 1 || (refcountBits & (refcountBits - 1)) !== 0) {
    throw new BlockError('Refcount width must be a power of two and may not exceed 64 bits');
  }
  if (version < 3 && refcountBits !== 16) {
    throw new BlockError('Different refcount widths than 16 bits require compatibility level 1.1 or above (use version=v3 or greater)');
  }
  if (version < 3 && extendedL2) {
    throw new BlockError('Extended L2 entries are only supported with compatibility level 1.1 and above (use version=v3 or greater)');
  }
  if (dataFileRaw && !dataFile) throw new BlockError('data-file-raw requires data-file');
  if (dataFile && version < 3) {
    throw new BlockError('External data files are only supported with compatibility level 1.1 and above (use version=v3 or greater)');
  }
  if (dataFileRaw && backingFile) throw new BlockError('Backing file and data-file-raw cannot be used at the same time');
  if (ct !== 'zlib' && version < 3) {
    throw new BlockError('Non-zlib compression type is only supported with compatibility level 1.1 and above (use version=v3 or greater)');
  }
  const roundedSize = Math.ceil(size / 512) * 512;
  const l2Entries = clusterSize / (extendedL2 ? 16 : 8);
  if (Math.ceil(roundedSize / (clusterSize * l2Entries)) > MAX_L1_ENTRIES) {
    throw new BlockError("The image size is too large for file format 'qcow2' (try using a larger cluster size)");
  }
  return {
    size: roundedSize, clusterSize, version, prealloc, lazyRefcounts, refcountBits, extendedL2,
    compressionType: ct === 'zstd' ? 1 : 0, backingFile, backingFormat, dataFile, dataFileRaw,
  };
}

/** Create a qcow2 image; on any failure nothing is left behind. */
export async function createQcow2(filename: string, size: number, opts: CreateOptions): Promise<void> {
  const file = await HostFile.create(filename);
  let dataFile: HostFile | null = null;
  let ok = false;
  try {
    const p = parseCreateOptions(size, opts);
    // Like QEMU, the data file name is used as given (relative to the working directory).
    if (p.dataFile) dataFile = await HostFile.create(p.dataFile);
    await layout(file, dataFile, p);
    ok = true;
  } finally {
    await file.close();
    if (dataFile) await dataFile.close();
    if (!ok) {
      await unlink(filename).catch(() => undefined);
    }
  }
}

async function layout(file: HostFile, dataFile: HostFile | null, p: Qcow2CreateParams): Promise<void> {
  const cs = p.clusterSize;
  const cbits = Math.log2(cs);
  const refcountOrder = Math.log2(p.refcountBits);
  const h: Qcow2Header = {
    version: p.version,
    backingFileOffset: 0,
    backingFileSize: 0,
    clusterBits: cbits,
    size: p.size,
    cryptMethod: 0,
    l1Size: 0,
    l1TableOffset: 0,
    refcountTableOffset: cs,
    refcountTableClusters: 1,
    nbSnapshots: 0,
    snapshotsOffset: 0,
    incompatible: (p.compressionType ? INCOMPAT_COMPRESSION : 0) | (p.extendedL2 ? INCOMPAT_EXTL2 : 0) | (p.dataFile ? INCOMPAT_DATA_FILE : 0),
    compatible: p.lazyRefcounts ? COMPAT_LAZY_REFCOUNTS : 0,
    autoclear: p.dataFileRaw ? AUTOCLEAR_DATA_FILE_RAW : 0,
    refcountOrder,
    headerLength: p.version >= 3 ? 112 : 72,
    compressionType: p.compressionType,
    extraHeader: new Uint8Array(0),
    backingFile: p.backingFile,
    backingFormat: p.backingFormat,
    dataFile: p.dataFile,
    otherExtensions: [],
    hasFeatureTable: p.version >= 3,
    featureTable: [],
  };

  // Refcount table (cluster 1) pointing at block 0 (cluster 2); clusters 0-2 in use.
  const rt = new Uint8Array(cs);
  setBe64(new DataView(rt.buffer), 0, 2 * cs);
  await file.write(cs, rt);
  await file.write(2 * cs, new Uint8Array(cs));
  let unsynced = false;
  const rc = new Refcounts(file, cbits, refcountOrder, cs, 1, rt, {
    tableMoved: async (off, clusters) => {
      h.refcountTableOffset = off;
      h.refcountTableClusters = clusters;
    },
    markUnsynced: () => {
      unsynced = true;
    },
  });
  rc.hostEndCluster = 3;
  for (let c = 0; c < 3; c++) await rc.set(c, 1);
  rc.freeHint = 3;

  const l2Entries = cs / (p.extendedL2 ? 16 : 8);
  const span = cs * l2Entries;
  const l1Size = Math.ceil(p.size / span);
  let l1: Uint8Array = new Uint8Array(0);
  if (l1Size > 0) {
    h.l1TableOffset = await rc.alloc(Math.ceil((l1Size * 8) / cs));
    h.l1Size = l1Size;
    l1 = new Uint8Array(l1Size * 8);
  }

  let end = 0;
  if (!dataFile && (p.prealloc === 'falloc' || p.prealloc === 'full') && l1Size > 0) {
    end = await preallocateData(file, rc, h, l1, p);
  } else if (p.prealloc !== 'off' || p.dataFileRaw) {
    // With data_file_raw the guest-to-data-file mapping is set up front (as metadata preallocation).
    // Per L2 table: the table, then its data clusters (as qemu's preallocation allocates them).
    const l1dv = new DataView(l1.buffer);
    const totalClusters = Math.ceil(p.size / cs);
    for (let l1i = 0; l1i < l1Size; l1i++) {
      const l2off = await rc.alloc(1);
      setBe64(l1dv, l1i * 8, l2off);
      l1dv.setUint32(l1i * 8, l1dv.getUint32(l1i * 8) | 0x80000000);
      const l2 = new Uint8Array(cs);
      const l2dv = new DataView(l2.buffer);
      const first = l1i * l2Entries;
      const n = Math.min(l2Entries, totalClusters - first);
      for (let k = 0; k < n; k++) {
        const host = dataFile ? (first + k) * cs : await rc.alloc(1);
        const at = k * (p.extendedL2 ? 16 : 8);
        setBe64(l2dv, at, host);
        l2dv.setUint32(at, l2dv.getUint32(at) | 0x80000000);
        end = Math.max(end, host + cs);
      }
      await file.write(l2off, l2);
    }
  }
  await rc.flushBlocks();
  if (l1Size > 0) await file.write(h.l1TableOffset, l1);
  void unsynced;

  const head = serializeHeader(h, true);
  await file.write(0, head);

  const target = dataFile ?? file;
  if (dataFile) {
    await dataFile.truncate(p.size);
    if (p.size > 0) await writeZeroRange(dataFile, 0, Math.min(p.size, 4096));
    if (p.prealloc === 'full' || p.prealloc === 'falloc') await writeZeroRange(dataFile, 0, p.size);
  } else if (p.prealloc === 'metadata') {
    if (end > file.size()) await file.truncate(end);
  }
  void target;
  await file.sync();
}

/**
 * falloc/full preallocation laid out as qemu-img 7.2 does it (qcow2 truncate):
 * a refcount area (missing refcount blocks, then a new refcount table) after
 * the last used cluster, the data clusters contiguous after it (zero-filled),
 * then the L2 tables from the free-cluster index (the old refcount table's
 * cluster first, then after the data). Returns the end of the data area.
 */
async function preallocateData(file: HostFile, rc: Refcounts, h: Qcow2Header, l1: Uint8Array, p: Qcow2CreateParams): Promise<number> {
  const cs = p.clusterSize;
  const entryBytes = p.extendedL2 ? 16 : 8;
  const l2Entries = cs / entryBytes;
  let last = rc.hostEndCluster - 1;
  while (last >= 0 && (await rc.get(last)) === 0) last--;
  const startCluster = last + 1;
  const dataClusters = Math.ceil(p.size / cs);
  const additional = dataClusters + Math.ceil(dataClusters / l2Entries) + 1;
  // qcow2_refcount_metadata_size: refcount blocks for everything, found by iteration.
  const per = rc.perBlock;
  let blocks = 0;
  let table = 0;
  let nTotal = 0;
  for (;;) {
    const lastN = nTotal;
    blocks = Math.ceil((startCluster + additional + table + blocks) / per);
    table = Math.ceil(blocks / (cs / 8));
    nTotal = startCluster + additional + blocks + table;
    if (nTotal === lastN) break;
  }
  const totalBlocks = blocks;
  const tableEntries = Math.ceil(totalBlocks / (cs / 8)) * (cs / 8);
  const tableClusters = (tableEntries * 8) / cs;
  const newTable = new Uint8Array(tableEntries * 8);
  const tdv = new DataView(newTable.buffer);
  for (let i = 0; i < Math.min(rc.tableEntries, tableEntries); i++) setBe64(tdv, i * 8, rc.tableEntry(i));
  const areaIndex = Math.floor(startCluster / per);
  let missing = 0;
  for (let i = areaIndex; i < totalBlocks; i++) if (rc.tableEntry(i) === 0) missing++;
  const tableCluster = startCluster + missing;
  const endCluster = tableCluster + tableClusters;
  let blockCluster = startCluster;
  const newBlocks: number[] = [];
  for (let i = areaIndex; i < totalBlocks; i++) {
    if (rc.tableEntry(i) === 0) {
      setBe64(tdv, i * 8, blockCluster * cs);
      newBlocks.push(blockCluster);
      blockCluster++;
    }
  }
  const oldTableOffset = rc.tableOffset;
  const oldTableClusters = rc.tableClusters;
  rc.replaceTable(tableCluster * cs, tableClusters, newTable, newBlocks.map((c) => c * cs));
  rc.hostEndCluster = Math.max(rc.hostEndCluster, endCluster);
  for (let c = startCluster; c < endCluster; c++) await rc.set(c, 1);
  await rc.flushBlocks();
  await file.write(tableCluster * cs, newTable);
  h.refcountTableOffset = tableCluster * cs;
  h.refcountTableClusters = tableClusters;
  for (let c = 0; c < oldTableClusters; c++) await rc.add(oldTableOffset / cs + c, -1);
  // The data area, contiguous and zero-filled.
  const dataStart = endCluster * cs;
  for (let c = 0; c < dataClusters; c++) await rc.set(endCluster + c, 1);
  rc.hostEndCluster = Math.max(rc.hostEndCluster, endCluster + dataClusters);
  const dataEnd = dataStart + dataClusters * cs;
  if (dataEnd > file.size()) await file.truncate(dataEnd);
  await writeZeroRange(file, dataStart, dataEnd - dataStart);
  // Link the L2 entries; L2 tables come from the ordinary allocator.
  const l1dv = new DataView(l1.buffer);
  for (let l1i = 0; l1i * l2Entries < dataClusters; l1i++) {
    const l2off = await rc.alloc(1);
    setBe64(l1dv, l1i * 8, l2off);
    l1dv.setUint32(l1i * 8, l1dv.getUint32(l1i * 8) | 0x80000000);
    const l2 = new Uint8Array(cs);
    const l2dv = new DataView(l2.buffer);
    const first = l1i * l2Entries;
    const n = Math.min(l2Entries, dataClusters - first);
    for (let k = 0; k < n; k++) {
      const host = dataStart + (first + k) * cs;
      const at = k * entryBytes;
      setBe64(l2dv, at, host);
      l2dv.setUint32(at, l2dv.getUint32(at) | 0x80000000);
    }
    await file.write(l2off, l2);
  }
  return dataEnd;
}
