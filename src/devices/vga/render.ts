/**
 * Turns the VGA state into pixels: text modes, CGA 2 bpp, planar 16 colour,
 * 256 colour (chain-4 and unchained), and VBE linear 8/15/16/24/32 bpp.
 *
 * The picture has the size the CRT would show: the CRTC's display width in
 * dots (doubled when the dot clock is halved) by its display height in scan
 * lines, so mode 13h is 640x400 and mode 3 is 720x400, as QEMU shows them.
 *
 * {@link VgaRenderer.update} redraws only what changed: scan lines whose VRAM
 * pages were written, or everything after a register, palette or blink
 * change. It leaves the changed lines flagged in {@link VgaRenderer.dirty}
 * for display back ends (VNC sends only those).
 */
import type { Framebuffer } from '../../display/framebuffer.js';
import { frameNs, crtTiming } from './retrace.js';
import { PLANAR_MASK, getTextScreen, lineCompare, startAddress, textLayout, verticalDisplay, type TextScreen } from './text.js';
import type { Vga } from './vga.js';

const enum Mode { None = -1, Blank = 0, Text = 1, Graphics = 2, Linear = 3 }

/** 6-bit DAC component -> 8 bits (the low bit is replicated, as QEMU does). */
function c6to8(v: number): number {
  v &= 0x3f;
  const b = v & 1;
  return (v << 2) | (b << 1) | b;
}

function pack(r: number, g: number, b: number): number {
  return ((0xff << 24) | (b << 16) | (g << 8) | r) >>> 0;
}

const BLACK = pack(0, 0, 0);

export class VgaRenderer implements Framebuffer {
  width = 0;
  height = 0;
  data = new Uint8Array(0);
  private px = new Uint32Array(0);
  /** Per scan line: 1 when the last update changed it. */
  dirty = new Uint8Array(0);
  /** True when the last update changed the size. */
  resized = false;

  private mode = Mode.None;
  private regGen = -1;
  private palGen = -1;
  private blinkPhase = -1;
  private readonly pal16 = new Uint32Array(16);
  private readonly pal256 = new Uint32Array(256);
  private lineAddr = new Int32Array(0);

  constructor(private readonly vga: Vga) {}

  /** Bring the picture up to date; returns true when any line changed. */
  update(): boolean {
    const vga = this.vga;
    let full = vga.regGen !== this.regGen || vga.palGen !== this.palGen;
    this.regGen = vga.regGen;
    this.palGen = vga.palGen;
    this.resized = false;
    const mode = this.currentMode();
    if (mode !== this.mode) { this.mode = mode; full = true; }
    if (full) this.buildPalettes();
    switch (mode) {
      case Mode.Text: return this.drawText(full);
      case Mode.Graphics: return this.drawGraphics(full);
      case Mode.Linear: return this.drawLinear(full);
      default: return this.drawBlank(full);
    }
  }

  /** The screen as text (0 x 0 in graphics modes); for tests and a curses display. */
  getTextScreen(): TextScreen { return getTextScreen(this.vga); }

  /** Force a complete redraw on the next update. */
  invalidate(): void { this.regGen = -1; }

  private currentMode(): Mode {
    const vga = this.vga;
    if ((vga.attrIndex & 0x20) === 0 || (vga.seq[1]! & 0x20) !== 0) return Mode.Blank;
    if (vga.vbeEnabled && vga.vbe.bpp >= 8) return Mode.Linear;
    return (vga.gfx[6]! & 1) === 0 ? Mode.Text : Mode.Graphics;
  }

  private resize(w: number, h: number): boolean {
    if (w === this.width && h === this.height) return false;
    this.width = w; this.height = h;
    this.data = new Uint8Array(w * h * 4);
    this.px = new Uint32Array(this.data.buffer);
    this.px.fill(BLACK);
    this.dirty = new Uint8Array(h);
    this.lineAddr = new Int32Array(h);
    this.resized = true;
    return true;
  }

