/**
 * Test helpers: a VGA on real buses, and the standard mode register sets as
 * the IBM VGA BIOS parameter table documents them (sequencer 1-4, misc,
 * CRTC 0-18h, attribute 0-13h, graphics 0-8), programmed in the order a
 * VGA BIOS uses.
 */
import { IoBus } from '../../../src/bus/io-bus.js';
import { VirtualClock } from '../../../src/clock/virtual-clock.js';
import { MemoryBus } from '../../../src/memory/memory-bus.js';
import { VgaRenderer } from '../../../src/devices/vga/render.js';
import { Vga, type VgaOptions } from '../../../src/devices/vga/vga.js';

export interface ModeRegs {
  seq: number[]; // SR1..SR4
  misc: number;
  crtc: number[]; // CR0..CR18
  attr: number[]; // AR0..AR13
  gfx: number[]; // GR0..GR8
}

const h = (s: string): number[] => s.trim().split(/\s+/).map((x) => parseInt(x, 16));

export const MODES: Record<string, ModeRegs> = {
  '03': {
    seq: h('00 03 00 02'), misc: 0x67,
    crtc: h('5f 4f 50 82 55 81 bf 1f 00 4f 0d 0e 00 00 00 00 9c 8e 8f 28 1f 96 b9 a3 ff'),
    attr: h('00 01 02 03 04 05 14 07 38 39 3a 3b 3c 3d 3e 3f 0c 00 0f 08'),
    gfx: h('00 00 00 00 00 10 0e 00 ff'),
  },
  '04': {
    seq: h('09 03 00 02'), misc: 0x63,
    crtc: h('2d 27 28 90 2b 80 bf 1f 00 c1 00 00 00 00 00 00 9c 8e 8f 14 00 96 b9 a2 ff'),
    attr: h('00 13 15 17 02 04 06 07 10 11 12 13 14 15 16 17 01 00 03 00'),
    gfx: h('00 00 00 00 00 30 0f 0f ff'),
  },
  '06': {
    seq: h('01 01 00 06'), misc: 0x63,
    crtc: h('5f 4f 50 82 54 80 bf 1f 00 c1 00 00 00 00 00 00 9c 8e 8f 28 00 96 b9 c2 ff'),
    attr: h('00 17 17 17 17 17 17 17 17 17 17 17 17 17 17 17 01 00 01 00'),
    gfx: h('00 00 00 00 00 00 0d 00 ff'),
  },
  '0d': {
    seq: h('09 0f 00 06'), misc: 0x63,
    crtc: h('2d 27 28 90 2b 80 bf 1f 00 c0 00 00 00 00 00 00 9c 8e 8f 14 00 96 b9 e3 ff'),
    attr: h('00 01 02 03 04 05 06 07 10 11 12 13 14 15 16 17 01 00 0f 00'),
    gfx: h('00 00 00 00 00 00 05 0f ff'),
  },
  '12': {
    seq: h('01 0f 00 06'), misc: 0xe3,
    crtc: h('5f 4f 50 82 54 80 0b 3e 00 40 00 00 00 00 00 00 ea 8c df 28 00 e7 04 e3 ff'),
    attr: h('00 01 02 03 04 05 14 07 38 39 3a 3b 3c 3d 3e 3f 01 00 0f 00'),
    gfx: h('00 00 00 00 00 00 05 0f ff'),
  },
  '13': {
    seq: h('01 0f 00 0e'), misc: 0x63,
    crtc: h('5f 4f 50 82 54 80 bf 1f 00 41 00 00 00 00 00 00 9c 8e 8f 28 40 96 b9 a3 ff'),
    attr: h('00 01 02 03 04 05 06 07 08 09 0a 0b 0c 0d 0e 0f 41 00 0f 00'),
    gfx: h('00 00 00 00 00 40 05 0f ff'),
  },
};

export interface Rig {
  vga: Vga;
  io: IoBus;
  mem: MemoryBus;
  clock: VirtualClock;
  r: VgaRenderer;
}

export function rig(opts: VgaOptions = {}): Rig {
  const io = new IoBus();
  const mem = new MemoryBus(1 << 20, 32 << 20);
  const clock = new VirtualClock();
  const vga = new Vga({ clock, ...opts });
  vga.attach(io, mem);
  return { vga, io, mem, clock, r: new VgaRenderer(vga) };
}

