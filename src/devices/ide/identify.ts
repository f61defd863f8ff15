/**
 * IDENTIFY DEVICE / IDENTIFY PACKET DEVICE data and disk geometry, with the
 * values QEMU's IDE model reports (so guests see the same drive).
 *
 * Geometry follows QEMU's hd_geometry_guess: if sector 0 holds an MBR with a
 * partition whose end head is non-zero, the partition is assumed to end on a
 * cylinder boundary (heads = end head + 1, sectors = end sector & 63), kept
 * when heads <= 16 and 1 <= cylinders <= 16383; otherwise 16 heads, 63
 * sectors and cylinders = size / 1008 clamped to 2..16383.
 */
import type { BlockNode } from '../../block/types.js';

export interface Chs { cylinders: number; heads: number; sectors: number }

export const MAX_MULT_SECTORS = 16;

/** QEMU's guess_chs_for_size: the standard physical geometry for `nbSectors`. */
export function chsForSize(nbSectors: number): Chs {
  let cylinders = Math.floor(nbSectors / (16 * 63));
  if (cylinders > 16383) cylinders = 16383;
  else if (cylinders < 2) cylinders = 2;
  return { cylinders, heads: 16, sectors: 63 };
}

/** Geometry from an MBR in `sector0` (512 bytes), or null (QEMU's guess_disk_lchs). */
export function chsFromMbr(sector0: Uint8Array, nbSectors: number): Chs | null {
  if (sector0.length < 512 || sector0[510] !== 0x55 || sector0[511] !== 0xaa) return null;
  for (let i = 0; i < 4; i++) {
    const p = 0x1be + 16 * i;
    const nr = (sector0[p + 12]! | (sector0[p + 13]! << 8) | (sector0[p + 14]! << 16) | (sector0[p + 15]! << 24)) >>> 0;
    const endHead = sector0[p + 5]!;
    if (nr === 0 || endHead === 0) continue;
    const heads = endHead + 1;
    const sectors = sector0[p + 6]! & 63;
    if (sectors === 0) continue;
    const cylinders = Math.floor(nbSectors / (heads * sectors));
    if (cylinders < 1 || cylinders > 16383) continue;
    return { cylinders, heads, sectors };
  }
  return null;
}

/** Geometry QEMU would give a disk image (reads sector 0). */
export async function guessGeometry(node: BlockNode): Promise<Chs> {
  const nb = Math.floor(node.size() / 512);
  const buf = new Uint8Array(512);
  if (nb > 0) {
    try { await node.read(0, buf); } catch { return chsForSize(nb); }
  }
  const lchs = chsFromMbr(buf, nb);
  if (lchs === null || lchs.heads > 16) return chsForSize(nb);
  return lchs;
}

/** Store an ATA string: two characters per word, first character in the high byte, space padded. */
export function putAtaString(words: Uint16Array, first: number, nwords: number, s: string): void {
  for (let i = 0; i < nwords; i++) {
    const hi = i * 2 < s.length ? s.charCodeAt(i * 2) & 0xff : 0x20;
    const lo = i * 2 + 1 < s.length ? s.charCodeAt(i * 2 + 1) & 0xff : 0x20;
    words[first + i] = (hi << 8) | lo;
  }
}

/** Space-padded ASCII into bytes (SCSI INQUIRY strings). */
export function putPadded(buf: Uint8Array, at: number, len: number, s: string): void {
  for (let i = 0; i < len; i++) buf[at + i] = i < s.length ? s.charCodeAt(i) & 0xff : 0x20;
}

export interface DiskIdentity {
  serial: string;
  model: string;
  firmware: string;
  chs: Chs;
  nbSectors: number;
  /** Current READ/WRITE MULTIPLE block size (0 = disabled). */
  multSectors: number;
  writeCache: boolean;
}

