/**
 * `mux=on` / `mon:` multiplexer: several frontends (serial port, monitor)
 * share one backend. Everything the frontends write goes out; input goes to
 * the frontend that has the focus. Ctrl-A (or the -echr character) escapes:
 * h help, x quit, s save disks, t timestamps, b break, c next frontend,
 * the escape character twice sends it through.
 */
import { CharBackend } from './types.js';

export interface MuxHooks {
  /** Ctrl-A x: the emulator should exit (QEMU exits with status 0). */
  onQuit?: () => void;
  /** Ctrl-A s: commit -snapshot overlays. */
  onSaveDisks?: () => void;
  /** Virtual ns for timestamps; defaults to none (timestamps print 0). */
  now?: () => number;
}

export class MuxFrontend implements CharBackend {
  cb: ((data: Uint8Array) => void) | null = null;
  breakCb: (() => void) | null = null;
  /** Called when this frontend gains (true) or loses (false) the focus; the monitor prints its prompt. */
  onFocus: ((focused: boolean) => void) | null = null;
  constructor(private readonly mux: MuxChar, readonly index: number) {}
  write(data: Uint8Array): void { this.mux.output(data); }
  onInput(cb: (data: Uint8Array) => void): void { this.cb = cb; }
  onBreak(cb: () => void): void { this.breakCb = cb; }
  async close(): Promise<void> {}
}

export class MuxChar {
  readonly frontends: MuxFrontend[] = [];
  focus = 0;
  private escaped = false;
  private timestamps = false;
  private lineStart = true;
  private readonly enc = new TextEncoder();

  constructor(readonly backend: CharBackend, private readonly hooks: MuxHooks = {}, readonly escapeChar = 0x01) {
    backend.onInput((d) => this.input(d));
  }

  /** Add a frontend; the first one added has the focus. */
  frontend(): MuxFrontend {
    const f = new MuxFrontend(this, this.frontends.length);
    this.frontends.push(f);
    return f;
  }

  setFocus(i: number): void {
    const old = this.frontends[this.focus];
    if (old && old.onFocus) old.onFocus(false);
    this.focus = i;
    const f = this.frontends[i];
    if (f && f.onFocus) f.onFocus(true);
  }

  /** @internal frontend output */
  output(data: Uint8Array): void {
    if (!this.timestamps) { this.backend.write(data); return; }
    let start = 0;
    for (let i = 0; i < data.length; i++) {
      if (this.lineStart) {
        if (i > start) this.backend.write(data.subarray(start, i));
        start = i;
        const ns = this.hooks.now ? this.hooks.now() : 0;
        const s = Math.floor(ns / 1e9), ms = Math.floor(ns / 1e6) % 1000;
        const hh = String(Math.floor(s / 3600)).padStart(2, '0'), mm = String(Math.floor(s / 60) % 60).padStart(2, '0');
        this.backend.write(this.enc.encode(`[${hh}:${mm}:${String(s % 60).padStart(2, '0')}.${String(ms).padStart(3, '0')}] `));
        this.lineStart = false;
      }
      if (data[i] === 0x0a) this.lineStart = true;
    }
    if (start < data.length) this.backend.write(data.subarray(start));
  }

  private say(s: string): void { this.backend.write(this.enc.encode(s)); }

  private helpText(): string {
    const e = this.escapeChar < 32 ? `C-${String.fromCharCode(this.escapeChar + 96)}` : String.fromCharCode(this.escapeChar);
    return '\n\r' + [
      `${e} h    print this help`,
      `${e} x    exit emulator`,
      `${e} s    save disk data back to file (if -snapshot)`,
      `${e} t    toggle console timestamps`,
      `${e} b    send break (magic sysrq)`,
      `${e} c    switch between console and monitor`,
      `${e} ${e}  sends ${e}`,
    ].join('\n\r') + '\n\r';
  }

  private input(d: Uint8Array): void {
    let start = 0;
    const flush = (end: number) => {
      if (end > start) { const f = this.frontends[this.focus]; if (f && f.cb) f.cb(d.subarray(start, end)); }
    };
    for (let i = 0; i < d.length; i++) {
      const b = d[i]!;
      if (this.escaped) {
        this.escaped = false;
        start = i + 1;
        if (b === this.escapeChar) { start = i; flush(i + 1); start = i + 1; continue; }
        switch (b) {
          case 0x68: case 0x3f: this.say(this.helpText()); break;
          case 0x78: this.say('QEMU: Terminated\n\r'); if (this.hooks.onQuit) this.hooks.onQuit(); return;
          case 0x73: if (this.hooks.onSaveDisks) this.hooks.onSaveDisks(); break;
          case 0x62: { const f = this.frontends[this.focus]; if (f && f.breakCb) f.breakCb(); break; }
          case 0x63: if (this.frontends.length) this.setFocus((this.focus + 1) % this.frontends.length); break;
          case 0x74: this.timestamps = !this.timestamps; this.lineStart = true; break;
          default: break; // unknown escapes are swallowed
        }
      } else if (b === this.escapeChar) {
        flush(i);
        this.escaped = true;
        start = i + 1;
      }
    }
    if (!this.escaped) flush(d.length);
  }

  async close(): Promise<void> { await this.backend.close(); }
}
