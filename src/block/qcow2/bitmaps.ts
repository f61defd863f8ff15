/**
 * Persistent dirty bitmaps (header extension 0x23852875): read for info and
 * counted by check; never updated by qemu-ts.
 */
import { be64, EXT_BITMAPS, AUTOCLEAR_BITMAPS } from './header.js';
import type { Qcow2Node } from './node.js';

const dec = new TextDecoder();

export async function loadBitmaps(n: Qcow2Node): Promise<void> {
  if (!(n.h.autoclear & AUTOCLEAR_BITMAPS) || n.h.version < 3) return;
  const ext = n.h.otherExtensions.find((e) => e.type === EXT_BITMAPS);
  if (!ext || ext.data.length < 24) return;
  const edv = new DataView(ext.data.buffer, ext.data.byteOffset, ext.data.byteLength);
  const count = edv.getUint32(0);
  const dirSize = be64(edv, 8);
  const dirOffset = be64(edv, 16);
  if (!count || dirSize > 64 << 20) return;
  const dir = new Uint8Array(dirSize);
  await n.file.read(dirOffset, dir);
  const dv = new DataView(dir.buffer);
  let off = 0;
  const list: Qcow2Node['bitmaps'] = [];
  for (let i = 0; i < count && off + 24 <= dir.length; i++) {
    const tableOffset = be64(dv, off);
    const tableSize = dv.getUint32(off + 8);
    const flags = dv.getUint32(off + 12);
    const granularityBits = dir[off + 17]!;
    const nameSize = dv.getUint16(off + 18);
    const extra = dv.getUint32(off + 20);
    const name = dec.decode(dir.subarray(off + 24 + extra, off + 24 + extra + nameSize));
    const f: string[] = [];
    if (flags & 1) f.push('in-use');
    if (flags & 2) f.push('auto');
    list.push({ name, granularity: 2 ** granularityBits, flags: f, tableOffset, tableSize });
    off = (off + 24 + extra + nameSize + 7) & ~7;
  }
  n.bitmaps = list;
  n.bitmapDir = { offset: dirOffset, size: dirSize };
}

/** Count the clusters the bitmaps use (directory, tables, data) for check. */
export async function bitmapReferences(n: Qcow2Node, inc: (off: number, size: number) => void): Promise<void> {
  if (!n.bitmapDir) return;
  inc(n.bitmapDir.offset, n.bitmapDir.size);
  for (const b of n.bitmaps) {
    inc(b.tableOffset, b.tableSize * 8);
    const t = new Uint8Array(b.tableSize * 8);
    await n.file.read(b.tableOffset, t);
    const dv = new DataView(t.buffer);
    for (let i = 0; i < b.tableSize; i++) {
      const off = (dv.getUint32(i * 8) & 0x00ffffff) * 4294967296 + ((dv.getUint32(i * 8 + 4) & 0xfffffe00) >>> 0);
      if (off) inc(off, n.cs);
    }
  }
}
