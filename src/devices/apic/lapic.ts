/**
 * Local APIC (xAPIC, as QEMU's `apic` device: version 0x14, 6 LVT entries, so
 * the version register reads 0x00050014), one per CPU, memory-mapped as a
 * 4 KiB page at the IA32_APIC_BASE address (0xFEE00000 after reset).
 *
 * The CPU sees it through {@link InterruptController}: `hasInterrupt()` is the
 * INTR pin, `acknowledge()` the INTA cycle. The 8259 pair sits behind LINT0:
 * while LINT0 is unmasked in ExtINT mode (virtual wire, SeaBIOS sets 0x8700)
 * or the APIC is hardware-disabled (IA32_APIC_BASE bit 11 clear), the PIC's
 * INTR and INTA pass straight through. QEMU 7.2 resets LINT0 masked (observed
 * 0x00010000), so firmware must program it; as a fallback for guests that
 * never touch the APIC, the PIC also passes through until software first sets
 * SVR bit 8 (the machine then behaves as PIC-only).
 *
 * Registers (offset >> 4): 02 ID, 03 version, 08 TPR, 09 APR, 0A PPR, 0B EOI,
 * 0D LDR, 0E DFR, 0F SVR, 10-17 ISR, 18-1F TMR, 20-27 IRR, 28 ESR, 30/31 ICR,
 * 32 LVT timer, 33 thermal, 34 perf, 35 LINT0, 36 LINT1, 37 error,
 * 38 initial count, 39 current count, 3E divide configuration. Registers are
 * 32 bits at 16-byte aligned offsets; narrower reads see the addressed bytes,
 * narrower writes are ignored (as QEMU). Other offsets set ESR bit 7.
 *
 * Timer: the APIC bus runs at 1 GHz (QEMU's APIC_BUS_CYCLE_NS = 1), so one
 * tick is 2^shift ns of virtual time with the divide configuration's divisor
 * 2^shift (divide by 2 after reset). One-shot and periodic modes; the count
 * is computed from the load time, never decremented by polling.
 */
import type { InterruptController } from '../../bus/irq.js';
import type { Timer, VirtualClock } from '../../clock/virtual-clock.js';
import type { MmioDevice } from '../../memory/memory-bus.js';
import { ApicBus, type ApicTarget, DM_EXTINT, DM_FIXED, DM_INIT, DM_LOWEST, DM_NMI, DM_STARTUP } from './apic-bus.js';

export const APIC_DEFAULT_BASE = 0xfee00000;
export const APIC_VERSION = 0x00050014;
export const MSR_IA32_APICBASE = 0x1b;
export const APICBASE_BSP = 0x100;
export const APICBASE_ENABLE = 0x800;
/** Virtual ns per APIC bus clock (1 GHz, as QEMU). */
export const APIC_BUS_CYCLE_NS = 1;

export const LVT_TIMER = 0;
export const LVT_THERMAL = 1;
export const LVT_PERF = 2;
export const LVT_LINT0 = 3;
export const LVT_LINT1 = 4;
export const LVT_ERROR = 5;

export const ESR_SEND_ILLEGAL_VECTOR = 0x20;
export const ESR_RECEIVE_ILLEGAL_VECTOR = 0x40;
export const ESR_ILLEGAL_REGISTER = 0x80;

const LVT_MASKED = 1 << 16;
const LVT_LEVEL = 1 << 15;
const TIMER_PERIODIC = 1 << 17;
const TIMER_MODE_MASK = 3 << 17;
/** Writable bits of each LVT entry (timer, thermal, perf, LINT0, LINT1, error). */
const LVT_WRITABLE = [0x000700ff, 0x000107ff, 0x000107ff, 0x0001a7ff, 0x0001a7ff, 0x000100ff];
/** ICR low: vector, delivery mode, destination mode, level, trigger, shorthand. */
const ICR_WRITABLE = 0x000ccfff;
const SVR_ENABLE = 0x100;

/** The 8259 pair as seen from LINT0 (PicPair fits). */
export interface ExtIntSource extends InterruptController {
  onIntrChange: ((level: boolean) => void) | undefined;
}

