import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { crc32 } from '../../src/display/png.js';
import { decodePpm, encodePpm, encodeScreendump, parseScreendumpFormat, screendump } from '../../src/display/screendump.js';
import { decodePngIndependently } from './png-decode.js';

function testImage(w: number, h: number) {
  const data = new Uint8Array(w * h * 4);
  for (let y = 0; y < h; y++) for (let x = 0; x < w; x++) {
    const o = (y * w + x) * 4;
    data[o] = (x * 5) & 0xff; data[o + 1] = (y * 9) & 0xff; data[o + 2] = (x * y) & 0xff; data[o + 3] = 255;
  }
  return { width: w, height: h, data };
}


describe('screendump', () => {
  it('PPM is "P6\\n<w> <h>\\n255\\n" followed by RGB bytes', () => {
    const fb = testImage(3, 2);
    const ppm = encodePpm(fb);
    expect(ppm.subarray(0, 11).toString('latin1')).toBe('P6\n3 2\n255\n');
    expect(ppm.length).toBe(11 + 18);
    expect(Array.from(ppm.subarray(11, 17))).toEqual([0, 0, 0, 5, 0, 0]);
    const back = decodePpm(ppm);
    expect(back.width).toBe(3);
    expect(Buffer.from(back.data).equals(Buffer.from(fb.data))).toBe(true);
  });

  it('CRC-32 matches the standard check value', () => {
    expect(crc32(new TextEncoder().encode('123456789'))).toBe(0xcbf43926);
    expect(crc32(new TextEncoder().encode('IEND'))).toBe(0xae426082);
  });

  it('PNG decodes with an independent decoder to the same RGB pixels', () => {
    const dir = mkdtempSync(join(tmpdir(), 'png-'));
    try {
      const fb = testImage(37, 21);
      const f = join(dir, 'a.png');
      screendump(fb, f, 'png');
      const png = decodePngIndependently(f);
      expect([png.width, png.height, png.depth, png.colourType, png.chunks]).toEqual([37, 21, 8, 2, 'IHDR,IDAT,IEND']);
      const rgb = png.rgb;
      const want = Buffer.alloc(37 * 21 * 3);
      for (let i = 0; i < 37 * 21; i++) { want[i * 3] = fb.data[i * 4]!; want[i * 3 + 1] = fb.data[i * 4 + 1]!; want[i * 3 + 2] = fb.data[i * 4 + 2]!; }
      expect(rgb.equals(want)).toBe(true);
      screendump(fb, join(dir, 'a.ppm'));
      expect(readFileSync(join(dir, 'a.ppm')).equals(encodeScreendump(fb, 'ppm'))).toBe(true);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('reports bad formats and unwritable paths as clear errors', () => {
    expect(parseScreendumpFormat(undefined)).toBe('ppm');
    expect(parseScreendumpFormat('png')).toBe('png');
    expect(() => parseScreendumpFormat('bmp')).toThrow(/unsupported image format 'bmp'/);
    expect(() => screendump(testImage(2, 2), '/nonexistent-dir/x.ppm')).toThrow(/could not write '\/nonexistent-dir\/x.ppm': ENOENT/);
    expect(() => decodePpm(new TextEncoder().encode('P3\n1 1\n255\n0 0 0'))).toThrow(/not a binary 8-bit PPM/);
  });
});
