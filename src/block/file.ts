/**
 * The `file` protocol: positional asynchronous I/O on a host file.
 *
 * Reads past the end of the file return zeros (as QEMU's file driver does
 * for format drivers); the file's length is tracked so size() is cheap.
 */
import {
  closeSync, fdatasync, fdatasyncSync, fstat, fstatSync, ftruncate, ftruncateSync, open as openCb, openSync,
  read as readCb, readSync, stat, statSync, write as writeCb, writeSync, close as closeCb, type BigIntStats, type Stats,
} from 'node:fs';
import { promisify } from 'node:util';

/**
 * Requests up to this size use the synchronous syscalls on the fd: a
 * thread-pool round trip costs ~100 us, pread of a cached sector ~2 us, and
 * emulated disks issue many small requests. Larger ones stay asynchronous.
 */
let SYNC_IO_MAX = 256 * 1024;
/** Batch mode: every file operation is synchronous (see setBatchMode). */
let batch = false;
/** Whether sync() reaches the disk (false for qemu-img's cache=unsafe). */
let flushes = true;

/**
 * Batch mode, for a command-line tool with nothing to overlap with its I/O
 * (qemu-ts-img convert): every request, whatever its size, and open, stat,
 * truncate, flush and close use the synchronous syscalls. A thread-pool hop
 * per call then costs nothing; on a loaded machine each hop costs two
 * scheduling delays. The emulator keeps the default, so a big request never
 * stalls its event loop.
 */
export function setBatchMode(on: boolean): void {
  batch = on;
  SYNC_IO_MAX = on ? Infinity : 256 * 1024;
}

/**
 * cache=unsafe (qemu-img convert's default for the target): flush requests
 * are ignored, so nothing waits for the disk. Write ordering barriers go with
 * them: a host crash during the copy can leave a broken target, which the
 * caller deletes or rewrites anyway.
 */
export function setFlushes(on: boolean): void {
  flushes = on;
}

const pOpen = promisify(openCb);
const pRead = promisify(readCb);
const pWrite = promisify(writeCb);
const pClose = promisify(closeCb);
const pTruncate = promisify(ftruncate);
const pDatasync = promisify(fdatasync);
const pStat = promisify(stat);
const pFstat = promisify(fstat);

function statBig(filename: string): Promise<BigIntStats> | BigIntStats {
  return batch ? statSync(filename, { bigint: true }) : (pStat(filename, { bigint: true }) as Promise<BigIntStats>);
}
function openFd(filename: string, flags: string): Promise<number> | number {
  return batch ? openSync(filename, flags) : pOpen(filename, flags);
}
function closeFd(fd: number): Promise<void> | void {
  return batch ? closeSync(fd) : pClose(fd);
}

import { BlockError, errnoText } from './errors.js';
import { WriteLock, noteOpen, isOpenHere, lockErrorText } from './lock.js';

export class HostFile {
  private constructor(
    readonly filename: string,
    private readonly fd: number,
    readonly writable: boolean,
    private len: number,
    private readonly lock: WriteLock | null,
    private readonly id: { dev: bigint; ino: bigint },
  ) {
    noteOpen(id.dev, id.ino, 1);
  }

  /**
   * Open an existing regular file. Errors: `Could not open 'F': <strerror>`,
   * `'file' driver requires 'F' to be a regular file`, the write-lock text.
   */
  static async open(filename: string, writable: boolean): Promise<HostFile> {
    let st;
    try {
      st = await statBig(filename);
    } catch (e) {
      throw new BlockError(`Could not open '${filename}': ${errnoText(e)}`);
    }
    if (st.isDirectory()) throw new BlockError(`'file' driver requires '${filename}' to be a regular file`);
    let fd: number;
    try {
      fd = await openFd(filename, writable ? 'r+' : 'r');
    } catch (e) {
      throw new BlockError(`Could not open '${filename}': ${errnoText(e)}`);
    }
    let lock: WriteLock | null = null;
    if (writable) {
      try {
        lock = WriteLock.acquire(st.dev, st.ino, filename);
      } catch (e) {
        await closeFd(fd);
        throw e;
      }
    }
    return new HostFile(filename, fd, writable, Number(st.size), lock, { dev: st.dev, ino: st.ino });
  }