export interface LapicOptions {
  /** APIC bus shared with the IO-APIC and other CPUs; a private one if omitted. */
  bus?: ApicBus;
  /** Initial APIC ID (CPU index). */
  id?: number;
  /** Bootstrap processor (sets IA32_APIC_BASE bit 8). */
  bsp?: boolean;
}

function highest(bits: Uint32Array): number {
  for (let i = 7; i >= 0; i--) {
    const w = bits[i]!;
    if (w !== 0) return i * 32 + 31 - Math.clz32(w);
  }
  return -1;
}

export class Lapic implements InterruptController, MmioDevice, ApicTarget {
  readonly bus: ApicBus;
  private readonly initialId: number;
  private readonly bsp: boolean;
  private id: number;
  private base = APIC_DEFAULT_BASE;
  private hwEnabled = true;
  /** SVR bit 8 was set since reset / hardware enable: the guest uses the APIC. */
  private everEnabled = false;
  private tpr = 0;
  private svr = 0xff;
  private ldr = 0;
  /** DFR model nibble (0xF flat, 0x0 cluster). */
  private dfrModel = 0xf;
  readonly isr = new Uint32Array(8);
  readonly tmr = new Uint32Array(8);
  readonly irr = new Uint32Array(8);
  private esr = 0;
  private esrPending = 0;
  private icrLo = 0;
  private icrHi = 0;
  readonly lvt = new Uint32Array(6);
  private divideConf = 0;
  private shift = 1;
  private initialCount = 0;
  private loadTime = 0;
  private readonly timer: Timer;
  /** An ExtINT message from an IO-APIC waits for the INTA cycle. */
  private extIntPending = false;
  private pic: ExtIntSource | null = null;
  /** Level of the PIC's INTR output (LINT0 input). */
  private lint0 = false;
  private lint1 = false;
  private intr = false;
  private mem: { mapMmio(b: number, s: number, d: MmioDevice, n: string): void; unmap(b: number, s: number): void } | null = null;

  /** INTR output changed (wake the CPU on true). */
  onIntrChange: ((level: boolean) => void) | null = null;
  /** NMI to the CPU (LINT1 in NMI mode, NMI IPIs, IO-APIC NMI entries). */
  onNmi: (() => void) | null = null;
  /** INIT IPI for this CPU (ignored if null: a single-CPU machine). */
  onInit: (() => void) | null = null;
  /** Startup IPI with its vector (ignored if null). */
  onStartup: ((vector: number) => void) | null = null;

  constructor(private readonly clock: VirtualClock, opts: LapicOptions = {}) {
    this.bus = opts.bus ?? new ApicBus();
    this.initialId = opts.id ?? 0;
    this.id = this.initialId;
    this.bsp = opts.bsp ?? this.initialId === 0;
    this.timer = clock.newTimer((now) => this.timerFired(now), 'lapic-timer');
    this.bus.addLapic(this);
    this.reset();
  }

  get apicId(): number { return this.id; }
  get hardwareEnabled(): boolean { return this.hwEnabled; }
  get softwareEnabled(): boolean { return (this.svr & SVR_ENABLE) !== 0; }

  /** Map the register page on a memory bus; it follows IA32_APIC_BASE relocations. */
  attach(mem: { mapMmio(b: number, s: number, d: MmioDevice, n: string): void; unmap(b: number, s: number): void }): void {
    this.mem = mem;
    mem.mapMmio(this.base, 0x1000, this, 'lapic');
  }

  /** Put the 8259 pair behind LINT0 (takes over its onIntrChange). */
  connectPic(pic: ExtIntSource): void {
    this.pic = pic;
    pic.onIntrChange = (level) => this.setLint0(level);
    this.lint0 = pic.hasInterrupt();
    this.update();
  }

  /** Power-up / RESET state (QEMU's apic_reset_common). */
  reset(): void {
    this.setBase(APIC_DEFAULT_BASE);
    this.hwEnabled = true;
    this.id = this.initialId;
    this.initReset();
    this.update();
  }

