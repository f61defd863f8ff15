/**
 * Intel 8254 programmable interval timer at 0x40-0x43 and the PC's system
 * control port B at 0x61 (channel 2 gate, speaker, refresh toggle, OUT2).
 *
 * Counters are not ticked: each channel remembers when its count was loaded
 * and derives the current count and OUT level from the virtual clock. Channel 0
 * drives IRQ0 with a timer armed at the next OUT transition.
 */
import { ByteIoDevice, IoBus } from '../../bus/io-bus.js';
import { IrqLine } from '../../bus/irq.js';
import { Timer, VirtualClock } from '../../clock/virtual-clock.js';

export const PIT_HZ = 1193182;
const NS = 1e9;

/** Input clock ticks in `ns` nanoseconds (exact for any realistic uptime). */
export function ticksIn(ns: number): number {
  const q = Math.floor(ns / NS), r = ns - q * NS;
  return q * PIT_HZ + Math.floor((r * PIT_HZ) / NS);
}
/** First nanosecond at which `t` ticks have elapsed. */
export function nsForTicks(t: number): number {
  const q = Math.floor(t / PIT_HZ), r = t - q * PIT_HZ;
  return q * NS + Math.ceil((r * NS) / PIT_HZ);
}
const toBcd = (n: number) => ((n / 1000 | 0) % 10) << 12 | ((n / 100 | 0) % 10) << 8 | ((n / 10 | 0) % 10) << 4 | n % 10;
const fromBcd = (v: number) => (v >> 12 & 15) * 1000 + (v >> 8 & 15) * 100 + (v >> 4 & 15) * 10 + (v & 15);

class Channel {
  modeBits = 0; rw = 3; bcd = false;
  /** Period in input clocks (1..65536, or 10000 for BCD 0). */
  count = 0x10000;
  loadNs = 0;
  armed = false;
  /** Elapsed ticks while the gate holds counting, or -1. */
  frozen = -1;
  gate: boolean;
  nullCount = true;
  latched = -1; latchHigh = false;
  status = -1;
  readHigh = false; writeHigh = false; lsb = 0;
  constructor(readonly clock: VirtualClock, gate: boolean) { this.gate = gate; }

  get mode(): number { return this.modeBits > 5 ? this.modeBits - 4 : this.modeBits; }

  elapsed(now: number): number { return this.frozen >= 0 ? this.frozen : ticksIn(now - this.loadNs); }

  out(now: number): boolean {
    const m = this.mode;
    if (!this.armed) return m !== 0;
    const d = this.elapsed(now), c = this.count;
    switch (m) {
      case 0: return d >= c;
      case 1: return d >= c;
      case 2: return !this.gate || d % c !== c - 1;
      case 3: return !this.gate || d % c < ((c + 1) >> 1);
      default: return d !== c;
    }
  }

  value(now: number): number {
    if (!this.armed) return this.bcd ? toBcd(this.count % 10000) : this.count & 0xffff;
    const d = this.elapsed(now), c = this.count, m = this.mode;
    let v: number;
    if (m === 2) v = c - (d % c);
    else if (m === 3) v = c - ((2 * d) % c);
    else v = this.bcd ? (((c - d) % 10000) + 10000) % 10000 : (c - d) & 0xffff;
    return this.bcd ? toBcd(v % 10000) : v & 0xffff;
  }

  /** Tick count of the next OUT transition, or -1. */
  nextEdge(now: number): number {
    if (!this.armed || this.frozen >= 0) return -1;
    const d = this.elapsed(now), c = this.count, m = this.mode;
    if (m === 0 || m === 1) return d < c ? c : -1;
    if (m === 2 || m === 3) {
      const base = d - (d % c), at = m === 2 ? c - 1 : (c + 1) >> 1;
      return d % c < at ? base + at : base + c;
    }
    return d < c ? c : d === c ? c + 1 : -1;
  }

  load(raw: number, now: number): void {
    this.count = this.bcd ? (fromBcd(raw) || 10000) : (raw || 0x10000);
    const m = this.mode;
    if ((m === 2 || m === 3) && this.count < 2) this.count = 2;
    this.nullCount = false;
    this.loadNs = now;
    this.frozen = -1;
    if (m === 1 || m === 5) { this.armed = false; return; }
    this.armed = true;
    if (!this.gate) this.frozen = 0;
  }

  setGate(g: boolean, now: number): void {
    if (g === this.gate) return;
    const m = this.mode;
    if (g) {
      if (m === 1 || m === 5 || m === 2 || m === 3) {
        if (!this.nullCount) { this.armed = true; this.loadNs = now; this.frozen = -1; }
      } else if (this.frozen >= 0) {
        this.loadNs = now - nsForTicks(this.frozen);
        this.frozen = -1;
      }
    } else if (this.armed && m !== 1 && m !== 5) {
      this.frozen = this.elapsed(now);
    }
    this.gate = g;
  }

  control(v: number): void {
    this.rw = (v >> 4) & 3;
    this.modeBits = (v >> 1) & 7;
    this.bcd = (v & 1) !== 0;
    this.armed = false; this.nullCount = true; this.frozen = -1;
    this.readHigh = this.writeHigh = false;
    this.latched = -1; this.status = -1;
  }

  latch(now: number): void {
    if (this.latched < 0) { this.latched = this.value(now); this.latchHigh = false; }
  }

  latchStatus(now: number): void {
    if (this.status < 0) {
      this.status = (this.out(now) ? 0x80 : 0) | (this.nullCount ? 0x40 : 0) | (this.rw << 4) | (this.modeBits << 1) | (this.bcd ? 1 : 0);
    }
  }

