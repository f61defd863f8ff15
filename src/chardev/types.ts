/**
 * Character device backends: where a serial port, the monitor or a debug
 * console sends its bytes and gets its input from (QEMU's -chardev).
 */

export interface CharBackend {
  /** Send bytes to the outside (never blocks; backends bound what they buffer). */
  write(data: Uint8Array): void;
  /** Register the receiver of incoming bytes (one receiver; a later call replaces it). */
  onInput(cb: (data: Uint8Array) => void): void;
  /** Stop I/O, restore the terminal, close files and sockets. */
  close(): Promise<void>;
  /** Incoming break condition (telnet BREAK, Ctrl-A b on a mux), if the frontend cares. */
  onBreak?(cb: () => void): void;
}

/** Most bytes a backend holds for a slow or absent reader before it drops output. */
export const MAX_BUFFERED = 1 << 20;

/**
 * Gathers the small writes a device makes (a UART sends one byte at a time)
 * and hands them to `sink` as one chunk when the current job ends, so a
 * guest printing a lot costs one host write per CPU time slice, not one per
 * byte. At most `limit` bytes wait; beyond that output is dropped.
 */
export class WriteCoalescer {
  private buf = new Uint8Array(4096);
  private len = 0;
  private scheduled = false;
  constructor(private readonly sink: (data: Uint8Array) => void, private readonly limit = MAX_BUFFERED) {}

  push(data: Uint8Array): void {
    const need = this.len + data.length;
    if (need > this.limit) return;
    if (need > this.buf.length) {
      const nb = new Uint8Array(Math.min(this.limit, Math.max(need, this.buf.length * 2)));
      nb.set(this.buf.subarray(0, this.len));
      this.buf = nb;
    }
    this.buf.set(data, this.len);
    this.len = need;
    if (!this.scheduled) { this.scheduled = true; queueMicrotask(() => this.flush()); }
  }

  /** Hand over what is pending now. */
  flush(): void {
    this.scheduled = false;
    if (this.len === 0) return;
    const out = this.buf.slice(0, this.len);
    this.len = 0;
    this.sink(out);
  }
}

/** A backend that drops output and never produces input (`null`, `none`). */
export class NullChar implements CharBackend {
  write(_data: Uint8Array): void {}
  onInput(_cb: (data: Uint8Array) => void): void {}
  async close(): Promise<void> {}
}

/** An in-memory backend for tests and for frontends wired together in-process. */
export class MemoryChar implements CharBackend {
  readonly chunks: Uint8Array[] = [];
  private cb: ((data: Uint8Array) => void) | null = null;
  private breakCb: (() => void) | null = null;
  write(data: Uint8Array): void { this.chunks.push(data.slice()); }
  onInput(cb: (data: Uint8Array) => void): void { this.cb = cb; }
  onBreak(cb: () => void): void { this.breakCb = cb; }
  /** Deliver input as if it came from outside. */
  feed(data: Uint8Array | string): void {
    const d = typeof data === 'string' ? new TextEncoder().encode(data) : data;
    if (this.cb) this.cb(d);
  }
  sendBreak(): void { if (this.breakCb) this.breakCb(); }
  /** Everything written so far as one byte array. */
  output(): Uint8Array {
    const n = this.chunks.reduce((a, c) => a + c.length, 0);
    const out = new Uint8Array(n);
    let o = 0;
    for (const c of this.chunks) { out.set(c, o); o += c.length; }
    return out;
  }
  text(): string { return new TextDecoder('latin1').decode(this.output()); }
  async close(): Promise<void> {}
}
