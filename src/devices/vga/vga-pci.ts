/**
 * QEMU's "std VGA" as a PCI function (-vga std / -device VGA on pc):
 * 1234:1111, subsystem 1AF4:1100, class 0300.
 *
 * BAR0: the linear framebuffer (all of VRAM, prefetchable).
 * BAR2: 4 KiB of MMIO registers, used by Linux's bochs-drm and others:
 *   0x400-0x41F  the VGA ports 0x3C0-0x3DF, byte-wide
 *   0x500-0x515  the Bochs VBE registers, index = (offset - 0x500) / 2, 16-bit
 *   0x600-0x607  QEMU extension: size of this block (8), framebuffer byte order
 * ROM BAR: the VGA BIOS (vgabios-stdvga.bin), which SeaBIOS copies to 0xC0000.
 *
 * When the Vga's storage lives in the MemoryBus (VgaOptions.vram), BAR0 is
 * mapped as direct memory instead of MMIO; the renderer finds the changes.
 */
import type { MmioDevice } from '../../memory/memory-bus.js';
import { PciDevice } from '../pci/pci-bus.js';
import type { Vga } from './vga.js';

export const VGA_PCI_VENDOR = 0x1234;
export const VGA_PCI_DEVICE = 0x1111;

const QEXT_SIZE = 8;
const QEXT_LITTLE_ENDIAN = 0x1e1e1e1e;

class VgaMmioRegs implements MmioDevice {
  constructor(private readonly vga: Vga) {}

  mmioRead(off: number, size: number): number {
    if (off >= 0x400 && off < 0x420) return this.vga.ioRead(0x3c0 + (off - 0x400), size);
    if (off >= 0x500 && off < 0x516) {
      if (size === 4) return (this.dispiRead(off) | (this.dispiRead(off + 2) << 16)) >>> 0;
      const v = this.dispiRead(off & ~1);
      return size === 1 ? (v >> (8 * (off & 1))) & 0xff : v;
    }
    if (off === 0x600) return QEXT_SIZE;
    if (off === 0x604) return QEXT_LITTLE_ENDIAN;
    return 0;
  }

  mmioWrite(off: number, size: number, value: number): void {
    if (off >= 0x400 && off < 0x420) { this.vga.ioWrite(0x3c0 + (off - 0x400), size, value); return; }
    if (off >= 0x500 && off < 0x516 && (off & 1) === 0) {
      this.dispiWrite(off, value & 0xffff);
      if (size === 4) this.dispiWrite(off + 2, value >>> 16);
    }
    // 0x604 (byte order): only little-endian framebuffers are supported; writes are ignored.
  }

  private dispiRead(off: number): number {
    this.vga.ioWrite(0x1ce, 2, (off - 0x500) >> 1);
    return this.vga.ioRead(0x1cf, 2);
  }

  private dispiWrite(off: number, v: number): void {
    this.vga.ioWrite(0x1ce, 2, (off - 0x500) >> 1);
    this.vga.ioWrite(0x1cf, 2, v);
  }
}

export class VgaPci extends PciDevice {
  constructor(readonly vga: Vga, rom: Uint8Array | null = null) {
    super({
      name: 'VGA', vendorId: VGA_PCI_VENDOR, deviceId: VGA_PCI_DEVICE, revision: 2,
      classCode: 0x030000, subsystemVendorId: 0x1af4, subsystemId: 0x1100,
    });
    this.defineMemBar(0, vga.vramSize, vga.lfbDevice, true);
    this.defineMemBar(2, 4096, new VgaMmioRegs(vga));
    if (rom !== null) this.setRom(rom);
  }

  override updateMappings(): void {
    super.updateMappings();
    const bus = this.bus;
    const base = this.barAddress(0);
    if (bus === null || base < 0) return;
    const mem = bus.memory;
    if (this.vga.vram.buffer !== mem.mem.buffer) return;
    const off = this.vga.vram.byteOffset - mem.mem.byteOffset;
    if (off % 4096 === 0 && mem.wr[base >>> 12] !== off) mem.setAccess(base, this.vga.vramSize, off, off);
  }
}
