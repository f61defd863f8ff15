/**
 * qcow2 internal snapshots: create (copy the active L1, raise the refcount of
 * everything it reaches), apply (swap in the snapshot's L1) and delete, with
 * the snapshot table rewritten into newly allocated clusters as QEMU does.
 */
import { BlockError } from '../errors.js';
import { setBe64 } from './header.js';
import { type Qcow2Node, entryOffset, COPIED_HI, COMPRESSED_HI } from './node.js';
import { serializeSnapshotTable, type Qcow2Snapshot } from './snapshot-table.js';
import { growL1 } from './resize.js';

/**
 * Add `addend` (+1, -1 or 0) to the refcount of every L2 table and data
 * cluster reachable from the L1 table at `l1Offset`, and set OFLAG_COPIED on
 * the entries exactly where the refcount is then 1.
 */
export async function updateSnapshotRefcount(n: Qcow2Node, l1Offset: number, l1Size: number, addend: number, detached?: Uint8Array): Promise<void> {
  const cs = n.cs;
  // `detached`: an in-memory L1 that is no longer on disk (the old active table during apply).
  const active = !detached && l1Offset === n.h.l1TableOffset;
  const l1 = detached ?? (active ? n.l1 : await n.readL1(l1Offset, l1Size));
  const l1dv = new DataView(l1.buffer, l1.byteOffset, l1.byteLength);
  let l1Modified = false;
  for (let i = 0; i < l1Size; i++) {
    const hi = l1dv.getUint32(i * 8);
    const lo = l1dv.getUint32(i * 8 + 4);
    const l2off = entryOffset(hi, lo);
    if (!l2off) continue;
    const t = await n.getL2(l2off);
    for (let j = 0; j < n.l2Entries; j++) {
      const at = j * n.entryBytes;
      const ehi = t.dv.getUint32(at);
      const elo = t.dv.getUint32(at + 4);
      let refcount: number;
      if (ehi & COMPRESSED_HI) {
        if (addend !== 0) {
          const { coff, nb } = n.compressedInfo(ehi, elo);
          const end = coff + (nb + 1) * 512 - (coff % 512);
          for (let c = Math.floor(coff / cs); c * cs < end; c++) await n.rc.add(c, addend, true);
        }
        continue; // compressed clusters never carry COPIED
      }
      const off = entryOffset(ehi, elo);
      if (off === 0 && !(n.hasDataFile && ehi & COPIED_HI)) refcount = 0;
      else if (n.hasDataFile) refcount = 1;
      else {
        if (addend !== 0) await n.rc.add(off / cs, addend, true);
        refcount = await n.rc.get(off / cs);
      }
      const nhi = refcount === 1 ? (ehi | COPIED_HI) >>> 0 : (ehi & ~COPIED_HI) >>> 0;
      if (nhi !== ehi) {
        t.dv.setUint32(at, nhi);
        t.dirty = true;
      }
    }
    let refcount: number;
    if (addend !== 0) {
      await n.rc.add(l2off / cs, addend, true);
    }
    refcount = await n.rc.get(l2off / cs);
    if (refcount === 0) {
      n.l2cache.delete(l2off); // freed: never write it back
    }
    const nhi = refcount === 1 ? (hi | COPIED_HI) >>> 0 : (hi & ~COPIED_HI) >>> 0;
    if (nhi !== hi) {
      l1dv.setUint32(i * 8, nhi);
      l1Modified = true;
    }
  }
  // Refcounts first, then the L2 tables, then the L1 (crash leaves leaks at worst).
  if (active) n.l1Dirty = n.l1Dirty || l1Modified;
  await n.flushRaw();
  if (!active && !detached && l1Modified) {
    await n.file.write(l1Offset, l1);
    await n.file.sync();
  }
}

/** Write the snapshot table into new clusters, point the header at it, free the old one. */
export async function writeSnapshotTable(n: Qcow2Node): Promise<void> {
  const cs = n.cs;
  const oldOff = n.h.snapshotsOffset;
  const oldSize = n.h.nbSnapshots ? oldTableSize(n) : 0;
  const table = serializeSnapshotTable(n.snaps);
  let off = 0;
  if (n.snaps.length) {
    off = await n.rc.alloc(Math.ceil(table.length / cs));
    await n.rc.flushBlocks();
    await n.file.write(off, table);
    await n.file.sync();
  }
  const hb = new Uint8Array(12);
  const dv = new DataView(hb.buffer);
  dv.setUint32(0, n.snaps.length);
  setBe64(dv, 4, off);
  await n.file.write(60, hb);
  await n.file.sync();
  n.h.nbSnapshots = n.snaps.length;
  n.h.snapshotsOffset = off;
  n.tableSize = table.length;
  if (oldSize > 0) {
    for (let c = Math.floor(oldOff / cs); c * cs < oldOff + oldSize; c++) await n.rc.add(c, -1, true);
    await n.rc.flushBlocks();
    await n.file.sync();
  }
}

