/**
 * Intel 82371SB (PIIX3) PCI-to-ISA bridge, function 0 (8086:7000).
 *
 * Owns the PIRQ routing registers 0x60-0x63 (PIRQA..D): bit 7 set = not
 * routed, bits 3:0 = ISA IRQ. Routed PCI interrupt levels are ORed per ISA
 * IRQ and driven, level-triggered, into `isaIrqs` (the machine puts the PIC
 * behind it and programs the ELCR). Also the reset control register at I/O
 * port 0xCF9: bit 1 selects a hard reset, writing bit 2 = 1 resets the system.
 */
import type { IoDevice } from '../../bus/io-bus.js';
import type { IrqSink } from '../../bus/irq.js';
import { PciDevice, type PciBus, type PirqRouter } from './pci-bus.js';

export const PIIX_PIRQC = 0x60;

export interface Piix3Options {
  /** System reset through 0xCF9 (hard: RCR bit 1 was set). */
  onReset?: (hard: boolean) => void;
}

export class Piix3 extends PciDevice implements PirqRouter {
  private readonly pirqLevel = [false, false, false, false];
  private outMask = 0;
  private rcr = 0;
  private readonly rcrPort: IoDevice;

  /** @param isaIrqs where routed PIRQs go, ISA IRQ numbers 0..15 */
  constructor(private readonly isaIrqs: IrqSink, private readonly opts: Piix3Options = {}) {
    super({ name: 'PIIX3', vendorId: 0x8086, deviceId: 0x7000, revision: 0x00, classCode: 0x060100, headerType: 0x80 });
    const c = this.config;
    c[0x07] = 0x02; // DEVSEL medium
    c[0x4c] = 0x4d;
    c[0x4e] = 0x03;
    c[0x60] = c[0x61] = c[0x62] = c[0x63] = 0x80;
    c[0x69] = 0x02;
    c[0x70] = 0x80;
    c[0x76] = c[0x77] = 0x0c;
    c[0x78] = 0x02;
    c[0xa0] = 0x08;
    c[0xa8] = 0x0f;
    const self = this;
    this.rcrPort = {
      ioRead: () => self.rcr,
      ioWrite: (_p: number, _s: number, v: number) => self.writeRcr(v),
    };
  }

  override attached(bus: PciBus, devfn: number): void {
    super.attached(bus, devfn);
    bus.setRouter(this);
    bus.setCf9(this.rcrPort);
  }

  private writeRcr(v: number): void {
    this.rcr = v & 0x02;
    if ((v & 0x04) !== 0) this.opts.onReset?.((v & 0x02) !== 0);
  }

  /** ISA IRQ that PIRQ `n` is routed to, or -1. */
  route(n: number): number {
    // As QEMU: any value >= 16 (bit 7 = IRQEN# set, or stray high bits) leaves the PIRQ unrouted.
    const r = this.config[PIIX_PIRQC + n]!;
    return r < 16 ? r : -1;
  }

  setPirq(pirq: number, level: boolean): void {
    this.pirqLevel[pirq] = level;
    this.updateOutputs();
  }

  private updateOutputs(): void {
    let mask = 0;
    for (let n = 0; n < 4; n++) {
      if (!this.pirqLevel[n]) continue;
      const irq = this.route(n);
      if (irq >= 0) mask |= 1 << irq;
    }
    const diff = mask ^ this.outMask;
    if (diff === 0) return;
    this.outMask = mask;
    for (let irq = 0; irq < 16; irq++) if ((diff >> irq) & 1) this.isaIrqs.setIrq(irq, ((mask >> irq) & 1) !== 0);
  }

  protected override configWritten(off: number, size: number): void {
    if (off < PIIX_PIRQC + 4 && off + size > PIIX_PIRQC) this.updateOutputs();
  }

  override reset(): void {
    super.reset();
    this.rcr = 0;
    this.updateOutputs();
  }

  override saveState(): Record<string, unknown> {
    return { ...super.saveState(), rcr: this.rcr, pirq: [...this.pirqLevel] };
  }

  override loadState(s: Record<string, unknown>): void {
    super.loadState(s);
    this.rcr = Number(s['rcr'] ?? 0) & 2;
    const p = s['pirq'];
    if (Array.isArray(p)) for (let i = 0; i < 4; i++) this.pirqLevel[i] = p[i] === true;
    this.updateOutputs();
  }
}
