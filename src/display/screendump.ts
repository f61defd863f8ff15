/**
 * The monitor's `screendump`: the current picture as PPM (P6, byte for byte
 * what QEMU writes: "P6\n<w> <h>\n255\n" then RGB triplets) or as PNG
 * (`screendump -f png`, RGB, as QEMU 7.2 writes with libpng).
 */
import { writeFileSync } from 'node:fs';
import type { Framebuffer } from './framebuffer.js';
import { encodePng } from './png.js';

export type ScreendumpFormat = 'ppm' | 'png';

export function encodePpm(fb: Framebuffer): Buffer {
  const header = Buffer.from(`P6\n${fb.width} ${fb.height}\n255\n`, 'latin1');
  const n = fb.width * fb.height;
  const out = Buffer.allocUnsafe(header.length + n * 3);
  header.copy(out, 0);
  const src = fb.data;
  for (let i = 0, o = header.length, s = 0; i < n; i++, s += 4) {
    out[o++] = src[s]!; out[o++] = src[s + 1]!; out[o++] = src[s + 2]!;
  }
  return out;
}

export function encodeScreendump(fb: Framebuffer, format: ScreendumpFormat = 'ppm'): Buffer {
  if (fb.width <= 0 || fb.height <= 0) throw new Error('screendump: no picture to dump');
  return format === 'png' ? encodePng(fb.width, fb.height, fb.data, 3, 4) : encodePpm(fb);
}

/** Parse a QEMU-style `-f` argument ('ppm' or 'png'); anything else is a clear error. */
export function parseScreendumpFormat(s: string | undefined): ScreendumpFormat {
  if (s === undefined || s === 'ppm') return 'ppm';
  if (s === 'png') return 'png';
  throw new Error(`screendump: unsupported image format '${s}' (use ppm or png)`);
}

/** Write the framebuffer to `path` (what the monitor command does). */
export function screendump(fb: Framebuffer, path: string, format: ScreendumpFormat = 'ppm'): void {
  const data = encodeScreendump(fb, format);
  try {
    writeFileSync(path, data);
  } catch (e) {
    throw new Error(`screendump: could not write '${path}': ${(e as NodeJS.ErrnoException).code ?? String(e)}`);
  }
}

/** Read a P6 PPM (e.g. one written by real QEMU) into a framebuffer, for comparisons. */
export function decodePpm(buf: Uint8Array): Framebuffer {
  const text = Buffer.from(buf.subarray(0, Math.min(buf.length, 64))).toString('latin1');
  const m = /^P6\s+(\d+)\s+(\d+)\s+(\d+)\s/.exec(text);
  if (m === null || m[3] !== '255') throw new Error('not a binary 8-bit PPM (P6) image');
  const width = Number(m[1]), height = Number(m[2]);
  const off = m[0].length;
  if (buf.length < off + width * height * 3) throw new Error('PPM image is truncated');
  const data = new Uint8Array(width * height * 4);
  for (let i = 0, s = off, d = 0; i < width * height; i++) {
    data[d++] = buf[s++]!; data[d++] = buf[s++]!; data[d++] = buf[s++]!; data[d++] = 255;
  }
  return { width, height, data };
}
