/**
 * Motorola MC146818 / Dallas DS12887 real-time clock with 128 bytes of CMOS
 * RAM at 0x70 (index, bit 7 = NMI mask) / 0x71 (data), interrupting on IRQ8.
 *
 * The time of day is not ticked: the RTC keeps an epoch time in ns that
 * corresponds to one virtual-clock instant and derives the registers from the
 * clock. Update cycles happen at each whole second of RTC time; UIP is set
 * for the 244 us before it, as on the chip with a 32.768 kHz base.
 */
import { ByteIoDevice, IoBus } from '../../bus/io-bus.js';
import { IrqLine } from '../../bus/irq.js';
import { Timer, VirtualClock } from '../../clock/virtual-clock.js';

const NS = 1e9;
const UIP_NS = 244_141; // 8 cycles of 32.768 kHz
const REG_A = 10, REG_B = 11, REG_C = 12, REG_D = 13;
const B_SET = 0x80, B_PIE = 0x40, B_AIE = 0x20, B_UIE = 0x10, B_DM = 0x04, B_24H = 0x02;
const C_IRQF = 0x80, C_PF = 0x40, C_AF = 0x20, C_UF = 0x10;
export const CMOS_CENTURY = 0x32;
export const CMOS_PS2_CENTURY = 0x37;

/** Periodic interrupt period in ns for rate select 1..15 (32.768 kHz time base). */
export function periodicNs(rs: number): number {
  if (rs === 0) return 0;
  const cycles = rs <= 2 ? 1 << (rs + 6) : 1 << (rs - 1);
  return (cycles * NS) / 32768;
}

/**
 * Start time for `-rtc base=`: 'utc', 'localtime' or a date
 * ('2006-06-17T16:01:21' or '2006-06-17'). The caller supplies host time;
 * returns epoch milliseconds of the RTC's wall clock.
 */
export function rtcBaseMs(base: string, hostNowMs: number, tzOffsetMin = new Date(hostNowMs).getTimezoneOffset()): number {
  if (base === 'utc' || base === '') return hostNowMs;
  if (base === 'localtime') return hostNowMs - tzOffsetMin * 60_000;
  const m = /^(\d{4})-(\d{2})-(\d{2})(?:T(\d{2}):(\d{2}):(\d{2}))?$/.exec(base);
  if (!m) throw new Error(`invalid datetime format\nvalid formats: '2006-06-17T16:01:21' or '2006-06-17'`);
  return Date.UTC(+m[1]!, +m[2]! - 1, +m[3]!, +(m[4] ?? 0), +(m[5] ?? 0), +(m[6] ?? 0));
}

export class Rtc extends ByteIoDevice {
  readonly cmos = new Uint8Array(128);
  index = 0;
  nmiMasked = true;
  /** RTC wall time in ns since the epoch at virtual time `refNs`. */
  private epochNs = 0;
  private refNs = 0;
  /** Virtual time up to which interrupt flags have been accounted. */
  private checkedNs = 0;
  private readonly timer: Timer;

  constructor(private readonly clock: VirtualClock, private readonly irq: IrqLine | null, baseMs = 0) {
    super();
    this.timer = clock.newTimer(() => this.onTimer(), 'rtc');
    this.setTime(baseMs);
    this.reset();
    this.storeTime(this.wallNs());
    this.cmos[CMOS_PS2_CENTURY] = this.cmos[CMOS_CENTURY]!; // QEMU fills the IBM PS/2 century byte too
  }

  attach(io: IoBus): void { io.register(0x70, 2, this, 'rtc'); }

  reset(): void {
    this.cmos[REG_A] = 0x26;
    this.cmos[REG_B] = B_24H;
    this.cmos[REG_C] = 0;
    this.cmos[REG_D] = 0x80;
    this.checkedNs = this.clock.now();
    if (this.irq) this.irq.lower();
    this.rearm();
  }

