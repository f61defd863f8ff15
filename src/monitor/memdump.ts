/**
 * `x` / `xp` / `print` output in QEMU's HMP layout: the `/fmt` suffix
 * (count, format x d u o c i, size b h w g, remembered between commands as
 * QEMU does), lines of 16 bytes (8 for byte units), values padded to the
 * widest value of their size.
 */

export type DumpFormatChar = 'x' | 'd' | 'u' | 'o' | 'c' | 'i';

export interface DumpFormat { count: number; format: DumpFormatChar; size: number }

export class FormatError extends Error {}

/** The monitor's sticky default format and unit size (QEMU starts with x and 4 bytes). */
export class FormatMemory {
  format: DumpFormatChar = 'x';
  size = 4;

  /**
   * Parse a `/fmt` word (with the slash) or null for "none given". For `i`
   * without a size the size is -1 (the code size follows CS).
   */
  parse(spec: string | null): DumpFormat {
    if (spec === null) return { count: 1, format: this.format, size: this.size };
    let i = 1;
    let count = 1;
    const m = /^[0-9]+/.exec(spec.slice(1));
    if (m !== null) { count = parseInt(m[0], 10); i += m[0].length; }
    let format: DumpFormatChar | null = null;
    let size = -1;
    for (; i < spec.length; i++) {
      const c = spec[i]!;
      switch (c) {
        case 'x': case 'd': case 'u': case 'o': case 'c': case 'i': format = c; break;
        case 'b': size = 1; break;
        case 'h': size = 2; break;
        case 'w': size = 4; break;
        case 'g': case 'L': size = 8; break;
        default: throw new FormatError(`invalid char in format: '${c}'`);
      }
    }
    if (format === null) format = this.format;
    if (format !== 'i') {
      if (size < 0) size = this.size;
      this.size = size;
    }
    this.format = format;
    return { count, format, size };
  }
}

/** A character as QEMU's monitor prints it: 'A', '\n', '\x00'. */
export function printChar(c: number): string {
  c &= 0xff;
  let s: string;
  if (c === 0x27) s = "\\'";
  else if (c === 0x5c) s = '\\\\';
  else if (c === 0x0a) s = '\\n';
  else if (c === 0x0d) s = '\\r';
  else if (c >= 32 && c <= 126) s = String.fromCharCode(c);
  else s = `\\x${c.toString(16).padStart(2, '0')}`;
  return `'${s}'`;
}

/** `print` output for a 64-bit value (hwaddr semantics: unsigned for x/o/u, signed for d). */
export function formatPrint(v: bigint, format: DumpFormatChar): string {
  const u = BigInt.asUintN(64, v);
  switch (format) {
    case 'o': return u === 0n ? '0' : '0' + u.toString(8);
    case 'x': return u === 0n ? '0' : '0x' + u.toString(16);
    case 'u': return u.toString(10);
    case 'c': return printChar(Number(u & 0xffn));
    default: return BigInt.asIntN(64, v).toString(10);
  }
}

/**
 * Memory dump text. `read(addr, len)` returns the bytes or null when the
 * range cannot be accessed (QEMU prints "Cannot access memory" and stops).
 * `addrDigits` is 8 for linear addresses (`x`) and 16 for physical (`xp`).
 */
export function memoryDump(addr: number, f: DumpFormat, addrDigits: number,
  read: (addr: number, len: number) => Uint8Array | null): string {
  let wsize = f.size;
  let len = wsize * f.count;
  const lineSize = wsize === 1 ? 8 : 16;
  let digits = 0;
  switch (f.format) {
    case 'o': digits = Math.ceil((wsize * 8) / 3); break;
    case 'u': case 'd': digits = Math.ceil((wsize * 8 * 10) / 33); break;
    case 'c': wsize = 1; break;
    default: digits = (wsize * 8) / 4; break;
  }
  let out = '';
  while (len > 0) {
    out += `${(addr >>> 0).toString(16).padStart(addrDigits, '0')}:`;
    const l = Math.min(len, lineSize);
    const bytes = read(addr >>> 0, l);
    if (bytes === null) { out += ' Cannot access memory\n'; break; }
    for (let i = 0; i + wsize <= l; i += wsize) {
      let v = 0n;
      for (let k = wsize - 1; k >= 0; k--) v = (v << 8n) | BigInt(bytes[i + k]!);
      out += ' ';
      switch (f.format) {
        case 'o': out += (v === 0n ? '0' : '0' + v.toString(8)).padStart(digits); break;
        case 'u': out += v.toString(10).padStart(digits); break;
        case 'd': out += BigInt.asIntN(64, v).toString(10).padStart(digits); break;
        case 'c': out += printChar(Number(v)); break;
        default: out += '0x' + v.toString(16).padStart(digits, '0'); break;
      }
    }
    out += '\n';
    addr += l;
    len -= l;
  }
  return out;
}
