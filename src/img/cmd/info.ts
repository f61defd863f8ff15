/** qemu-img info [-f fmt] [--output=human|json] [--backing-chain] [-U] FILE */
import { ImgError, parseArgs, parseOutput, usageError, type IO, type OutputFormat } from '../common.js';
import type { BlockNode } from '../../block/types.js';
import { humanSize } from '../../util/size.js';
import { snapshotJson, snapshotList } from '../snapshot-table.js';
import { toJson } from '../json.js';

interface ImageInfo {
  filename: string;
  format: string;
  virtualSize: number;
  actualSize: number;
  clusterSize: number | null;
  dirty: boolean;
  backingFilename: string | null;
  fullBackingFilename: string | null;
  backingFormat: string | null;
  node: BlockNode;
}

/** qemu's dump of a format-specific QDict in human form. */
export function dumpSpecific(value: unknown, indent: number): string {
  let s = '';
  const pad = ' '.repeat(indent);
  const scalar = (v: unknown) => (typeof v === 'string' ? v : String(v));
  if (Array.isArray(value)) {
    value.forEach((v, i) => {
      if (v !== null && typeof v === 'object') s += `${pad}[${i}]:\n` + dumpSpecific(v, indent + 4);
      else s += `${pad}[${i}]: ${scalar(v)}\n`;
    });
    return s;
  }
  for (const [k, v] of Object.entries(value as Record<string, unknown>)) {
    const key = k.replace(/-/g, ' ');
    if (v !== null && typeof v === 'object') s += `${pad}${key}:\n` + dumpSpecific(v, indent + 4);
    else s += `${pad}${key}: ${scalar(v)}\n`;
  }
  return s;
}

function human(i: ImageInfo): string {
  let s = `image: ${i.filename}\nfile format: ${i.format}\n`;
  s += `virtual size: ${humanSize(i.virtualSize)} (${i.virtualSize} bytes)\n`;
  s += `disk size: ${humanSize(i.actualSize)}\n`;
  if (i.clusterSize !== null) s += `cluster_size: ${i.clusterSize}\n`;
  if (i.dirty) s += 'cleanly shut down: no\n';
  if (i.backingFilename !== null) {
    s += `backing file: ${i.backingFilename}`;
    if (i.fullBackingFilename !== null && i.fullBackingFilename !== i.backingFilename) {
      s += ` (actual path: ${i.fullBackingFilename})`;
    }
    s += '\n';
  }
  if (i.backingFormat !== null) s += `backing file format: ${i.backingFormat}\n`;
  const snaps = i.node.snapshots();
  if (snaps.length > 0) s += snapshotList(snaps);
  const spec = i.node.formatSpecific();
  if (spec) s += 'Format specific information:\n' + dumpSpecific(spec.data, 4);
  return s;
}

function jsonObject(i: ImageInfo): Record<string, unknown> {
  const o: Record<string, unknown> = {};
  if (i.backingFormat !== null) o['backing-filename-format'] = i.backingFormat;
  const snaps = i.node.snapshots();
  if (snaps.length > 0) o['snapshots'] = snaps.map(snapshotJson);
  o['virtual-size'] = i.virtualSize;
  o['filename'] = i.filename;
  if (i.clusterSize !== null) o['cluster-size'] = i.clusterSize;
  o['format'] = i.format;
  o['actual-size'] = i.actualSize;
  const spec = i.node.formatSpecific();
  if (spec) o['format-specific'] = spec;
  if (i.fullBackingFilename !== null) o['full-backing-filename'] = i.fullBackingFilename;
  if (i.backingFilename !== null) o['backing-filename'] = i.backingFilename;
  o['dirty-flag'] = i.dirty;
  return o;
}

async function collect(node: BlockNode, filename: string, resolve: (img: string, b: string) => string): Promise<ImageInfo> {
  const b = node.backingFilename();
  return {
    filename,
    format: node.driver.name,
    virtualSize: node.size(),
    actualSize: await node.allocatedFileSize(),
    clusterSize: node.clusterSize(),
    dirty: node.dirty(),
    backingFilename: b,
    fullBackingFilename: b !== null ? resolve(filename, b) : null,
    backingFormat: node.backingFormat(),
    node,
  };
}

export async function run(argv: string[], io: IO): Promise<number> {
  let fmt: string | undefined;
  let output = 'human' as OutputFormat;
  let chain = false;
  const ops = parseArgs(argv, ':f:hU', [
    { name: 'format', hasArg: 1, val: 'f' },
    { name: 'backing-chain', hasArg: 0, val: 'C' },
    { name: 'output', hasArg: 1, val: 'o' },
    { name: 'image-opts', hasArg: 0, val: 'I' },
    { name: 'object', hasArg: 1, val: 'J' },
    { name: 'force-share', hasArg: 0, val: 'U' },
  ], (o, a) => {
    switch (o) {
      case 'f': fmt = a; break;
      case 'C': chain = true; break;
      case 'o': output = parseOutput(a); break;
      case 'I': throw new ImgError('--image-opts is not supported by qemu-ts-img');
    }
  });
  if (ops.length !== 1) throw usageError('Expecting one image file name');
  const { openImage, resolveBackingPath } = await import('../../block/index.js');
  const { realpath } = await import('node:fs/promises');

  const infos: ImageInfo[] = [];
  const seen = new Set<string>();
  let filename = ops[0]!;
  let format = fmt;
  try {
    for (;;) {
      let key = filename;
      try { key = await realpath(filename); } catch { /* open reports it */ }
      if (seen.has(key)) throw new ImgError(`Backing file '${filename}' creates an infinite loop.`);
      seen.add(key);
      const node = await openImage(filename, { readOnly: true, format, noBacking: true, allowCorrupt: true });
      const info = await collect(node, filename, resolveBackingPath);
      infos.push(info);
      if (!chain || info.fullBackingFilename === null) break;
      filename = info.fullBackingFilename;
      format = info.backingFormat ?? undefined;
    }
    if (output === 'json') {
      io.out(toJson(chain ? infos.map(jsonObject) : jsonObject(infos[0]!)) + '\n');
    } else {
      io.out(infos.map(human).join('\n'));
    }
  } finally {
    for (const i of infos) await i.node.close();
  }
  return 0;
}
