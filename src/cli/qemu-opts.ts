/**
 * QemuOpts: the `key=value,key2=value` sub-option syntax QEMU uses for most options.
 *
 * Rules (as QEMU 7.2 applies them):
 * - elements are separated by `,`; a doubled `,,` is a literal comma inside a value;
 * - the first element may omit its key when the option has an implied key
 *   (`-net nic,model=x` → type=nic; `-m 1G` → size=1G) — only if it contains no `=`;
 * - an element without `=` is a short-form boolean: `foo` → foo=on, `nofoo` → foo=off
 *   (deprecated in QEMU, which warns); `help` or `?` asks for help;
 * - repeated keys are all kept; readers take the last one unless they accumulate.
 */
import { CliError } from './errors.js';

export interface OptsEntry {
  key: string;
  value: string;
}

export class QemuOpts {
  entries: OptsEntry[] = [];
  /** `help` or `?` appeared as an element. */
  help = false;
  /** The original text, for messages. */
  readonly text: string;
  constructor(text: string) {
    this.text = text;
  }
  /** Last value of `key` (last wins, as QEMU). */
  get(key: string): string | undefined {
    for (let i = this.entries.length - 1; i >= 0; i--) if (this.entries[i]!.key === key) return this.entries[i]!.value;
    return undefined;
  }
  getAll(key: string): string[] {
    return this.entries.filter((e) => e.key === key).map((e) => e.value);
  }
  has(key: string): boolean {
    return this.entries.some((e) => e.key === key);
  }
  keys(): string[] {
    return [...new Set(this.entries.map((e) => e.key))];
  }
  /** Reject any key not in `allowed` with QEMU's message. */
  check(allowed: readonly string[]): void {
    for (const e of this.entries) if (!allowed.includes(e.key)) throw new CliError(`Invalid parameter '${e.key}'`);
  }
  /** Plain object of last values, for JSON. */
  toRecord(omit: readonly string[] = []): Record<string, string> {
    const r: Record<string, string> = {};
    for (const e of this.entries) if (!omit.includes(e.key)) r[e.key] = e.value;
    return r;
  }
  getBool(key: string, dflt: boolean): boolean {
    const v = this.get(key);
    return v === undefined ? dflt : parseBool(v, key);
  }
  getNumber(key: string): number | undefined {
    const v = this.get(key);
    return v === undefined ? undefined : parseNumber(v, key);
  }
  getSize(key: string): number | undefined {
    const v = this.get(key);
    return v === undefined ? undefined : parseSize(v, key);
  }
}

/** Read one value starting at `i` up to an unescaped `,`; `,,` is a literal comma. */
function readValue(s: string, i: number): [string, number] {
  let out = '';
  while (i < s.length) {
    const c = s[i]!;
    if (c === ',') {
      if (s[i + 1] === ',') {
        out += ',';
        i += 2;
        continue;
      }
      break;
    }
    out += c;
    i++;
  }
  return [out, i];
}

/**
 * Parse `text`. `implied` is the key of a key-less first element. `warn` receives QEMU's
 * deprecation notes (short-form booleans).
 */
export function parseQemuOpts(text: string, implied?: string, warn?: (msg: string) => void): QemuOpts {
  const opts = new QemuOpts(text);
  let i = 0;
  let first = true;
  while (i < text.length) {
    // Key: up to '=' or ','.
    let j = i;
    while (j < text.length && text[j] !== '=' && text[j] !== ',') j++;
    if (first && implied && text[j] !== '=') {
      const [value, end] = readValue(text, i);
      if (value === 'help' || value === '?') opts.help = true;
      else opts.entries.push({ key: implied, value });
      i = end + 1;
    } else if (text[j] === '=') {
      const key = text.slice(i, j);
      const [value, end] = readValue(text, j + 1);
      opts.entries.push({ key, value });
      i = end + 1;
    } else {
      const key = text.slice(i, j);
      i = j + 1;
      if (key === 'help' || key === '?') {
        opts.help = true;
      } else {
        // An empty element (",a=1", "a=1,,,") is an empty short-form boolean; check() rejects it.
        const off = key.startsWith('no') && key.length > 2;
        const name = off ? key.slice(2) : key;
        warn?.(`short-form boolean option '${name}' deprecated\nPlease use ${name}=${off ? 'off' : 'on'} instead`);
        opts.entries.push({ key: name, value: off ? 'off' : 'on' });
      }
    }
    first = false;
  }
  return opts;
}