function oldTableSize(n: Qcow2Node): number {
  return n.tableSize ?? serializeSnapshotTable(n.snaps).length;
}

export async function createSnapshot(n: Qcow2Node, name: string, vmClockNsec: number): Promise<void> {
  if (n.readOnly) throw new BlockError('Permission denied');
  if (n.hasDataFile) throw Object.assign(new BlockError('Operation not supported'), { errno: -95 });
  await n.flushRaw();
  const cs = n.cs;
  const before = [...n.snaps];
  n.tableSize ??= n.h.nbSnapshots ? serializeSnapshotTable(n.snaps).length : 0;
  let maxId = 0;
  for (const s of n.snaps) {
    const v = parseInt(s.id, 10);
    if (Number.isFinite(v) && v > maxId) maxId = v;
  }
  const l1Size = n.h.l1Size;
  let l1Off = 0;
  if (l1Size > 0) {
    l1Off = await n.rc.alloc(Math.ceil((l1Size * 8) / cs));
    await n.rc.flushBlocks();
    await n.file.write(l1Off, n.l1);
    await n.file.sync();
  }
  await updateSnapshotRefcount(n, n.h.l1TableOffset, l1Size, 1);
  const now = Date.now();
  const sn: Qcow2Snapshot = {
    l1TableOffset: l1Off,
    l1Size,
    id: String(maxId + 1),
    name,
    dateSec: Math.floor(now / 1000),
    dateNsec: (now % 1000) * 1000000,
    vmClockNsec,
    vmStateSize: 0,
    diskSize: n.h.size,
    icount: 0,
    unknownExtra: new Uint8Array(0),
  };
  n.snaps = [...before, sn];
  await writeSnapshotTable(n);
}

export async function applySnapshot(n: Qcow2Node, idOrName: string): Promise<void> {
  if (n.readOnly) throw new BlockError('Permission denied');
  const sn = n.snaps.find((s) => s.id === idOrName) ?? n.snaps.find((s) => s.name === idOrName);
  if (!sn) throw new BlockError('Failed to load snapshot: No such file or directory');
  await n.flushRaw();
  n.tableSize ??= serializeSnapshotTable(n.snaps).length;
  if (sn.diskSize !== null && sn.diskSize !== n.h.size) {
    const b = new Uint8Array(8);
    setBe64(new DataView(b.buffer), 0, sn.diskSize);
    await n.file.write(24, b);
    await n.file.sync();
    n.h.size = sn.diskSize;
  }
  if (sn.l1Size > n.h.l1Size) await growL1(n, sn.l1Size);
  const curSize = n.h.l1Size;
  await updateSnapshotRefcount(n, sn.l1TableOffset, sn.l1Size, 1);
  const snL1 = new Uint8Array(curSize * 8);
  await n.file.read(sn.l1TableOffset, snL1.subarray(0, sn.l1Size * 8));
  await n.file.write(n.h.l1TableOffset, snL1);
  await n.file.sync();
  // Drop what the old active L1 reached.
  const oldL1 = n.l1.slice();
  n.l1.set(snL1);
  n.l1Dirty = false;
  n.metaVersion++;
  await updateSnapshotRefcount(n, n.h.l1TableOffset, curSize, -1, oldL1);
  await updateSnapshotRefcount(n, n.h.l1TableOffset, curSize, 0);
}

export async function deleteSnapshot(n: Qcow2Node, name: string): Promise<void> {
  if (n.readOnly) throw new BlockError('Permission denied');
  const idx = n.snaps.findIndex((s) => s.name === name);
  if (idx < 0) throw new BlockError('snapshot not found');
  await n.flushRaw();
  n.tableSize ??= serializeSnapshotTable(n.snaps).length;
  const sn = n.snaps[idx]!;
  n.snaps = n.snaps.filter((_, i) => i !== idx);
  await writeSnapshotTable(n);
  await updateSnapshotRefcount(n, sn.l1TableOffset, sn.l1Size, -1);
  const cs = n.cs;
  for (let c = 0; c < Math.ceil((sn.l1Size * 8) / cs); c++) await n.rc.add(sn.l1TableOffset / cs + c, -1, true);
  await updateSnapshotRefcount(n, n.h.l1TableOffset, n.h.l1Size, 0);
}