/** IDENTIFY DEVICE words for a hard disk, as QEMU's ide_identify builds them. */
export function identifyDisk(id: DiskIdentity): Uint16Array {
  const w = new Uint16Array(256);
  const { cylinders, heads, sectors } = id.chs;
  w[0] = 0x0040;
  w[1] = cylinders;
  w[3] = heads;
  w[4] = 512 * sectors;
  w[5] = 512;
  w[6] = sectors;
  putAtaString(w, 10, 10, id.serial);
  w[20] = 3;
  w[21] = 512;
  w[22] = 4;
  putAtaString(w, 23, 4, id.firmware);
  putAtaString(w, 27, 20, id.model);
  w[47] = 0x8000 | MAX_MULT_SECTORS;
  w[48] = 1;
  w[49] = (1 << 11) | (1 << 9) | (1 << 8);
  w[51] = 0x200;
  w[52] = 0x200;
  w[53] = 1 | (1 << 1) | (1 << 2);
  w[54] = cylinders;
  w[55] = heads;
  w[56] = sectors;
  const oldsize = cylinders * heads * sectors;
  w[57] = oldsize & 0xffff;
  w[58] = (oldsize >>> 16) & 0xffff;
  if (id.multSectors !== 0) w[59] = 0x100 | id.multSectors;
  const lba28 = Math.min(id.nbSectors, 0x0fffffff);
  w[60] = lba28 & 0xffff;
  w[61] = (lba28 >>> 16) & 0xffff;
  w[62] = 0x07;
  w[63] = 0x07;
  w[64] = 0x03;
  w[65] = 120;
  w[66] = 120;
  w[67] = 120;
  w[68] = 120;
  w[69] = 1 << 14; // deterministic read after TRIM
  w[80] = 0xf0;
  w[81] = 0x16;
  w[82] = (1 << 14) | (1 << 5) | 1;
  w[83] = (1 << 14) | (1 << 13) | (1 << 12) | (1 << 10);
  w[84] = 1 << 14;
  w[85] = (1 << 14) | (id.writeCache ? 1 << 5 : 0) | 1;
  w[86] = (1 << 13) | (1 << 12) | (1 << 10);
  w[87] = 1 << 14;
  w[88] = 0x3f | (1 << 13);
  w[93] = 1 | (1 << 14) | 0x2000;
  const n = id.nbSectors;
  w[100] = n & 0xffff;
  w[101] = Math.floor(n / 0x10000) & 0xffff;
  w[102] = Math.floor(n / 0x100000000) & 0xffff;
  w[103] = Math.floor(n / 0x1000000000000) & 0xffff;
  w[106] = 0x6000; // one logical sector per physical sector, word valid
  w[169] = 1; // DATA SET MANAGEMENT TRIM
  return w;
}

/** IDENTIFY PACKET DEVICE words for a CD/DVD drive, as QEMU's ide_atapi_identify builds them. */
export function identifyAtapi(serial: string, model: string, firmware: string): Uint16Array {
  const w = new Uint16Array(256);
  w[0] = (2 << 14) | (5 << 8) | (1 << 7) | (2 << 5);
  putAtaString(w, 10, 10, serial);
  w[20] = 3;
  w[21] = 512;
  w[22] = 4;
  putAtaString(w, 23, 4, firmware);
  putAtaString(w, 27, 20, model);
  w[48] = 1;
  w[49] = (1 << 9) | (1 << 8);
  w[53] = 7;
  w[62] = 7;
  w[63] = 7;
  w[64] = 3;
  w[65] = 0xb4;
  w[66] = 0xb4;
  w[67] = 0x12c;
  w[68] = 0xb4;
  w[71] = 30;
  w[72] = 30;
  w[80] = 0x1e;
  w[88] = 0x3f | (1 << 13);
  return w;
}

/** Words to bytes, little endian (what the data port delivers). */
export function wordsToBytes(w: Uint16Array, dst: Uint8Array): void {
  for (let i = 0; i < w.length; i++) { dst[2 * i] = w[i]! & 0xff; dst[2 * i + 1] = w[i]! >> 8; }
}
