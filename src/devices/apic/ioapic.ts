/**
 * Intel 82093AA-style I/O APIC, as QEMU 7.2's pc has it: 24 interrupt inputs,
 * memory-mapped at 0xFEC00000. QEMU 7.2 reports version 0x20 (observed:
 * VER = 0x00170020), which adds an EOI register at offset 0x40; version 0x11
 * (the original 82093AA, no EOI register) can be chosen. Either way a
 * level-triggered pin leaves Remote IRR on the local APIC's EOI broadcast.
 *
 * MMIO (offsets within the 4 KiB page, aliased every 256 bytes as in QEMU):
 *   0x00 IOREGSEL  index of the register IOWIN reaches (8 bits, reads back)
 *   0x10 IOWIN     32-bit window
 *   0x40 EOI       (version 0x20 only) write a vector: clears Remote IRR of the pins using it
 * Indirect registers: 0x00 ID (bits 24-27), 0x01 VER (0x00170011: 24 entries,
 * version 0x11), 0x02 ARB, 0x10+2n / 0x11+2n redirection entry n (low/high).
 *
 * Redirection entry (64 bits): vector 0-7, delivery mode 8-10, destination
 * mode 11 (1 = logical), delivery status 12 (RO, always idle here), polarity
 * 13, Remote IRR 14 (RO), trigger 15 (1 = level), mask 16, destination 56-63.
 * Reset: every entry masked.
 *
 * Inputs are active high (the PIIX drives both the 8259 and the IO-APIC with
 * active-high lines; QEMU ignores the polarity bit as well). An edge that
 * arrives while its pin is masked stays latched and is delivered when the pin
 * is unmasked, as in QEMU.
 */
import type { IrqSink } from '../../bus/irq.js';
import type { MmioDevice } from '../../memory/memory-bus.js';
import { ApicBus } from './apic-bus.js';

export const IOAPIC_BASE = 0xfec00000;
export const IOAPIC_PINS = 24;
/** VER register of QEMU 7.2's IO-APIC: 24 entries (max index 23), version 0x20. */
export const IOAPIC_VERSION = 0x00170020;
/** VER register of the original 82093AA (version 0x11, no EOI register). */
export const IOAPIC_VERSION_82093AA = 0x00170011;

const RTE_DELIVERY_STATUS = 1 << 12;
const RTE_REMOTE_IRR = 1 << 14;
const RTE_LEVEL = 1 << 15;
const RTE_MASKED = 1 << 16;
/** Low-dword bits software can write (vector, mode, dest mode, polarity, trigger, mask). */
const RTE_LOW_WRITABLE = 0x000000ff | 0x700 | 0x800 | 0x2000 | RTE_LEVEL | RTE_MASKED;

export class IoApic implements IrqSink, MmioDevice {
  /** IOAPIC ID register value (bits 24-27 meaningful). */
  private id: number;
  private ioregsel = 0;
  /** Low and high dwords of each redirection entry. */
  readonly rteLo = new Uint32Array(IOAPIC_PINS);
  readonly rteHi = new Uint32Array(IOAPIC_PINS);
  /** Per pin: an edge latched / a level asserted and not yet delivered. */
  private irr = 0;
  /** Per pin: current input level. */
  private levels = 0;
  /**
   * ISA IRQ view of the inputs: ISA IRQ n drives pin n, except IRQ0 (the
   * PIT), which drives pin 2 (the MADT's interrupt source override).
   */
  readonly isa: IrqSink;

  /**
   * @param initialId IOAPIC ID after reset (QEMU: 0)
   * @param version 0x20 (QEMU 7.2, default) or 0x11 (82093AA)
   */
  constructor(private readonly bus: ApicBus, private readonly initialId = 0, readonly version: 0x11 | 0x20 = 0x20) {
    this.id = initialId;
    bus.addIoApic(this);
    this.isa = { setIrq: (n, level) => this.setIrq(n === 0 ? 2 : n, level) };
    this.reset();
  }

  reset(): void {
    this.id = this.initialId;
    this.ioregsel = 0;
    this.rteLo.fill(RTE_MASKED);
    this.rteHi.fill(0);
    // Input levels are wires and survive a reset; a level pin re-latches when it is unmasked.
    this.irr = 0;
  }

  attach(mem: { mapMmio(base: number, size: number, dev: MmioDevice, name: string): void }, base = IOAPIC_BASE): void {
    mem.mapMmio(base, 0x1000, this, 'ioapic');
  }

  // ---------------------------------------------------------------- inputs
  setIrq(pin: number, level: boolean): void {
    if (pin < 0 || pin >= IOAPIC_PINS) return;
    const m = 1 << pin;
    const was = (this.levels & m) !== 0;
    if (level) this.levels |= m; else this.levels &= ~m;
    if ((this.rteLo[pin]! & RTE_LEVEL) !== 0) {
      if (level) { this.irr |= m; this.service(pin); } else this.irr &= ~m;
    } else if (level && !was) {
      this.irr |= m;
      this.service(pin);
    }
  }

