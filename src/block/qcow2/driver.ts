/** The qcow2 format driver: probe, open (with QEMU's validation) and create. */
import type { BlockDriver, BlockNode, CreateOptions, OpenOptions } from '../types.js';
import { BlockError } from '../errors.js';
import { HostFile } from '../file.js';
import { parseHeader, QCOW2_MAGIC, INCOMPAT_CORRUPT, INCOMPAT_DATA_FILE, INCOMPAT_DIRTY, COMPAT_LAZY_REFCOUNTS } from './header.js';
import { Refcounts } from './refcount.js';
import { Qcow2Node } from './node.js';
import { loadBitmaps } from './bitmaps.js';
import { parseSnapshotTable, type Qcow2Snapshot } from './snapshot-table.js';
import { QCOW2_CREATE_OPTIONS, createQcow2 } from './create.js';

async function openQcow2(filename: string, opts: OpenOptions): Promise<Qcow2Node> {
  const writable = !opts.readOnly;
  const file = await HostFile.open(filename, writable);
  let dataFile: HostFile | null = null;
  try {
    let head = new Uint8Array(4096);
    await file.read(0, head);
    const dv = new DataView(head.buffer);
    const bits = dv.getUint32(20);
    if (dv.getUint32(0) === QCOW2_MAGIC && bits >= 9 && bits <= 21) {
      head = new Uint8Array(2 ** bits + 1024);
      await file.read(0, head);
    }
    const h = parseHeader(head, (o, l) => head.subarray(o, o + l));
    if (h.cryptMethod !== 0) throw new BlockError('encrypted qcow2 images are not supported');
    if (writable && (h.incompatible & INCOMPAT_CORRUPT) && !opts.forCheck) {
      throw new BlockError('qcow2: Image is corrupt; cannot be opened read/write');
    }
    if (h.incompatible & INCOMPAT_DATA_FILE) {
      if (!h.dataFile) throw new BlockError("'data-file' is required for this image");
      // QEMU opens the data file by the stored name, relative to the working directory.
      dataFile = await HostFile.open(h.dataFile, writable);
    }
    const cs = 2 ** h.clusterBits;
    let unsyncedRef: { node: Qcow2Node | null } = { node: null };
    const rc = await Refcounts.load(file, h.clusterBits, h.refcountOrder, h.refcountTableOffset, h.refcountTableClusters, {
      tableMoved: async (off, clusters) => {
        h.refcountTableOffset = off;
        h.refcountTableClusters = clusters;
        const b = new Uint8Array(12);
        const bdv = new DataView(b.buffer);
        bdv.setUint32(0, Math.floor(off / 4294967296));
        bdv.setUint32(4, off >>> 0);
        bdv.setUint32(8, clusters);
        await file.write(48, b);
        await file.sync();
      },
      markUnsynced: () => {
        if (unsyncedRef.node) unsyncedRef.node.unsynced = true;
      },
    });
    const l1 = new Uint8Array(h.l1Size * 8);
    await file.read(h.l1TableOffset, l1);
    let snaps: Qcow2Snapshot[] = [];
    if (h.nbSnapshots) {
      // Entries are variable-sized; read generously and grow if needed.
      let len = Math.max(cs, h.nbSnapshots * 1200);
      const buf = new Uint8Array(Math.min(len, 64 << 20));
      await file.read(h.snapshotsOffset, buf);
      snaps = parseSnapshotTable(buf, h.nbSnapshots);
      len = 0;
    }
    void cs;
    const node = new Qcow2Node(qcow2Driver, filename, file, dataFile ?? file, h, rc, l1, snaps, !writable);
    unsyncedRef.node = node;
    await loadBitmaps(node);
    if (writable && !opts.forCheck && (h.incompatible & INCOMPAT_DIRTY)) {
      // Left dirty by a crash with lazy refcounts: repair the refcounts before use, as QEMU does.
      await node.check({ leaks: true, all: true }, () => undefined);
      h.incompatible &= ~INCOMPAT_DIRTY;
      await node.writeIncompatible();
    }
    if (writable && h.version >= 3 && (h.compatible & COMPAT_LAZY_REFCOUNTS) && !(h.incompatible & INCOMPAT_DIRTY)) {
      h.incompatible |= INCOMPAT_DIRTY;
      await node.writeIncompatible();
    }
    return node;
  } catch (e) {
    if (dataFile) await dataFile.close();
    await file.close();
    throw e;
  }
}

export const qcow2Driver: BlockDriver = {
  name: 'qcow2',
  createOptions: QCOW2_CREATE_OPTIONS,
  probe(head: Uint8Array): number {
    if (head.length < 8) return 0;
    const dv = new DataView(head.buffer, head.byteOffset, head.byteLength);
    return dv.getUint32(0) === QCOW2_MAGIC && dv.getUint32(4) >= 2 ? 100 : 0;
  },
  open(filename: string, opts: OpenOptions): Promise<BlockNode> {
    return openQcow2(filename, opts);
  },
  create(filename: string, size: number, opts: CreateOptions): Promise<void> {
    return createQcow2(filename, size, opts);
  },
};
