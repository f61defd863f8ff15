/**
 * The `file` protocol: positional asynchronous I/O on a host file.
 *
 * Reads past the end of the file return zeros (as QEMU's file driver does
 * for format drivers); the file's length is tracked so size() is cheap.
 */
import { open, stat, type FileHandle } from 'node:fs/promises';
import { readSync, writeSync } from 'node:fs';

/**
 * Requests up to this size use the synchronous syscalls on the handle's fd:
 * a thread-pool round trip costs ~100 us, pread of a cached sector ~2 us, and
 * emulated disks issue many small requests. Larger ones stay asynchronous.
 */
let SYNC_IO_MAX = 256 * 1024;

/**
 * Raise (or restore) the size up to which requests are synchronous. A batch
 * tool with nothing else to overlap (qemu-ts-img convert) sets Infinity: a
 * thread-pool hop per request then only adds wake-ups and, on a loaded
 * machine, scheduling delay. The emulator keeps the default so a big
 * request never stalls the event loop.
 */
export function setSyncIoMax(bytes: number): void {
  SYNC_IO_MAX = bytes;
}
import { BlockError, errnoText } from './errors.js';
import { WriteLock, noteOpen, isOpenHere, lockErrorText } from './lock.js';

export class HostFile {
  private constructor(
    readonly filename: string,
    private readonly fh: FileHandle,
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
      st = await stat(filename, { bigint: true });
    } catch (e) {
      throw new BlockError(`Could not open '${filename}': ${errnoText(e)}`);
    }
    if (st.isDirectory()) throw new BlockError(`'file' driver requires '${filename}' to be a regular file`);
    let fh: FileHandle;
    try {
      fh = await open(filename, writable ? 'r+' : 'r');
    } catch (e) {
      throw new BlockError(`Could not open '${filename}': ${errnoText(e)}`);
    }
    let lock: WriteLock | null = null;
    if (writable) {
      try {
        lock = WriteLock.acquire(st.dev, st.ino, filename);
      } catch (e) {
        await fh.close();
        throw e;
      }
    }
    return new HostFile(filename, fh, writable, Number(st.size), lock, { dev: st.dev, ino: st.ino });
  }

  /** Create (or truncate) a file for writing. Error: `Could not create 'F': <strerror>`. */
  static async create(filename: string): Promise<HostFile> {
    let fh: FileHandle;
    try {
      fh = await open(filename, 'a+'); // create without truncating before the lock is ours
      await fh.close();
      fh = await open(filename, 'r+');
    } catch (e) {
      throw new BlockError(`Could not create '${filename}': ${errnoText(e)}`);
    }
    const st = await fh.stat({ bigint: true });
    let lock: WriteLock;
    try {
      // Re-creating an image this process has open (convert src src) would destroy it.
      if (isOpenHere(st.dev, st.ino)) throw new BlockError(lockErrorText(filename));
      lock = WriteLock.acquire(st.dev, st.ino, filename);
    } catch (e) {
      await fh.close();
      throw e;
    }
    await fh.truncate(0);
    return new HostFile(filename, fh, true, 0, lock, { dev: st.dev, ino: st.ino });
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
          const n = readSync(this.fh.fd, buf, done, want - done, offset + done);
          if (n === 0) break;
          done += n;
        }
      } catch (e) {
        throw new BlockError(errnoText(e));
      }
    } else {
      while (done < want) {
        const { bytesRead } = await this.fh.read(buf, done, want - done, offset + done);
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
        if (sync) n = writeSync(this.fh.fd, buf, done, buf.length - done, offset + done);
        else ({ bytesWritten: n } = await this.fh.write(buf, done, buf.length - done, offset + done));
      } catch (e) {
        throw new BlockError(errnoText(e));
      }
      done += n;
    }
    if (offset + buf.length > this.len) this.len = offset + buf.length;
  }

  async truncate(size: number): Promise<void> {
    try {
      await this.fh.truncate(size);
    } catch (e) {
      throw new BlockError(errnoText(e));
    }
    this.len = size;
  }

  /** Flush barrier: data written so far reaches the disk before anything later. */
  async sync(): Promise<void> {
    await this.fh.datasync();
  }

  /** Host bytes used: st_blocks * 512. */
  async allocatedSize(): Promise<number> {
    const st = await this.fh.stat();
    return st.blocks * 512;
  }

  async close(): Promise<void> {
    try {
      await this.fh.close();
    } finally {
      this.lock?.release();
      noteOpen(this.id.dev, this.id.ino, -1);
    }
  }
}
