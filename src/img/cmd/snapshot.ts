/** qemu-img snapshot [-q] [-l | -a S | -c S | -d S] FILE (7.2 has no -f) */
import { ImgError, parseArgs, usageError, type IO } from '../common.js';
import type { BlockNode, SnapshotCapable } from '../../block/types.js';
import { snapshotList } from '../snapshot-table.js';

function canSnapshot(n: BlockNode): n is BlockNode & SnapshotCapable {
  return typeof (n as Partial<SnapshotCapable>).createSnapshot === 'function';
}

export async function run(argv: string[], io: IO): Promise<number> {
  let action: 'l' | 'a' | 'c' | 'd' | null = null;
  let name = '';
  const ops = parseArgs(argv, ':la:c:d:hqU', [
    { name: 'object', hasArg: 1, val: 'J' },
    { name: 'image-opts', hasArg: 0, val: 'I' },
    { name: 'force-share', hasArg: 0, val: 'U' },
  ], (o, a) => {
    switch (o) {
      case 'l': case 'a': case 'c': case 'd':
        if (action) throw usageError("Cannot mix '-l', '-a', '-c', '-d'");
        action = o;
        name = a;
        break;
      case 'I': throw new ImgError('--image-opts is not supported by qemu-ts-img');
    }
  });
  if (ops.length !== 1) throw usageError('Expecting one image file name');
  const filename = ops[0]!;
  const act = (action ?? 'l') as 'l' | 'a' | 'c' | 'd';
  const block = await import('../../block/index.js');
  const node = await block.openImage(filename, { readOnly: act === 'l', noBacking: true });
  try {
    if (act !== 'l' && block.isProbedRaw(node)) io.err(block.probedRawWarning(filename));
    const list = node.snapshots();
    if (act === 'l') {
      if (list.length > 0) io.out(snapshotList(list));
      return 0;
    }
    const wrap = (what: string, e: unknown): never => {
      if (e instanceof Error && e.name === 'BlockError') throw new ImgError(`Could not ${what} snapshot '${name}': ${e.message}`);
      throw e;
    };
    if (act === 'c') {
      if (!canSnapshot(node)) throw new ImgError(`Could not create snapshot '${name}': -95 (Operation not supported)`);
      try { await node.createSnapshot(name, 0); } catch (e) { wrap('create', e); }
    } else if (act === 'a') {
      if (!canSnapshot(node)) {
        // qemu-img reopens the image here, so a probed raw image gets its WARNING twice
        if (block.isProbedRaw(node)) io.err(block.probedRawWarning(filename));
        throw new ImgError(`Could not apply snapshot '${name}': Block driver does not support snapshots`);
      }
      if (!list.some((s) => s.id === name || s.name === name)) {
        throw new ImgError(`Could not apply snapshot '${name}': Failed to load snapshot: No such file or directory`);
      }
      try { await node.applySnapshot(name); } catch (e) { wrap('apply', e); }
    } else {
      if (!canSnapshot(node)) throw new ImgError(`Could not delete snapshot '${name}': snapshot not found`);
      if (!list.some((s) => s.name === name)) throw new ImgError(`Could not delete snapshot '${name}': snapshot not found`);
      try { await node.deleteSnapshot(name); } catch (e) { wrap('delete', e); }
    }
    return 0;
  } finally {
    await node.close();
  }
}