  /** INIT state: registers cleared, LVTs masked, timer stopped; ID and base kept. */
  private initReset(): void {
    this.tpr = 0;
    this.svr = 0xff;
    this.ldr = 0;
    this.dfrModel = 0xf;
    this.isr.fill(0); this.tmr.fill(0); this.irr.fill(0);
    this.lvt.fill(LVT_MASKED);
    this.esr = 0; this.esrPending = 0;
    this.icrLo = 0; this.icrHi = 0;
    this.divideConf = 0; this.shift = 1;
    this.initialCount = 0; this.loadTime = 0;
    this.extIntPending = false;
    this.everEnabled = false;
    this.timer.del();
  }

  // ---------------------------------------------------------------- IA32_APIC_BASE
  /** RDMSR 0x1B: base | BSP (bit 8) | global enable (bit 11). */
  readBaseMsr(): number {
    return (this.base | (this.bsp ? APICBASE_BSP : 0) | (this.hwEnabled ? APICBASE_ENABLE : 0)) >>> 0;
  }

  /**
   * WRMSR 0x1B (low 32 bits; physical addresses above 4 GiB are not
   * supported). Clearing bit 11 hardware-disables the APIC: its state returns
   * to power-up values and the PIC drives INTR directly. Setting it again
   * re-enables (as Pentium 4 and later do).
   */
  writeBaseMsr(value: number): void {
    const enable = (value & APICBASE_ENABLE) !== 0;
    this.setBase((value & 0xfffff000) >>> 0);
    if (!enable && this.hwEnabled) {
      this.hwEnabled = false;
      this.initReset();
    } else if (enable && !this.hwEnabled) {
      this.hwEnabled = true;
    }
    this.update();
  }

  private setBase(base: number): void {
    if (base === this.base) return;
    const old = this.base;
    this.base = base;
    if (this.mem !== null) {
      this.mem.unmap(old, 0x1000);
      this.mem.mapMmio(base, 0x1000, this, 'lapic');
    }
  }

  // ---------------------------------------------------------------- priorities
  /** Processor priority: TPR, or the class of the highest in-service vector if higher. */
  ppr(): number {
    const isrv = highest(this.isr);
    const isrClass = isrv < 0 ? 0 : isrv & 0xf0;
    return (this.tpr & 0xf0) >= isrClass ? this.tpr : isrClass;
  }

  private apr(): number {
    const irrv = highest(this.irr), isrv = highest(this.isr);
    const irrC = irrv < 0 ? 0 : irrv & 0xf0, isrC = isrv < 0 ? 0 : isrv & 0xf0;
    if ((this.tpr & 0xf0) >= irrC && (this.tpr & 0xf0) >= isrC) return this.tpr;
    return Math.max(this.tpr & 0xf0, irrC, isrC);
  }

  /** Highest IRR vector whose class is above the processor priority, or -1. */
  private deliverable(): number {
    const v = highest(this.irr);
    if (v < 0) return -1;
    return (v & 0xf0) > (this.ppr() & 0xf0) ? v : -1;
  }

  /** LINT0 routes the PIC's INTR/INTA (ExtINT virtual wire, APIC hardware-disabled or never enabled). */
  private picRouted(): boolean {
    if (!this.hwEnabled || !this.everEnabled) return true;
    const l = this.lvt[LVT_LINT0]!;
    return (l & LVT_MASKED) === 0 && ((l >>> 8) & 7) === DM_EXTINT;
  }

  private update(): void {
    let intr = this.extIntPending || (this.lint0 && this.picRouted());
    if (!intr && this.hwEnabled && (this.svr & SVR_ENABLE) !== 0) intr = this.deliverable() >= 0;
    if (intr !== this.intr) {
      this.intr = intr;
      if (this.onIntrChange !== null) this.onIntrChange(intr);
    }
  }

  // ---------------------------------------------------------------- CPU side
  hasInterrupt(): boolean { return this.intr; }

  acknowledge(): number {
    let vec: number;
    const pic = this.pic;
    if (this.extIntPending) {
      this.extIntPending = false;
      vec = pic !== null ? pic.acknowledge() : this.svr & 0xff;
    } else if (pic !== null && this.picRouted() && (this.lint0 || !this.hwEnabled || !this.everEnabled)) {
      // ExtINT ignores the processor priority: the 8259 supplies the vector.
      vec = pic.acknowledge();
    } else {
      const v = this.hwEnabled && (this.svr & SVR_ENABLE) !== 0 ? this.deliverable() : -1;
      if (v >= 0) {
        this.irr[v >>> 5]! &= ~(1 << (v & 31));
        this.isr[v >>> 5]! |= 1 << (v & 31);
        vec = v;
      } else {
        vec = this.svr & 0xff; // spurious: the request went away before INTA; no ISR bit
      }
    }
    this.update();
    return vec;
  }