  private dac(i: number): number {
    const vga = this.vga, p = vga.palette, k = (i & vga.pelMask) * 3;
    if (vga.dac8bit) return pack(p[k]!, p[k + 1]!, p[k + 2]!);
    return pack(c6to8(p[k]!), c6to8(p[k + 1]!), c6to8(p[k + 2]!));
  }

  private buildPalettes(): void {
    const a = this.vga.attr;
    for (let i = 0; i < 16; i++) {
      let v = a[i]!;
      if ((a[0x10]! & 0x80) !== 0) v = ((a[0x14]! & 0x0f) << 4) | (v & 0x0f);
      else v = ((a[0x14]! & 0x0c) << 4) | (v & 0x3f);
      this.pal16[i] = this.dac(v);
    }
    for (let i = 0; i < 256; i++) this.pal256[i] = this.dac(i);
  }

  /** Whether any VRAM page overlapping [start, end) was written; with clear, forget it. */
  private pagesDirty(start: number, end: number): boolean {
    const d = this.vga.dirtyPages;
    const last = Math.min(end - 1, this.vga.vramSize - 1) >>> 12;
    for (let p = start >>> 12; p <= last; p++) if (d[p] !== 0) return true;
    return false;
  }

  private clearPages(start: number, end: number): void {
    const last = Math.min(end - 1, this.vga.vramSize - 1) >>> 12;
    if (last >= start >>> 12) this.vga.dirtyPages.fill(0, start >>> 12, last + 1);
  }

  // ------------------------------------------------------------------ blank

  private drawBlank(full: boolean): boolean {
    if (this.width === 0) this.resize(640, 480);
    if (!full) return false;
    this.px.fill(BLACK);
    this.dirty.fill(1);
    return true;
  }

  // ------------------------------------------------------------------ text

  /** Frame counter for the cursor (16-frame) and character (32-frame) blink. */
  private frameCount(): number {
    const vga = this.vga;
    if (vga.clock === null) return 0;
    return Math.floor(vga.clock.now() / frameNs(crtTiming(vga.misc, vga.sr1, vga.crt)));
  }

