import { describe, expect, it } from 'vitest';
import { in8, out8, rig, MODES, setMode } from './helpers.js';

const gr = (io: Parameters<typeof out8>[0], i: number, v: number): void => { out8(io, 0x3ce, i); out8(io, 0x3cf, v); };
const sr = (io: Parameters<typeof out8>[0], i: number, v: number): void => { out8(io, 0x3c4, i); out8(io, 0x3c5, v); };

/** Planar mode 12h-like access: A0000 64K, no chain, no odd/even. */
function planar() {
  const t = rig();
  setMode(t.io, MODES['12']!);
  return t;
}

describe('VGA registers', () => {
  it('reads back misc output at 0x3CC and decodes CRTC at 0x3Dx or 0x3Bx by the I/O select bit', () => {
    const { io } = rig();
    out8(io, 0x3c2, 0x67);
    expect(in8(io, 0x3cc)).toBe(0x67);
    out8(io, 0x3d4, 0x0e); out8(io, 0x3d5, 0x12);
    expect(in8(io, 0x3d5)).toBe(0x12);
    expect(in8(io, 0x3b5)).toBe(0xff); // mono block is off in colour mode
    out8(io, 0x3c2, 0x66);
    expect(in8(io, 0x3b5)).toBe(0x12);
    expect(in8(io, 0x3d5)).toBe(0xff);
  });

  it('write-protects CR0-CR7 with CR11 bit 7, except the line compare bit in CR7', () => {
    const { io } = rig();
    out8(io, 0x3c2, 0x01);
    out8(io, 0x3d4, 0x11); out8(io, 0x3d5, 0x80);
    out8(io, 0x3d4, 0x00); out8(io, 0x3d5, 0x5f);
    expect(in8(io, 0x3d5)).toBe(0x00);
    out8(io, 0x3d4, 0x07); out8(io, 0x3d5, 0xff);
    expect(in8(io, 0x3d5)).toBe(0x10);
    out8(io, 0x3d4, 0x09); out8(io, 0x3d5, 0x4f); // CR8+ unaffected
    expect(in8(io, 0x3d5)).toBe(0x4f);
    out8(io, 0x3d4, 0x11); out8(io, 0x3d5, 0x00);
    out8(io, 0x3d4, 0x00); out8(io, 0x3d5, 0x5f);
    expect(in8(io, 0x3d5)).toBe(0x5f);
  });

  it('attribute controller: 0x3C0 alternates index/data, reading input status 1 resets the flip-flop', () => {
    const { io, vga } = rig();
    out8(io, 0x3c2, 0x01);
    in8(io, 0x3da);
    out8(io, 0x3c0, 0x05); out8(io, 0x3c0, 0x2a);
    out8(io, 0x3c0, 0x10); // index again
    expect(in8(io, 0x3c0)).toBe(0x10);
    out8(io, 0x3c0, 0x05); // this one is data for index 0x10
    expect(vga.attr[0x10]).toBe(0x05);
    in8(io, 0x3da); // reset: next write is an index
    out8(io, 0x3c0, 0x25); // index 5 with PAS
    expect(in8(io, 0x3c1)).toBe(0x2a);
    expect(in8(io, 0x3c0)).toBe(0x25);
    expect(vga.attrIndex & 0x20).toBe(0x20);
  });

  it('DAC: auto-incrementing write and read indexes, three 6-bit components per entry, state at 0x3C7', () => {
    const { io, vga } = rig();
    out8(io, 0x3c8, 0xfe);
    expect(in8(io, 0x3c7)).toBe(0);
    for (const v of [0x3f, 0x40 | 0x15, 0x2a, 1, 2, 3]) out8(io, 0x3c9, v);
    expect(in8(io, 0x3c8)).toBe(0x00); // wrapped past 0xFF
    expect(Array.from(vga.palette.subarray(0xfe * 3, 0xfe * 3 + 6))).toEqual([0x3f, 0x15, 0x2a, 1, 2, 3]);
    out8(io, 0x3c7, 0xfe);
    expect(in8(io, 0x3c7)).toBe(3);
    const got = Array.from({ length: 6 }, () => in8(io, 0x3c9));
    expect(got).toEqual([0x3f, 0x15, 0x2a, 1, 2, 3]);
    out8(io, 0x3c6, 0x0f);
    expect(in8(io, 0x3c6)).toBe(0x0f);
  });

  it('claims only the ports a VGA decodes, leaving 0x3B0-0x3B3, 0x3BC and 0x3D0-0x3D3 to others', () => {
    const { io } = rig();
    for (const p of [0x3b4, 0x3b5, 0x3ba, 0x3c0, 0x3cf, 0x3d4, 0x3d5, 0x3da, 0x1ce, 0x1cf]) expect(io.ownerName(p)).toBe('vga');
    for (const p of [0x3b0, 0x3b3, 0x3bc, 0x3be, 0x3d0, 0x3d8, 0x3db, 0x3df]) expect(io.ownerName(p)).toBe('');
  });

  it('feature control is written at 0x3DA and read at 0x3CA', () => {
    const { io } = rig();
    out8(io, 0x3c2, 0x01);
    out8(io, 0x3da, 0x10);
    expect(in8(io, 0x3ca)).toBe(0x10);
  });

  it('input status 1 follows the CRT timing of mode 3: 70.09 Hz frames with a 2-line vertical retrace', () => {
    const { io, clock } = rig();
    setMode(io, MODES['03']!);
    // Mode 3: 100 chars x 9 dots at 28.322 MHz per line, 449 lines per frame; retrace from line 412 to 414.
    const lineNs = (100 * 9 * 1e9) / 28_322_000;
    const frame = lineNs * 449;
    const rises: number[] = [];
    let prev = in8(io, 0x3da) & 8;
    const step = 2000; // 2 us
    for (let t = 0; t < 3 * frame; t += step) {
      clock.advanceTo(t);
      const v = in8(io, 0x3da);
      if ((v & 8) !== 0 && prev === 0) rises.push(t);
      prev = v & 8;
    }
    expect(rises.length).toBe(3);
    expect(Math.abs(rises[1]! - rises[0]! - frame)).toBeLessThanOrEqual(step);
    expect(Math.abs(rises[0]! - 412 * lineNs)).toBeLessThanOrEqual(step);
    // during retrace the display-disabled bit is set too; in the middle of a visible line it is clear
    clock.advanceTo(4 * frame + 413 * lineNs);
    expect(in8(io, 0x3da) & 9).toBe(9);
    clock.advanceTo(5 * frame + 100 * lineNs + lineNs * 0.3);
    expect(in8(io, 0x3da) & 9).toBe(0);
  });
});

