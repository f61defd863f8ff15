import { describe, expect, it } from 'vitest';
import { Vga, VGA_DEFAULT_LFB } from '../../../src/devices/vga/vga.js';
import { VgaRenderer } from '../../../src/devices/vga/render.js';
import { IoBus } from '../../../src/bus/io-bus.js';
import { MemoryBus } from '../../../src/memory/memory-bus.js';
import { c8, in8, loadDac, MODES, out8, pixel, rig, setMode } from './helpers.js';

const dispi = (io: IoBus, i: number, v?: number): number => {
  io.write(0x1ce, 2, i);
  if (v !== undefined) io.write(0x1cf, 2, v);
  return io.read(0x1cf, 2);
};

/**
 * Set a mode the way Linux's bochs driver does: program dispi, then turn the
 * display on through the attribute controller (palette address source).
 */
function vbeMode(io: IoBus, w: number, h: number, bpp: number, flags = 0x41): void {
  dispi(io, 4, 0);
  dispi(io, 1, w); dispi(io, 2, h); dispi(io, 3, bpp);
  dispi(io, 4, flags);
  in8(io, 0x3da); out8(io, 0x3c0, 0x20);
}

describe('Bochs VBE dispi', () => {
  it('identifies as 0xB0C5, reports 16 MiB as 256 x 64 KiB and the maximum mode with GETCAPS', () => {
    const { io } = rig();
    expect(dispi(io, 0)).toBe(0xb0c5);
    expect(dispi(io, 0, 0xb0c2)).toBe(0xb0c2);
    expect(dispi(io, 0, 0x1234)).toBe(0xb0c2); // not an ID: ignored
    expect(dispi(io, 0xa)).toBe(256);
    dispi(io, 4, 0x02);
    expect([dispi(io, 1), dispi(io, 2), dispi(io, 3)]).toEqual([16000, 12000, 32]);
    dispi(io, 4, 0);
    expect(io.read(0x1ce, 2)).toBe(4);
  });

  it('validates the mode on enable: width rounded to 8, virtual height from memory, bad depth -> 8', () => {
    const { io } = rig();
    vbeMode(io, 803, 600, 32);
    expect(dispi(io, 1)).toBe(800);
    expect(dispi(io, 6)).toBe(800); // virtual width
    expect(dispi(io, 7)).toBe(Math.floor((16 << 20) / 3200));
    vbeMode(io, 640, 480, 13);
    expect(dispi(io, 3)).toBe(8);
    vbeMode(io, 16000, 12000, 32);
    expect(dispi(io, 2)).toBe(Math.floor((16 << 20) / 64000)); // clamped to what 16 MiB holds
  });

  it('800x600x32 through the linear framebuffer', () => {
    const { io, mem, r } = rig();
    vbeMode(io, 800, 600, 32);
    const vga = r['vga' as never] as Vga;
    vga.mapLfb(mem, VGA_DEFAULT_LFB);
    for (let y = 0; y < 600; y += 7) for (let x = 0; x < 800; x += 13) mem.write32(VGA_DEFAULT_LFB + (y * 800 + x) * 4, (x << 16) | (y << 8) | ((x + y) & 0xff));
    r.update();
    expect([r.width, r.height]).toEqual([800, 600]);
    expect(pixel(r, 13 * 5, 7 * 9)).toEqual([(13 * 5) & 0xff, 63, (13 * 5 + 63) & 0xff]);
    expect(pixel(r, 1, 0)).toEqual([0, 0, 0]);
    expect(mem.read32(VGA_DEFAULT_LFB + (7 * 800 + 13) * 4)).toBe((13 << 16) | (7 << 8) | 20);
  });

  it('16, 15 and 24 bpp pixel formats', () => {
    const { io, mem, r } = rig();
    const vga = r['vga' as never] as Vga;
    vga.mapLfb(mem, VGA_DEFAULT_LFB);
    vbeMode(io, 64, 8, 16);
    mem.write16(VGA_DEFAULT_LFB, 0xf81f); // magenta 5:6:5
    mem.write16(VGA_DEFAULT_LFB + 2, 0x07e0);
    r.update();
    expect(pixel(r, 0, 0)).toEqual([0xf8, 0, 0xf8]);
    expect(pixel(r, 1, 0)).toEqual([0, 0xfc, 0]);
    vbeMode(io, 64, 8, 15);
    mem.write16(VGA_DEFAULT_LFB, 0x7c00 | 0x1f);
    r.update();
    expect(pixel(r, 0, 0)).toEqual([0xf8, 0, 0xf8]);
    vbeMode(io, 64, 8, 24);
    mem.write8(VGA_DEFAULT_LFB + 3, 0x11); mem.write8(VGA_DEFAULT_LFB + 4, 0x22); mem.write8(VGA_DEFAULT_LFB + 5, 0x33);
    r.update();
    expect(pixel(r, 1, 0)).toEqual([0x33, 0x22, 0x11]);
  });

  it('8 bpp uses the DAC with 6-bit components, or 8-bit ones with the 8BIT_DAC flag', () => {
    const { io, mem, r } = rig();
    const vga = r['vga' as never] as Vga;
    vga.mapLfb(mem, VGA_DEFAULT_LFB);
    vbeMode(io, 320, 200, 8);
    loadDac(io, (i) => [i & 0x3f, 0, 0x3f]);
    mem.write8(VGA_DEFAULT_LFB + 5, 33);
    r.update();
    expect([r.width, r.height]).toEqual([320, 200]);
    expect(pixel(r, 5, 0)).toEqual([c8(33), 0, 255]);
    dispi(io, 4, 0x41 | 0x20 | 0x80);
    out8(io, 0x3c8, 33); out8(io, 0x3c9, 0xc8); out8(io, 0x3c9, 0x80); out8(io, 0x3c9, 0x01);
    r.update();
    expect(pixel(r, 5, 0)).toEqual([0xc8, 0x80, 0x01]);
    out8(io, 0x3c7, 33);
    expect(in8(io, 0x3c9)).toBe(0xc8);
  });

  it('banked access through the 64 KiB window at 0xA0000', () => {
    const { io, mem, r } = rig();
    vbeMode(io, 640, 480, 32);
    dispi(io, 5, 3);
    mem.write32(0xa0000 + 0x100, 0x00123456);
    const vga = r['vga' as never] as Vga;
    expect(vga.vram[3 * 65536 + 0x100]).toBe(0x56);
    r.update();
    const off = (3 * 65536 + 0x100) / 4;
    expect(pixel(r, off % 640, Math.floor(off / 640))).toEqual([0x12, 0x34, 0x56]);
    expect(mem.read32(0xa0000 + 0x100)).toBe(0x00123456);
    expect(mem.read8(0xb0000)).toBe(0xff); // the window is 64 KiB
  });

  it('clears the screen on enable unless NOCLEARMEM is set', () => {
    const { io, r } = rig();
    const vga = r['vga' as never] as Vga;
    vga.vram.fill(0x5a, 0, 1 << 20);
    vbeMode(io, 640, 480, 8, 0xc1);
    expect(vga.vram[1000]).toBe(0x5a);
    vbeMode(io, 640, 480, 8, 0x41);
    expect(vga.vram[1000]).toBe(0);
    expect(vga.vram[640 * 480]).toBe(0x5a); // only the visible screen
  });

  it('pans with X/Y offset inside a larger virtual screen', () => {
    const { io, mem, r } = rig();
    const vga = r['vga' as never] as Vga;
    vga.mapLfb(mem, VGA_DEFAULT_LFB);
    vbeMode(io, 320, 200, 32);
    dispi(io, 6, 1024);
    expect(dispi(io, 6)).toBe(1024);
    dispi(io, 8, 16); dispi(io, 9, 100);
    mem.write32(VGA_DEFAULT_LFB + (100 * 1024 + 16) * 4, 0x00ff0000);
    r.update();
    expect(pixel(r, 0, 0)).toEqual([255, 0, 0]);
  });

  it('makes the VGA registers describe the mode (graphics, A0000 64K, line offset)', () => {
    const { io, vga } = rig();
    setMode(io, MODES['03']!);
    vbeMode(io, 1024, 768, 16);
    out8(io, 0x3ce, 6);
    expect(in8(io, 0x3cf) & 0x0d).toBe(0x05);
    out8(io, 0x3d4, 0x13);
    expect(in8(io, 0x3d5)).toBe((2048 >> 3) & 0xff);
    out8(io, 0x3d4, 0x01);
    expect(in8(io, 0x3d5)).toBe(127);
    expect(vga.vbeEnabled).toBe(true);
  });

  it('finds writes that bypass it when the LFB is mapped as direct memory', () => {
    const io = new IoBus(), mem = new MemoryBus(1 << 20, 32 << 20);
    const off = mem.allocRom(16 << 20);
    const vga = new Vga({ vram: mem.mem.subarray(off, off + (16 << 20)) });
    vga.attach(io, null);
    vga.mapLfb(mem, VGA_DEFAULT_LFB);
    expect(mem.describe(VGA_DEFAULT_LFB)).toBe('rom');
    const r = new VgaRenderer(vga);
    vbeMode(io, 800, 600, 32);
    r.update();
    expect(r.update()).toBe(false);
    mem.write32(VGA_DEFAULT_LFB + (300 * 800 + 10) * 4, 0x0000ff00); // a direct store, no device call
    expect(r.update()).toBe(true);
    expect(pixel(r, 10, 300)).toEqual([0, 255, 0]);
    const lines = [...r.dirty].flatMap((d, y) => (d ? [y] : []));
    expect(lines.length).toBeLessThanOrEqual(3); // one 4 KiB page = 1.28 lines of 3200 bytes
    expect(lines).toContain(300);
  });

  it('4 bpp modes are planar: 800x600x16 colours written with write mode 2 through the window', () => {
    const { io, mem, r } = rig();
    setMode(io, MODES['12']!);
    loadDac(io, (i) => [i & 0x3f, 0, 0]);
    vbeMode(io, 800, 600, 4);
    expect(dispi(io, 6)).toBe(800);
    out8(io, 0x3ce, 5); out8(io, 0x3cf, 0x02);
    out8(io, 0x3ce, 8); out8(io, 0x3cf, 0x80);
    const addr = 599 * 100 + 12; // last line, pixel 96
    mem.read8(0xa0000 + addr); mem.write8(0xa0000 + addr, 0x09);
    r.update();
    expect([r.width, r.height]).toEqual([800, 600]);
    expect(pixel(r, 96, 599)).toEqual([c8(MODES['12']!.attr[9]! & 0x3f), 0, 0]);
    expect(pixel(r, 97, 599)).toEqual([0, 0, 0]);
  });

  it('saves and restores its whole state (registers, DAC, VBE, memory)', () => {
    const a = rig();
    setMode(a.io, MODES['13']!);
    vbeMode(a.io, 320, 200, 8);
    loadDac(a.io, (i) => [i & 0x3f, 0x3f - (i & 0x3f), 7]);
    a.mem.write8(0xa0000 + 321, 77);
    a.r.update();
    const st = a.vga.saveState();
    const b = rig();
    // registers survive a JSON round trip; the memory travels as bytes
    b.vga.loadState({ ...(JSON.parse(JSON.stringify({ ...st, vram: null })) as typeof st), vram: st.vram });
    b.r.update();
    expect(Buffer.from(b.r.data).equals(Buffer.from(a.r.data))).toBe(true);
    expect(dispi(b.io, 1)).toBe(320);
    expect(b.mem.read8(0xa0000 + 321)).toBe(77);
    expect(() => b.vga.loadState({ ...st, vram: new Uint8Array(10) })).toThrow(/video memory is not 16777216 bytes/);
    expect(() => b.vga.loadState({ ...st, crt: [1, 2] })).toThrow(/'crt' must have 256 entries/);
  });

  it('keeps the VBE-derived VGA registers while VBE is on (guest CRTC/GR writes are overridden, as QEMU)', () => {
    const { io } = rig();
    out8(io, 0x3c2, 0x67);
    vbeMode(io, 640, 480, 24);
    out8(io, 0x3d4, 0x11); out8(io, 0x3d5, 0x00);
    out8(io, 0x3d4, 0x13); out8(io, 0x3d5, 0x50);
    expect(in8(io, 0x3d5)).toBe((640 * 3) >> 3 & 0xff);
    out8(io, 0x3d4, 0x09); out8(io, 0x3d5, 0x00);
    expect(in8(io, 0x3d5)).toBe(0x40);
    out8(io, 0x3ce, 6); out8(io, 0x3cf, 0x0e);
    expect(in8(io, 0x3cf)).toBe(0x07);
    dispi(io, 4, 0);
    out8(io, 0x3d4, 0x13); out8(io, 0x3d5, 0x50);
    expect(in8(io, 0x3d5)).toBe(0x50);
  });

  it('maps the 0xA0000 window directly in chain-4 modes when VRAM lives in guest memory', () => {
    const io = new IoBus(), mem = new MemoryBus(1 << 20, 32 << 20);
    const off = mem.allocRom(16 << 20);
    const vga = new Vga({ vram: mem.mem.subarray(off, off + (16 << 20)) });
    vga.attach(io, mem);
    const r = new VgaRenderer(vga);
    expect(mem.describe(0xa0000)).toBe('vga-lowmem');
    setMode(io, MODES['13']!);
    loadDac(io, (i) => [i & 0x3f, 0, 0]);
    expect(mem.describe(0xa0000)).toBe('rom'); // direct
    r.update();
    mem.write8(0xa0000 + 320 * 10 + 7, 9);
    expect(vga.vram[320 * 10 + 7]).toBe(9);
    expect(r.update()).toBe(true); // found through the shadow comparison
    expect(pixel(r, 14, 20)).toEqual([c8(9), 0, 0]);
    out8(io, 0x3c4, 2); out8(io, 0x3c5, 0x01); // one plane only: back to the handlers
    expect(mem.describe(0xa0000)).toBe('vga-lowmem');
    mem.write8(0xa0001, 5); // plane 1 is masked off
    expect(vga.vram[1]).toBe(0);
    out8(io, 0x3c5, 0x0f);
    vbeMode(io, 640, 480, 8);
    dispi(io, 5, 2);
    mem.write8(0xa0010, 0x77);
    expect(vga.vram[2 * 65536 + 0x10]).toBe(0x77);
    expect(mem.describe(0xa0000)).toBe('rom');
    expect(mem.read8(0xb0000)).toBe(0xff); // outside the 64 KiB bank window
    setMode(io, MODES['03']!);
    dispi(io, 4, 0);
    expect(mem.describe(0xb8000)).toBe('vga-lowmem');
  });
});