  read(now: number): number {
    if (this.status >= 0) { const s = this.status; this.status = -1; return s; }
    const live = this.latched < 0;
    const v = live ? this.value(now) : this.latched;
    let b: number;
    if (this.rw === 1) b = v & 0xff;
    else if (this.rw === 2) b = v >> 8;
    else {
      const hi = live ? this.readHigh : this.latchHigh;
      b = hi ? v >> 8 : v & 0xff;
      if (live) this.readHigh = !hi;
      else if (hi) { this.latched = -1; } else { this.latchHigh = true; return b; }
    }
    if (!live) this.latched = -1;
    return b & 0xff;
  }

  write(v: number, now: number): void {
    if (this.rw === 1) this.load(v, now);
    else if (this.rw === 2) this.load(v << 8, now);
    else if (!this.writeHigh) {
      this.lsb = v; this.writeHigh = true;
      if (this.mode === 0) { this.armed = false; } // mode 0: the first byte stops counting
    } else {
      this.writeHigh = false;
      this.load(this.lsb | (v << 8), now);
    }
  }
}

export class Pit extends ByteIoDevice {
  readonly channels: Channel[];
  private readonly timer: Timer;
  private irqOut = false;

  constructor(readonly clock: VirtualClock, private readonly irq0: IrqLine | null) {
    super();
    this.channels = [new Channel(clock, true), new Channel(clock, true), new Channel(clock, false)];
    this.timer = clock.newTimer(() => this.updateIrq(), 'pit');
    this.reset();
  }

  attach(io: IoBus): void { io.register(0x40, 4, this, 'pit'); }

  reset(): void {
    for (let i = 0; i < 3; i++) {
      const c = this.channels[i]!;
      // As QEMU does: every channel in mode 3 with count 0 (65536), channels 0/1 counting.
      c.control(0x36);
      c.gate = i < 2;
      c.load(0, this.clock.now());
    }
    this.irqOut = false;
    if (this.irq0) this.irq0.lower();
    this.updateIrq();
  }

  /** OUT level of channel `n` now. */
  out(n: number): boolean { return this.channels[n]!.out(this.clock.now()); }

  setGate(n: number, level: boolean): void {
    this.channels[n]!.setGate(level, this.clock.now());
    if (n === 0) this.updateIrq();
  }

  private updateIrq(): void {
    if (!this.irq0) return;
    const now = this.clock.now(), c = this.channels[0]!;
    const out = c.out(now);
    if (out !== this.irqOut) { this.irqOut = out; this.irq0.set(out); }
    const t = c.nextEdge(now);
    if (t < 0) { this.timer.del(); return; }
    let at = c.loadNs + nsForTicks(t);
    if (at <= now) at = now + 1;
    this.timer.mod(at);
  }

  readByte(port: number): number {
    const n = port & 3;
    if (n === 3) return 0xff;
    return this.channels[n]!.read(this.clock.now());
  }

  writeByte(port: number, v: number): void {
    const n = port & 3, now = this.clock.now();
    if (n === 3) {
      const sel = v >> 6;
      if (sel === 3) { // read-back
        for (let i = 0; i < 3; i++) {
          if (!(v & (2 << i))) continue;
          const c = this.channels[i]!;
          if (!(v & 0x20)) c.latch(now);
          if (!(v & 0x10)) c.latchStatus(now);
        }
        return;
      }
      const c = this.channels[sel]!;
      if ((v & 0x30) === 0) c.latch(now); else c.control(v);
      if (sel === 0) this.updateIrq();
      return;
    }
    this.channels[n]!.write(v, now);
    if (n === 0) this.updateIrq();
  }

  saveState(): object {
    return { channels: this.channels.map((c) => { const { clock: _c, ...rest } = c; return rest; }), irqOut: this.irqOut };
  }
  loadState(s: { channels: Record<string, unknown>[]; irqOut: boolean }): void {
    s.channels.forEach((cs, i) => Object.assign(this.channels[i]!, cs));
    this.irqOut = s.irqOut;
    this.updateIrq();
  }
}

/** Refresh request period: bit 4 of port 0x61 toggles every 15.085 us. */
const REFRESH_NS = 15085;

/** System control port B (0x61): channel 2 gate and speaker enable in, OUT2 and refresh toggle out. */
export class Port61 extends ByteIoDevice {
  private ctl = 0;
  /** Speaker on/off (gate2 and data enable both set). */
  onSpeaker: ((on: boolean) => void) | undefined;
  constructor(private readonly clock: VirtualClock, private readonly pit: Pit) { super(); }
  attach(io: IoBus): void { io.register(0x61, 1, this, 'port61'); }
  reset(): void { this.ctl = 0; this.pit.setGate(2, false); }
  readByte(): number {
    const now = this.clock.now();
    const refresh = Math.floor(now / REFRESH_NS) & 1;
    return (this.ctl & 0x0f) | (refresh << 4) | (this.pit.out(2) ? 0x20 : 0);
  }
  writeByte(_port: number, v: number): void {
    const was = this.ctl;
    this.ctl = v & 0x0f;
    this.pit.setGate(2, (v & 1) !== 0);
    if (this.onSpeaker && ((was ^ v) & 3)) this.onSpeaker((v & 3) === 3);
  }
  saveState(): object { return { ctl: this.ctl }; }
  loadState(s: { ctl: number }): void { this.ctl = s.ctl; }
}
