/** `-l snapshot_param` of convert/measure: `NAME_OR_ID` or `snapshot.id=ID,snapshot.name=NAME`. */
import type { BlockNode, SnapshotInfo } from '../block/types.js';
import { ImgError, splitOptList } from './common.js';

export interface SnapshotParam { id?: string; name?: string; idOrName?: string }

export function parseSnapshotParam(s: string): SnapshotParam {
  if (!s.startsWith('snapshot.')) return { idOrName: s };
  const p: SnapshotParam = {};
  for (const [k, v] of splitOptList(s)) {
    if (k === 'snapshot.id') p.id = v ?? '';
    else if (k === 'snapshot.name') p.name = v ?? '';
    else throw new ImgError(`Invalid parameter '${k}'`);
  }
  return p;
}

export function findSnapshot(list: SnapshotInfo[], p: SnapshotParam): SnapshotInfo | undefined {
  if (p.idOrName !== undefined) return list.find((s) => s.id === p.idOrName) ?? list.find((s) => s.name === p.idOrName);
  return list.find((s) => (p.id === undefined || s.id === p.id) && (p.name === undefined || s.name === p.name));
}

/** Optional capability: a read-only view of an internal snapshot. */
interface SnapshotReader {
  openSnapshotView(idOrName: string): Promise<BlockNode>;
}

export async function loadSnapshot(node: BlockNode, p: SnapshotParam): Promise<BlockNode> {
  const sn = findSnapshot(node.snapshots(), p);
  if (!sn) throw new ImgError("Failed to load snapshot: Can't find snapshot");
  const r = node as Partial<SnapshotReader>;
  if (typeof r.openSnapshotView !== 'function') {
    throw new ImgError('Failed to load snapshot: reading internal snapshots is not supported yet by qemu-ts-img');
  }
  return r.openSnapshotView(sn.id);
}
