/**
 * PS/2 keyboard and mouse as the i8042 sees them: each takes command bytes
 * from the controller and queues reply and input bytes for it.
 *
 * Keys are given as PC set 1 make codes (0x1E = A) with extended keys as
 * 0xE0xx (0xE048 = Up); the keyboard emits them in its current scan code set
 * (2 by default; the controller translates to set 1 when its XLAT bit is on).
 */
import { Timer, VirtualClock } from '../../clock/virtual-clock.js';

/** The 8042 translation of set 2 codes 0x00-0x7F to set 1. */
export const XLAT = Uint8Array.from([
  0xff, 0x43, 0x41, 0x3f, 0x3d, 0x3b, 0x3c, 0x58, 0x64, 0x44, 0x42, 0x40, 0x3e, 0x0f, 0x29, 0x59,
  0x65, 0x38, 0x2a, 0x70, 0x1d, 0x10, 0x02, 0x5a, 0x66, 0x71, 0x2c, 0x1f, 0x1e, 0x11, 0x03, 0x5b,
  0x67, 0x2e, 0x2d, 0x20, 0x12, 0x05, 0x04, 0x5c, 0x68, 0x39, 0x2f, 0x21, 0x14, 0x13, 0x06, 0x5d,
  0x69, 0x31, 0x30, 0x23, 0x22, 0x15, 0x07, 0x5e, 0x6a, 0x72, 0x32, 0x24, 0x16, 0x08, 0x09, 0x5f,
  0x6b, 0x33, 0x25, 0x17, 0x18, 0x0b, 0x0a, 0x60, 0x6c, 0x34, 0x35, 0x26, 0x27, 0x19, 0x0c, 0x61,
  0x6d, 0x73, 0x28, 0x74, 0x1a, 0x0d, 0x62, 0x6e, 0x3a, 0x36, 0x1c, 0x1b, 0x75, 0x2b, 0x63, 0x76,
  0x55, 0x56, 0x77, 0x78, 0x79, 0x7a, 0x0e, 0x7b, 0x7c, 0x4f, 0x7d, 0x4b, 0x47, 0x7e, 0x7f, 0x6f,
  0x52, 0x53, 0x50, 0x4c, 0x4d, 0x48, 0x01, 0x45, 0x57, 0x4e, 0x51, 0x4a, 0x37, 0x49, 0x46, 0x54,
]);

/** Set 2 → set 1 for one byte (codes from 0x80 pass except F7 and SysRq). */
export function xlat(b: number): number {
  if (b < 0x80) return XLAT[b]!;
  return b === 0x83 ? 0x41 : b === 0x84 ? 0x54 : b;
}

/** Set 1 → set 2. */
const TO_SET2 = (() => {
  const t = new Uint8Array(128);
  for (let i = 0x7f; i >= 1; i--) if (XLAT[i]! < 0x80) t[XLAT[i]!] = i;
  t[0x41] = 0x83; t[0x54] = 0x84;
  return t;
})();

const ACK = 0xfa, RESEND = 0xfe, BAT_OK = 0xaa;

/** A byte queue with replies kept ahead of input data. */
class Queue {
  data: number[] = [];
  replies = 0;
  constructor(readonly cap: number) {}
  reply(...b: number[]): void { this.data.splice(this.replies, 0, ...b); this.replies += b.length; }
  push(b: number[]): boolean {
    if (this.data.length + b.length > this.cap) return false;
    this.data.push(...b);
    return true;
  }
  take(): number { if (this.replies > 0) this.replies--; return this.data.shift()!; }
  clear(): void { this.data.length = 0; this.replies = 0; }
  get empty(): boolean { return this.data.length === 0; }
}

export abstract class Ps2Device {
  readonly q: Queue;
  /** Set by the controller: called when bytes were queued. */
  notify: () => void = () => {};
  protected pendingCmd = -1;
  constructor(cap: number) { this.q = new Queue(cap); }
  abstract write(v: number): void;
  abstract reset(): void;
}

export class Ps2Keyboard extends Ps2Device {
  scanSet = 2;
  enabled = true;
  leds = 0;
  /** Typematic byte (F3): bits 5-6 delay, 0-4 rate. */
  typematic = 0x2b;
  onLeds: ((leds: number) => void) | undefined;
  private held = -1;
  private readonly repeat: Timer;

  constructor(private readonly clock: VirtualClock) {
    super(16);
    this.repeat = clock.newTimer(() => this.onRepeat(), 'kbd-typematic');
  }

  reset(): void {
    this.q.clear(); this.pendingCmd = -1;
    this.scanSet = 2; this.enabled = true; this.typematic = 0x2b; this.leds = 0;
    this.held = -1; this.repeat.del();
  }

