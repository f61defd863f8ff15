import { describe, expect, it } from 'vitest';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { cvtnum, formatFixed, formatG, humanSize, INT64_MAX, parseSize } from '../../src/util/size.js';

// Section 2 of the qemu-img 7.2 reference (observed outputs).
const VALID: Array<[string, bigint]> = [
  ['3000M', 3145728000n], ['100', 100n], ['100b', 100n], ['100B', 100n], ['1k', 1024n], ['1K', 1024n],
  ['1m', 1048576n], ['1g', 1073741824n], ['1t', 1099511627776n], ['1.5G', 1610612736n], ['0.1k', 102n],
  ['1.00000000001k', 1024n], ['0.0001k', 0n], ['1.0', 1n], ['1.', 1n], [' 1M', 1048576n], ['+5M', 5242880n],
  ['010', 10n], ['0x100', 256n], ['0x1k', 1024n], ['9223372036854775807', INT64_MAX], ['1E', 1n << 60n],
  ['18446744073709551615', (1n << 64n) - 1n],
];
const INVALID = ['1.5', '1.7', '.5k', '1e3', '1.5e3k', '1,5k', '1.5.5k', '1_0', '1MB', '1KiB', '1.5kk', '5G5',
  '0x', '12abc', '', ' ', '1M ', '-5M'];

describe('parseSize (qemu_strtosz)', () => {
  for (const [s, v] of VALID) {
    it(`accepts ${JSON.stringify(s)} = ${v}`, () => {
      const r = parseSize(s);
      expect(r.ok).toBe(true);
      if (r.ok) expect(r.value).toBe(v);
    });
  }
  for (const s of INVALID) {
    it(`rejects ${JSON.stringify(s)}`, () => expect(parseSize(s).ok).toBe(false));
  }
  it('flags a hex number with a suffix for the deprecation warning', () => {
    const r = parseSize('0x1k');
    expect(r.ok && r.hexSuffixWarning).toBe(true);
    expect(parseSize('0x100').ok && (parseSize('0x100') as { hexSuffixWarning: boolean }).hexSuffixWarning).toBe(false);
  });
  it('reports values past 2^64-1 as out of range', () => {
    expect(parseSize('18446744073709551616')).toEqual({ ok: false, error: 'range' });
    expect(parseSize('16E')).toEqual({ ok: false, error: 'range' });
  });
  it('cvtnum gives qemu-img texts for invalid and out-of-range sizes', () => {
    expect(cvtnum('image size', '8E', 0n, INT64_MAX)).toEqual({
      ok: false, lines: ['Invalid image size specified. Must be between 0 and 9223372036854775807.'],
    });
    expect(cvtnum('bs', 'x', 1n, 2147483647n)).toEqual({
      ok: false, lines: ['Invalid bs specified. You may use k, M, G, T, P or E suffixes for',
        'kilobytes, megabytes, gigabytes, terabytes, petabytes and exabytes.'],
    });
  });
});

describe("parseSize agrees with the size real qemu-img create echoes in its Formatting line", () => {
  const dir = mkdtempSync(join(tmpdir(), 'qti-size-'));
  const cases = ['1k', '1.5k', '0.1k', '+5k', '010', '0x100', ' 2k', '7b', '1.0', '3.25k'];
  for (const s of cases) {
    it(`create -f qcow2 x ${JSON.stringify(s)} echoes the value parseSize computes`, () => {
      const f = join(dir, 'x.qcow2');
      const r = spawnSync('qemu-img', ['create', '-f', 'qcow2', f, s], { encoding: 'utf8' });
      expect(r.status).toBe(0);
      const m = / size=([0-9]+) /.exec(r.stdout);
      const p = parseSize(s);
      expect(p.ok).toBe(true);
      if (p.ok) expect(BigInt(m![1]!)).toBe(p.value);
    });
  }
  it('cleans up', () => rmSync(dir, { recursive: true, force: true }));
});

describe('humanSize (size_to_str, %0.3g)', () => {
  const table: Array<[number, string]> = [
    [0, '0 B'], [512, '512 B'], [1024, '1 KiB'], [1536, '1.5 KiB'], [102400, '100 KiB'], [1000448, '977 KiB'],
    [1022976, '999 KiB'], [1023488, '1e+03 KiB'], [1047552, '0.999 MiB'], [1048064, '1 MiB'],
    [1048576000, '0.977 GiB'], [3145728000, '2.93 GiB'], [5000000000000, '4.55 TiB'], [1125899906842624, '1 PiB'],
  ];
  for (const [v, s] of table) it(`${v} -> ${s}`, () => expect(humanSize(v)).toBe(s));
  it('rounds exact ties to even like glibc (1152 B = 1.125 KiB -> 1.12 KiB)', () => {
    expect(humanSize(1152)).toBe('1.12 KiB');
    expect(humanSize(1176)).toBe('1.15 KiB'); // 1.1484375 -> 1.15
  });
});

describe('printf-style helpers', () => {
  it('formatFixed rounds like %0.2f', () => {
    expect(formatFixed(1.66015625, 2)).toBe('1.66');
    expect(formatFixed(0.125, 2)).toBe('0.12');
    expect(formatFixed(0.375, 2)).toBe('0.38');
    expect(formatFixed(100, 2)).toBe('100.00');
    expect(formatFixed(11.764705882352942, 2)).toBe('11.76');
  });
  it('formatG matches %g', () => {
    expect(formatG(0.0001234, 3)).toBe('0.000123');
    expect(formatG(0.00001234, 3)).toBe('1.23e-05');
    expect(formatG(123456, 6)).toBe('123456');
    expect(formatG(1234567, 6)).toBe('1.23457e+06');
  });
});
