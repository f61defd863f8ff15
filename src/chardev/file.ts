/**
 * `file` backend: output to a file (truncated unless append=on), optional
 * input from `input-path`. Writes are gathered per CPU time slice and written
 * synchronously, so little is lost if the emulator dies.
 */
import * as fs from 'node:fs';
import { CharBackend, WriteCoalescer } from './types.js';

export class FileChar implements CharBackend {
  private fd: number;
  private inStream: fs.ReadStream | null = null;
  private cb: ((data: Uint8Array) => void) | null = null;

  constructor(path: string, append: boolean, private readonly inputPath?: string) {
    try {
      this.fd = fs.openSync(path, append ? 'a' : 'w', 0o666);
    } catch (e) {
      throw new Error(`Could not open '${path}': ${describe(e)}`);
    }
    if (inputPath !== undefined && !fs.existsSync(inputPath)) {
      fs.closeSync(this.fd);
      throw new Error(`Could not open '${inputPath}': No such file or directory`);
    }
  }

  private readonly out = new WriteCoalescer((data) => {
    if (this.fd < 0) return;
    let off = 0;
    while (off < data.length) off += fs.writeSync(this.fd, data, off, data.length - off);
  });

  write(data: Uint8Array): void { if (this.fd >= 0) this.out.push(data); }

  onInput(cb: (data: Uint8Array) => void): void {
    this.cb = cb;
    if (this.inputPath !== undefined && !this.inStream) {
      this.inStream = fs.createReadStream(this.inputPath);
      this.inStream.on('data', (d) => { if (this.cb) this.cb(d as Buffer); });
      this.inStream.on('error', () => {});
    }
  }

  async close(): Promise<void> {
    if (this.inStream) this.inStream.destroy();
    this.out.flush();
    if (this.fd >= 0) { fs.closeSync(this.fd); this.fd = -1; }
  }
}

export function describe(e: unknown): string {
  const code = (e as NodeJS.ErrnoException).code;
  switch (code) {
    case 'ENOENT': return 'No such file or directory';
    case 'EACCES': return 'Permission denied';
    case 'EISDIR': return 'Is a directory';
    case 'EADDRINUSE': return 'Address already in use';
    case 'ECONNREFUSED': return 'Connection refused';
    case 'ENOTDIR': return 'Not a directory';
    default: return (e as Error).message ?? String(e);
  }
}

/**
 * `pipe` backend (-serial pipe:PATH): PATH.in / PATH.out when both exist,
 * else PATH both ways (usually FIFOs made with mkfifo). Opening a FIFO waits
 * for the other end, so the streams open in the background.
 */
export class PipeChar implements CharBackend {
  private readonly out: fs.WriteStream;
  private readonly inp: fs.ReadStream;
  private cb: ((data: Uint8Array) => void) | null = null;
  private readonly pending = new WriteCoalescer((d) => {
    if (this.out.writableLength < (1 << 20)) this.out.write(Buffer.from(d.buffer, d.byteOffset, d.length));
  });

  constructor(path: string) {
    const split = fs.existsSync(`${path}.in`) && fs.existsSync(`${path}.out`);
    const inPath = split ? `${path}.in` : path, outPath = split ? `${path}.out` : path;
    if (!fs.existsSync(inPath)) throw new Error(`Could not open '${path}': No such file or directory`);
    this.out = fs.createWriteStream(outPath, { flags: 'a' });
    this.inp = fs.createReadStream(inPath);
    this.out.on('error', () => {});
    this.inp.on('error', () => {});
    this.inp.on('data', (d) => { if (this.cb) this.cb(d as Buffer); });
  }

  write(data: Uint8Array): void { this.pending.push(data); }
  onInput(cb: (data: Uint8Array) => void): void { this.cb = cb; }
  async close(): Promise<void> {
    this.pending.flush();
    this.inp.destroy();
    await new Promise<void>((res) => this.out.end(() => res()));
  }
}