  /** LINT0 input: the 8259's INTR output. */
  setLint0(level: boolean): void {
    const was = this.lint0;
    this.lint0 = level;
    if (this.hwEnabled && !this.picRouted()) this.localPin(LVT_LINT0, level, was);
    this.update();
  }

  /** LINT1 input (the NMI pin of the PC). */
  setLint1(level: boolean): void {
    const was = this.lint1;
    this.lint1 = level;
    if (!this.hwEnabled) { if (level && !was && this.onNmi !== null) this.onNmi(); return; }
    this.localPin(LVT_LINT1, level, was);
  }

  /** NMI button / monitor `nmi`: a pulse on LINT1 (QEMU's apic_deliver_nmi). */
  nmi(): void { this.setLint1(true); this.setLint1(false); }

  private localPin(idx: number, level: boolean, was: boolean): void {
    const l = this.lvt[idx]!;
    if ((l & LVT_MASKED) !== 0) return;
    const mode = (l >>> 8) & 7;
    if (mode === DM_FIXED && (l & LVT_LEVEL) !== 0) {
      const v = l & 0xff;
      if (level) this.accept(DM_FIXED, v, true);
      else if (v >= 16) { this.irr[v >>> 5]! &= ~(1 << (v & 31)); this.update(); }
    } else if (level && !was) {
      this.localDeliver(idx);
    }
  }

  /** Deliver the event of LVT entry `idx` to this CPU. */
  private localDeliver(idx: number): void {
    const l = this.lvt[idx]!;
    if ((l & LVT_MASKED) !== 0) return;
    const mode = (l >>> 8) & 7;
    if (idx === LVT_TIMER || idx === LVT_ERROR) { this.accept(DM_FIXED, l & 0xff, false); return; }
    switch (mode) {
      case DM_FIXED: this.accept(DM_FIXED, l & 0xff, (idx === LVT_LINT0 || idx === LVT_LINT1) && (l & LVT_LEVEL) !== 0); break;
      case DM_NMI: if (this.onNmi !== null) this.onNmi(); break;
      case DM_INIT: if (this.onInit !== null) this.onInit(); break;
      default: break; // SMI: no SMM; ExtINT is the PIC route
    }
  }

  private signalError(bit: number): void {
    if ((this.esrPending & bit) !== 0) return;
    this.esrPending |= bit;
    const l = this.lvt[LVT_ERROR]!;
    if ((l & LVT_MASKED) === 0 && (l & 0xff) >= 16) this.accept(DM_FIXED, l & 0xff, false);
  }

  // ---------------------------------------------------------------- APIC bus side
  matchesLogical(dest: number): boolean {
    if (!this.hwEnabled) return false;
    if (dest === 0xff) return true;
    const ldr = this.ldr;
    if (this.dfrModel === 0xf) return (dest & ldr) !== 0;
    return (dest >>> 4) === (ldr >>> 4) && (dest & ldr & 0xf) !== 0;
  }

  accept(mode: number, vector: number, level: boolean): void {
    if (!this.hwEnabled) return;
    switch (mode) {
      case DM_FIXED: case DM_LOWEST: {
        if (vector < 16) { this.signalError(ESR_RECEIVE_ILLEGAL_VECTOR); return; }
        const w = vector >>> 5, b = 1 << (vector & 31);
        this.irr[w]! |= b;
        if (level) this.tmr[w]! |= b; else this.tmr[w]! &= ~b;
        this.update();
        return;
      }
      case DM_NMI: if (this.onNmi !== null) this.onNmi(); return;
      case DM_INIT: if (this.onInit !== null) this.onInit(); return;
      case DM_STARTUP: if (this.onStartup !== null) this.onStartup(vector); return;
      case DM_EXTINT: this.extIntPending = true; this.update(); return;
      default: return; // SMI
    }
  }

