import { describe, it, expect } from 'vitest';
import { bitLen, isqrt } from '../../src/cpu/fpu/softfloat.js';

describe('soft-float helpers', () => {
  it('bitLen is exact at every power-of-two boundary up to 2^1200', () => {
    expect(bitLen(0n)).toBe(0);
    for (let k = 0; k < 1200; k++) {
      const p = 1n << BigInt(k);
      expect(bitLen(p)).toBe(k + 1);
      if (k > 0) expect(bitLen(p - 1n)).toBe(k);
      expect(bitLen(p + 1n)).toBe(k === 0 ? 2 : k + 1);
    }
  });
  it('isqrt is the floor square root (checked by squaring) for perfect squares and neighbours', () => {
    for (let k = 1; k < 400; k += 7) {
      const r = (1n << BigInt(k)) + BigInt(k * 12345);
      for (const n of [r * r - 1n, r * r, r * r + 1n, (r + 1n) * (r + 1n) - 1n]) {
        const s = isqrt(n);
        expect(s * s <= n && (s + 1n) * (s + 1n) > n).toBe(true);
      }
    }
  });
});
