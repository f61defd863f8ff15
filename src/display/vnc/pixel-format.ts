/**
 * RFB pixel formats: parsing the 16-byte PIXEL_FORMAT, and converting the
 * framebuffer's RGBA pixels into a client's format through per-channel
 * lookup tables (one OR of three table entries per pixel).
 */

export interface PixelFormat {
  bpp: 8 | 16 | 32;
  depth: number;
  bigEndian: boolean;
  trueColour: boolean;
  redMax: number; greenMax: number; blueMax: number;
  redShift: number; greenShift: number; blueShift: number;
}

const LITTLE_ENDIAN_HOST = new Uint8Array(new Uint32Array([1]).buffer)[0] === 1;

/** What the server offers: 32 bpp, depth 24, little endian, x8r8g8b8 (as QEMU does on x86 hosts). */
export const SERVER_FORMAT: PixelFormat = {
  bpp: 32, depth: 24, bigEndian: false, trueColour: true,
  redMax: 255, greenMax: 255, blueMax: 255, redShift: 16, greenShift: 8, blueShift: 0,
};

/** The 3:3:2 true-colour view used for clients that ask for an 8-bit colour map. */
export const BGR233: PixelFormat = {
  bpp: 8, depth: 8, bigEndian: false, trueColour: true,
  redMax: 7, greenMax: 7, blueMax: 3, redShift: 0, greenShift: 3, blueShift: 6,
};

export function encodePixelFormat(pf: PixelFormat): Buffer {
  const b = Buffer.alloc(16);
  b[0] = pf.bpp; b[1] = pf.depth; b[2] = pf.bigEndian ? 1 : 0; b[3] = pf.trueColour ? 1 : 0;
  b.writeUInt16BE(pf.redMax, 4); b.writeUInt16BE(pf.greenMax, 6); b.writeUInt16BE(pf.blueMax, 8);
  b[10] = pf.redShift; b[11] = pf.greenShift; b[12] = pf.blueShift;
  return b;
}

/** Parse a PIXEL_FORMAT; returns an error message for formats that cannot be served. */
export function decodePixelFormat(b: Uint8Array): PixelFormat | string {
  const bpp = b[0]!;
  if (bpp !== 8 && bpp !== 16 && bpp !== 32) return `unsupported bits-per-pixel ${bpp}`;
  const v = new DataView(b.buffer, b.byteOffset, 16);
  const pf: PixelFormat = {
    bpp, depth: b[1]!, bigEndian: b[2] !== 0, trueColour: b[3] !== 0,
    redMax: v.getUint16(4), greenMax: v.getUint16(6), blueMax: v.getUint16(8),
    redShift: b[10]!, greenShift: b[11]!, blueShift: b[12]!,
  };
  if (!pf.trueColour) return bpp === 8 ? pf : 'colour-map formats other than 8 bpp are not supported';
  for (const [max, shift] of [[pf.redMax, pf.redShift], [pf.greenMax, pf.greenShift], [pf.blueMax, pf.blueShift]] as const) {
    if (max === 0 || shift >= bpp || (max * 2 ** shift) >= 2 ** bpp) return 'colour channel does not fit the pixel';
  }
  return pf;
}

function channelTable(max: number, shift: number): Uint32Array {
  const t = new Uint32Array(256);
  const bits = Math.log2(max + 1);
  for (let i = 0; i < 256; i++) {
    // Power-of-two ranges truncate (what QEMU and most servers do); others round.
    const v = Number.isInteger(bits) && bits <= 8 ? i >> (8 - bits) : Math.round((i * max) / 255);
    t[i] = (v * 2 ** shift) >>> 0;
  }
  return t;
}

/** A converter from RGBA bytes to a client's pixel values and bytes. */
export class PixelConverter {
  readonly bytes: number;
  private readonly rT: Uint32Array;
  private readonly gT: Uint32Array;
  private readonly bT: Uint32Array;
  /** Bytes of a ZRLE/TRLE CPIXEL, and which byte of the pixel it starts at. */
  readonly cpixelBytes: number;
  private readonly cpixelSkip: number;

  /** 1: x8r8g8b8 little endian (the server format), 2: x8b8g8r8 little endian; 0: use the tables. */
  private readonly fast: number;

