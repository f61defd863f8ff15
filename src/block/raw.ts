/** The `raw` format: the guest disk is the host file, byte for byte. */
import type { BlockDriver, BlockNode, BlockStatus, CreateOptions, OpenOptions, OptionSpec, Resizable } from './types.js';
import { HostFile } from './file.js';
import { BlockError } from './errors.js';
import { probeHeader } from './probe.js';
import { checkKnown, parseBool, parseEnum, parseSizeOpt } from './options.js';

const ZERO_CHUNK = 1 << 20;
let zeroBuf: Uint8Array | null = null;
function zeros(): Uint8Array {
  return (zeroBuf ??= new Uint8Array(ZERO_CHUNK));
}

/** Write zeros over [offset, offset+length) of a host file, in bounded chunks. */
export async function writeZeroRange(file: HostFile, offset: number, length: number): Promise<void> {
  const z = zeros();
  while (length > 0) {
    const n = Math.min(length, z.length);
    await file.write(offset, n === z.length ? z : z.subarray(0, n));
    offset += n;
    length -= n;
  }
}

export class RawNode implements BlockNode, Resizable {
  readonly driver: BlockDriver;
  backing: BlockNode | null = null;
  /** Set when the format was probed, not given: writes to sector 0 are restricted. */
  probed = false;
  private virtualSize: number;

  constructor(readonly file: HostFile, readonly filename: string, readonly readOnly: boolean, driver?: BlockDriver) {
    this.driver = driver ?? rawDriver;
    this.virtualSize = Math.ceil(file.size() / 512) * 512;
  }

  size(): number {
    return this.virtualSize;
  }

  private checkRange(offset: number, length: number): void {
    if (offset < 0 || length < 0 || offset + length > this.virtualSize) throw new BlockError('Input/output error');
  }

  async read(offset: number, buf: Uint8Array): Promise<void> {
    this.checkRange(offset, buf.length);
    await this.file.read(offset, buf);
  }

  async write(offset: number, buf: Uint8Array): Promise<void> {
    if (this.readOnly) throw new BlockError('Permission denied');
    this.checkRange(offset, buf.length);
    if (this.probed && offset < 512 && buf.length > 0) {
      // Like QEMU: a probed raw image may not be turned into something that probes as another format.
      const head = new Uint8Array(512);
      await this.file.read(0, head);
      head.set(buf.subarray(0, Math.min(buf.length, 512 - offset)), offset);
      if (probeHeader(head) !== 'raw') throw new BlockError('Operation not permitted');
    }
    await this.file.write(offset, buf);
  }

  async writeZeroes(offset: number, length: number, _mayUnmap: boolean): Promise<void> {
    if (this.readOnly) throw new BlockError('Permission denied');
    this.checkRange(offset, length);
    const end = Math.min(offset + length, this.file.size());
    if (end > offset) await writeZeroRange(this.file, offset, end - offset);
  }

  async blockStatus(offset: number, length: number): Promise<BlockStatus> {
    const len = Math.max(0, Math.min(length, this.virtualSize - offset));
    return { length: len, allocated: true, zero: false, data: true, hostOffset: offset, hostFile: this.filename, depth: 0 };
  }

  async flush(): Promise<void> {
    if (!this.readOnly) await this.file.sync();
  }

  async close(): Promise<void> {
    await this.file.close();
  }

  backingFilename(): string | null {
    return null;
  }
  backingFormat(): string | null {
    return null;
  }
  allocatedFileSize(): Promise<number> {
    return this.file.allocatedSize();
  }
  clusterSize(): number | null {
    return null;
  }
  formatSpecific(): null {
    return null;
  }
  dirty(): boolean {
    return false;
  }
  snapshots(): [] {
    return [];
  }

  async truncate(size: number, opts: { shrink: boolean; prealloc: string }): Promise<void> {
    if (this.readOnly) throw new BlockError('Permission denied');
    const old = this.file.size();
    if (size < old && !opts.shrink) throw new BlockError('Use the --shrink option to perform a shrink operation.');
    await this.file.truncate(size);
    if (size > old && (opts.prealloc === 'full' || opts.prealloc === 'falloc')) await writeZeroRange(this.file, old, size - old);
    this.virtualSize = Math.ceil(size / 512) * 512;
  }
}

const RAW_OPTIONS: OptionSpec[] = [
  { name: 'extent_size_hint', type: 'size', help: 'Extent size hint for the image file, 0 to disable' },
  { name: 'nocow', type: 'bool', help: 'Turn off copy-on-write (valid only on btrfs)' },
  { name: 'preallocation', type: 'string', help: 'Preallocation mode (allowed values: off, falloc, full)', values: ['off', 'falloc', 'full'] },
  { name: 'size', type: 'size', help: 'Virtual disk size' },
];

export const rawDriver: BlockDriver = {
  name: 'raw',
  createOptions: RAW_OPTIONS,

  async open(filename: string, opts: OpenOptions): Promise<BlockNode> {
    const file = await HostFile.open(filename, !opts.readOnly);
    return new RawNode(file, filename, opts.readOnly);
  },

  async create(filename: string, size: number, opts: CreateOptions): Promise<void> {
    checkKnown(opts, RAW_OPTIONS.map((o) => o.name));
    const prealloc = parseEnum('preallocation', opts.get('preallocation'), ['off', 'falloc', 'full'], 'off');
    parseBool('nocow', opts.get('nocow'), false);
    parseSizeOpt('extent_size_hint', opts.get('extent_size_hint'), 0);
    const file = await HostFile.create(filename);
    try {
      try {
        if (size > Number.MAX_SAFE_INTEGER) throw new BlockError('Invalid argument');
        await file.truncate(size);
      } catch (e) {
        const code = (e as BlockError).message;
        if (code === 'File too large') throw new BlockError(`The image size is too large for file format 'raw'`);
        throw new BlockError(`Could not resize file: ${code}`);
      }
      if (prealloc !== 'off') await writeZeroRange(file, 0, size);
      else if (size > 0) await writeZeroRange(file, 0, Math.min(size, 4096));
    } finally {
      await file.close();
    }
  },
};

/** The `file` protocol used directly as a format (`-f file`): the host file as is, no options but size. */
export const fileDriver: BlockDriver = {
  name: 'file',
  createOptions: RAW_OPTIONS,
  async open(filename: string, opts: OpenOptions): Promise<BlockNode> {
    const file = await HostFile.open(filename, !opts.readOnly);
    return new RawNode(file, filename, opts.readOnly, fileDriver);
  },
  create(filename: string, size: number, opts: CreateOptions): Promise<void> {
    return rawDriver.create!(filename, size, opts);
  },
};
