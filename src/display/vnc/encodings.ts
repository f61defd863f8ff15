/**
 * RFB rectangle encodings: Raw (0), Hextile (5), zlib (6) and ZRLE (16).
 * One {@link RectEncoder} per client: it owns the client's pixel converter,
 * its persistent deflate streams and the scratch buffers.
 */
import { DeflateStream } from './deflate-stream.js';
import type { PixelConverter } from './pixel-format.js';

export const ENC_RAW = 0;
export const ENC_COPYRECT = 1;
export const ENC_HEXTILE = 5;
export const ENC_ZLIB = 6;
export const ENC_ZRLE = 16;
export const ENC_DESKTOP_SIZE = -223;
export const ENC_CURSOR = -239;
export const ENC_QEMU_POINTER_MOTION = -257;
export const ENC_QEMU_EXT_KEY = -258;
export const ENC_LED_STATE = -261;
export const ENC_EXT_DESKTOP_SIZE = -308;
/** CompressLevel 0-9 is -256 + level. */
export const ENC_COMPRESS_LEVEL_0 = -256;

/** The pixel encodings this server can produce. */
export const PIXEL_ENCODINGS: ReadonlySet<number> = new Set([ENC_RAW, ENC_HEXTILE, ENC_ZLIB, ENC_ZRLE]);

/** The picture an encoder reads: RGBA bytes with a row stride of `width` pixels. */
export interface Pixels { readonly width: number; readonly data: Uint8Array }

export function rectHeader(x: number, y: number, w: number, h: number, enc: number): Buffer {
  const b = Buffer.allocUnsafe(12);
  b.writeUInt16BE(x, 0); b.writeUInt16BE(y, 2); b.writeUInt16BE(w, 4); b.writeUInt16BE(h, 6); b.writeInt32BE(enc, 8);
  return b;
}

export interface PreparedRect { head: Buffer; body: Buffer; stream: DeflateStream | null }

const HEX_RAW = 1, HEX_BG = 2, HEX_FG = 4, HEX_ANY = 8, HEX_COLOURED = 16;

export class RectEncoder {
  private zlibStream: DeflateStream | null = null;
  private zrleStream: DeflateStream | null = null;
  private readonly tile = new Uint32Array(64 * 64);
  private readonly mark = new Uint8Array(256);
  private readonly sub = new Uint32Array(256 * 3);
  private readonly scratch: Buffer;

  /** Set the zlib level (RFB CompressLevel pseudo-encoding); applies to streams not yet started. */
  setLevel(level: number): void { this.level = Math.max(0, Math.min(9, level)); }

  constructor(readonly conv: PixelConverter, private level = 6) {
    this.scratch = Buffer.allocUnsafe(1 + 64 * 64 * 4 + 128 * 4 + 64);
  }

  close(): void {
    this.zlibStream?.close(); this.zrleStream?.close();
    this.zlibStream = this.zrleStream = null;
  }

  /**
   * Encode one rectangle's pixels now (synchronously, so every rectangle of
   * an update shows the same instant); compression happens in {@link finish}.
   */
  prepare(enc: number, px: Pixels, x: number, y: number, w: number, h: number): PreparedRect {
    const head = rectHeader(x, y, w, h, enc);
    switch (enc) {
      case ENC_HEXTILE: return { head, body: this.hextile(px, x, y, w, h), stream: null };
      case ENC_ZLIB:
        this.zlibStream ??= new DeflateStream(this.level);
        return { head, body: this.conv.raw(px.data, px.width, x, y, w, h), stream: this.zlibStream };
      case ENC_ZRLE:
        this.zrleStream ??= new DeflateStream(this.level);
        return { head, body: this.zrle(px, x, y, w, h), stream: this.zrleStream };
      default: return { head, body: this.conv.raw(px.data, px.width, x, y, w, h), stream: null };
    }
  }