  constructor(readonly pf: PixelFormat) {
    this.bytes = pf.bpp >> 3;
    const le32 = pf.bpp === 32 && !pf.bigEndian && pf.trueColour && pf.redMax === 255 && pf.greenMax === 255 && pf.blueMax === 255 && LITTLE_ENDIAN_HOST;
    this.fast = !le32 ? 0
      : pf.redShift === 16 && pf.greenShift === 8 && pf.blueShift === 0 ? 1
      : pf.redShift === 0 && pf.greenShift === 8 && pf.blueShift === 16 ? 2 : 0;
    this.rT = channelTable(pf.redMax, pf.redShift);
    this.gT = channelTable(pf.greenMax, pf.greenShift);
    this.bT = channelTable(pf.blueMax, pf.blueShift);
    const mask = (pf.redMax * 2 ** pf.redShift) + (pf.greenMax * 2 ** pf.greenShift) + (pf.blueMax * 2 ** pf.blueShift);
    if (pf.bpp === 32 && pf.trueColour && pf.depth <= 24 && (mask < 0x1000000 || mask % 256 === 0)) {
      this.cpixelBytes = 3;
      const low = mask < 0x1000000; // colour in the three least significant bytes
      this.cpixelSkip = low === pf.bigEndian ? 1 : 0;
    } else { this.cpixelBytes = this.bytes; this.cpixelSkip = 0; }
  }

  /** The pixel value for an RGBA pixel at byte offset o of data. */
  value(data: Uint8Array, o: number): number {
    return (this.rT[data[o]!]! | this.gT[data[o + 1]!]! | this.bT[data[o + 2]!]!) >>> 0;
  }

  /** Convert a w x h rectangle at (x, y) of a stride-`width` RGBA buffer into pixel values. */
  values(data: Uint8Array, width: number, x: number, y: number, w: number, h: number, out: Uint32Array): void {
    if (this.fast !== 0 && (data.byteOffset & 3) === 0) {
      // 8-bit channels at byte positions: work on whole RGBA words (little-endian host).
      const src = new Uint32Array(data.buffer, data.byteOffset, data.length >> 2);
      let k = 0;
      if (this.fast === 1) {
        for (let row = 0; row < h; row++) {
          const base = (y + row) * width + x;
          for (let col = 0; col < w; col++) {
            const v = src[base + col]!;
            out[k++] = ((v & 0xff00) | ((v & 0xff) << 16) | ((v >>> 16) & 0xff)) >>> 0;
          }
        }
      } else {
        for (let row = 0; row < h; row++) {
          const base = (y + row) * width + x;
          for (let col = 0; col < w; col++) out[k++] = src[base + col]! & 0xffffff;
        }
      }
      return;
    }
    const rT = this.rT, gT = this.gT, bT = this.bT;
    let k = 0;
    for (let row = 0; row < h; row++) {
      let o = ((y + row) * width + x) * 4;
      for (let col = 0; col < w; col++, o += 4) out[k++] = (rT[data[o]!]! | gT[data[o + 1]!]! | bT[data[o + 2]!]!) >>> 0;
    }
  }

  /** Write one pixel value as the client's bytes; returns the next offset. */
  put(out: Uint8Array, o: number, v: number): number {
    switch (this.bytes) {
      case 1: out[o] = v; return o + 1;
      case 2:
        if (this.pf.bigEndian) { out[o] = v >>> 8; out[o + 1] = v; } else { out[o] = v; out[o + 1] = v >>> 8; }
        return o + 2;
      default:
        if (this.pf.bigEndian) { out[o] = v >>> 24; out[o + 1] = v >>> 16; out[o + 2] = v >>> 8; out[o + 3] = v; }
        else { out[o] = v; out[o + 1] = v >>> 8; out[o + 2] = v >>> 16; out[o + 3] = v >>> 24; }
        return o + 4;
    }
  }

  /** Write a CPIXEL (3 bytes when the format allows, else a whole pixel). */
  putC(out: Uint8Array, o: number, v: number): number {
    if (this.cpixelBytes !== 3) return this.put(out, o, v);
    const s = this.cpixelSkip;
    if (this.pf.bigEndian) { out[o] = v >>> (24 - 8 * s); out[o + 1] = v >>> (16 - 8 * s); out[o + 2] = v >>> (8 - 8 * s); }
    else { out[o] = v >>> (8 * s); out[o + 1] = v >>> (8 * s + 8); out[o + 2] = v >>> (8 * s + 16); }
    return o + 3;
  }

  /** A rectangle as the client's raw pixel bytes. */
  raw(data: Uint8Array, width: number, x: number, y: number, w: number, h: number): Buffer {
    const out = Buffer.allocUnsafe(w * h * this.bytes);
    if (this.fast !== 0 && (data.byteOffset & 3) === 0 && (out.byteOffset & 3) === 0) {
      const o32 = new Uint32Array(out.buffer, out.byteOffset, w * h);
      this.values(data, width, x, y, w, h, o32);
      return out;
    }
    const rT = this.rT, gT = this.gT, bT = this.bT;
    let p = 0;
    for (let row = 0; row < h; row++) {
      let o = ((y + row) * width + x) * 4;
      for (let col = 0; col < w; col++, o += 4) p = this.put(out, p, (rT[data[o]!]! | gT[data[o + 1]!]! | bT[data[o + 2]!]!) >>> 0);
    }
    return out;
  }
}