  private drawText(full: boolean): boolean {
    const vga = this.vga, L = textLayout(vga);
    if (L.cols * L.rows === 0 || L.cols > 256 || L.rows > 256) return this.drawBlank(full);
    const cw = L.cwidth * L.hscale, rowLines = L.cheight * L.vscale;
    if (this.resize(L.cols * cw, L.rows * rowLines)) full = true;
    const phase = (this.frameCount() >> 3) & 3; // bit 0: cursor off, bit 1: blinking text off
    if (phase !== this.blinkPhase) { this.blinkPhase = phase; full = true; }
    vga.syncDirty(0, PLANAR_MASK + 1);
    if (this.pagesDirty(0, PLANAR_MASK + 1)) full = true;
    this.dirty.fill(0);
    if (!full) return false;
    this.clearPages(0, PLANAR_MASK + 1);
    vga.planesWritten = 0;

    // Horizontal pel panning (AR13: in 9-dot cells 8 means 0 and 0-7 mean 1-8 dots),
    // preset row scan (CR8 bits 4-0) and byte panning (CR8 bits 6-5): draw one
    // more column/row into a scratch buffer and copy the visible window out of it.
    const p13 = vga.attr[0x13]! & 0x0f;
    const panDots = (L.cwidth === 9 ? (p13 === 8 ? 0 : p13 < 8 ? p13 + 1 : 0) : p13 & 7) * L.hscale;
    const prs = vga.crt[0x08]! & 0x1f;
    const prsLines = prs < L.cheight ? prs * L.vscale : 0;
    const ncols = L.cols + (panDots !== 0 ? 1 : 0), nrows = L.rows + (prsLines !== 0 ? 1 : 0);
    const direct = ncols === L.cols && nrows === L.rows;
    const W = ncols * cw;
    const px = direct ? this.px : this.scratchOf(W * nrows * rowLines);
    const v = vga.vram, a10 = vga.attr[0x10]!;
    const blinkEnable = (a10 & 0x08) !== 0, lineGfx = (a10 & 0x04) !== 0, monoAttr = (a10 & 0x02) !== 0;
    const underline = vga.crt[0x14]! & 0x1f;
    const cursorOn = (vga.crt[0x0a]! & 0x20) === 0 && (phase & 1) === 0;
    const cursorAddr = (((vga.crt[0x0e]! << 8) | vga.crt[0x0f]!) << 2) & PLANAR_MASK;
    const curStart = vga.crt[0x0a]! & 0x1f;
    const curEnd = Math.min(vga.crt[0x0b]! & 0x1f, L.cheight - 1);
    const blinkOff = (phase & 2) !== 0;
    const lowBit = L.cwidth === 9 ? 0 : 1;
    let offset = L.start + ((vga.crt[0x08]! >> 5) & 3) * 4;
    for (let row = 0; row < nrows; row++) {
      const y0 = row * rowLines;
      for (let col = 0; col < ncols; col++) {
        const a = (offset + col * 4) & PLANAR_MASK;
        const ch = v[a]!, at = v[a + 1]!;
        let fg = this.pal16[at & 0x0f]!, bg: number;
        if (blinkEnable) {
          bg = this.pal16[(at >> 4) & 7]!;
          if ((at & 0x80) !== 0 && blinkOff) fg = bg;
        } else {
          bg = this.pal16[at >> 4]!;
        }
        const glyph = ((at & 0x08) !== 0 ? L.fontB : L.fontA) + ch * 128;
        const dup9 = L.cwidth === 9 && lineGfx && ch >= 0xc0 && ch <= 0xdf;
        const isCursor = cursorOn && a === cursorAddr && curEnd >= curStart;
        const ul = monoAttr && (at & 0x77) === 0x01 ? underline : -1;
        const x0 = col * cw;
        for (let sl = 0; sl < L.cheight; sl++) {
          let bits = v[(glyph + sl * 4) & (vga.vramSize - 1)]! << 1;
          if (dup9) bits |= (bits >> 1) & 1;
          if (sl === ul || (isCursor && sl >= curStart && sl <= curEnd)) bits = 0x1ff;
          for (let vs = 0; vs < L.vscale; vs++) {
            let o = (y0 + sl * L.vscale + vs) * W + x0;
            // bits 8..1 are the glyph's 8 dots, bit 0 the ninth dot (shown only 9 dots wide)
            for (let x = 8; x >= lowBit; x--) {
              const c = ((bits >> x) & 1) !== 0 ? fg : bg;
              px[o++] = c;
              if (L.hscale === 2) px[o++] = c;
            }
          }
        }
      }
      offset += L.lineOffset;
      const line = row * rowLines, line1 = line + rowLines;
      if (line < L.lineCompare && line1 >= L.lineCompare) offset = 0;
    }
    if (!direct) {
      const w = this.width;
      for (let y = 0; y < this.height; y++) {
        const src = (y + prsLines) * W + panDots;
        this.px.set(px.subarray(src, src + w), y * w);
      }
    }
    this.dirty.fill(1);
    return true;
  }

  private scratch = new Uint32Array(0);

  private scratchOf(n: number): Uint32Array {
    if (this.scratch.length < n) this.scratch = new Uint32Array(n);
    return this.scratch;
  }

  // ------------------------------------------------------------------ planar / CGA / 256

