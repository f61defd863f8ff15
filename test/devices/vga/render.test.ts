import { describe, expect, it } from 'vitest';
import { getTextScreen } from '../../../src/devices/vga/text.js';
import { c8, egaColor, in8, loadDac, loadFont, MODES, out8, pixel, rig, setMode } from './helpers.js';

const glyph = (ch: number, row: number): number => (ch * 7 + row * 37 + 1) & 0xff;
const ega = (i: number): [number, number, number] => egaColor(i).map(c8) as [number, number, number];

function textRig() {
  const t = rig();
  setMode(t.io, MODES['03']!);
  loadDac(t.io, egaColor);
  loadFont(t.io, t.mem, 16, glyph);
  // park the cursor on the last cell (1999) so it does not cover the cells under test
  out8(t.io, 0x3d4, 0x0e); out8(t.io, 0x3d5, 1999 >> 8);
  out8(t.io, 0x3d4, 0x0f); out8(t.io, 0x3d5, 1999 & 0xff);
  return t;
}

describe('text mode rendering', () => {
  it('draws 80x25 cells of 9x16 dots from the plane 2 font with attribute colours', () => {
    const { mem, r } = textRig();
    mem.write8(0xb8000, 0x48); mem.write8(0xb8001, 0x1e); // 'H' yellow on blue
    mem.write8(0xb8002 + 160, 0x69); mem.write8(0xb8003 + 160, 0x4f); // row 1 col 1: 'i' white on red
    r.update();
    expect([r.width, r.height]).toEqual([720, 400]);
    const yellow = ega(0x3e), blue = ega(0x01), white = ega(0x3f), red = ega(0x04);
    for (let line = 0; line < 16; line++) {
      const g = glyph(0x48, line);
      for (let d = 0; d < 8; d++) expect(pixel(r, d, line)).toEqual((g >> (7 - d)) & 1 ? yellow : blue);
      expect(pixel(r, 8, line)).toEqual(blue); // ninth dot is background for ordinary characters
      const g2 = glyph(0x69, line);
      for (let d = 0; d < 8; d++) expect(pixel(r, 9 + d, 16 + line)).toEqual((g2 >> (7 - d)) & 1 ? white : red);
    }
  });

  it('repeats the eighth dot in the ninth column for line-drawing characters C0-DF only', () => {
    const { mem, r } = textRig();
    mem.write8(0xb8000, 0xc4); mem.write8(0xb8001, 0x07);
    mem.write8(0xb8002, 0xb3); mem.write8(0xb8003, 0x07);
    r.update();
    for (let line = 0; line < 16; line++) {
      expect(pixel(r, 8, line)).toEqual(glyph(0xc4, line) & 1 ? ega(0x07) : ega(0));
      expect(pixel(r, 17, line)).toEqual(ega(0));
    }
  });

  it('shows the cursor on its scan lines and blinks it every 8 frames; attribute bit 7 blinks text every 16', () => {
    const { io, mem, r, clock } = textRig();
    mem.write8(0xb8000 + 2 * 85, 0x20); mem.write8(0xb8001 + 2 * 85, 0x07); // row 1, col 5: space
    mem.write8(0xb8000, 0xdb); mem.write8(0xb8001, 0x8e); // full block, blinking yellow on black
    loadFont(io, mem, 16, (ch, row) => (ch === 0xdb ? 0xff : ch === 0x20 ? 0 : glyph(ch, row)));
    out8(io, 0x3d4, 0x0e); out8(io, 0x3d5, 0);
    out8(io, 0x3d4, 0x0f); out8(io, 0x3d5, 85);
    r.update();
    const cx = 5 * 9, cy = 16;
    expect(pixel(r, cx, cy + 12)).toEqual(ega(0)); // the mode 3 cursor covers lines 0Dh-0Eh
    expect(pixel(r, cx, cy + 13)).toEqual(ega(0x07));
    expect(pixel(r, cx + 8, cy + 14)).toEqual(ega(0x07));
    expect(pixel(r, cx, cy + 15)).toEqual(ega(0));
    expect(pixel(r, 3, 3)).toEqual(ega(0x3e));
    const frame = (100 * 9 * 1e9) / 28_322_000 * 449;
    clock.advanceTo(8.5 * frame);
    expect(r.update()).toBe(true);
    expect(pixel(r, cx, cy + 14)).toEqual(ega(0)); // cursor off
    expect(pixel(r, 3, 3)).toEqual(ega(0x3e)); // text still on
    clock.advanceTo(16.5 * frame);
    r.update();
    expect(pixel(r, cx, cy + 14)).toEqual(ega(0x07));
    expect(pixel(r, 3, 3)).toEqual(ega(0)); // blinking text off
    // with blinking disabled (AR10 bit 3 = 0) bit 7 selects a bright background instead
    in8(io, 0x3da); out8(io, 0x3c0, 0x30); out8(io, 0x3c0, 0x04);
    loadFont(io, mem, 16, () => 0);
    r.update();
    expect(pixel(r, 3, 3)).toEqual(ega(0x38));
  });

  it('uses the cell height of CR9 and the rows of the vertical display end (80x50 with an 8-line font)', () => {
    const { io, mem, r } = textRig();
    out8(io, 0x3d4, 0x09); out8(io, 0x3d5, 0x47);
    loadFont(io, mem, 8, glyph);
    mem.write8(0xb8000 + 49 * 160, 0x41); mem.write8(0xb8001 + 49 * 160, 0x0f);
    r.update();
    expect([r.width, r.height]).toEqual([720, 400]);
    const t = getTextScreen(r['vga' as never]);
    expect([t.cols, t.rows]).toEqual([80, 50]);
    expect(t.chars[49]!.startsWith('A')).toBe(true);
    for (let d = 0; d < 8; d++) expect(pixel(r, d, 49 * 8 + 3)).toEqual((glyph(0x41, 3) >> (7 - d)) & 1 ? ega(0x3f) : ega(0));
  });

  it('doubles dots in 40-column modes (dot clock / 2)', () => {
    const { io, mem, r } = textRig();
    out8(io, 0x3c4, 1); out8(io, 0x3c5, 0x08);
    out8(io, 0x3d4, 0x11); out8(io, 0x3d5, 0x0e); // unprotect CR0-7
    out8(io, 0x3d4, 0x01); out8(io, 0x3d5, 0x27);
    out8(io, 0x3d4, 0x13); out8(io, 0x3d5, 0x14);
    mem.write8(0xb8002, 0x42); mem.write8(0xb8003, 0x0a);
    r.update();
    expect([r.width, r.height]).toEqual([720, 400]);
    const g = glyph(0x42, 2);
    for (let d = 0; d < 8; d++) {
      const want = (g >> (7 - d)) & 1 ? ega(0x3a) : ega(0);
      expect(pixel(r, 18 + 2 * d, 2)).toEqual(want);
      expect(pixel(r, 18 + 2 * d + 1, 2)).toEqual(want);
    }
  });

  it('getTextScreen returns the characters as Unicode (code page 437), attributes and the cursor', () => {
    const { io, mem, vga } = textRig();
    const s = [0x48, 0x69, 0x20, 0xc4, 0xdb, 0x01, 0x82];
    s.forEach((c, i) => { mem.write8(0xb8000 + 160 * 2 + 2 * i, c); mem.write8(0xb8001 + 160 * 2 + 2 * i, 0x17); });
    out8(io, 0x3d4, 0x0e); out8(io, 0x3d5, 0);
    out8(io, 0x3d4, 0x0f); out8(io, 0x3d5, 162);
    const t = getTextScreen(vga);
    expect([t.cols, t.rows]).toEqual([80, 25]);
    expect(t.chars[2]!.slice(0, 7)).toBe('Hi ─█☺é');
    expect(t.chars[2]!.length).toBe(80);
    expect(t.attrs[160]).toBe(0x17);
    expect(t.cursor).toEqual({ col: 2, row: 2 });
    setMode(io, MODES['13']!);
    expect(getTextScreen(vga).rows).toBe(0);
  });

  it('follows the start address (CR0C/CR0D) for page flipping', () => {
    const { io, mem, vga } = textRig();
    mem.write8(0xb8000 + 0x1000, 0x50);
    out8(io, 0x3d4, 0x0c); out8(io, 0x3d5, 0x08); out8(io, 0x3d4, 0x0d); out8(io, 0x3d5, 0x00);
    expect(getTextScreen(vga).chars[0]![0]).toBe('P');
  });
});

