/**
 * `stdio` backend: the emulator's own stdin/stdout. On a terminal stdin goes
 * to raw mode (restored on close and at process exit). With signal=on (the
 * default) Ctrl-C still interrupts the emulator, as with QEMU's ISIG.
 */
import { CharBackend, MAX_BUFFERED, WriteCoalescer } from './types.js';

export interface StdioStreams {
  stdin: NodeJS.ReadStream | NodeJS.ReadableStream;
  stdout: NodeJS.WritableStream & { writableLength?: number };
}

let inUse = false;

export class StdioChar implements CharBackend {
  private cb: ((data: Uint8Array) => void) | null = null;
  private readonly onData = (d: Buffer) => this.input(d);
  private readonly restore = () => this.restoreTty();
  private raw = false;
  private closed = false;

  constructor(private readonly io: StdioStreams, private readonly signal: boolean,
              private readonly onInterrupt: () => void) {
    if (inUse) throw new Error('cannot use stdio by multiple character devices');
    inUse = true;
    const tty = io.stdin as NodeJS.ReadStream;
    if (tty.isTTY && typeof tty.setRawMode === 'function') {
      tty.setRawMode(true);
      this.raw = true;
      process.on('exit', this.restore);
    }
  }

  private input(d: Buffer): void {
    if (this.signal && this.raw && d.includes(3)) {
      this.restoreTty();
      this.onInterrupt();
      return;
    }
    if (this.cb) this.cb(new Uint8Array(d.buffer, d.byteOffset, d.length));
  }

  private readonly out = new WriteCoalescer((d) => {
    const out = this.io.stdout;
    if ((out.writableLength ?? 0) > MAX_BUFFERED) return;
    out.write(Buffer.from(d.buffer, d.byteOffset, d.length));
  });

  write(data: Uint8Array): void {
    if (!this.closed) this.out.push(data);
  }

  onInput(cb: (data: Uint8Array) => void): void {
    const first = this.cb === null;
    this.cb = cb;
    if (first) {
      this.io.stdin.on('data', this.onData);
      this.io.stdin.resume();
    }
  }

  private restoreTty(): void {
    if (!this.raw) return;
    this.raw = false;
    const tty = this.io.stdin as NodeJS.ReadStream;
    try { tty.setRawMode(false); } catch { /* terminal gone */ }
    process.removeListener('exit', this.restore);
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.out.flush();
    this.closed = true;
    this.io.stdin.removeListener('data', this.onData);
    this.io.stdin.pause();
    this.restoreTty();
    inUse = false;
  }
}