  private drawGraphics(full: boolean): boolean {
    const vga = this.vga, cr = vga.crt;
    let shift = (vga.gfx[5]! >> 5) & 3;
    if (shift === 3) shift = 2;
    const vbe4 = vga.vbeEnabled;
    const dots = vbe4 ? vga.vbe.xres : (cr[0x01]! + 1) * 8;
    const height = vbe4 ? vga.vbe.yres : verticalDisplay(vga);
    const hscale = shift !== 2 && (vga.sr1 & 8) !== 0 ? 2 : 1;
    const width = dots * hscale;
    if (width === 0 || height === 0 || width > 16384 || height > 16384) return this.drawBlank(full);
    if (this.resize(width, height)) full = true;
    const start = vbe4 ? vga.vbe.startAddr * 4 : startAddress(vga) + ((cr[0x08]! >> 5) & 3) * 4;
    const lineOffset = vbe4 ? vga.vbe.lineOffset : cr[0x13]! << 3;
    const lc = vbe4 ? 0xffff : lineCompare(vga);
    const mask = vbe4 ? vga.vramSize - 1 : PLANAR_MASK;
    const maxScan = cr[0x09]! & 0x1f, doubleScan = (cr[0x09]! & 0x80) !== 0, cr17 = cr[0x17]!;
    const lineBytes = dots >> 1; // 8 dots per 4-byte address
    // Scan-line -> VRAM address, as the CRTC counts: row scan counter, CGA bank bits, line compare.
    const la = this.lineAddr;
    let addr1 = start, rs = vbe4 ? 0 : Math.min(cr[0x08]! & 0x1f, maxScan), half = false, lo = 0x7fffffff, hi = 0;
    for (let y = 0; y < height; y++) {
      let a = addr1;
      if ((cr17 & 1) === 0) {
        const sh = 14 + ((cr17 >> 6) & 1);
        a = (a & ~(1 << sh)) | ((rs & 1) << sh);
      }
      if ((cr17 & 2) === 0) a = (a & ~0x8000) | ((rs & 2) << 14);
      a &= mask;
      la[y] = a;
      if (a < lo) lo = a;
      if (a + lineBytes + 4 > hi) hi = a + lineBytes + 4;
      if (doubleScan && !half) {
        half = true;
      } else {
        half = false;
        if (rs >= maxScan) { rs = 0; addr1 += lineOffset; } else rs++;
      }
      if (y === lc) { addr1 = 0; rs = 0; half = false; }
    }
    vga.syncDirty(lo, hi);
    // Horizontal pel panning (AR13) in native pixels: 0-7 for 16/4 colours, 0-3 for 256 colours.
    const p13 = vga.attr[0x13]! & 0x0f;
    const pan = vbe4 ? 0 : shift === 2 ? (p13 >> 1) & 3 : p13 & 7;
    const panDots = pan * (shift === 2 ? 2 : hscale);
    const panReset = (vga.attr[0x10]! & 0x20) !== 0; // lines after line compare are not panned
    const n = dots >> 3;
    const line = this.scratchOf(width + 16 * hscale);
    const px = this.px;
    const d = this.dirty;
    let any = false;
    for (let y = 0; y < height; y++) {
      const a = la[y]!;
      if (full || this.pagesDirty(a, a + lineBytes + (pan !== 0 ? 4 : 0))) {
        d[y] = 1; any = true;
        const shifted = panDots !== 0 && !(panReset && y > lc);
        const dst = shifted ? line : px, o = shifted ? 0 : y * width, cnt = shifted ? n + 1 : n;
        if (shift === 0) this.line4(dst, o, a, cnt, hscale, mask);
        else if (shift === 1) this.line2(dst, o, a, cnt, hscale, mask);
        else this.line8d2(dst, o, a, cnt, mask);
        if (shifted) px.set(line.subarray(panDots, panDots + width), y * width);
      } else {
        d[y] = 0;
      }
    }
    if (hi > lo) this.clearPages(lo, hi);
    return any;
  }

  /** 16 colours: one bit per plane per pixel. */
  private line4(px: Uint32Array, o: number, a: number, n: number, hscale: number, mask: number): void {
    const w = this.vga.vram32, pal = this.pal16;
    const planes = this.vga.attr[0x12]! & 0x0f;
    const pm = ((planes & 1 ? 0xff : 0) | (planes & 2 ? 0xff00 : 0) | (planes & 4 ? 0xff0000 : 0) | (planes & 8 ? 0xff000000 : 0)) >>> 0;
    for (let i = 0; i < n; i++) {
      const d = (w[((a + i * 4) & mask) >>> 2]! & pm) >>> 0;
      const p0 = d & 0xff, p1 = (d >>> 8) & 0xff, p2 = (d >>> 16) & 0xff, p3 = d >>> 24;
      for (let b = 7; b >= 0; b--) {
        const c = pal[((p0 >> b) & 1) | (((p1 >> b) & 1) << 1) | (((p2 >> b) & 1) << 2) | (((p3 >> b) & 1) << 3)]!;
        px[o++] = c;
        if (hscale === 2) px[o++] = c;
      }
    }
  }

