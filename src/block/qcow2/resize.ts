/** qcow2 resize: growing (L1 growth, optional preallocation) and shrinking (discard, file truncation). */
import { BlockError } from '../errors.js';
import { setBe64 } from './header.js';
import { type Qcow2Node, entryOffset, COPIED_HI, COMPRESSED_HI } from './node.js';
import { writeZeroRange } from '../raw.js';

/** Move the active L1 into a larger table of `entries` entries (new clusters, then header, then free the old). */
export async function growL1(n: Qcow2Node, entries: number): Promise<void> {
  const cs = n.cs;
  if (entries <= n.h.l1Size) return;
  if (entries > (32 << 20) / 8) throw new BlockError('File too large');
  await n.flushRaw();
  const oldOff = n.h.l1TableOffset;
  const oldClusters = Math.ceil((n.h.l1Size * 8) / cs);
  const l1 = new Uint8Array(entries * 8);
  l1.set(n.l1);
  const off = await n.rc.alloc(Math.ceil((entries * 8) / cs));
  await n.rc.flushBlocks();
  await n.file.write(off, l1);
  await n.file.sync();
  const hb = new Uint8Array(12);
  const dv = new DataView(hb.buffer);
  dv.setUint32(0, entries);
  setBe64(dv, 4, off);
  await n.file.write(36, hb);
  await n.file.sync();
  n.h.l1Size = entries;
  n.h.l1TableOffset = off;
  n.l1 = l1;
  n.l1dv = new DataView(l1.buffer);
  if (oldOff && oldClusters) {
    for (let c = 0; c < oldClusters; c++) await n.rc.add(oldOff / cs + c, -1);
    await n.rc.flushBlocks();
    await n.file.sync();
  }
}

async function writeSize(n: Qcow2Node, size: number): Promise<void> {
  const b = new Uint8Array(8);
  setBe64(new DataView(b.buffer), 0, size);
  await n.file.write(24, b);
  await n.file.sync();
  n.h.size = size;
}

export async function resizeImage(n: Qcow2Node, size: number, opts: { shrink: boolean; prealloc: string }): Promise<void> {
  if (n.readOnly) throw new BlockError('Permission denied');
  if (size % 512 !== 0) throw new BlockError('The new size must be a multiple of 512');
  if (!['off', 'metadata', 'falloc', 'full'].includes(opts.prealloc)) throw new BlockError(`Invalid preallocation mode '${opts.prealloc}'`);
  const old = n.h.size;
  const cs = n.cs;
  const span = cs * n.l2Entries;
  if (size < old) {
    if (!opts.shrink) throw new BlockError('Use the --shrink option to perform a shrink operation.');
    if (opts.prealloc !== 'off') throw new BlockError('Preallocation can\'t be used for shrinking an image');
    await n.flushRaw();
    // Discard whole clusters past the new end, then L2 tables past the new L1 size.
    const firstCluster = Math.ceil(size / cs);
    const lastCluster = Math.ceil(old / cs);
    for (let c = firstCluster; c < lastCluster; c++) {
      const l1i = Math.floor(c / n.l2Entries);
      const l2off = n.l1Offset(l1i);
      if (!l2off) {
        c = (l1i + 1) * n.l2Entries - 1;
        continue;
      }
      const { t } = await n.l2ForWrite(l1i);
      const at = (c % n.l2Entries) * n.entryBytes;
      const hi = t.dv.getUint32(at);
      const lo = t.dv.getUint32(at + 4);
      if (hi === 0 && lo === 0 && (!n.extL2 || t.dv.getUint32(at + 8) === 0)) continue;
      if (hi & COMPRESSED_HI) {
        const { coff, nb } = n.compressedInfo(hi, lo);
        const end = coff + (nb + 1) * 512 - (coff % 512);
        for (let k = Math.floor(coff / cs); k * cs < end; k++) n.pendingFrees.push(k);
      } else {
        const host = entryOffset(hi, lo);
        if (host && !n.hasDataFile) n.pendingFrees.push(host / cs);
      }
      t.dv.setUint32(at, 0);
      t.dv.setUint32(at + 4, 0);
      if (n.extL2) {
        t.dv.setUint32(at + 8, 0);
        t.dv.setUint32(at + 12, 0);
      }
      t.dirty = true;
    }
    await n.flushRaw();
    const newL1 = Math.ceil(size / span);
    for (let i = newL1; i < n.h.l1Size; i++) {
      const l2off = n.l1Offset(i);
      if (!l2off) continue;
      const copied = (n.l1Hi(i) & COPIED_HI) !== 0;
      n.l1dv.setUint32(i * 8, 0);
      n.l1dv.setUint32(i * 8 + 4, 0);
      n.l1Dirty = true;
      n.metaVersion++;
      n.l2cache.delete(l2off);
      n.pendingFrees.push(l2off / cs);
      void copied;
    }
    await n.flushRaw();
    await writeSize(n, size);
    // Truncate the file after the last cluster in use.
    let last = Math.ceil(n.file.size() / cs) - 1;
    while (last > 0 && (await n.rc.get(last)) === 0) last--;
    if ((last + 1) * cs < n.file.size()) {
      await n.file.truncate((last + 1) * cs);
      n.rc.hostEndCluster = last + 1;
      n.rc.freeHint = Math.min(n.rc.freeHint, last + 1);
    }
    return;
  }
  if (size === old) return;
  const need = Math.ceil(size / span);
  if (need > n.h.l1Size) await growL1(n, need);
  await writeSize(n, size);
  if (opts.prealloc !== 'off') {
    // Allocate every cluster of the new area (metadata); falloc/full also write zeros there.
    for (let c = Math.ceil(old / cs); c < Math.ceil(size / cs); c++) {
      const l1i = Math.floor(c / n.l2Entries);
      const { t } = await n.l2ForWrite(l1i);
      const at = (c % n.l2Entries) * n.entryBytes;
      if (t.dv.getUint32(at) || t.dv.getUint32(at + 4)) continue;
      const host = n.hasDataFile ? c * cs : await n.rc.alloc(1);
      t.dv.setUint32(at, Math.floor(host / 4294967296) | COPIED_HI);
      t.dv.setUint32(at + 4, host >>> 0);
      t.dirty = true;
      if (opts.prealloc !== 'metadata') await writeZeroRange(n.dataFile, host, cs);
      else if (host + cs > n.dataFile.size()) await n.dataFile.truncate(host + cs);
    }
    await n.flushRaw();
  }
}
