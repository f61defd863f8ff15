/**
 * The VGA on a machine without PCI (isapc, QEMU's isa-vga): the legacy ports
 * and window, plus the VBE linear framebuffer at the fixed address 0xE0000000.
 */
import type { IoBus } from '../../bus/io-bus.js';
import type { MemoryBus } from '../../memory/memory-bus.js';
import { Vga, VGA_DEFAULT_LFB, type VgaOptions } from './vga.js';

export function createIsaVga(io: IoBus, mem: MemoryBus, opts: VgaOptions = {}, lfbBase = VGA_DEFAULT_LFB): Vga {
  const vga = new Vga(opts);
  vga.attach(io, mem);
  vga.mapLfb(mem, lfbBase);
  return vga;
}
