/**
 * x86 instruction lengths (16/32-bit code, i686 + the 0F map), for the
 * monitor's `x/i` until a disassembler exists: each line then shows exactly
 * one instruction's bytes.
 */

const bits = (list: number[]): Uint8Array => { const t = new Uint8Array(256); for (const x of list) t[x] = 1; return t; };
const range = (a: number, b: number): number[] => Array.from({ length: b - a + 1 }, (_, i) => a + i);

const PREFIX = bits([0x26, 0x2e, 0x36, 0x3e, 0x64, 0x65, 0x66, 0x67, 0xf0, 0xf2, 0xf3]);
const MODRM1 = bits([
  ...[0x00, 0x08, 0x10, 0x18, 0x20, 0x28, 0x30, 0x38].flatMap((b) => [b, b + 1, b + 2, b + 3]),
  0x62, 0x63, 0x69, 0x6b, ...range(0x80, 0x8f), 0xc0, 0xc1, 0xc4, 0xc5, 0xc6, 0xc7, ...range(0xd0, 0xd3), ...range(0xd8, 0xdf), 0xf6, 0xf7, 0xfe, 0xff,
]);
const IMM8_1 = bits([0x04, 0x0c, 0x14, 0x1c, 0x24, 0x2c, 0x34, 0x3c, 0x6a, 0x6b, ...range(0x70, 0x7f), 0x80, 0x82, 0x83, 0xa8, ...range(0xb0, 0xb7),
  0xc0, 0xc1, 0xc6, 0xcd, 0xd4, 0xd5, ...range(0xe0, 0xe7), 0xeb]);
const IMMZ_1 = bits([0x05, 0x0d, 0x15, 0x1d, 0x25, 0x2d, 0x35, 0x3d, 0x68, 0x69, 0x81, 0xa9, ...range(0xb8, 0xbf), 0xc7, 0xe8, 0xe9]);
const NO_MODRM_0F = bits([...range(0x05, 0x09), 0x0b, ...range(0x30, 0x37), 0x77, ...range(0x80, 0x8f), 0xa0, 0xa1, 0xa2, 0xa8, 0xa9, 0xaa, ...range(0xc8, 0xcf)]);
const IMM8_0F = bits([0x70, 0x71, 0x72, 0x73, 0xa4, 0xac, 0xba, 0xc2, 0xc4, 0xc5, 0xc6]);

/** Length of the instruction at `b[0]`, or 0 if it runs past the bytes given or exceeds 15 bytes. */
export function insnLength(b: Uint8Array, code32: boolean): number {
  let i = 0;
  let os32 = code32, as32 = code32;
  while (i < b.length && PREFIX[b[i]!]) {
    if (b[i] === 0x66) os32 = !code32;
    if (b[i] === 0x67) as32 = !code32;
    i++;
  }
  if (i >= b.length) return 0;
  const immz = os32 ? 4 : 2;
  let op = b[i++]!;
  let modrm = false, imm = 0, map0f = false;
  if (op === 0x0f) {
    map0f = true;
    if (i >= b.length) return 0;
    op = b[i++]!;
    modrm = !NO_MODRM_0F[op];
    if (IMM8_0F[op]) imm = 1;
    if (op >= 0x80 && op <= 0x8f) imm = immz;
  } else {
    modrm = MODRM1[op] === 1;
    if (IMM8_1[op]) imm = 1;
    else if (IMMZ_1[op]) imm = immz;
    else if (op === 0xc2 || op === 0xca) imm = 2;
    else if (op === 0xc8) imm = 3;
    else if (op === 0x9a || op === 0xea) imm = immz + 2;
    else if (op >= 0xa0 && op <= 0xa3) imm = as32 ? 4 : 2;
  }
  if (modrm) {
    if (i >= b.length) return 0;
    const m = b[i++]!;
    const mod = m >> 6, rm = m & 7, reg = (m >> 3) & 7;
    if (!map0f && (op === 0xf6 || op === 0xf7) && reg < 2) imm = op === 0xf6 ? 1 : immz;
    if (mod !== 3) {
      if (as32) {
        if (rm === 4) {
          if (i >= b.length) return 0;
          const sib = b[i++]!;
          if (mod === 0 && (sib & 7) === 5) i += 4;
        }
        if (mod === 0 && rm === 5) i += 4;
        else if (mod === 1) i += 1;
        else if (mod === 2) i += 4;
      } else {
        if (mod === 0 && rm === 6) i += 2;
        else if (mod === 1) i += 1;
        else if (mod === 2) i += 2;
      }
    }
  }
  i += imm;
  return i > 15 || i > b.length ? 0 : i;
}
