/**
 * The block layer's contracts, in the spirit of QEMU's BlockDriver.
 *
 * A format driver (raw, qcow2, ...) sits on a protocol node (`file`: a host
 * file) and may have a backing node. Both the emulator's drives and
 * qemu-ts-img use these interfaces. All I/O is asynchronous and works on byte
 * offsets; drivers never load a whole image into memory.
 *
 * Offsets and sizes are JavaScript numbers (exact up to 2^53 = 8 PiB); the
 * 2^63 limits of the on-disk formats are checked where sizes are parsed.
 */

/** One option of a driver's creation (or amend) schema, as `-o help` lists it. */
export interface OptionSpec {
  name: string;
  type: 'size' | 'number' | 'bool' | 'string';
  help: string;
  /** Allowed values for string options (e.g. preallocation), for validation and help. */
  values?: string[];
  /** Default as qemu-img echoes it in the Formatting line, if it echoes it even when unset. */
  defaultValue?: string;
}

/** Parsed creation options: key -> raw string as typed (drivers validate and convert). */
export type CreateOptions = Map<string, string>;

export interface OpenOptions {
  readOnly: boolean;
  /** Forced format (`-f`); probed when absent. */
  format?: string;
  /** Do not open the backing file (qemu-img info, rebase -u, ...). */
  noBacking?: boolean;
  /** Force a backing file/format instead of the one in the header (convert -B, rebase). */
  backingOverride?: { file: string | null; format?: string };
  /** Open even if the image has the corrupt bit (read-only use, check). */
  allowCorrupt?: boolean;
  /** qemu-img check: open an image that is inconsistent, without side effects. */
  forCheck?: boolean;
}

/** Result of a block-status query for the run starting at `offset`. */
export interface BlockStatus {
  /** Length in bytes of the run with identical status (> 0). */
  length: number;
  /** Data is described by this node (not passed through to backing). */
  allocated: boolean;
  /** Reads return zeros. */
  zero: boolean;
  /** Data is stored in a host file at `hostOffset`. */
  data: boolean;
  /** Byte offset in `hostFile` when the data sits there uncompressed. */
  hostOffset?: number;
  /** Name of the host file that holds the data (for `map`). */
  hostFile?: string;
  /** Compressed cluster (map refuses to report these). */
  compressed?: boolean;
  /** Depth in the backing chain where the status was found (0 = this node). */
  depth: number;
}

export interface SnapshotInfo {
  id: string;
  name: string;
  vmStateSize: number;
  dateSec: number;
  dateNsec: number;
  vmClockNsec: number;
  icount: number;
  /** Virtual disk size at the time of the snapshot. */
  diskSize?: number;
}

export interface CheckResult {
  corruptions: number;
  leaks: number;
  checkErrors: number;
  corruptionsFixed: number;
  leaksFixed: number;
  imageEndOffset?: number;
  totalClusters?: number;
  allocatedClusters?: number;
  fragmentedClusters?: number;
  compressedClusters?: number;
}

/** An open image (one node of a chain). */
export interface BlockNode {
  readonly driver: BlockDriver;
  /** File name as given (for messages) */
  readonly filename: string;
  readonly readOnly: boolean;
  /** Virtual size in bytes. */
  size(): number;
  /** Read `buf.length` bytes at `offset` (zeros past the end of the data, falling through to backing). */
  read(offset: number, buf: Uint8Array): Promise<void>;
  write(offset: number, buf: Uint8Array): Promise<void>;
  /** Make [offset, offset+length) read as zeros; `mayUnmap` lets the driver deallocate. */
  writeZeroes(offset: number, length: number, mayUnmap: boolean): Promise<void>;
  /** Status of the run at `offset`, at most `length` bytes long. */
  blockStatus(offset: number, length: number): Promise<BlockStatus>;
  flush(): Promise<void>;
  close(): Promise<void>;
  /** The backing node, when open. */
  backing: BlockNode | null;
  /** Backing file name stored in the image (as written), if any. */
  backingFilename(): string | null;
  backingFormat(): string | null;
  /** Host bytes used (st_blocks*512 of all files of this node). */
  allocatedFileSize(): Promise<number>;
  /** Cluster size for formats that have one. */
  clusterSize(): number | null;
  /** Format-specific information, in qemu-img info's JSON shape ({type, data}). */
  formatSpecific(): { type: string; data: Record<string, unknown> } | null;
  dirty(): boolean;
  snapshots(): SnapshotInfo[];
}

/** Optional capabilities; qemu-ts-img tests for them. */
export interface SnapshotCapable {
  createSnapshot(name: string, vmClockNsec?: number): Promise<void>;
  applySnapshot(idOrName: string): Promise<void>;
  deleteSnapshot(name: string): Promise<void>;
}

export interface Checkable {
  check(fix: { leaks: boolean; all: boolean }, report: (line: string) => void): Promise<CheckResult>;
}

export interface Resizable {
  truncate(size: number, opts: { shrink: boolean; prealloc: string }): Promise<void>;
}

export interface BlockDriver {
  readonly name: string;
  /** Score 0..100 that a file starting with `head` (up to 512 bytes) is this format. */
  probe?(head: Uint8Array, filename: string): number;
  open(filename: string, opts: OpenOptions): Promise<BlockNode>;
  /** Creation options in the order `-o help` lists them. */
  readonly createOptions: OptionSpec[];
  create?(filename: string, size: number, opts: CreateOptions): Promise<void>;
}

/** qcow2: write one whole guest cluster compressed (convert -c). */
export interface CompressWriter {
  writeCompressed(offset: number, data: Uint8Array): Promise<void>;
}

/** qcow2: change options of an existing image (qemu-img amend). */
export interface Amendable {
  amend(opts: CreateOptions, force: boolean): Promise<void>;
}

/** qcow2: rewrite the backing file name/format in the header (rebase). */
export interface BackingChangeable {
  changeBackingFile(file: string | null, format: string | null): Promise<void>;
}

/** qcow2: drop every cluster so reads fall through to the backing file (commit). */
export interface Emptiable {
  makeEmpty(): Promise<void>;
}

/** qcow2: a read-only view of an internal snapshot (convert -l); closing it leaves the image open. */
export interface SnapshotViewable {
  openSnapshotView(idOrName: string): Promise<BlockNode>;
}
