/**
 * Entry points of the block layer: the driver registry, opening an image with
 * its backing chain, and creating images. Errors are BlockError with the text
 * qemu-img prints after `qemu-img: `.
 */
import { stat } from 'node:fs/promises';
import type { BlockDriver, BlockNode, CreateOptions, OpenOptions } from './types.js';
import { BlockError } from './errors.js';
import { HostFile } from './file.js';
import { probeHeader, PROBE_BYTES } from './probe.js';
import { rawDriver, fileDriver, RawNode } from './raw.js';
import { qcow2Driver } from './qcow2/driver.js';

export { BlockError, setBlockWarningHandler } from './errors.js';
export { openOverlay } from './overlay.js';

const DRIVERS: BlockDriver[] = [qcow2Driver, rawDriver, fileDriver];

export function getDriver(name: string): BlockDriver | undefined {
  return DRIVERS.find((d) => d.name === name);
}

/** Names of the format drivers qemu-ts implements. */
export function driverNames(): string[] {
  return DRIVERS.map((d) => d.name).sort();
}

/** True when `node` is a raw image whose format was guessed (qemu-img then prints its WARNING). */
export function isProbedRaw(node: BlockNode): boolean {
  return node instanceof RawNode && node.probed;
}

/** The WARNING qemu-img prints (stderr) when a probed raw image is opened for writing. */
export function probedRawWarning(filename: string): string {
  return `WARNING: Image format was not specified for '${filename}' and probing guessed raw.\n` +
    `         Automatically detecting the format is dangerous for raw images, write operations on block 0 will be restricted.\n` +
    `         Specify the 'raw' format explicitly to remove the restrictions.\n`;
}

/** Errors that must reach the user unwrapped (backing loops). */
class LoopError extends BlockError {}

/**
 * Backing file name resolved as QEMU does: relative names are relative to the
 * directory of the image that names them (plain concatenation, like path_combine).
 */
export function resolveBackingPath(imageFilename: string, backing: string): string {
  if (backing.startsWith('/') || /^[a-z][a-z0-9+.-]*:/i.test(backing) && !backing.includes('/')) return backing;
  const slash = imageFilename.lastIndexOf('/');
  return slash < 0 ? backing : imageFilename.slice(0, slash + 1) + backing;
}

/** Probe a file's format; protocol errors are thrown with the protocol's text. */
export async function probeFormat(filename: string): Promise<string> {
  const f = await HostFile.open(filename, false);
  try {
    const head = new Uint8Array(Math.min(PROBE_BYTES, f.size()));
    await f.read(0, head);
    return probeHeader(head);
  } finally {
    await f.close();
  }
}

async function fileKey(filename: string): Promise<string | null> {
  try {
    const st = await stat(filename, { bigint: true });
    return `${st.dev}:${st.ino}`;
  } catch {
    return null;
  }
}

/** Open one node and (unless noBacking) its chain; messages are not yet prefixed with the file name. */
async function openNode(filename: string, format: string | undefined, opts: OpenOptions, seen: Set<string>): Promise<BlockNode> {
  let probed = false;
  if (format === undefined) {
    format = await probeFormat(filename);
    probed = true;
  }
  const drv = getDriver(format);
  if (!drv) {
    if (probed) throw new BlockError(`Unsupported image format '${format}'`);
    throw new BlockError(`Unknown driver '${format}'`);
  }
  const node = await drv.open(filename, opts);
  if (probed && node instanceof RawNode) node.probed = true;
  const key = await fileKey(filename);
  if (key) seen.add(key);
  if (opts.noBacking) return node;
  const override = opts.backingOverride;
  const name = override ? override.file : node.backingFilename();
  if (!name) return node;
  const path = resolveBackingPath(filename, name);
  const bkey = await fileKey(path);
  if (bkey && seen.has(bkey)) {
    await node.close();
    throw new LoopError(`Backing file '${path}' creates an infinite loop.`);
  }
  const bfmt = override ? (override.format ?? undefined) : (node.backingFormat() ?? undefined);
  try {
    node.backing = await openNode(path, bfmt, { readOnly: true, allowCorrupt: opts.allowCorrupt }, seen);
  } catch (e) {
    await node.close();
    if (e instanceof LoopError) throw e;
    throw new BlockError(`Could not open backing file: ${(e as Error).message}`);
  }
  return node;
}