describe('graphics mode rendering', () => {
  it('mode 13h: chain-4 256 colours, each pixel shown as 2x2 dots (640x400)', () => {
    const { io, mem, r } = rig();
    setMode(io, MODES['13']!);
    loadDac(io, (i) => [i & 0x3f, (i >> 2) & 0x3f, (255 - i) & 0x3f]);
    for (let y = 0; y < 200; y++) for (let x = 0; x < 320; x++) mem.write8(0xa0000 + y * 320 + x, (x + 3 * y) & 0xff);
    r.update();
    expect([r.width, r.height]).toEqual([640, 400]);
    for (const [x, y] of [[0, 0], [1, 0], [319, 199], [100, 50], [17, 133]] as const) {
      const i = (x + 3 * y) & 0xff;
      const want = [c8(i & 0x3f), c8((i >> 2) & 0x3f), c8((255 - i) & 0x3f)];
      for (const [dx, dy] of [[0, 0], [1, 0], [0, 1], [1, 1]]) expect(pixel(r, 2 * x + dx!, 2 * y + dy!)).toEqual(want);
    }
  });

  it('mode X (unchained 256 colours): pixel x lives in plane x&3 at offset x/4', () => {
    const { io, mem, r } = rig();
    setMode(io, MODES['13']!);
    out8(io, 0x3c4, 4); out8(io, 0x3c5, 0x06);
    out8(io, 0x3d4, 0x14); out8(io, 0x3d5, 0x00);
    out8(io, 0x3d4, 0x17); out8(io, 0x3d5, 0xe3);
    loadDac(io, (i) => [i & 0x3f, 0, 0]);
    for (let p = 0; p < 4; p++) {
      out8(io, 0x3c4, 2); out8(io, 0x3c5, 1 << p);
      for (let o = 0; o < 80 * 200; o++) mem.write8(0xa0000 + o, (o * 4 + p) & 0x3f);
    }
    r.update();
    expect([r.width, r.height]).toEqual([640, 400]);
    for (const x of [0, 1, 2, 3, 4, 77, 319]) {
      const y = 10;
      expect(pixel(r, 2 * x, 2 * y)).toEqual([c8(((y * 80 + (x >> 2)) * 4 + (x & 3)) & 0x3f), 0, 0]);
    }
  });

  it('mode 12h: planar 16 colours through the attribute palette', () => {
    const { io, mem, r } = rig();
    setMode(io, MODES['12']!);
    loadDac(io, egaColor);
    out8(io, 0x3ce, 5); out8(io, 0x3cf, 0x02); // write mode 2
    for (let x = 0; x < 80; x++) mem.write8(0xa0000 + 80 * 100 + x, x & 0x0f);
    out8(io, 0x3ce, 8); out8(io, 0x3cf, 0x0f);
    mem.read8(0xa0000 + 80 * 101); mem.write8(0xa0000 + 80 * 101, 0x06);
    r.update();
    expect([r.width, r.height]).toEqual([640, 480]);
    const attr = MODES['12']!.attr;
    for (let x = 0; x < 80; x++) for (const d of [0, 7]) expect(pixel(r, x * 8 + d, 100)).toEqual(ega(attr[x & 15]!));
    expect(pixel(r, 3, 101)).toEqual(ega(0));
    expect(pixel(r, 4, 101)).toEqual(ega(0x14)); // colour 6 -> AR6 = 14h (brown)
    // colour plane enable masks planes off
    in8(io, 0x3da); out8(io, 0x3c0, 0x32); out8(io, 0x3c0, 0x02);
    r.update();
    expect(pixel(r, 4, 101)).toEqual(ega(attr[2]!));
  });

  it('mode 0Dh: 320x200 16 colours shown as 640x400', () => {
    const { io, mem, r } = rig();
    setMode(io, MODES['0d']!);
    loadDac(io, egaColor);
    out8(io, 0x3ce, 5); out8(io, 0x3cf, 0x02);
    out8(io, 0x3ce, 8); out8(io, 0x3cf, 0x80);
    mem.read8(0xa0000 + 40 * 7 + 1); mem.write8(0xa0000 + 40 * 7 + 1, 0x0c); // pixel (8, 7) colour 12
    r.update();
    expect([r.width, r.height]).toEqual([640, 400]);
    for (const [dx, dy] of [[0, 0], [1, 1]]) expect(pixel(r, 16 + dx!, 14 + dy!)).toEqual(ega(MODES['0d']!.attr[12]!));
    expect(pixel(r, 18, 14)).toEqual(ega(0));
  });

  it('mode 4: CGA 4 colours, even lines at B8000 and odd lines at BA000', () => {
    const { io, mem, r } = rig();
    setMode(io, MODES['04']!);
    loadDac(io, egaColor);
    mem.write8(0xb8000, 0b00011011); // line 0: colours 0,1,2,3
    mem.write8(0xb8001, 0b11000000); // line 0: pixel 4 colour 3
    mem.write8(0xba000, 0b10101010); // line 1: colour 2 x4
    mem.write8(0xb8000 + 80, 0b01000000); // line 2: pixel 0 colour 1
    r.update();
    expect([r.width, r.height]).toEqual([640, 400]);
    const a = MODES['04']!.attr;
    const col = (line: number, px: number) => pixel(r, px * 2, line * 2);
    expect([0, 1, 2, 3, 4].map((p) => col(0, p))).toEqual([a[0], a[1], a[2], a[3], a[3]].map((v) => ega(v!)));
    expect(col(1, 0)).toEqual(ega(a[2]!));
    expect(col(2, 0)).toEqual(ega(a[1]!));
    expect(pixel(r, 1, 1)).toEqual(col(0, 0)); // each CGA pixel is 2x2 dots
  });

  it('mode 6: 640x200 2 colours from plane 0, odd lines in the second 8 KiB bank', () => {
    const { io, mem, r } = rig();
    setMode(io, MODES['06']!);
    loadDac(io, egaColor);
    mem.write8(0xb8000, 0x80);
    mem.write8(0xba000, 0x40);
    mem.write8(0xb8000 + 80 * 99, 0x01); // line 198
    r.update();
    expect([r.width, r.height]).toEqual([640, 400]);
    const on = ega(0x17), off = ega(0);
    expect(pixel(r, 0, 0)).toEqual(on);
    expect(pixel(r, 0, 1)).toEqual(on);
    expect(pixel(r, 1, 0)).toEqual(off);
    expect(pixel(r, 1, 2)).toEqual(on);
    expect(pixel(r, 0, 2)).toEqual(off);
    expect(pixel(r, 7, 396)).toEqual(on);
  });

  it('splits the screen at the line compare scan line', () => {
    const { io, mem, r } = rig();
    setMode(io, MODES['13']!);
    loadDac(io, (i) => [i & 0x3f, 0, 0]);
    for (let i = 0; i < 64000; i++) mem.write8(0xa0000 + i, (i / 320) & 0x3f);
    out8(io, 0x3d4, 0x0c); out8(io, 0x3d5, (80 * 20) >> 8); out8(io, 0x3d4, 0x0d); out8(io, 0x3d5, (80 * 20) & 0xff);
    out8(io, 0x3d4, 0x18); out8(io, 0x3d5, 99);
    out8(io, 0x3d4, 0x07); out8(io, 0x3d5, 0x0f); // line compare bit 8 (writable despite CR11 protection)
    expect(in8(io, 0x3d5)).toBe(0x0f);
    out8(io, 0x3d4, 0x09); out8(io, 0x3d5, 0x01); // line compare bit 9
    r.update();
    expect(pixel(r, 0, 0)).toEqual([c8(20), 0, 0]); // start address moved 20 rows down
    expect(pixel(r, 0, 99)).toEqual([c8((20 + 49) & 0x3f), 0, 0]);
    expect(pixel(r, 0, 100)).toEqual([c8(0), 0, 0]); // after line 99 the display restarts at 0
  });

  it('is black while the attribute controller has palette address source = 0', () => {
    const { io, mem, r } = rig();
    setMode(io, MODES['13']!);
    loadDac(io, () => [63, 63, 63]);
    mem.write8(0xa0000, 1);
    r.update();
    expect(pixel(r, 0, 0)).toEqual([255, 255, 255]);
    in8(io, 0x3da); out8(io, 0x3c0, 0x00);
    r.update();
    expect(pixel(r, 0, 0)).toEqual([0, 0, 0]);
  });
});