  /** Typematic delay and period in ns. */
  typematicNs(): [number, number] {
    const t = this.typematic;
    const delay = (((t >> 5) & 3) + 1) * 250e6;
    const period = (8 + (t & 7)) * (1 << ((t >> 3) & 3)) * 4.17e6;
    return [delay, period];
  }

  write(v: number): void {
    const cmd = this.pendingCmd;
    if (cmd >= 0) {
      this.pendingCmd = -1;
      if (cmd === 0xed) { this.leds = v & 7; this.q.reply(ACK); if (this.onLeds) this.onLeds(this.leds); }
      else if (cmd === 0xf3) { this.typematic = v & 0x7f; this.q.reply(ACK); }
      else if (cmd === 0xf0) {
        if (v === 0) this.q.reply(ACK, this.scanSet); // the controller translates 2 to 0x41
        else if (v >= 1 && v <= 3) { this.scanSet = v; this.q.reply(ACK); }
        else this.q.reply(RESEND);
      }
      this.notify();
      return;
    }
    switch (v) {
      case 0xed: case 0xf3: case 0xf0: this.pendingCmd = v; this.q.reply(ACK); break;
      case 0xee: this.q.reply(0xee); break;
      case 0xf2: this.q.reply(ACK, 0xab, 0x83); break;
      case 0xf4: this.enabled = true; this.q.reply(ACK); break;
      case 0xf5: this.enabled = false; this.typematic = 0x2b; this.q.reply(ACK); break;
      case 0xf6: this.typematic = 0x2b; this.q.reply(ACK); break;
      case 0xff: this.reset(); this.q.reply(ACK, BAT_OK); break;
      default:
        if (v >= 0xf7 && v <= 0xfd) this.q.reply(ACK); else this.q.reply(RESEND);
    }
    this.notify();
  }

  /** Queue raw bytes as the keyboard would send them (already in the current set). */
  sendScancodes(bytes: ArrayLike<number>): void {
    if (!this.enabled) return;
    this.q.push(Array.from(bytes));
    this.notify();
  }

  /** Bytes for a key (set 1 make code, 0xE0xx extended) in the current scan code set. */
  encode(code: number, down: boolean): number[] {
    const s1 = this.scanSet === 1;
    if (code === 0xe11d45) return down ? (s1 ? [0xe1, 0x1d, 0x45, 0xe1, 0x9d, 0xc5] : [0xe1, 0x14, 0x77, 0xe1, 0xf0, 0x14, 0xf0, 0x77]) : [];
    if (code === 0xe037) { // Print Screen comes with a fake shift
      if (s1) return down ? [0xe0, 0x2a, 0xe0, 0x37] : [0xe0, 0xb7, 0xe0, 0xaa];
      return down ? [0xe0, 0x12, 0xe0, 0x7c] : [0xe0, 0xf0, 0x7c, 0xe0, 0xf0, 0x12];
    }
    const ext = (code & 0xff00) === 0xe000;
    const c1 = code & 0x7f;
    const out: number[] = ext ? [0xe0] : [];
    if (this.scanSet === 1) out.push(down ? c1 : c1 | 0x80);
    else { if (!down) out.push(0xf0); out.push(TO_SET2[c1]!); }
    return out;
  }

  pressKey(code: number, down: boolean): void {
    if (!this.enabled) return;
    this.q.push(this.encode(code, down));
    if (down && code !== 0xe11d45) { this.held = code; this.repeat.modIn(this.typematicNs()[0]); }
    else if (this.held === code) { this.held = -1; this.repeat.del(); }
    this.notify();
  }

  /**
   * Monitor `sendkey`: press `codes` in order, hold for `holdNs` of virtual
   * time (QEMU's default is 100 ms), release them in reverse order.
   */
  sendKeyCombo(codes: number[], holdNs = 100e6): void {
    for (const c of codes) this.pressKey(c, true);
    const t = this.clock.newTimer(() => { for (let i = codes.length - 1; i >= 0; i--) this.pressKey(codes[i]!, false); }, 'sendkey');
    t.modIn(holdNs);
  }

  private onRepeat(): void {
    if (this.held < 0 || !this.enabled) return;
    this.q.push(this.encode(this.held, true));
    this.repeat.modIn(this.typematicNs()[1]);
    this.notify();
  }

  saveState(): object {
    return { q: this.q.data.slice(), r: this.q.replies, scanSet: this.scanSet, enabled: this.enabled, leds: this.leds, typematic: this.typematic, pendingCmd: this.pendingCmd };
  }
  loadState(s: { q: number[]; r: number; scanSet: number; enabled: boolean; leds: number; typematic: number; pendingCmd: number }): void {
    this.q.data = s.q.slice(); this.q.replies = s.r;
    this.scanSet = s.scanSet; this.enabled = s.enabled; this.leds = s.leds; this.typematic = s.typematic; this.pendingCmd = s.pendingCmd;
  }
}

