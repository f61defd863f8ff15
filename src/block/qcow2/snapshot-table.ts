/** The qcow2 internal snapshot table: parsing and serialisation. */
import { be64, setBe64 } from './header.js';
import { BlockError } from '../errors.js';

export interface Qcow2Snapshot {
  l1TableOffset: number;
  l1Size: number;
  id: string;
  name: string;
  dateSec: number;
  dateNsec: number;
  vmClockNsec: number;
  vmStateSize: number;
  /** Extra data as stored (at least 24 bytes when written by us). */
  diskSize: number | null;
  icount: number;
  /** Extra data beyond the fields we know, preserved. */
  unknownExtra: Uint8Array;
}

const dec = new TextDecoder();
const enc = new TextEncoder();

export function parseSnapshotTable(buf: Uint8Array, count: number): Qcow2Snapshot[] {
  const dv = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
  const out: Qcow2Snapshot[] = [];
  let off = 0;
  for (let i = 0; i < count; i++) {
    if (off + 40 > buf.length) throw new BlockError('Snapshot table is truncated');
    const idLen = dv.getUint16(off + 12);
    const nameLen = dv.getUint16(off + 14);
    const extra = dv.getUint32(off + 36);
    if (extra > 1024) throw new BlockError('Too much extra metadata in snapshot table entry 0');
    const s: Qcow2Snapshot = {
      l1TableOffset: be64(dv, off),
      l1Size: dv.getUint32(off + 8),
      id: '',
      name: '',
      dateSec: dv.getUint32(off + 16),
      dateNsec: dv.getUint32(off + 20),
      vmClockNsec: be64(dv, off + 24),
      vmStateSize: dv.getUint32(off + 32),
      diskSize: null,
      icount: -1,
      unknownExtra: new Uint8Array(0),
    };
    const e = off + 40;
    if (e + extra + idLen + nameLen > buf.length) throw new BlockError('Snapshot table is truncated');
    if (extra >= 8) s.vmStateSize = be64(dv, e);
    if (extra >= 16) s.diskSize = be64(dv, e + 8);
    if (extra >= 24) {
      const hi = dv.getUint32(e + 16);
      s.icount = hi === 0xffffffff && dv.getUint32(e + 20) === 0xffffffff ? -1 : be64(dv, e + 16);
    }
    if (extra > 24) s.unknownExtra = buf.slice(e + 24, e + extra);
    s.id = dec.decode(buf.subarray(e + extra, e + extra + idLen));
    s.name = dec.decode(buf.subarray(e + extra + idLen, e + extra + idLen + nameLen));
    off = (e + extra + idLen + nameLen + 7) & ~7;
    out.push(s);
  }
  return out;
}

export function serializeSnapshotTable(snaps: Qcow2Snapshot[]): Uint8Array {
  const parts: Uint8Array[] = [];
  let total = 0;
  for (const s of snaps) {
    const id = enc.encode(s.id);
    const name = enc.encode(s.name);
    const extra = 24 + s.unknownExtra.length;
    const len = (40 + extra + id.length + name.length + 7) & ~7;
    const b = new Uint8Array(len);
    const dv = new DataView(b.buffer);
    setBe64(dv, 0, s.l1TableOffset);
    dv.setUint32(8, s.l1Size);
    dv.setUint16(12, id.length);
    dv.setUint16(14, name.length);
    dv.setUint32(16, s.dateSec);
    dv.setUint32(20, s.dateNsec);
    setBe64(dv, 24, s.vmClockNsec);
    dv.setUint32(32, s.vmStateSize > 0xffffffff ? 0 : s.vmStateSize);
    dv.setUint32(36, extra);
    setBe64(dv, 40, s.vmStateSize);
    setBe64(dv, 48, s.diskSize ?? 0);
    if (s.icount < 0) {
      dv.setUint32(56, 0xffffffff);
      dv.setUint32(60, 0xffffffff);
    } else setBe64(dv, 56, s.icount);
    b.set(s.unknownExtra, 64);
    b.set(id, 40 + extra);
    b.set(name, 40 + extra + id.length);
    parts.push(b);
    total += len;
  }
  // Like QEMU, the last entry is not padded to 8 bytes.
  if (snaps.length) {
    const last = snaps[snaps.length - 1]!;
    total -= parts[parts.length - 1]!.length - (40 + 24 + last.unknownExtra.length + enc.encode(last.id).length + enc.encode(last.name).length);
  }
  const out = new Uint8Array(total);
  let o = 0;
  for (const p of parts) {
    out.set(p.subarray(0, Math.min(p.length, total - o)), o);
    o += p.length;
  }
  return out;
}