  /** Create (or truncate) a file for writing. Error: `Could not create 'F': <strerror>`. */
  static async create(filename: string): Promise<HostFile> {
    let fd: number;
    try {
      fd = await openFd(filename, 'a+'); // create without truncating before the lock is ours
      await closeFd(fd);
      fd = await openFd(filename, 'r+');
    } catch (e) {
      throw new BlockError(`Could not create '${filename}': ${errnoText(e)}`);
    }
    let lock: WriteLock;
    let st: BigIntStats;
    try {
      st = batch ? fstatSync(fd, { bigint: true }) : ((await pFstat(fd, { bigint: true })) as BigIntStats);
      // Re-creating an image this process has open (convert src src) would destroy it.
      if (isOpenHere(st.dev, st.ino)) throw new BlockError(lockErrorText(filename));
      lock = WriteLock.acquire(st.dev, st.ino, filename);
    } catch (e) {
      await closeFd(fd);
      throw e;
    }
    if (batch) ftruncateSync(fd, 0);
    else await pTruncate(fd, 0);
    return new HostFile(filename, fd, true, 0, lock, { dev: st.dev, ino: st.ino });
  }

  size(): number {
    return this.len;
  }

  /** Read buf.length bytes at offset; bytes past EOF read as zeros. */
  async read(offset: number, buf: Uint8Array): Promise<void> {
    let done = 0;
    const want = buf.length;
    if (want <= SYNC_IO_MAX) {
      try {
        while (done < want) {
          const n = readSync(this.fd, buf, done, want - done, offset + done);
          if (n === 0) break;
          done += n;
        }
      } catch (e) {
        throw new BlockError(errnoText(e));
      }
    } else {
      while (done < want) {
        let bytesRead: number;
        try {
          ({ bytesRead } = await pRead(this.fd, buf, done, want - done, offset + done));
        } catch (e) {
          throw new BlockError(errnoText(e));
        }
        if (bytesRead === 0) break;
        done += bytesRead;
      }
    }
    if (done < want) buf.fill(0, done);
  }

  async write(offset: number, buf: Uint8Array): Promise<void> {
    let done = 0;
    const sync = buf.length <= SYNC_IO_MAX;
    while (done < buf.length) {
      let n: number;
      try {
        if (sync) n = writeSync(this.fd, buf, done, buf.length - done, offset + done);
        else ({ bytesWritten: n } = await pWrite(this.fd, buf, done, buf.length - done, offset + done));
      } catch (e) {
        throw new BlockError(errnoText(e));
      }
      done += n;
    }
    if (offset + buf.length > this.len) this.len = offset + buf.length;
  }

  async truncate(size: number): Promise<void> {
    try {
      if (batch) ftruncateSync(this.fd, size);
      else await pTruncate(this.fd, size);
    } catch (e) {
      throw new BlockError(errnoText(e));
    }
    this.len = size;
  }

  /** Flush barrier: data written so far reaches the disk before anything later. */
  async sync(): Promise<void> {
    if (!flushes) return;
    if (batch) fdatasyncSync(this.fd);
    else await pDatasync(this.fd);
  }

  /** Host bytes used: st_blocks * 512. */
  async allocatedSize(): Promise<number> {
    const st: Stats = batch ? fstatSync(this.fd) : await pFstat(this.fd);
    return st.blocks * 512;
  }

  async close(): Promise<void> {
    try {
      await closeFd(this.fd);
    } finally {
      this.lock?.release();
      noteOpen(this.id.dev, this.id.ino, -1);
    }
  }
}