export class Ps2Mouse extends Ps2Device {
  enabled = false; remote = false; wrap = false; scale21 = false;
  rate = 100; resolution = 2; id = 0; buttons = 0;
  private dx = 0; private dy = 0; private dz = 0;
  /** Last three sample rates written, for the IntelliMouse knock sequences. */
  private rates: number[] = [];

  constructor() { super(64); }

  reset(): void {
    this.q.clear(); this.pendingCmd = -1;
    this.enabled = this.remote = this.wrap = this.scale21 = false;
    this.rate = 100; this.resolution = 2; this.id = 0;
    this.dx = this.dy = this.dz = 0; this.rates = [];
  }

  private defaults(): void { this.rate = 100; this.resolution = 2; this.scale21 = false; this.enabled = false; this.remote = false; }

  write(v: number): void {
    const cmd = this.pendingCmd;
    if (cmd >= 0) {
      this.pendingCmd = -1;
      if (cmd === 0xe8) this.resolution = v & 3;
      else {
        this.rate = v;
        this.rates.push(v); if (this.rates.length > 3) this.rates.shift();
        const k = this.rates.join(',');
        if (k === '200,100,80' && this.id === 0) this.id = 3;
        else if (k === '200,200,80' && this.id === 3) this.id = 4;
      }
      this.q.reply(ACK); this.notify();
      return;
    }
    if (this.wrap && v !== 0xec && v !== 0xff) { this.q.reply(v); this.notify(); return; }
    switch (v) {
      case 0xe6: this.scale21 = false; this.q.reply(ACK); break;
      case 0xe7: this.scale21 = true; this.q.reply(ACK); break;
      case 0xe8: case 0xf3: this.pendingCmd = v; this.q.reply(ACK); break;
      case 0xe9:
        this.q.reply(ACK, (this.remote ? 0x40 : 0) | (this.enabled ? 0x20 : 0) | (this.scale21 ? 0x10 : 0) | (this.buttons & 7), this.resolution, this.rate);
        break;
      case 0xea: this.remote = false; this.q.reply(ACK); break;
      case 0xeb: this.q.reply(ACK, ...this.packet()); break;
      case 0xec: this.wrap = false; this.q.reply(ACK); break;
      case 0xee: this.wrap = true; this.q.reply(ACK); break;
      case 0xf0: this.remote = true; this.q.reply(ACK); break;
      case 0xf2: this.q.reply(ACK, this.id); break;
      case 0xf4: this.enabled = true; this.q.reply(ACK); break;
      case 0xf5: this.enabled = false; this.q.reply(ACK); break;
      case 0xf6: this.defaults(); this.q.reply(ACK); break;
      case 0xff: this.reset(); this.q.reply(ACK, BAT_OK, 0x00); break;
      default: this.q.reply(RESEND);
    }
    this.notify();
  }

  /** One movement packet from the accumulated motion (consumes up to the 9-bit range). */
  private packet(): number[] {
    const clamp = (v: number, lo: number, hi: number) => Math.max(lo, Math.min(hi, v));
    const x = clamp(this.dx, -256, 255), y = clamp(this.dy, -256, 255);
    this.dx -= x; this.dy -= y;
    const b0 = 0x08 | (this.buttons & 7) | (x < 0 ? 0x10 : 0) | (y < 0 ? 0x20 : 0);
    const p = [b0, x & 0xff, y & 0xff];
    if (this.id === 3) { const z = clamp(this.dz, -8, 7); this.dz -= z; p.push(z & 0xff); }
    else if (this.id === 4) { const z = clamp(this.dz, -8, 7); this.dz -= z; p.push((z & 0x0f) | ((this.buttons & 0x18) << 1)); }
    else this.dz = 0;
    return p;
  }

  /** Host motion: dx right, dy down (screen direction), dz wheel (positive = towards the user), buttons bit0 L, 1 R, 2 M, 3/4 side. */
  move(dx: number, dy: number, dz: number, buttons: number): void {
    this.dx += dx; this.dy -= dy; this.dz += dz;
    const changed = buttons !== this.buttons;
    this.buttons = buttons;
    if (!this.enabled || this.remote) return;
    const size = this.id >= 3 ? 4 : 3;
    let sent = false;
    while ((changed && !sent) || this.dx !== 0 || this.dy !== 0 || (this.id >= 3 && this.dz !== 0)) {
      if (this.q.data.length + size > this.q.cap) break;
      this.q.push(this.packet());
      sent = true;
    }
    if (sent) this.notify();
  }

  saveState(): object {
    const { q, notify: _n, ...rest } = this as unknown as Record<string, unknown> & { q: Queue };
    return { ...rest, qd: q.data.slice(), qr: q.replies };
  }
  loadState(s: Record<string, unknown> & { qd: number[]; qr: number }): void {
    const { qd, qr, ...rest } = s;
    Object.assign(this, rest);
    this.q.data = qd.slice(); this.q.replies = qr;
  }
}
