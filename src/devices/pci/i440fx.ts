/**
 * Intel 82441FX (i440FX) PCI and memory controller: the host bridge at 00.0.
 *
 * What the guest sees besides the standard header (8086:1237 rev 02, class
 * 0600): the PAM registers 0x59-0x5F, which choose per segment of the
 * 0xC0000-0xFFFFF window whether reads and writes reach DRAM or the PCI side
 * (the ROM images), and the SMRAM register 0x72, whose D_OPEN bit makes the
 * DRAM below the VGA window at 0xA0000-0xBFFFF visible.
 *
 * PAM layout: 0x59 bits 5:4 cover 0xF0000-0xFFFFF (64 KiB); 0x5A-0x5F each
 * cover two 16 KiB segments from 0xC0000 upwards (low nibble first). Per
 * nibble bit 0 = reads from DRAM, bit 1 = writes to DRAM.
 */
import type { MemoryBus } from '../../memory/memory-bus.js';
import { PciDevice } from './pci-bus.js';

export const I440FX_PAM0 = 0x59;
export const I440FX_SMRAM = 0x72;
const SMRAM_C_BASE = 0x02;
const SMRAM_G_SMRAME = 0x08;
const SMRAM_D_LCK = 0x10;
const SMRAM_D_CLS = 0x20;
const SMRAM_D_OPEN = 0x40;

const WIN_BASE = 0xc0000;
const WIN_PAGES = 64; // 0xC0000-0xFFFFF in 4 KiB pages

export interface I440fxOptions {
  /** Re-establish the VGA mapping of 0xA0000-0xBFFFF after SMRAM closes. */
  onVgaWindow?: () => void;
  /** Guest RAM in bytes (all of it, also above 4 GiB), for register 0x57; default the memory bus's RAM. */
  ramSize?: number;
}

export class I440fx extends PciDevice {
  /** Per 4 KiB page of 0xC0000-0xFFFFF: offset in memory.mem of the PCI side (ROM), or -1. */
  private readonly romSide = new Int32Array(WIN_PAGES).fill(-1);
  /** PAM attribute per page currently applied (-1 = never applied). */
  private readonly applied = new Int8Array(WIN_PAGES).fill(-1);
  private smramOpen = false;

  constructor(private readonly memory: MemoryBus, private readonly opts: I440fxOptions = {}) {
    super({ name: 'i440FX', vendorId: 0x8086, deviceId: 0x1237, revision: 0x02, classCode: 0x060000 });
    this.config[I440FX_SMRAM] = SMRAM_C_BASE;
    // As QEMU: RAM size in 8 MiB units (capped at 255) in 0x57, which coreboot-style firmware reads.
    this.config[0x57] = Math.min(255, Math.floor((opts.ramSize ?? memory.ramSize) / (8 << 20)));
    this.wmask[I440FX_SMRAM] = SMRAM_D_OPEN | SMRAM_D_CLS | SMRAM_D_LCK | SMRAM_G_SMRAME;
    this.wmask[I440FX_PAM0] = 0x33;
    this.applyPam();
  }

  /**
   * Declare what the PCI side shows for [base, base+size) inside 0xC0000-0xFFFFF:
   * `memOffset` is the offset in memory.mem of the ROM bytes (e.g. the last
   * 128 KiB of the BIOS image for 0xE0000), or -1 for nothing.
   */
  setRomSide(base: number, size: number, memOffset: number): void {
    if (base < WIN_BASE || base + size > 0x100000 || (base | size) & 0xfff) {
      throw new RangeError(`i440FX: ROM side 0x${base.toString(16)}+0x${size.toString(16)} outside 0xC0000-0xFFFFF`);
    }
    for (let a = base, i = 0; a < base + size; a += 4096, i += 4096) {
      this.romSide[(a - WIN_BASE) >> 12] = memOffset < 0 ? -1 : memOffset + i;
      this.applied[(a - WIN_BASE) >> 12] = -1;
    }
    this.applyPam();
  }

  /** PAM attribute (bit 0 read DRAM, bit 1 write DRAM) of the page at `addr`. */
  pamAttr(addr: number): number {
    if (addr >= 0xf0000) return (this.config[I440FX_PAM0]! >> 4) & 3;
    const seg = (addr - WIN_BASE) >> 14; // 16 KiB segments
    const reg = this.config[I440FX_PAM0 + 1 + (seg >> 1)]!;
    return ((seg & 1) !== 0 ? reg >> 4 : reg) & 3;
  }

  private applyPam(): void {
    const ram = this.memory.ramSize;
    // Page by page: 64 pages at most, and only pages whose attribute changed.
    for (let i = 0; i < WIN_PAGES; i++) {
      const addr = WIN_BASE + i * 4096;
      const attr = this.pamAttr(addr);
      if (this.applied[i] === attr) continue;
      this.applied[i] = attr;
      const hasRam = addr + 4096 <= ram;
      const rd = (attr & 1) !== 0 && hasRam ? addr : this.romSide[i]!;
      const wr = (attr & 2) !== 0 && hasRam ? addr : -1;
      this.memory.setAccess(addr, 4096, rd, wr);
    }
  }

  private applySmram(): void {
    const open = (this.config[I440FX_SMRAM]! & SMRAM_D_OPEN) !== 0;
    if (open === this.smramOpen) return;
    this.smramOpen = open;
    if (open) {
      if (this.memory.ramSize >= 0xc0000) this.memory.mapRam(0xa0000, 0x20000);
    } else {
      this.memory.unmap(0xa0000, 0x20000);
      this.opts.onVgaWindow?.();
    }
  }

  protected override configWritten(off: number, size: number): void {
    const end = off + size;
    if (off <= I440FX_SMRAM && end > I440FX_SMRAM) {
      const c = this.config;
      // C_BASE_SEG is hard-wired to 010b (A0000h).
      c[I440FX_SMRAM] = (c[I440FX_SMRAM]! & 0xf8) | SMRAM_C_BASE;
      if ((c[I440FX_SMRAM]! & SMRAM_D_LCK) !== 0) {
        // Locked: D_OPEN reads 0 and, like D_LCK and G_SMRAME, cannot change until reset.
        c[I440FX_SMRAM] &= ~SMRAM_D_OPEN;
        this.wmask[I440FX_SMRAM] = SMRAM_D_CLS;
      }
      this.applySmram();
    }
    if (off < I440FX_PAM0 + 7 && end > I440FX_PAM0) this.applyPam();
  }

  override reset(): void {
    super.reset();
    this.wmask[I440FX_SMRAM] = SMRAM_D_OPEN | SMRAM_D_CLS | SMRAM_D_LCK | SMRAM_G_SMRAME;
    this.applied.fill(-1);
    this.applyPam();
    this.applySmram();
  }

  override saveState(): Record<string, unknown> {
    return { ...super.saveState(), smramWmask: this.wmask[I440FX_SMRAM] };
  }

  override loadState(s: Record<string, unknown>): void {
    super.loadState(s);
    this.wmask[I440FX_SMRAM] = Number(s['smramWmask'] ?? this.wmask[I440FX_SMRAM]) & 0xff;
    this.applied.fill(-1);
    this.applyPam();
    this.applySmram();
  }
}
