/**
 * Text mode geometry and the text-buffer view of the screen.
 *
 * In the interleaved VRAM layout (see vga.ts) character cell n of a text
 * page is the 32-bit word at plane offset start+n: byte 0 (plane 0) is the
 * character code, byte 1 (plane 1) the attribute. The font lives in plane 2:
 * glyph c of character map m at plane offset mapBase(m) + 32*c.
 */
import type { Vga } from './vga.js';

/** Mask of VRAM byte addresses reachable by the classic (non-VBE) CRTC: 256 KiB. */
export const PLANAR_MASK = 0x3ffff;

export interface TextLayout {
  cols: number;
  rows: number;
  /** Scan lines per character row (Maximum Scan Line + 1). */
  cheight: number;
  /** Dots per character: 8 or 9. */
  cwidth: number;
  /** 2 when the dot clock is halved (40-column modes), else 1. */
  hscale: number;
  /** 2 when every scan line is shown twice (CR9 bit 7), else 1. */
  vscale: number;
  /** VRAM byte address of the first cell. */
  start: number;
  /** VRAM bytes between character rows. */
  lineOffset: number;
  /** Scan line after which the display restarts at address 0. */
  lineCompare: number;
  /** VRAM byte offsets of plane-2 glyph tables for attribute bit 3 = 0 and = 1. */
  fontA: number;
  fontB: number;
}

export function startAddress(vga: Vga): number {
  return ((vga.crt[0x0c]! << 8) | vga.crt[0x0d]!) << 2;
}

export function lineCompare(vga: Vga): number {
  const cr = vga.crt;
  return cr[0x18]! | ((cr[0x07]! & 0x10) << 4) | ((cr[0x09]! & 0x40) << 3);
}

export function verticalDisplay(vga: Vga): number {
  const cr = vga.crt;
  return (cr[0x12]! | ((cr[0x07]! & 0x02) << 7) | ((cr[0x07]! & 0x40) << 3)) + 1;
}

/** Character map number (0-7) -> VRAM byte offset of its glyphs in plane 2. */
function fontBase(map: number): number {
  return (((map & 3) << 14) | ((map & 4) << 11)) * 4 + 2;
}

export function textLayout(vga: Vga): TextLayout {
  const cr = vga.crt, sr1 = vga.sr1, sr3 = vga.seq[3]!;
  const cheight = (cr[0x09]! & 0x1f) + 1;
  const vscale = (cr[0x09]! & 0x80) !== 0 ? 2 : 1;
  const rows = Math.floor(verticalDisplay(vga) / (cheight * vscale));
  return {
    cols: cr[0x01]! + 1,
    rows,
    cheight,
    cwidth: (sr1 & 1) !== 0 ? 8 : 9,
    hscale: (sr1 & 8) !== 0 ? 2 : 1,
    vscale,
    start: startAddress(vga),
    lineOffset: cr[0x13]! << 3,
    lineCompare: lineCompare(vga),
    // Map B (SR3 bits 4,1,0) serves attribute bit 3 = 0, map A (bits 5,3,2) bit 3 = 1.
    fontA: fontBase(((sr3 >> 4) & 1) << 2 | (sr3 & 3)),
    fontB: fontBase(((sr3 >> 5) & 1) << 2 | ((sr3 >> 2) & 3)),
  };
}

/** True when the VGA is showing a text mode. */
export function inTextMode(vga: Vga): boolean {
  return !vga.vbeEnabled && (vga.gfx[6]! & 1) === 0;
}

/** Code page 437 as Unicode, for showing screen text on a terminal. */
export const CP437: readonly string[] = Array.from(
  ' ☺☻♥♦♣♠•◘○◙♂♀♪♫☼►◄↕‼¶§▬↨↑↓→←∟↔▲▼' +
  ' !"#$%&\'()*+,-./0123456789:;<=>?@ABCDEFGHIJKLMNOPQRSTUVWXYZ[\\]^_`abcdefghijklmnopqrstuvwxyz{|}~⌂' +
  'ÇüéâäàåçêëèïîìÄÅÉæÆôöòûùÿÖÜ¢£¥₧ƒáíóúñÑªº¿⌐¬½¼¡«»' +
  '░▒▓│┤╡╢╖╕╣║╗╝╜╛┐└┴┬├─┼╞╟╚╔╩╦╠═╬╧╨╤╥╙╘╒╓╫╪┘┌█▄▌▐▀' +
  'αßΓπΣσµτΦΘΩδ∞φε∩≡±≥≤⌠⌡÷≈°∙·√ⁿ²■\u00a0',
);

export interface TextScreen {
  cols: number;
  rows: number;
  /** One string per row, code page 437 shown as Unicode (NUL as a space). */
  chars: string[];
  /** Attribute byte per cell, row-major. */
  attrs: Uint8Array;
  /** Raw character codes per cell, row-major. */
  codes: Uint8Array;
  /** Cursor cell, or null when the cursor is disabled or off screen. */
  cursor: { col: number; row: number } | null;
}

/** The current text screen; 0 x 0 when the VGA is in a graphics mode. */
export function getTextScreen(vga: Vga): TextScreen {
  if (!inTextMode(vga)) return { cols: 0, rows: 0, chars: [], attrs: new Uint8Array(0), codes: new Uint8Array(0), cursor: null };
  const L = textLayout(vga);
  const n = L.cols * L.rows;
  const attrs = new Uint8Array(n), codes = new Uint8Array(n);
  const chars: string[] = [];
  const v = vga.vram;
  const cursorAddr = (((vga.crt[0x0e]! << 8) | vga.crt[0x0f]!) << 2) & PLANAR_MASK;
  let cursor: { col: number; row: number } | null = null;
  let offset = L.start;
  const rowLines = L.cheight * L.vscale;
  for (let r = 0; r < L.rows; r++) {
    let s = '';
    for (let c = 0; c < L.cols; c++) {
      const a = (offset + c * 4) & PLANAR_MASK;
      const ch = v[a]!;
      codes[r * L.cols + c] = ch;
      attrs[r * L.cols + c] = v[a + 1]!;
      s += CP437[ch];
      if (a === cursorAddr && (vga.crt[0x0a]! & 0x20) === 0 && cursor === null) cursor = { col: c, row: r };
    }
    chars.push(s);
    offset += L.lineOffset;
    const line = r * rowLines, line1 = line + rowLines;
    if (line < L.lineCompare && line1 >= L.lineCompare) offset = 0;
  }
  return { cols: L.cols, rows: L.rows, chars, attrs, codes, cursor };
}