export const out8 = (io: IoBus, port: number, v: number): void => io.write(port, 1, v);
export const in8 = (io: IoBus, port: number): number => io.read(port, 1);

/** Program a register set the way a VGA BIOS mode set does. */
export function setMode(io: IoBus, m: ModeRegs): void {
  out8(io, 0x3c4, 0); out8(io, 0x3c5, 0x01); // synchronous reset
  out8(io, 0x3c2, m.misc);
  for (let i = 0; i < 4; i++) { out8(io, 0x3c4, i + 1); out8(io, 0x3c5, m.seq[i]!); }
  out8(io, 0x3c4, 0); out8(io, 0x3c5, 0x03);
  const crt = (m.misc & 1) !== 0 ? 0x3d4 : 0x3b4;
  out8(io, crt, 0x11); out8(io, crt + 1, 0); // unlock CR0-7
  for (let i = 0; i < 25; i++) { out8(io, crt, i); out8(io, crt + 1, m.crtc[i]!); }
  in8(io, crt + 6); // reset the attribute flip-flop
  for (let i = 0; i < 20; i++) { out8(io, 0x3c0, i); out8(io, 0x3c0, m.attr[i]!); }
  out8(io, 0x3c0, 0x14); out8(io, 0x3c0, 0);
  for (let i = 0; i < 9; i++) { out8(io, 0x3ce, i); out8(io, 0x3cf, m.gfx[i]!); }
  in8(io, crt + 6);
  out8(io, 0x3c0, 0x20); // palette address source: display on
}

/** Load 256 DAC entries of 6-bit (r, g, b). */
export function loadDac(io: IoBus, rgb: (i: number) => [number, number, number]): void {
  out8(io, 0x3c8, 0);
  for (let i = 0; i < 256; i++) for (const c of rgb(i)) out8(io, 0x3c9, c);
}

/** The EGA 64-colour palette (DAC index = rgbRGB bits), as the BIOS loads it for 16-colour modes. */
export function egaColor(i: number): [number, number, number] {
  const c = (hi: number, lo: number): number => ((i >> hi) & 1) * 0x2a + ((i >> lo) & 1) * 0x15;
  return [c(2, 5), c(1, 4), c(0, 3)];
}

/** Write a font into plane 2 (map 0) the way the BIOS does: sequential addressing, plane 2 only. */
export function loadFont(io: IoBus, mem: MemoryBus, height: number, glyph: (ch: number, row: number) => number): void {
  out8(io, 0x3c4, 2); const sr2 = in8(io, 0x3c5); out8(io, 0x3c5, 0x04);
  out8(io, 0x3c4, 4); const sr4 = in8(io, 0x3c5); out8(io, 0x3c5, 0x06);
  out8(io, 0x3ce, 4); const gr4 = in8(io, 0x3cf); out8(io, 0x3cf, 0x02);
  out8(io, 0x3ce, 5); const gr5 = in8(io, 0x3cf); out8(io, 0x3cf, 0x00);
  out8(io, 0x3ce, 6); const gr6 = in8(io, 0x3cf); out8(io, 0x3cf, 0x04);
  for (let ch = 0; ch < 256; ch++) for (let r = 0; r < 32; r++) mem.write8(0xa0000 + ch * 32 + r, r < height ? glyph(ch, r) : 0);
  out8(io, 0x3c4, 2); out8(io, 0x3c5, sr2);
  out8(io, 0x3c4, 4); out8(io, 0x3c5, sr4);
  out8(io, 0x3ce, 4); out8(io, 0x3cf, gr4);
  out8(io, 0x3ce, 5); out8(io, 0x3cf, gr5);
  out8(io, 0x3ce, 6); out8(io, 0x3cf, gr6);
}

/** RGB of the rendered pixel at (x, y). */
export function pixel(r: VgaRenderer, x: number, y: number): [number, number, number] {
  const o = (y * r.width + x) * 4;
  return [r.data[o]!, r.data[o + 1]!, r.data[o + 2]!];
}

/** 6-bit DAC value as QEMU (and we) expand it to 8 bits. */
export const c8 = (v: number): number => (v << 2) | ((v & 1) << 1) | (v & 1);