  private eoi(): void {
    const v = highest(this.isr);
    if (v < 0) return;
    const w = v >>> 5, b = 1 << (v & 31);
    this.isr[w]! &= ~b;
    if ((this.tmr[w]! & b) !== 0) this.bus.eoiBroadcast(v);
    this.update();
  }

  private sendIpi(): void {
    const lo = this.icrLo;
    const mode = (lo >>> 8) & 7, vector = lo & 0xff, level = (lo & LVT_LEVEL) !== 0;
    // INIT level de-assert only resynchronises arbitration IDs.
    if (mode === DM_INIT && level && (lo & (1 << 14)) === 0) return;
    if ((mode === DM_FIXED || mode === DM_LOWEST) && vector < 16) { this.signalError(ESR_SEND_ILLEGAL_VECTOR); return; }
    if (mode === DM_EXTINT) return; // not a valid IPI
    switch ((lo >>> 18) & 3) {
      case 0: this.bus.deliver(this.icrHi >>> 24, (lo & 0x800) !== 0, mode, vector, level); break;
      case 1: this.accept(mode, vector, level); break;
      case 2: this.bus.deliverAll(null, mode, vector, level); break;
      default: this.bus.deliverAll(this, mode, vector, level); break;
    }
  }

  // ---------------------------------------------------------------- timer
  private tickNs(): number { return APIC_BUS_CYCLE_NS * (1 << this.shift); }

  /** Timer current count register. */
  currentCount(): number {
    const init = this.initialCount;
    if (init === 0) return 0;
    const d = Math.floor((this.clock.now() - this.loadTime) / this.tickNs());
    if ((this.lvt[LVT_TIMER]! & TIMER_MODE_MASK) === TIMER_PERIODIC) return init - (d % init);
    return d >= init ? 0 : init - d;
  }

  private timerUpdate(now: number): void {
    const l = this.lvt[LVT_TIMER]!;
    const init = this.initialCount;
    const mode = l & TIMER_MODE_MASK;
    if ((l & LVT_MASKED) !== 0 || init === 0 || (mode !== 0 && mode !== TIMER_PERIODIC)) { this.timer.del(); return; }
    const tick = this.tickNs();
    const d = Math.floor((now - this.loadTime) / tick);
    if (mode === TIMER_PERIODIC) {
      this.timer.mod(this.loadTime + (Math.floor(d / init) + 1) * init * tick);
    } else if (d < init) {
      this.timer.mod(this.loadTime + init * tick);
    } else {
      this.timer.del();
    }
  }

  private timerFired(now: number): void {
    this.localDeliver(LVT_TIMER);
    this.timerUpdate(now);
  }

  // ---------------------------------------------------------------- registers
  private readReg(index: number): number {
    switch (index) {
      case 0x02: return (this.id << 24) >>> 0;
      case 0x03: return APIC_VERSION;
      case 0x08: return this.tpr;
      case 0x09: return this.apr();
      case 0x0a: return this.ppr();
      case 0x0b: return 0;
      case 0x0d: return (this.ldr << 24) >>> 0;
      case 0x0e: return ((this.dfrModel << 28) | 0x0fffffff) >>> 0;
      case 0x0f: return this.svr;
      case 0x28: return this.esr;
      case 0x30: return this.icrLo;
      case 0x31: return this.icrHi;
      case 0x38: return this.initialCount;
      case 0x39: return this.currentCount();
      case 0x3e: return this.divideConf;
      default:
        if (index >= 0x10 && index < 0x18) return this.isr[index - 0x10]!;
        if (index >= 0x18 && index < 0x20) return this.tmr[index - 0x18]!;
        if (index >= 0x20 && index < 0x28) return this.irr[index - 0x20]!;
        if (index >= 0x32 && index < 0x38) return this.lvt[index - 0x32]!;
        this.signalError(ESR_ILLEGAL_REGISTER);
        return 0;
    }
  }