describe('smooth scrolling', () => {
  it('pel panning shifts 16-colour modes by pixels (mode 0Dh: one pixel = 2 dots)', () => {
    const { io, mem, r } = rig();
    setMode(io, MODES['0d']!);
    loadDac(io, egaColor);
    out8(io, 0x3ce, 5); out8(io, 0x3cf, 0x02);
    out8(io, 0x3ce, 8); out8(io, 0x3cf, 0x01);
    mem.read8(0xa0000); mem.write8(0xa0000, 0x0f); // pixel 7 of line 0
    in8(io, 0x3da); out8(io, 0x3c0, 0x33); out8(io, 0x3c0, 3);
    r.update();
    expect(pixel(r, 2 * 4, 0)).toEqual(ega(MODES['0d']!.attr[15]!)); // pixel 7 now shown at x = 4
    expect(pixel(r, 2 * 7, 0)).toEqual(ega(0));
  });

  it('pel panning in 256-colour mode moves by AR13/2 pixels', () => {
    const { io, mem, r } = rig();
    setMode(io, MODES['13']!);
    loadDac(io, (i) => [i & 0x3f, 0, 0]);
    for (let x = 0; x < 8; x++) mem.write8(0xa0000 + x, x + 1);
    in8(io, 0x3da); out8(io, 0x3c0, 0x33); out8(io, 0x3c0, 4);
    r.update();
    expect(pixel(r, 0, 0)).toEqual([c8(3), 0, 0]); // shifted by two pixels
    expect(pixel(r, 2 * 5, 0)).toEqual([c8(8), 0, 0]);
  });

  it('9-dot text pans by AR13+1 dots (8 = none); preset row scan starts rows at a later glyph line', () => {
    const { io, mem, r } = textRig();
    mem.write8(0xb8000, 0x41); mem.write8(0xb8001, 0x0f);
    mem.write8(0xb8002, 0x42); mem.write8(0xb8003, 0x0f);
    r.update();
    const before = [0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10].map((x) => pixel(r, x, 5));
    in8(io, 0x3da); out8(io, 0x3c0, 0x33); out8(io, 0x3c0, 1); // 2 dots
    r.update();
    expect([0, 1, 2, 3, 4, 5, 6, 7, 8].map((x) => pixel(r, x, 5))).toEqual(before.slice(2));
    in8(io, 0x3da); out8(io, 0x3c0, 0x33); out8(io, 0x3c0, 8);
    out8(io, 0x3d4, 0x08); out8(io, 0x3d5, 3);
    r.update();
    const g = glyph(0x41, 3 + 5);
    for (let d = 0; d < 8; d++) expect(pixel(r, d, 5)).toEqual((g >> (7 - d)) & 1 ? ega(0x3f) : ega(0));
  });
});

describe('dirty tracking', () => {
  it('redraws only scan lines whose memory changed, and everything after a palette change', () => {
    const { io, mem, r } = rig();
    setMode(io, MODES['13']!);
    loadDac(io, (i) => [i & 0x3f, 0, 0]);
    expect(r.update()).toBe(true);
    expect(r.update()).toBe(false);
    mem.write8(0xa0000 + 320 * 50 + 10, 5); // row 50 -> page 3 (bytes 12288-16383 = rows 38.4..51.2)
    expect(r.update()).toBe(true);
    const lines = [...r.dirty].flatMap((d, y) => (d ? [y] : []));
    expect(lines[0]).toBe(76); // row 38 (page 3 starts inside it) at 2 scan lines per row
    expect(lines.at(-1)).toBe(103); // row 51
    expect(pixel(r, 20, 100)).toEqual([c8(5), 0, 0]);
    out8(io, 0x3c8, 7); out8(io, 0x3c9, 1); out8(io, 0x3c9, 2); out8(io, 0x3c9, 3);
    expect(r.update()).toBe(true);
    expect(r.dirty.every((d) => d === 1)).toBe(true);
  });
});
