/**
 * PIIX3 IDE function (8086:7010, function 1 of the PIIX3): both channels in
 * legacy (compatibility) mode at 0x1F0/0x3F6 IRQ 14 and 0x170/0x376 IRQ 15,
 * plus the bus-master IDE engine behind BAR4 (16 I/O ports).
 *
 * Bus-master registers, per channel (primary at +0, secondary at +8):
 *   +0 command: bit 0 start/stop, bit 3 direction (1 = write to memory)
 *   +2 status: bit 0 active (RO), bit 1 error (W1C), bit 2 interrupt (W1C),
 *      bits 5/6 drive 0/1 DMA capable (RW)
 *   +4 PRD table address (dword aligned)
 * A PRD is 8 bytes: physical address, byte count (0 = 64 KiB; bit 0 ignored),
 * and bit 31 of the second dword = end of table.
 */
import type { IoBus } from '../../bus/io-bus.js';
import type { IrqLine } from '../../bus/irq.js';
import type { MemoryBus } from '../../memory/memory-bus.js';
import { IdeChannel, type IdeDma, type SgList } from '../ide/ide-channel.js';
import { PRIMARY, SECONDARY, registerLegacyPorts } from '../ide/ide-ports.js';
import { PciDevice, type PciIoHandler } from './pci-bus.js';

const BM_START = 0x01;
const BM_READ_TO_MEMORY = 0x08;
const BM_ACTIVE = 0x01;
const BM_ERROR = 0x02;
const BM_INTR = 0x04;
/** The PRD table may not cross a 64 KiB boundary; QEMU reads at most 4 KiB of it. */
const MAX_PRDS = 512;

export class Bmdma implements IdeDma {
  cmd = 0;
  status = 0;
  prdAddr = 0;
  channel: IdeChannel | null = null;

  constructor(readonly memory: MemoryBus) {}

  get running(): boolean { return (this.cmd & BM_START) !== 0; }

  prepare(bytes: number): SgList {
    const addr: number[] = [], len: number[] = [];
    let total = 0, more = false, p = this.prdAddr;
    for (let i = 0; i < MAX_PRDS && total < bytes; i++, p += 8) {
      const base = this.memory.read32(p) & ~1;
      const ctl = this.memory.read32(p + 4);
      let count = ctl & 0xfffe;
      if (count === 0) count = 0x10000;
      const eot = (ctl & 0x80000000) !== 0;
      const take = Math.min(count, bytes - total);
      addr.push(base >>> 0);
      len.push(take);
      total += take;
      if (take < count) { more = true; break; }
      if (total === bytes) { more = !eot; break; }
      if (eot) break;
    }
    return { addr, len, bytes: total, more };
  }

  finish(stayActive: boolean): void {
    if (!stayActive) this.status &= ~BM_ACTIVE;
  }

  irqRaised(): void { this.status |= BM_INTR; }

  readByte(off: number): number {
    switch (off) {
      case 0: return this.cmd;
      case 2: return this.status;
      case 4: case 5: case 6: case 7: return (this.prdAddr >>> (8 * (off - 4))) & 0xff;
      default: return 0;
    }
  }

  writeByte(off: number, v: number): void {
    switch (off) {
      case 0: {
        const was = this.cmd;
        this.cmd = v & (BM_START | BM_READ_TO_MEMORY);
        if ((was & BM_START) === 0 && (v & BM_START) !== 0) {
          this.status |= BM_ACTIVE;
          this.channel?.dmaKick();
        } else if ((was & BM_START) !== 0 && (v & BM_START) === 0) {
          this.status &= ~BM_ACTIVE;
        }
        break;
      }
      case 2:
        this.status = (v & 0x60) | (this.status & BM_ACTIVE) | (this.status & ~v & (BM_ERROR | BM_INTR));
        break;
      case 4: case 5: case 6: case 7: {
        const sh = 8 * (off - 4);
        this.prdAddr = ((this.prdAddr & ~(0xff << sh)) | (v << sh)) & 0xfffffffc;
        this.prdAddr >>>= 0;
        break;
      }
      default: break;
    }
  }

  reset(): void { this.cmd = 0; this.status = 0; this.prdAddr = 0; }
  saveState(): Record<string, unknown> { return { cmd: this.cmd, status: this.status, prdAddr: this.prdAddr }; }
  loadState(s: Record<string, unknown>): void {
    this.cmd = Number(s['cmd'] ?? 0) & 0x09;
    this.status = Number(s['status'] ?? 0) & 0xff;
    this.prdAddr = Number(s['prdAddr'] ?? 0) >>> 0;
  }
}

export class Piix3Ide extends PciDevice implements PciIoHandler {
  readonly channels: [IdeChannel, IdeChannel];
  readonly bmdma: [Bmdma, Bmdma];

  /** @param irqs ISA IRQ 14 and 15 lines */
  constructor(io: IoBus, memory: MemoryBus, irqs: [IrqLine, IrqLine]) {
    super({ name: 'PIIX3 IDE', vendorId: 0x8086, deviceId: 0x7010, revision: 0x00, classCode: 0x010180 });
    this.set16(0x06, 0x0280); // fast back-to-back, DEVSEL medium
    this.channels = [new IdeChannel(irqs[0], 0), new IdeChannel(irqs[1], 1)];
    this.bmdma = [new Bmdma(memory), new Bmdma(memory)];
    for (let i = 0; i < 2; i++) {
      this.bmdma[i]!.channel = this.channels[i]!;
      this.channels[i]!.dma = this.bmdma[i]!;
    }
    this.defineIoBar(4, 16, this);
    registerLegacyPorts(io, this.channels[0], PRIMARY.cmd, PRIMARY.ctl, 'ide0');
    registerLegacyPorts(io, this.channels[1], SECONDARY.cmd, SECONDARY.ctl, 'ide1');
  }

  barRead(_bar: number, off: number, size: number): number {
    let v = 0;
    for (let i = 0; i < size; i++) {
      const o = off + i;
      v |= this.bmdma[(o >> 3) & 1]!.readByte(o & 7) << (8 * i);
    }
    return v >>> 0;
  }

  barWrite(_bar: number, off: number, size: number, value: number): void {
    for (let i = 0; i < size; i++) {
      const o = off + i;
      this.bmdma[(o >> 3) & 1]!.writeByte(o & 7, (value >>> (8 * i)) & 0xff);
    }
  }

  /** Resolves when neither channel has a media request in flight. */
  idle(): Promise<unknown> { return Promise.all(this.channels.map((c) => c.idle())); }

  override reset(): void {
    super.reset();
    for (const b of this.bmdma) b.reset();
    for (const c of this.channels) c.reset();
  }

  override saveState(): Record<string, unknown> {
    return { ...super.saveState(), bmdma: this.bmdma.map((b) => b.saveState()), channels: this.channels.map((c) => c.saveState()) };
  }

  override loadState(s: Record<string, unknown>): void {
    super.loadState(s);
    const b = s['bmdma'], c = s['channels'];
    if (!Array.isArray(b) || !Array.isArray(c) || b.length !== 2 || c.length !== 2) throw new Error('piix3-ide: bad saved state');
    for (let i = 0; i < 2; i++) {
      this.bmdma[i]!.loadState(b[i] as Record<string, unknown>);
      this.channels[i]!.loadState(c[i] as Record<string, unknown>);
    }
  }
}