  /** The bytes of a prepared rectangle (compressed through the client's stream for zlib/ZRLE). */
  async finish(p: PreparedRect): Promise<Buffer[]> {
    if (p.stream === null) return [p.head, p.body];
    const z = await p.stream.compress(p.body);
    const len = Buffer.allocUnsafe(4); len.writeUInt32BE(z.length, 0);
    return [p.head, len, z];
  }

  // ------------------------------------------------------------ Hextile

  hextile(px: Pixels, x0: number, y0: number, w: number, h: number): Buffer {
    const conv = this.conv, bpp = conv.bytes, t = this.tile, sub = this.sub, mark = this.mark;
    const tiles = Math.ceil(w / 16) * Math.ceil(h / 16);
    const buf = Buffer.allocUnsafe(tiles * (1 + 256 * bpp)); // every tile raw at worst
    let o = 0;
    let bg = 0, fg = 0, bgValid = false, fgValid = false;
    for (let ty = 0; ty < h; ty += 16) {
      const th = Math.min(16, h - ty);
      for (let tx = 0; tx < w; tx += 16) {
        const tw = Math.min(16, w - tx);
        conv.values(px.data, px.width, x0 + tx, y0 + ty, tw, th, t);
        const n = tw * th;
        const rawSize = 1 + n * bpp;
        // Census: first two colours, whether there are more, how often the first occurs.
        const c0 = t[0]!;
        let c1 = c0, n0 = 0, colours = 1;
        for (let i = 0; i < n; i++) {
          const c = t[i]!;
          if (c === c0) n0++;
          else if (colours === 1) { c1 = c; colours = 2; }
          else if (c !== c1) colours = 3;
        }
        const start = o;
        if (colours === 1) {
          let flags = 0;
          o++;
          if (!bgValid || bg !== c0) { flags = HEX_BG; o = conv.put(buf, o, c0); bg = c0; bgValid = true; }
          buf[start] = flags;
          continue;
        }
        const back = n0 * 2 >= n ? c0 : c1; // background: the commoner of the first two colours
        const two = colours === 2;
        const fore = back === c0 ? c1 : c0;
        // Header bytes, then subrectangles (greedy: extend right, then down) until raw would be smaller.
        let size = 2 + (bgValid && bg === back ? 0 : bpp) + (two && !(fgValid && fg === fore) ? bpp : 0);
        const per = two ? 2 : 2 + bpp;
        let nsub = 0;
        mark.fill(0, 0, n);
        scan: for (let yy = 0; yy < th; yy++) {
          for (let xx = 0; xx < tw; xx++) {
            const i = yy * tw + xx;
            const c = t[i]!;
            if (c === back || mark[i]) continue;
            let sw = 1;
            while (xx + sw < tw && t[i + sw] === c && !mark[i + sw]) sw++;
            let sh = 1;
            down: while (yy + sh < th) {
              const r = (yy + sh) * tw + xx;
              for (let k = 0; k < sw; k++) if (t[r + k] !== c || mark[r + k]) break down;
              sh++;
            }
            for (let a = 0; a < sh; a++) mark.fill(1, (yy + a) * tw + xx, (yy + a) * tw + xx + sw);
            sub[nsub * 3] = c; sub[nsub * 3 + 1] = (xx << 4) | yy; sub[nsub * 3 + 2] = ((sw - 1) << 4) | (sh - 1);
            nsub++;
            size += per;
            if (nsub > 255 || size >= rawSize) break scan;
          }
        }
        if (nsub > 255 || size >= rawSize) {
          buf[o++] = HEX_RAW;
          for (let i = 0; i < n; i++) o = conv.put(buf, o, t[i]!);
          bgValid = fgValid = false;
          continue;
        }
        let flags = HEX_ANY;
        o++;
        if (!bgValid || bg !== back) { flags |= HEX_BG; o = conv.put(buf, o, back); bg = back; bgValid = true; }
        if (two) {
          if (!fgValid || fg !== fore) { flags |= HEX_FG; o = conv.put(buf, o, fore); fg = fore; fgValid = true; }
        } else { flags |= HEX_COLOURED; fgValid = false; }
        buf[start] = flags;
        buf[o++] = nsub;
        for (let k = 0; k < nsub * 3; k += 3) {
          if (!two) o = conv.put(buf, o, sub[k]!);
          buf[o++] = sub[k + 1]!; buf[o++] = sub[k + 2]!;
        }
      }
    }
    return buf.subarray(0, o);
  }