describe('VGA memory access', () => {
  it('write mode 0 with set/reset, bit mask and latches', () => {
    const { io, mem, vga } = planar();
    mem.write8(0xa0000, 0xff); // all planes 0xFF (map mask 0x0F, no set/reset)
    gr(io, 1, 0x0f); gr(io, 0, 0x05); gr(io, 8, 0xf0);
    mem.read8(0xa0000); // load latches
    mem.write8(0xa0000, 0x00);
    // planes 0 and 2 are set, 1 and 3 reset, only in bits 7-4; bits 3-0 come from the latch (0xFF)
    expect(vga.vram32[0]).toBe(0x0fff0fff);
  });

  it('rotate and the AND/OR/XOR functions combine with the latches', () => {
    const { io, mem, vga } = planar();
    mem.write8(0xa0001, 0x0f);
    gr(io, 3, (3 << 3) | 4); // XOR, rotate right by 4
    mem.read8(0xa0001);
    mem.write8(0xa0001, 0x0f); // rotated: 0xF0, XOR 0x0F -> 0xFF
    expect(vga.vram32[1]).toBe(0xffffffff);
    gr(io, 3, 1 << 3); // AND, no rotate
    mem.read8(0xa0001);
    mem.write8(0xa0001, 0x3c);
    expect(vga.vram32[1]).toBe(0x3c3c3c3c);
    gr(io, 3, 2 << 3); // OR
    mem.read8(0xa0001);
    mem.write8(0xa0001, 0x81);
    expect(vga.vram32[1]).toBe(0xbdbdbdbd);
  });

  it('write mode 1 copies the latches (screen-to-screen copy)', () => {
    const { io, mem, vga } = planar();
    vga.vram32[10] = 0x11223344;
    gr(io, 5, 0x01);
    mem.read8(0xa000a);
    mem.write8(0xa0020, 0x00);
    expect(vga.vram32[0x20]).toBe(0x11223344);
  });

  it('write mode 2 spreads a colour over the planes under the bit mask', () => {
    const { io, mem, vga } = planar();
    gr(io, 5, 0x02); gr(io, 8, 0x81);
    mem.read8(0xa0002);
    mem.write8(0xa0002, 0x0a); // planes 1 and 3
    expect(vga.vram32[2]).toBe(0x81008100);
  });

  it('write mode 3 uses the rotated data ANDed with the bit mask and the set/reset colour', () => {
    const { io, mem, vga } = planar();
    gr(io, 5, 0x03); gr(io, 0, 0x0c); gr(io, 8, 0xf0);
    mem.read8(0xa0003);
    mem.write8(0xa0003, 0x3c); // effective mask 0x30
    expect(vga.vram32[3]).toBe(0x30300000);
  });

  it('map mask limits the planes written', () => {
    const { io, mem, vga } = planar();
    sr(io, 2, 0x06);
    mem.write8(0xa0004, 0xa5);
    expect(vga.vram32[4]).toBe(0x00a5a500);
  });

  it('read mode 0 reads the plane selected by GR4; read mode 1 compares colours', () => {
    const { io, mem, vga } = planar();
    vga.vram32[5] = 0x0f33cc0f >>> 0; // plane0=0F, plane1=CC, plane2=33, plane3=0F
    gr(io, 4, 1);
    expect(mem.read8(0xa0005)).toBe(0xcc);
    gr(io, 4, 2);
    expect(mem.read8(0xa0005)).toBe(0x33);
    gr(io, 5, 0x08); gr(io, 7, 0x0f);
    // colour 0b1001 (planes 0 and 3 set, 1 and 2 clear): bits where p0=1,p1=0,p2=0,p3=1
    gr(io, 2, 0x09);
    expect(mem.read8(0xa0005)).toBe(0x0f & ~0xcc & ~0x33 & 0x0f);
    gr(io, 7, 0x01); // only plane 0 matters
    expect(mem.read8(0xa0005)).toBe(0x0f);
  });

  it('chain-4 maps each byte to plane (addr & 3) and makes mode 13h memory linear', () => {
    const { io, mem, vga } = rig();
    setMode(io, MODES['13']!);
    for (let i = 0; i < 8; i++) mem.write8(0xa0000 + i, 0x10 + i);
    expect(vga.vram32[0]).toBe(0x13121110);
    expect(vga.vram32[1]).toBe(0x17161514);
    expect(mem.read8(0xa0006)).toBe(0x16);
    expect(mem.read32(0xa0004)).toBe(0x17161514);
  });

  it('odd/even: even bytes go to plane 0, odd to plane 1, at plane offset addr/2; the font plane is untouched', () => {
    const { io, mem, vga } = rig();
    setMode(io, MODES['03']!);
    vga.vram[2] = 0x77; // plane 2 byte of offset 0
    mem.write16(0xb8000, 0x1f41);
    mem.write16(0xb8002, 0x2e42);
    expect(Array.from(vga.vram.subarray(0, 8))).toEqual([0x41, 0x1f, 0x77, 0, 0x42, 0x2e, 0, 0]);
    expect(mem.read16(0xb8002)).toBe(0x2e42);
  });

  it('memory map select hides the parts of 0xA0000-0xBFFFF outside the chosen window', () => {
    const { io, mem, vga } = rig();
    setMode(io, MODES['03']!); // B8000, 32 KiB
    expect(mem.read8(0xa0000)).toBe(0xff);
    expect(mem.read8(0xb0000)).toBe(0xff);
    mem.write8(0xb8000, 0x55);
    expect(mem.read8(0xb8000)).toBe(0x55);
    gr(io, 6, 0x0a); // B0000, 32 KiB, odd/even
    expect(mem.read8(0xb0000)).toBe(0x55);
    expect(mem.read8(0xb8000)).toBe(0xff);
    gr(io, 6, 0x02); // A0000, 128 KiB
    expect(mem.read8(0xa0000)).toBe(0x55);
    mem.write8(0xb0000, 0x66); // offset 0x10000 of the window: plane 0, plane offset 0x8000
    expect(vga.vram[0x8000 * 4]).toBe(0x66);
    expect(mem.read8(0xb0000)).toBe(0x66);
  });

  it('marks written VRAM pages dirty', () => {
    const { io, mem, vga } = rig();
    setMode(io, MODES['13']!);
    vga.dirtyPages.fill(0);
    mem.write8(0xa0000 + 5000, 1);
    expect(Array.from(vga.dirtyPages.subarray(0, 3))).toEqual([0, 1, 0]);
  });
});
