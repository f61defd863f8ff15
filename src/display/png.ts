/**
 * A small PNG encoder: 8-bit RGB (colour type 2) or RGBA (6), no interlace,
 * filter "Sub" on every row (cheap and good for screen content), deflated
 * with node:zlib. Chunks: IHDR, one IDAT, IEND, each with its CRC-32.
 */
import { deflateSync } from 'node:zlib';

const CRC_TABLE = (() => {
  const t = new Uint32Array(256);
  for (let n = 0; n < 256; n++) {
    let c = n;
    for (let k = 0; k < 8; k++) c = (c & 1) !== 0 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
    t[n] = c >>> 0;
  }
  return t;
})();

/** CRC-32 (ISO 3309 / ITU-T V.42, as PNG and zlib use) of `data`, continuing from `crc`. */
export function crc32(data: Uint8Array, crc = 0): number {
  let c = ~crc >>> 0;
  for (let i = 0; i < data.length; i++) c = CRC_TABLE[(c ^ data[i]!) & 0xff]! ^ (c >>> 8);
  return ~c >>> 0;
}

const SIGNATURE = Uint8Array.of(0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a);

function chunk(type: string, body: Uint8Array): Uint8Array {
  const out = new Uint8Array(12 + body.length);
  const dv = new DataView(out.buffer);
  dv.setUint32(0, body.length);
  for (let i = 0; i < 4; i++) out[4 + i] = type.charCodeAt(i);
  out.set(body, 8);
  dv.setUint32(8 + body.length, crc32(out.subarray(4, 8 + body.length)));
  return out;
}

/**
 * Encode `width` x `height` pixels of `channels` bytes each (3 = RGB,
 * 4 = RGBA), given in `pixels` with `stride` bytes per pixel (3 or 4; a
 * stride of 4 with 3 channels drops the alpha byte of RGBA input).
 */
export function encodePng(width: number, height: number, pixels: Uint8Array, channels: 3 | 4 = 3, stride: 3 | 4 = 4): Buffer {
  if (!Number.isInteger(width) || !Number.isInteger(height) || width <= 0 || height <= 0) {
    throw new RangeError(`PNG: bad size ${width}x${height}`);
  }
  if (pixels.length < width * height * stride) throw new RangeError('PNG: pixel buffer too small');
  const rowLen = width * channels + 1;
  const raw = new Uint8Array(rowLen * height);
  for (let y = 0; y < height; y++) {
    const o = y * rowLen, s = y * width * stride;
    raw[o] = 1; // filter: Sub
    for (let x = 0; x < width; x++) {
      for (let c = 0; c < channels; c++) {
        const cur = pixels[s + x * stride + c]!;
        const left = x > 0 ? pixels[s + (x - 1) * stride + c]! : 0;
        raw[o + 1 + x * channels + c] = (cur - left) & 0xff;
      }
    }
  }
  const ihdr = new Uint8Array(13);
  const dv = new DataView(ihdr.buffer);
  dv.setUint32(0, width);
  dv.setUint32(4, height);
  ihdr[8] = 8; // bit depth
  ihdr[9] = channels === 4 ? 6 : 2;
  ihdr[10] = 0; ihdr[11] = 0; ihdr[12] = 0;
  return Buffer.concat([SIGNATURE, chunk('IHDR', ihdr), chunk('IDAT', deflateSync(raw)), chunk('IEND', new Uint8Array(0))]);
}