  /** Deliver pin `pin` if it is latched, unmasked and (level) not awaiting EOI. */
  private service(pin: number): void {
    const m = 1 << pin;
    if ((this.irr & m) === 0) return;
    const lo = this.rteLo[pin]!;
    if ((lo & RTE_MASKED) !== 0) return;
    const level = (lo & RTE_LEVEL) !== 0;
    if (level) {
      if ((lo & RTE_REMOTE_IRR) !== 0) return;
      this.rteLo[pin] = lo | RTE_REMOTE_IRR;
    } else {
      this.irr &= ~m;
    }
    this.bus.deliver(this.rteHi[pin]! >>> 24, (lo & 0x800) !== 0, (lo >>> 8) & 7, lo & 0xff, level);
  }

  private serviceAll(): void {
    for (let pin = 0; pin < IOAPIC_PINS; pin++) if ((this.irr >>> pin) & 1) this.service(pin);
  }

  /** A local APIC's EOI for a level-triggered `vector`: clear Remote IRR of pins using it. */
  eoiBroadcast(vector: number): void {
    for (let pin = 0; pin < IOAPIC_PINS; pin++) {
      const lo = this.rteLo[pin]!;
      if ((lo & 0xff) !== vector || (lo & RTE_REMOTE_IRR) === 0) continue;
      this.rteLo[pin] = lo & ~RTE_REMOTE_IRR;
      // Still asserted: deliver again.
      if ((this.levels >>> pin) & 1) { this.irr |= 1 << pin; this.service(pin); }
    }
  }

  // ---------------------------------------------------------------- registers
  private readReg(index: number): number {
    if (index === 0x00) return this.id & 0x0f000000;
    if (index === 0x01) return ((IOAPIC_PINS - 1) << 16) | this.version;
    if (index === 0x02) return this.id & 0x0f000000;
    if (index >= 0x10 && index < 0x10 + 2 * IOAPIC_PINS) {
      const pin = (index - 0x10) >> 1;
      return (index & 1) !== 0 ? this.rteHi[pin]! : this.rteLo[pin]!;
    }
    return 0;
  }

  private writeReg(index: number, v: number): void {
    if (index === 0x00) { this.id = v & 0x0f000000; return; }
    if (index >= 0x10 && index < 0x10 + 2 * IOAPIC_PINS) {
      const pin = (index - 0x10) >> 1;
      if ((index & 1) !== 0) { this.rteHi[pin] = v & 0xff000000; return; }
      const old = this.rteLo[pin]!;
      let lo = (old & (RTE_REMOTE_IRR | RTE_DELIVERY_STATUS)) | (v & RTE_LOW_WRITABLE);
      // Switching a pin to edge clears Remote IRR (Linux relies on this to unstick a level pin).
      if ((lo & RTE_LEVEL) === 0) lo &= ~RTE_REMOTE_IRR;
      this.rteLo[pin] = lo >>> 0;
      // A level pin that is still asserted is pending again once it can deliver.
      if ((lo & RTE_LEVEL) !== 0 && ((this.levels >>> pin) & 1)) this.irr |= 1 << pin;
      this.service(pin);
    }
  }

  mmioRead(offset: number, size: number): number {
    const reg = offset & 0xff;
    if (reg === 0x00) return this.ioregsel;
    if (reg >= 0x10 && reg < 0x14) {
      const v = this.readReg(this.ioregsel);
      const sh = (reg & 3) * 8;
      const mask = size === 4 ? 0xffffffff : (1 << (size * 8)) - 1;
      return ((v >>> sh) & mask) >>> 0;
    }
    return 0;
  }

  mmioWrite(offset: number, size: number, value: number): void {
    const reg = offset & 0xff;
    if (reg === 0x00) { this.ioregsel = value & 0xff; return; }
    if (reg === 0x10 && size === 4) this.writeReg(this.ioregsel, value >>> 0);
    else if (reg === 0x40 && this.version >= 0x20) this.eoiBroadcast(value & 0xff);
  }

  /** For monitors (info pic / info ioapic) and tests. */
  entry(pin: number): { lo: number; hi: number } { return { lo: this.rteLo[pin]!, hi: this.rteHi[pin]! }; }
  get pendingMask(): number { return this.irr; }

  saveState(): object {
    return { id: this.id, ioregsel: this.ioregsel, lo: Array.from(this.rteLo), hi: Array.from(this.rteHi), irr: this.irr, levels: this.levels };
  }
  loadState(s: { id: number; ioregsel: number; lo: number[]; hi: number[]; irr: number; levels: number }): void {
    this.id = s.id; this.ioregsel = s.ioregsel;
    this.rteLo.set(s.lo); this.rteHi.set(s.hi);
    this.irr = s.irr; this.levels = s.levels;
    this.serviceAll();
  }
}