  /** Set the wall clock (epoch ms) as of now. */
  setTime(ms: number): void {
    this.epochNs = ms * 1e6;
    this.refNs = this.clock.now();
    this.checkedNs = this.refNs;
  }

  /** RTC wall time in epoch ns at virtual time `now`. */
  wallNs(now = this.clock.now()): number { return this.epochNs + (now - this.refNs); }

  private get frozen(): boolean { return (this.cmos[REG_B]! & B_SET) !== 0 || (this.cmos[REG_A]! & 0x70) !== 0x20; }

  private toReg(v: number): number { return this.cmos[REG_B]! & B_DM ? v : ((v / 10) | 0) << 4 | (v % 10); }
  private fromReg(v: number): number { return this.cmos[REG_B]! & B_DM ? v : (v >> 4) * 10 + (v & 15); }

  /** Write the time registers from the wall clock. */
  private storeTime(ns: number): void {
    const d = new Date(Math.floor(ns / 1e6));
    const c = this.cmos;
    c[0] = this.toReg(d.getUTCSeconds());
    c[2] = this.toReg(d.getUTCMinutes());
    const h = d.getUTCHours();
    if (c[REG_B]! & B_24H) c[4] = this.toReg(h);
    else c[4] = this.toReg(h % 12 === 0 ? 12 : h % 12) | (h >= 12 ? 0x80 : 0);
    c[6] = this.toReg(d.getUTCDay() + 1);
    c[7] = this.toReg(d.getUTCDate());
    c[8] = this.toReg(d.getUTCMonth() + 1);
    const y = d.getUTCFullYear();
    c[9] = this.toReg(y % 100);
    c[CMOS_CENTURY] = this.toReg((y / 100) | 0);
  }

  /** Wall time (epoch ms, whole seconds) that the time registers hold. */
  private loadTime(): number {
    const c = this.cmos;
    let h = this.fromReg(c[4]! & 0x7f);
    if (!(c[REG_B]! & B_24H)) { h %= 12; if (c[4]! & 0x80) h += 12; }
    const year = this.fromReg(c[CMOS_CENTURY]!) * 100 + this.fromReg(c[9]!);
    return Date.UTC(year, this.fromReg(c[8]!) - 1, this.fromReg(c[7]!), h, this.fromReg(c[2]!), this.fromReg(c[0]!));
  }

  /** Set the flags of C for events in (checkedNs, now]. */
  private accrue(now: number): void {
    const from = this.checkedNs;
    if (now <= from) return;
    this.checkedNs = now;
    const c = this.cmos;
    const p = periodicNs(c[REG_A]! & 15);
    if (p > 0 && !this.frozen) {
      const w0 = this.wallNs(from), w1 = this.wallNs(now);
      if (Math.floor(w1 / p) > Math.floor(w0 / p)) c[REG_C]! |= C_PF;
    }
    if (this.frozen) return;
    const s0 = Math.floor(this.wallNs(from) / NS), s1 = Math.floor(this.wallNs(now) / NS);
    if (s1 > s0) {
      c[REG_C]! |= C_UF;
      this.storeTime(s1 * NS);
      const am = (a: number, v: number) => (a & 0xc0) === 0xc0 || a === v;
      if (am(c[1]!, c[0]!) && am(c[3]!, c[2]!) && am(c[5]!, c[4]!)) c[REG_C]! |= C_AF;
    }
  }

  private updateIrq(): void {
    const c = this.cmos;
    if (c[REG_C]! & c[REG_B]! & 0x70) c[REG_C]! |= C_IRQF;
    if (this.irq) this.irq.set((c[REG_C]! & C_IRQF) !== 0);
  }

  private onTimer(): void {
    this.accrue(this.clock.now());
    this.updateIrq();
    this.rearm();
  }