  /** CGA 4 colours: 2 bits per pixel, even bytes in plane 0, odd bytes in plane 1 (planes 2/3 add bits 2-3). */
  private line2(px: Uint32Array, o: number, a: number, n: number, hscale: number, mask: number): void {
    const w = this.vga.vram32, pal = this.pal16;
    const planes = this.vga.attr[0x12]! & 0x0f;
    const pm = ((planes & 1 ? 0xff : 0) | (planes & 2 ? 0xff00 : 0) | (planes & 4 ? 0xff0000 : 0) | (planes & 8 ? 0xff000000 : 0)) >>> 0;
    for (let i = 0; i < n; i++) {
      const d = (w[((a + i * 4) & mask) >>> 2]! & pm) >>> 0;
      for (let half = 0; half < 2; half++) {
        const lo = (d >>> (8 * half)) & 0xff, hi = (d >>> (16 + 8 * half)) & 0xff;
        for (let s = 6; s >= 0; s -= 2) {
          const c = pal[((lo >> s) & 3) | (((hi >> s) & 3) << 2)]!;
          px[o++] = c;
          if (hscale === 2) px[o++] = c;
        }
      }
    }
  }

  /** 256 colours from the 4 planes of each address, each pixel two dots wide. */
  private line8d2(px: Uint32Array, o: number, a: number, n: number, mask: number): void {
    const v = this.vga.vram, pal = this.pal256;
    for (let i = 0; i < n; i++) {
      const b = (a + i * 4) & mask;
      for (let k = 0; k < 4; k++) {
        const c = pal[v[b + k]!]!;
        px[o++] = c; px[o++] = c;
      }
    }
  }

  // ------------------------------------------------------------------ VBE linear

  private drawLinear(full: boolean): boolean {
    const vga = this.vga, vbe = vga.vbe;
    const w = vbe.xres, h = vbe.yres, bpp = vbe.bpp;
    if (w === 0 || h === 0) return this.drawBlank(full);
    if (this.resize(w, h)) full = true;
    const start = vbe.startAddr * 4, stride = vbe.lineOffset;
    const bytes = (w * vbe.storageBits()) >>> 3;
    const end = Math.min(vga.vramSize, start + (h - 1) * stride + bytes);
    vga.syncDirty(start, end);
    const v = vga.vram, px = this.px, d = this.dirty, pal = this.pal256, size = vga.vramSize;
    let any = false;
    for (let y = 0; y < h; y++) {
      const a = start + y * stride;
      if (a + bytes > size || !(full || this.pagesDirty(a, a + bytes))) { d[y] = 0; continue; }
      d[y] = 1; any = true;
      let o = y * w;
      switch (bpp) {
        case 8:
          for (let x = 0; x < w; x++) px[o++] = pal[v[a + x]!]!;
          break;
        case 15:
          for (let x = 0, s = a; x < w; x++, s += 2) {
            const c = v[s]! | (v[s + 1]! << 8);
            px[o++] = pack((c >> 7) & 0xf8, (c >> 2) & 0xf8, (c << 3) & 0xf8);
          }
          break;
        case 16:
          for (let x = 0, s = a; x < w; x++, s += 2) {
            const c = v[s]! | (v[s + 1]! << 8);
            px[o++] = pack((c >> 8) & 0xf8, (c >> 3) & 0xfc, (c << 3) & 0xf8);
          }
          break;
        case 24:
          for (let x = 0, s = a; x < w; x++, s += 3) px[o++] = pack(v[s + 2]!, v[s + 1]!, v[s]!);
          break;
        default:
          for (let x = 0, s = a; x < w; x++, s += 4) px[o++] = pack(v[s + 2]!, v[s + 1]!, v[s]!);
          break;
      }
    }
    if (end > start) this.clearPages(start, end);
    return any;
  }
}
