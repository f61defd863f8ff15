/**
 * Write locks between qemu-ts processes (and within one process).
 *
 * QEMU uses OFD byte-range locks, which Node cannot take. Instead a writer
 * creates an exclusive lock file in os.tmpdir() named after the image's
 * device and inode, holding the owner's pid. A lock whose owner is dead is
 * stale and is taken over. Locks are dropped on close and at process exit.
 */
import { openSync, writeSync, closeSync, readFileSync, unlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { BlockError } from './errors.js';

const held = new Set<string>();
let exitHook = false;

function lockPath(dev: bigint, ino: bigint): string {
  return join(tmpdir(), `qemu-ts-lock-${dev.toString(16)}-${ino.toString(16)}`);
}

/** Start time of a process (field 22 of /proc/PID/stat), to tell a reused pid from the owner. */
function startTime(pid: number): string {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2).split(' ')[19] ?? '';
  } catch {
    return '';
  }
}

function ownerAlive(pid: number, start: string): boolean {
  if (!Number.isInteger(pid) || pid <= 0) return false;
  try {
    process.kill(pid, 0);
  } catch (e) {
    if ((e as { code?: string }).code !== 'EPERM') return false;
  }
  // Same pid but a different start time: the owner died and the pid was reused.
  return !start || !startTime(pid) || startTime(pid) === start;
}

/** Text qemu-img prints when the write lock is taken. */
export function lockErrorText(filename: string): string {
  return `Failed to get "write" lock\nIs another process using the image [${filename}]?`;
}

/** Files open in this process (any mode), by device:inode, for the create-over-open-image check. */
const openHere = new Map<string, number>();

export function noteOpen(dev: bigint, ino: bigint, delta: number): void {
  const k = `${dev}:${ino}`;
  const v = (openHere.get(k) ?? 0) + delta;
  if (v <= 0) openHere.delete(k);
  else openHere.set(k, v);
}

export function isOpenHere(dev: bigint, ino: bigint): boolean {
  return openHere.has(`${dev}:${ino}`);
}

export class WriteLock {
  private constructor(private readonly path: string) {}

  /** Take the write lock of the file (dev, ino); throws BlockError (lockErrorText) when held. */
  static acquire(dev: bigint, ino: bigint, filename: string): WriteLock {
    const path = lockPath(dev, ino);
    if (held.has(path)) throw new BlockError(lockErrorText(filename));
    for (let attempt = 0; attempt < 3; attempt++) {
      try {
        const fd = openSync(path, 'wx', 0o644);
        writeSync(fd, `${process.pid} ${startTime(process.pid)}\n`);
        closeSync(fd);
        held.add(path);
        if (!exitHook) {
          exitHook = true;
          process.on('exit', () => {
            for (const p of held) {
              try { unlinkSync(p); } catch { /* already gone */ }
            }
          });
        }
        return new WriteLock(path);
      } catch (e) {
        if ((e as { code?: string }).code !== 'EEXIST') return new WriteLock(''); // no lock dir: run unlocked
      }
      let owner = NaN;
      let start = '';
      try {
        const [p, st] = readFileSync(path, 'utf8').trim().split(' ');
        owner = parseInt(p ?? '', 10);
        start = st ?? '';
      } catch { /* vanished or unreadable */ }
      if (owner !== process.pid && ownerAlive(owner, start)) throw new BlockError(lockErrorText(filename));
      if (owner === process.pid && held.has(path)) throw new BlockError(lockErrorText(filename));
      try { unlinkSync(path); } catch { /* someone else removed it */ }
    }
    throw new BlockError(lockErrorText(filename));
  }

  release(): void {
    if (!this.path || !held.has(this.path)) return;
    held.delete(this.path);
    try { unlinkSync(this.path); } catch { /* gone */ }
  }
}