  // ------------------------------------------------------------ ZRLE

  /** The uncompressed ZRLE data of a rectangle (64 x 64 tiles). */
  zrle(px: Pixels, x0: number, y0: number, w: number, h: number): Buffer {
    const parts: Buffer[] = [];
    for (let ty = 0; ty < h; ty += 64) {
      const th = Math.min(64, h - ty);
      for (let tx = 0; tx < w; tx += 64) {
        const tw = Math.min(64, w - tx);
        parts.push(this.zrleTile(px, x0 + tx, y0 + ty, tw, th));
      }
    }
    return Buffer.concat(parts);
  }

  private zrleTile(px: Pixels, x: number, y: number, w: number, h: number): Buffer {
    const conv = this.conv, t = this.tile, n = w * h, cp = conv.cpixelBytes, out = this.scratch;
    conv.values(px.data, px.width, x, y, w, h, t);
    const palette = new Map<number, number>();
    let runs = 0, plainRle = 0, palRle = 0;
    for (let i = 0; i < n;) {
      const c = t[i]!;
      let j = i + 1;
      while (j < n && t[j] === c) j++;
      const len = j - i, lenBytes = Math.floor((len - 1) / 255) + 1;
      runs++;
      plainRle += cp + lenBytes;
      palRle += len === 1 ? 1 : 1 + lenBytes;
      if (palette.size < 128 && !palette.has(c)) palette.set(c, palette.size);
      i = j;
    }
    const np = palette.size;
    let o = 0;
    if (np === 1) {
      out[o++] = 1;
      o = conv.putC(out, o, t[0]!);
      return Buffer.from(out.subarray(0, o));
    }
    const raw = n * cp;
    const bits = np <= 2 ? 1 : np <= 4 ? 2 : 4;
    const packed = np <= 16 ? np * cp + h * Math.ceil((w * bits) / 8) : Infinity;
    const palRleSize = np <= 127 ? np * cp + palRle : Infinity;
    const best = Math.min(raw, packed, plainRle, palRleSize);
    const pal = [...palette.keys()];
    if (best === raw) {
      out[o++] = 0;
      for (let i = 0; i < n; i++) o = conv.putC(out, o, t[i]!);
    } else if (best === packed) {
      out[o++] = np;
      for (const c of pal) o = conv.putC(out, o, c);
      for (let row = 0; row < h; row++) {
        let acc = 0, nb = 0;
        for (let col = 0; col < w; col++) {
          acc = (acc << bits) | palette.get(t[row * w + col]!)!;
          nb += bits;
          if (nb === 8) { out[o++] = acc; acc = 0; nb = 0; }
        }
        if (nb > 0) out[o++] = acc << (8 - nb);
      }
    } else {
      const usePal = best === palRleSize;
      out[o++] = usePal ? 128 + np : 128;
      if (usePal) for (const c of pal) o = conv.putC(out, o, c);
      for (let i = 0; i < n;) {
        const c = t[i]!;
        let j = i + 1;
        while (j < n && t[j] === c) j++;
        const len = j - i;
        if (usePal) {
          const idx = palette.get(c)!;
          if (len === 1) { out[o++] = idx; i = j; continue; }
          out[o++] = idx | 128;
        } else o = conv.putC(out, o, c);
        let r = len - 1;
        while (r >= 255) { out[o++] = 255; r -= 255; }
        out[o++] = r;
        i = j;
      }
    }
    return Buffer.from(out.subarray(0, o));
  }
}