  /** Arm the timer at the next event that can interrupt. */
  private rearm(): void {
    const b = this.cmos[REG_B]!, now = this.clock.now(), w = this.wallNs(now);
    let next = Infinity;
    const p = periodicNs(this.cmos[REG_A]! & 15);
    if (!this.frozen) {
      if ((b & B_PIE) && p > 0) next = (Math.floor(w / p) + 1) * p;
      if (b & (B_AIE | B_UIE)) next = Math.min(next, (Math.floor(w / NS) + 1) * NS);
    }
    if (next === Infinity) this.timer.del();
    else this.timer.mod(now + Math.max(1, Math.ceil(next - w)));
  }

  readByte(port: number): number {
    if ((port & 1) === 0) return 0xff;
    const i = this.index, c = this.cmos, now = this.clock.now();
    if (i <= 9 || i === CMOS_CENTURY) {
      if (!this.frozen) this.storeTime(this.wallNs(now));
      return c[i]!;
    }
    if (i === REG_A) {
      const uip = !this.frozen && !(c[REG_B]! & B_SET) && (this.wallNs(now) % NS) >= NS - UIP_NS;
      return (c[REG_A]! & 0x7f) | (uip ? 0x80 : 0);
    }
    if (i === REG_C) {
      this.accrue(now);
      this.updateIrq();
      const v = c[REG_C]!;
      c[REG_C] = 0;
      if (this.irq) this.irq.lower();
      this.rearm();
      return v;
    }
    return c[i]!;
  }

  writeByte(port: number, v: number): void {
    if ((port & 1) === 0) { this.index = v & 0x7f; this.nmiMasked = (v & 0x80) !== 0; return; }
    const i = this.index, c = this.cmos, now = this.clock.now();
    if (i <= 9 || i === CMOS_CENTURY) {
      if (i === 1 || i === 3 || i === 5) { c[i] = v; this.rearm(); return; }
      if (!this.frozen) this.storeTime(this.wallNs(now));
      c[i] = v;
      if (!this.frozen) this.rebase(now, false);
      return;
    }
    switch (i) {
      case REG_A: {
        const wasFrozen = this.frozen;
        this.accrue(now);
        c[REG_A] = v & 0x7f;
        if (wasFrozen && !this.frozen) this.rebase(now, true);
        else if (!wasFrozen && this.frozen) this.storeTime(this.wallNs(now));
        break;
      }
      case REG_B: {
        this.accrue(now);
        const was = c[REG_B]!;
        if ((v & B_SET) && !(was & B_SET)) { this.storeTime(this.wallNs(now)); v &= ~B_UIE; }
        c[REG_B] = v;
        if ((was & B_SET) && !(v & B_SET) && !this.frozen) this.rebase(now, false);
        if ((was ^ v) & (B_DM | B_24H)) this.storeTime(this.wallNs(now));
        this.updateIrq();
        break;
      }
      case REG_C: case REG_D: break; // read-only
      default: c[i] = v;
    }
    this.rearm();
  }

  /**
   * The guest set the time: take it from the registers. After a divider reset
   * the first update comes 500 ms later; otherwise the second's phase stays.
   */
  private rebase(now: number, dividerReset: boolean): void {
    const frac = dividerReset ? NS / 2 : this.wallNs(now) % NS;
    this.epochNs = this.loadTime() * 1e6 + frac;
    this.refNs = now;
    this.checkedNs = now;
  }

  saveState(): object {
    return { cmos: Array.from(this.cmos), index: this.index, nmiMasked: this.nmiMasked, epochNs: this.epochNs, refNs: this.refNs, checkedNs: this.checkedNs };
  }
  loadState(s: { cmos: number[]; index: number; nmiMasked: boolean; epochNs: number; refNs: number; checkedNs: number }): void {
    this.cmos.set(s.cmos);
    this.index = s.index; this.nmiMasked = s.nmiMasked;
    this.epochNs = s.epochNs; this.refNs = s.refNs; this.checkedNs = s.checkedNs;
    this.updateIrq(); this.rearm();
  }
}