/**
 * Open an image: probe unless opts.format, open the backing chain unless
 * opts.noBacking. Errors read `Could not open 'F': ...` as qemu-img prints them.
 */
export async function openImage(filename: string, opts: OpenOptions): Promise<BlockNode> {
  try {
    return await openNode(filename, opts.format, opts, new Set());
  } catch (e) {
    if (e instanceof LoopError) throw e;
    if (e instanceof BlockError) throw new BlockError(`Could not open '${filename}': ${e.message}`);
    throw new BlockError(`Could not open '${filename}': ${(e as Error).message}`);
  }
}

/** Close a node and its whole backing chain. */
export async function closeChain(node: BlockNode): Promise<void> {
  let n: BlockNode | null = node;
  while (n) {
    const next: BlockNode | null = n.backing;
    await n.close();
    n = next;
  }
}

export interface CreateExtra {
  /** `-u`: do not open the backing file (then a size is required). */
  unsafe?: boolean;
  /** Called with the final size where qemu-img prints its `Formatting ...` line. */
  onFormatting?: (size: number) => void;
}

/**
 * Create an image. Errors are BlockError; the caller prints `qemu-img: FILE: ` + message.
 * A message with `noTrailingNewline` set must be printed without the final newline
 * (qemu-img 7.2's "Detected format of qcow2." quirk).
 */
export async function createImage(format: string, filename: string, size: number | null, opts: CreateOptions, extra: CreateExtra = {}): Promise<void> {
  const drv = getDriver(format);
  if (!drv) throw new BlockError(`Unknown file format '${format}'`);
  if (size !== null && (!Number.isInteger(size) || size < 0 || size >= 2 ** 63)) {
    throw new BlockError('Invalid image size specified. Must be between 0 and 9223372036854775807.');
  }
  if (!drv.create) throw new BlockError(`Format driver '${format}' does not support image creation`);
  const known = new Set(drv.createOptions.map((o) => o.name));
  known.add('backing_file');
  known.add('backing_fmt');
  for (const k of opts.keys()) if (!known.has(k)) throw new BlockError(`Invalid parameter '${k}'`);
  const o = new Map(opts);
  const sizeOpt = o.get('size');
  if (sizeOpt !== undefined) {
    if (size !== null) throw new BlockError('The image size must be specified only once');
    const { parseSizeOpt } = await import('./options.js');
    size = parseSizeOpt('size', sizeOpt, 0);
    o.delete('size');
  }
  const backingFile = o.get('backing_file');
  const backingFmt = o.get('backing_fmt');
  if (backingFile !== undefined && backingFile !== '') {
    if (backingFile === filename) throw new BlockError('Error: Trying to create an image with the same filename as the backing file');
    if (!extra.unsafe || size === null) {
      const path = resolveBackingPath(filename, backingFile);
      let bnode: BlockNode;
      try {
        bnode = await openNode(path, backingFmt, { readOnly: true, noBacking: true }, new Set());
      } catch (e) {
        throw new BlockError(`${(e as Error).message}\nCould not open backing image.`);
      }
      try {
        if (backingFmt === undefined) {
          const err = new BlockError(`Backing file specified without backing format\nDetected format of ${bnode.driver.name}.`);
          (err as BlockError & { noTrailingNewline?: boolean }).noTrailingNewline = true;
          throw err;
        }
        if (size === null) size = bnode.size();
      } finally {
        await bnode.close();
      }
    }
  }
  if (size === null) throw new BlockError('Image creation needs a size parameter');
  extra.onFormatting?.(size);
  if (backingFmt !== undefined && (backingFile === undefined || backingFile === '')) {
    throw new BlockError('Backing format cannot be used without backing file');
  }
  if (backingFile !== undefined && !drv.createOptions.some((x) => x.name === 'backing_file')) {
    throw new BlockError(`Backing file not supported for file format '${format}'`);
  }
  if (!drv.createOptions.some((x) => x.name === 'backing_file')) {
    o.delete('backing_file');
    o.delete('backing_fmt');
  }
  await drv.create(filename, size, o);
}

export type { BlockDriver, BlockNode, OpenOptions, CreateOptions } from './types.js';
