/**
 * A liveness line on the terminal while a guest is silent (booting a stock
 * kernel spends billions of instructions in its decompressor before it prints
 * anything). It goes to stderr, only when stderr is a terminal, only after the
 * guest has been quiet for a while and its output ended a line, and it is
 * erased before the guest writes again, so it never mixes into the guest's
 * console stream (and never appears when output is piped or logged).
 */
import type { StdioStreams } from '../chardev/stdio.js';

const QUIET_MS = 2000;

export class StatusLine {
  private shown = false;
  private lastGuest = Date.now();
  private atLineStart = true;
  private lastInsns = 0;
  private lastAt = Date.now();
  private readonly enabled: boolean;
  /** QEMU_TS_STATUS=log: one plain line per heartbeat, for logs and debugging. */
  private readonly logMode: boolean;

  constructor(private readonly err: NodeJS.WriteStream, private readonly out: NodeJS.WriteStream) {
    this.logMode = process.env['QEMU_TS_STATUS'] === 'log';
    this.enabled = this.logMode || (err.isTTY === true && process.env['QEMU_TS_NO_STATUS'] === undefined);
  }

  /** The stream guest output goes through: erases the status line first. */
  guestStream(): StdioStreams['stdout'] {
    const out = this.out;
    // eslint-disable-next-line @typescript-eslint/no-this-alias
    const self = this;
    return {
      write(chunk: Uint8Array | string, ...rest: unknown[]): boolean {
        self.clear();
        self.lastGuest = Date.now();
        const last = typeof chunk === 'string' ? chunk.charCodeAt(chunk.length - 1) : chunk[chunk.length - 1];
        if (last !== undefined) self.atLineStart = last === 10;
        return (out.write as (c: Uint8Array | string, ...r: unknown[]) => boolean)(chunk, ...rest);
      },
      get writableLength() { return out.writableLength; },
      on: out.on.bind(out), once: out.once.bind(out), end: out.end.bind(out),
    } as unknown as StdioStreams['stdout'];
  }

  heartbeat(instructions: number, virtualNs: number): void {
    const now = Date.now();
    const mips = (instructions - this.lastInsns) / Math.max(1, now - this.lastAt) / 1000;
    this.lastInsns = instructions; this.lastAt = now;
    const g = instructions >= 1e9 ? `${(instructions / 1e9).toFixed(2)} G` : `${(instructions / 1e6).toFixed(0)} M`;
    const line = `[qemu-ts] running: ${g} instructions, ${mips.toFixed(0)} MIPS, guest time ${(virtualNs / 1e9).toFixed(1)} s, silent for ${((now - this.lastGuest) / 1000).toFixed(0)} s`;
    if (this.logMode) { this.err.write(line + '\n'); return; }
    if (!this.enabled || !this.atLineStart || now - this.lastGuest < QUIET_MS) return;
    this.err.write(`\r\x1b[K${line}`);
    this.shown = true;
  }

  clear(): void {
    if (!this.shown) return;
    this.shown = false;
    this.err.write('\r\x1b[K');
  }
}