export interface PcCmosConfig {
  /** RAM below 4 GiB and above it, in bytes. */
  below4g: number;
  above4g?: number;
  /** Boot order as for -boot order= (up to 3 of a, b, c, d, n). Default 'cad'. */
  bootOrder?: string;
  /** Check the floppy boot signature (QEMU fd_bootchk, default true). */
  fdBootCheck?: boolean;
  /** CMOS floppy drive types (0 none, 1 360K, 2 1.2M, 3 720K, 4 1.44M, 5 2.88M). */
  floppyTypes?: [number, number];
  /** IDE primary master/slave geometry, when a hard disk is attached. */
  hardDisks?: ({ cylinders: number; heads: number; sectors: number; translation?: number } | null)[];
  cpus?: number;
}

const BOOT_NIBBLE: Record<string, number> = { a: 1, b: 1, c: 2, d: 3, n: 4 };

/** Fill the CMOS bytes a PC BIOS (SeaBIOS) reads, with QEMU's pc_cmos_init values. */
export function fillPcCmos(rtc: Rtc, cfg: PcCmosConfig): void {
  const c = rtc.cmos;
  const kib = 1024, mib = 1024 * 1024;
  let v = Math.min(cfg.below4g / kib, 640);
  c[0x15] = v & 0xff; c[0x16] = v >> 8;
  v = cfg.below4g > mib ? Math.min(Math.floor((cfg.below4g - mib) / kib), 65535) : 0;
  c[0x17] = c[0x30] = v & 0xff; c[0x18] = c[0x31] = v >> 8;
  v = cfg.below4g > 16 * mib ? Math.min(Math.floor((cfg.below4g - 16 * mib) / (64 * kib)), 65535) : 0;
  c[0x34] = v & 0xff; c[0x35] = v >> 8;
  v = Math.floor((cfg.above4g ?? 0) / 65536);
  c[0x5b] = v & 0xff; c[0x5c] = (v >> 8) & 0xff; c[0x5d] = (v >> 16) & 0xff;
  c[0x5f] = (cfg.cpus ?? 1) - 1;

  const order = cfg.bootOrder ?? 'cad';
  if (order.length > 3) throw new Error('Too many boot devices for PC');
  const nib = [0, 0, 0];
  for (let i = 0; i < order.length; i++) {
    const n = BOOT_NIBBLE[order[i]!];
    if (!n) throw new Error(`Invalid boot device for PC: '${order[i]}'`);
    nib[i] = n;
  }
  c[0x3d] = (nib[1]! << 4) | nib[0]!;
  c[0x38] = (nib[2]! << 4) | (cfg.fdBootCheck === false ? 1 : 0);

  const [fa, fb] = cfg.floppyTypes ?? [0, 0];
  c[0x10] = (fa << 4) | fb;
  let equip = 0x02 | 0x04; // FPU present, PS/2 mouse
  const nfd = (fa ? 1 : 0) + (fb ? 1 : 0);
  if (nfd === 1) equip |= 0x01; else if (nfd === 2) equip |= 0x41;
  c[0x14] = equip;

  let hd = 0, trans = 0;
  const disks = cfg.hardDisks ?? [];
  disks.slice(0, 2).forEach((g, i) => {
    if (!g) return;
    const [typeOfs, info] = i === 0 ? [0x19, 0x1b] : [0x1a, 0x24];
    c[typeOfs] = 47; // user-defined type
    c[info] = g.cylinders & 0xff; c[info + 1] = (g.cylinders >> 8) & 0xff;
    c[info + 2] = g.heads;
    c[info + 3] = 0xff; c[info + 4] = 0xff;
    c[info + 5] = 0xc0 | (g.heads > 8 ? 0x08 : 0);
    c[info + 6] = g.cylinders & 0xff; c[info + 7] = (g.cylinders >> 8) & 0xff;
    c[info + 8] = g.sectors;
    hd |= i === 0 ? 0xf0 : 0x0f;
  });
  disks.slice(0, 4).forEach((g, i) => { if (g) trans |= ((g.translation ?? 0) & 3) << (2 * i); });
  c[0x12] = hd;
  c[0x39] = trans;
}
