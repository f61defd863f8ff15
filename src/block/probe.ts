/**
 * Image format probing by magic bytes, as qemu-img does when no -f is given.
 *
 * Only the first 512 bytes are looked at. qcow2 needs the magic `QFI\xfb` and
 * version >= 2; version 1 is the old `qcow` format; anything unrecognised
 * (including a file shorter than 8 bytes) is `raw`.
 */
import { open } from 'node:fs/promises';

export const PROBE_BYTES = 512;

/** Format name for a header already read. */
export function probeHeader(head: Uint8Array): string {
  if (head.length < 8) return 'raw';
  const m = (s: string, at = 0) => {
    for (let i = 0; i < s.length; i++) if (head[at + i] !== s.charCodeAt(i)) return false;
    return true;
  };
  const be32 = (at: number) => ((head[at]! << 24) | (head[at + 1]! << 16) | (head[at + 2]! << 8) | head[at + 3]!) >>> 0;
  if (m('QFI\xfb')) {
    const v = be32(4);
    if (v >= 2) return 'qcow2';
    if (v === 1) return 'qcow';
    return 'raw';
  }
  if (m('KDMV') || m('# Disk DescriptorFile')) return 'vmdk';
  if (m('<<< QEMU VM Virtual Disk Image >>>') || (head.length >= 68 && be32(64) === 0x7f10dabe)) return 'vdi';
  if (m('conectix')) return 'vpc';
  if (m('vhdxfile')) return 'vhdx';
  if (m('QED\0')) return 'qed';
  return 'raw';
}

/** Read the head of `filename` and probe it. Errors (missing file, ...) propagate. */
export async function probeFile(filename: string): Promise<string> {
  const fh = await open(filename, 'r');
  try {
    const buf = new Uint8Array(PROBE_BYTES);
    const { bytesRead } = await fh.read(buf, 0, PROBE_BYTES, 0);
    return probeHeader(buf.subarray(0, bytesRead));
  } finally {
    await fh.close();
  }
}
