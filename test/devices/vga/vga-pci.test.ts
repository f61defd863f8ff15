import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { IoBus } from '../../../src/bus/io-bus.js';
import { MemoryBus } from '../../../src/memory/memory-bus.js';
import { PciBus } from '../../../src/devices/pci/pci-bus.js';
import { Vga } from '../../../src/devices/vga/vga.js';
import { VgaPci } from '../../../src/devices/vga/vga-pci.js';
import { findVgaBios, vgaBiosFileFor } from '../../../src/devices/vga/bios.js';
import { createIsaVga } from '../../../src/devices/vga/vga-isa.js';

function cfg(io: IoBus, slot: number, off: number, size = 4, value?: number): number {
  io.write(0xcf8, 4, (0x80000000 | (slot << 11) | (off & 0xfc)) >>> 0);
  if (value !== undefined) io.write(0xcfc + (off & 3), size, value);
  return io.read(0xcfc + (off & 3), size);
}

function setup(direct: boolean) {
  const io = new IoBus(), mem = new MemoryBus(32 << 20, 32 << 20);
  const bus = new PciBus(io, mem);
  let vga: Vga;
  if (direct) {
    const off = mem.allocRom(16 << 20);
    vga = new Vga({ vram: mem.mem.subarray(off, off + (16 << 20)) });
  } else {
    vga = new Vga();
  }
  vga.attach(io, mem);
  const rom = readFileSync(findVgaBios('std')!);
  bus.add(new VgaPci(vga, rom), 2);
  return { io, mem, vga };
}

describe('std VGA on PCI', () => {
  it('has the identity and BAR sizes QEMU reports (info pci): 16 MiB prefetchable, 4 KiB MMIO, 64 KiB ROM', () => {
    const { io } = setup(false);
    expect(cfg(io, 2, 0)).toBe(0x11111234);
    expect(cfg(io, 2, 0x2c)).toBe(0x11001af4);
    expect(cfg(io, 2, 0x08) >>> 8).toBe(0x030000);
    expect(cfg(io, 2, 0x10, 4, 0xffffffff)).toBe(0xff000008);
    expect(cfg(io, 2, 0x18, 4, 0xffffffff)).toBe(0xfffff000);
    expect(cfg(io, 2, 0x30, 4, 0xfffffffe) & ~1).toBe(0xffff0000 | 0);
  });

  for (const direct of [false, true]) {
    it(`maps the framebuffer at BAR0 (${direct ? 'direct memory' : 'MMIO'}) and the VBE registers in BAR2`, () => {
      const { io, mem, vga } = setup(direct);
      cfg(io, 2, 0x10, 4, 0xfd000000);
      cfg(io, 2, 0x18, 4, 0xfebf0000);
      cfg(io, 2, 0x04, 2, 0x0002);
      expect(mem.read16(0xfebf0500)).toBe(0xb0c5); // ID through MMIO
      mem.write16(0xfebf0502, 640); // XRES
      mem.write16(0xfebf0504, 480);
      mem.write16(0xfebf0506, 32);
      mem.write16(0xfebf0508, 0x41);
      expect(vga.vbeEnabled).toBe(true);
      expect(mem.read16(0xfebf050e)).toBe(Math.floor((16 << 20) / 2560)); // VIRT_HEIGHT
      expect(mem.read16(0xfebf0514)).toBe(256); // VIDEO_MEMORY_64K
      expect(mem.read32(0xfebf0600)).toBe(8);
      expect(mem.read32(0xfebf0604)).toBe(0x1e1e1e1e);
      mem.write8(0xfebf0400 + 0x08, 5); // 0x3C8: DAC write index
      expect(vga.dacWriteIndex).toBe(5);
      mem.write32(0xfd000000 + 4 * 1000, 0x00abcdef);
      expect(vga.vram[4 * 1000]).toBe(0xef);
      expect(mem.describe(0xfd000000)).toBe(direct ? 'rom' : 'VGA BAR0');
      cfg(io, 2, 0x04, 2, 0x0000); // memory decode off: the framebuffer disappears
      expect(mem.read32(0xfd000000)).toBe(0xffffffff);
    });
  }
});

describe('VGA BIOS and ISA VGA', () => {
  it('names the BIOS image QEMU loads per model and finds it in the seabios package', () => {
    expect(vgaBiosFileFor('std')).toBe('vgabios-stdvga.bin');
    expect(vgaBiosFileFor('isa-vga')).toBe('vgabios.bin');
    expect(vgaBiosFileFor('none')).toBeNull();
    const rom = readFileSync(findVgaBios('isa-vga')!);
    expect([rom[0], rom[1]]).toEqual([0x55, 0xaa]); // option ROM signature
    expect(rom[2]! * 512).toBeGreaterThanOrEqual(rom.length - 512);
    expect(() => findVgaBios('std', ['/nonexistent'])).toThrow(/could not load VGA BIOS 'vgabios-stdvga.bin'/);
  });

  it('isa-vga puts the linear framebuffer at 0xE0000000', () => {
    const io = new IoBus(), mem = new MemoryBus(1 << 20, 32 << 20);
    const vga = createIsaVga(io, mem);
    mem.write32(0xe0000000 + 64, 0x11223344);
    expect(vga.vram[64]).toBe(0x44);
    expect(io.ownerName(0x3d4)).toBe('vga');
    expect(io.ownerName(0x1ce)).toBe('vga'); // one device owns both ranges
  });
});