const TRUE_WORDS = ['on', 'yes', 'true', 'y'];
const FALSE_WORDS = ['off', 'no', 'false', 'n'];

export function parseBool(v: string, key: string): boolean {
  if (TRUE_WORDS.includes(v)) return true;
  if (FALSE_WORDS.includes(v)) return false;
  throw new CliError(`Parameter '${key}' expects 'on' or 'off'`);
}

/** An unsigned integer in C notation (decimal, 0x hex, 0 octal), as qemu_strtou64 base 0. */
export function parseUint(v: string): number | null {
  const t = v.trim();
  let n: number;
  if (/^0[xX][0-9a-fA-F]+$/.test(t)) n = parseInt(t.slice(2), 16);
  else if (/^0[0-7]+$/.test(t)) n = parseInt(t.slice(1), 8);
  else if (/^[0-9]+$/.test(t)) n = parseInt(t, 10);
  else return null;
  return Number.isSafeInteger(n) ? n : null;
}

export function parseNumber(v: string, key: string): number {
  const n = parseUint(v);
  if (n === null) throw new CliError(`Parameter '${key}' expects a number`);
  return n;
}

/** A signed integer (QOM int properties, -boot reboot-timeout). */
export function parseInt64(v: string, key: string, what = 'integer'): number {
  const neg = v.startsWith('-');
  const n = parseUint(neg ? v.slice(1) : v);
  if (n === null) throw new CliError(`Parameter '${key}' expects ${what}`);
  return neg ? -n : n;
}

export const SIZE_HINT =
  'Optional suffix k, M, G, T, P or E means kilo-, mega-, giga-, tera-, peta-\nand exabytes, respectively.';

const SUFFIX_SHIFT: Record<string, number> = { b: 0, k: 10, m: 20, g: 30, t: 40, p: 50, e: 60 };

/**
 * A size as qemu_strtosz reads it: a decimal number (a fraction only with an explicit unit) or a
 * hex integer, then an optional unit B/k/M/G/T/P/E (powers of 1024, any case). `defaultUnit`
 * applies when there is none ('b' for QemuOpts sizes, 'm' for the legacy `-m 1024`).
 * Returns null if the text is not a size.
 */
export function strToSize(v: string, defaultUnit: 'b' | 'm' = 'b'): number | null {
  const m = /^(0[xX][0-9a-fA-F]+|[0-9]+(?:\.[0-9]*)?|\.[0-9]+)([bBkKmMgGtTpPeE]?)$/.exec(v);
  if (!m) return null;
  const num = m[1]!;
  const unit = m[2] ? m[2].toLowerCase() : null;
  const isHex = /^0[xX]/.test(num);
  const hasFrac = num.includes('.');
  if (hasFrac && (unit === null || unit === 'b')) return null;
  if (isHex && unit !== null) return null;
  const shift = SUFFIX_SHIFT[unit ?? defaultUnit]!;
  let bytes: number;
  if (isHex) bytes = parseInt(num.slice(2), 16);
  else if (hasFrac) bytes = Math.floor(parseFloat(num) * 2 ** shift);
  else bytes = Number(BigInt(num) << BigInt(shift) <= 2n ** 64n - 1n ? BigInt(num) << BigInt(shift) : -1n);
  if (!(bytes >= 0) || bytes >= 2 ** 64) return null;
  return bytes;
}

/** QemuOpts size with QEMU's error text. */
export function parseSize(v: string, key: string, defaultUnit: 'b' | 'm' = 'b'): number {
  const n = strToSize(v, defaultUnit);
  if (n === null) throw new CliError(`Parameter '${key}' expects a non-negative number below 2^64`, null, SIZE_HINT);
  return n;
}