  private writeReg(index: number, v: number): void {
    switch (index) {
      case 0x02: this.id = v >>> 24; return;
      case 0x08: this.tpr = v & 0xff; this.update(); return;
      case 0x0b: this.eoi(); return;
      case 0x0d: this.ldr = v >>> 24; return;
      case 0x0e: this.dfrModel = v >>> 28; return;
      case 0x0f:
        this.svr = v & 0x1ff;
        if ((v & SVR_ENABLE) !== 0) this.everEnabled = true;
        this.update();
        return;
      case 0x28: this.esr = this.esrPending; this.esrPending = 0; return;
      case 0x30: this.icrLo = v & ICR_WRITABLE; this.sendIpi(); return;
      case 0x31: this.icrHi = v & 0xff000000; return;
      case 0x38:
        this.initialCount = v >>> 0;
        this.loadTime = this.clock.now();
        this.timerUpdate(this.loadTime);
        return;
      case 0x3e: {
        this.divideConf = v & 0xb;
        this.shift = (((v & 3) | ((v >>> 1) & 4)) + 1) & 7;
        this.timerUpdate(this.clock.now());
        return;
      }
      case 0x03: case 0x09: case 0x0a: case 0x0c: case 0x39: return; // read-only
      default:
        if (index >= 0x10 && index < 0x28) return; // ISR/TMR/IRR are read-only
        if (index >= 0x32 && index < 0x38) {
          const n = index - 0x32;
          this.lvt[n] = v & LVT_WRITABLE[n]!;
          if (n === LVT_TIMER) this.timerUpdate(this.clock.now());
          else if (n === LVT_LINT0) this.update();
          return;
        }
        this.signalError(ESR_ILLEGAL_REGISTER);
    }
  }

  mmioRead(offset: number, size: number): number {
    const sub = offset & 0xf;
    if (sub >= 4) return 0;
    const v = this.readReg((offset >>> 4) & 0xff);
    if (size === 4 && sub === 0) return v >>> 0;
    return (v >>> (sub * 8)) & (size >= 4 ? 0xffffffff : (1 << (size * 8)) - 1);
  }

  mmioWrite(offset: number, size: number, value: number): void {
    if (size !== 4 || (offset & 0xf) !== 0) return;
    this.writeReg((offset >>> 4) & 0xff, value >>> 0);
  }

  /** TPR as CR8 sees it (bits 7:4), for 64-bit mode. */
  get cr8(): number { return this.tpr >>> 4; }
  set cr8(v: number) { this.tpr = (v & 0xf) << 4; this.update(); }

  saveState(): object {
    return {
      id: this.id, base: this.base, hwEnabled: this.hwEnabled, everEnabled: this.everEnabled, tpr: this.tpr, svr: this.svr, ldr: this.ldr, dfrModel: this.dfrModel,
      isr: Array.from(this.isr), tmr: Array.from(this.tmr), irr: Array.from(this.irr), esr: this.esr, esrPending: this.esrPending,
      icrLo: this.icrLo, icrHi: this.icrHi, lvt: Array.from(this.lvt), divideConf: this.divideConf, initialCount: this.initialCount,
      loadTime: this.loadTime, extIntPending: this.extIntPending, lint0: this.lint0, lint1: this.lint1,
    };
  }

  loadState(s: Record<string, unknown>): void {
    const n = (k: string) => s[k] as number;
    this.id = n('id'); this.setBase(n('base')); this.hwEnabled = s['hwEnabled'] as boolean; this.everEnabled = s['everEnabled'] as boolean;
    this.tpr = n('tpr'); this.svr = n('svr'); this.ldr = n('ldr'); this.dfrModel = n('dfrModel');
    this.isr.set(s['isr'] as number[]); this.tmr.set(s['tmr'] as number[]); this.irr.set(s['irr'] as number[]);
    this.esr = n('esr'); this.esrPending = n('esrPending'); this.icrLo = n('icrLo'); this.icrHi = n('icrHi');
    this.lvt.set(s['lvt'] as number[]);
    this.divideConf = n('divideConf'); this.shift = (((this.divideConf & 3) | ((this.divideConf >>> 1) & 4)) + 1) & 7;
    this.initialCount = n('initialCount'); this.loadTime = n('loadTime');
    this.extIntPending = s['extIntPending'] as boolean; this.lint0 = s['lint0'] as boolean; this.lint1 = s['lint1'] as boolean;
    this.timerUpdate(this.clock.now());
    this.update();
  }
}
