/**
 * Size strings as qemu-img parses them (QEMU's qemu_strtosz) and human-readable
 * sizes as it prints them (size_to_str with C's "%0.3g").
 *
 * Parsing works on BigInt so every value up to 2^64-1 is exact; callers apply
 * their own limits and messages.
 */

export const INT64_MAX = (1n << 63n) - 1n;
const UINT64_MAX = (1n << 64n) - 1n;

const SUFFIX: Record<string, bigint> = {
  b: 1n, B: 1n,
  k: 1n << 10n, K: 1n << 10n,
  m: 1n << 20n, M: 1n << 20n,
  g: 1n << 30n, G: 1n << 30n,
  t: 1n << 40n, T: 1n << 40n,
  p: 1n << 50n, P: 1n << 50n,
  e: 1n << 60n, E: 1n << 60n,
};

export type SizeParse =
  | { ok: true; value: bigint; hexSuffixWarning: boolean }
  | { ok: false; error: 'invalid' | 'range' };

const isSpace = (c: string | undefined) => c === ' ' || c === '\t' || c === '\n' || c === '\v' || c === '\f' || c === '\r';
const isDigit = (c: string | undefined) => c !== undefined && c >= '0' && c <= '9';
const isHex = (c: string | undefined) => c !== undefined && /^[0-9a-fA-F]$/.test(c);

/** qemu_strtosz: decimal (optionally with a fraction) or hex, then one optional unit letter. */
export function parseSize(s: string): SizeParse {
  let i = 0;
  while (isSpace(s[i])) i++;
  if (s[i] === '+') i++;
  else if (s[i] === '-') return { ok: false, error: 'invalid' };
  let value: bigint;
  let fraction = 0;
  let hex = false;
  if (s[i] === '0' && (s[i + 1] === 'x' || s[i + 1] === 'X')) {
    let j = i + 2;
    while (isHex(s[j])) j++;
    if (j === i + 2) return { ok: false, error: 'invalid' };
    value = BigInt('0x' + s.slice(i + 2, j));
    hex = true;
    i = j;
    if (s[i] === '.') return { ok: false, error: 'invalid' };
  } else {
    let j = i;
    while (isDigit(s[j])) j++;
    if (j === i) return { ok: false, error: 'invalid' };
    value = BigInt(s.slice(i, j));
    i = j;
    if (s[i] === '.') {
      j = i + 1;
      while (isDigit(s[j])) j++;
      fraction = Number('0.' + (s.slice(i + 1, j) || '0'));
      i = j;
    }
  }
  let mul = 1n;
  let hexSuffixWarning = false;
  const u = s[i];
  if (u !== undefined && SUFFIX[u] !== undefined) {
    mul = SUFFIX[u]!;
    if (hex) hexSuffixWarning = true;
    i++;
  }
  if (i !== s.length) return { ok: false, error: 'invalid' };
  if (mul === 1n && fraction !== 0) return { ok: false, error: 'invalid' };
  if (value > UINT64_MAX) return { ok: false, error: 'range' };
  const fracPart = BigInt(Math.trunc(fraction * Number(mul)));
  if (value > (UINT64_MAX - fracPart) / mul) return { ok: false, error: 'range' };
  return { ok: true, value: value * mul + fracPart, hexSuffixWarning };
}

/** The warning qemu-img prints (to stderr, prefixed) for `0x1k`. */
export function hexSuffixWarningText(s: string): string {
  return `warning: Using a multiplier suffix on hex numbers is deprecated: ${s}`;
}

/**
 * qemu-img's cvtnum_full(): on failure returns the error lines (each will be
 * prefixed by the program name); on success the value (and maybe a warning).
 */
export function cvtnum(name: string, s: string, min: bigint, max: bigint):
  { ok: true; value: bigint; warning?: string } | { ok: false; lines: string[] } {
  const r = parseSize(s);
  if (!r.ok && r.error === 'invalid') {
    return {
      ok: false,
      lines: [
        `Invalid ${name} specified. You may use k, M, G, T, P or E suffixes for`,
        'kilobytes, megabytes, gigabytes, terabytes, petabytes and exabytes.',
      ],
    };
  }
  if (!r.ok || r.value > max || r.value < min) {
    return { ok: false, lines: [`Invalid ${name} specified. Must be between ${min} and ${max}.`] };
  }
  return r.hexSuffixWarning ? { ok: true, value: r.value, warning: hexSuffixWarningText(s) } : { ok: true, value: r.value };
}

// ---------------------------------------------------------------------------
// printf-style number formatting with glibc's exact rounding (ties to even on
// the exact binary value).

/** Round the exact rational n/d (n >= 0, d > 0) to an integer, ties to even. */
function roundRational(n: bigint, d: bigint): bigint {
  const q = n / d;
  const r2 = (n % d) * 2n;
  if (r2 > d || (r2 === d && (q & 1n) === 1n)) return q + 1n;
  return q;
}

/** C "%.<p>g" of the non-negative rational n/d. */
export function formatGRational(n: bigint, d: bigint, p = 3): string {
  if (n === 0n) return '0';
  // X = floor(log10(n/d))
  let X = n.toString().length - d.toString().length;
  const pow10 = (k: number) => 10n ** BigInt(k);
  const ge = (k: number) => (k >= 0 ? n >= d * pow10(k) : n * pow10(-k) >= d);
  while (!ge(X)) X--;
  while (ge(X + 1)) X++;
  const scaled = (x: number) => {
    const sh = p - 1 - x;
    return sh >= 0 ? roundRational(n * pow10(sh), d) : roundRational(n, d * pow10(-sh));
  };
  let S = scaled(X);
  if (S >= pow10(p)) { X++; S = scaled(X); }
  const digits = S.toString();
  if (X < -4 || X >= p) {
    let mant = digits[0]! + (p > 1 ? '.' + digits.slice(1) : '');
    mant = stripZeros(mant);
    const ax = Math.abs(X);
    return `${mant}e${X < 0 ? '-' : '+'}${ax < 10 ? '0' : ''}${ax}`;
  }
  const decimals = p - 1 - X;
  let str: string;
  if (decimals <= 0) str = digits;
  else {
    const padded = digits.padStart(decimals + 1, '0');
    str = padded.slice(0, padded.length - decimals) + '.' + padded.slice(padded.length - decimals);
  }
  return stripZeros(str);
}

function stripZeros(s: string): string {
  if (!s.includes('.')) return s;
  return s.replace(/0+$/, '').replace(/\.$/, '');
}

/** Exact rational value of a finite double, as n/d. */
function doubleToRational(x: number): [bigint, bigint] {
  if (x === 0) return [0n, 1n];
  const buf = new DataView(new ArrayBuffer(8));
  buf.setFloat64(0, Math.abs(x));
  const hi = buf.getUint32(0), lo = buf.getUint32(4);
  const exp = (hi >>> 20) & 0x7ff;
  let mant = (BigInt(hi & 0xfffff) << 32n) | BigInt(lo);
  let e: number;
  if (exp === 0) e = -1074;
  else { mant |= 1n << 52n; e = exp - 1075; }
  return e >= 0 ? [mant << BigInt(e), 1n] : [mant, 1n << BigInt(-e)];
}

/** C "%.<d>f" of a non-negative double (glibc rounding). */
export function formatFixed(x: number, decimals: number): string {
  const [n, d] = doubleToRational(x);
  const S = roundRational(n * 10n ** BigInt(decimals), d);
  if (decimals === 0) return S.toString();
  const s = S.toString().padStart(decimals + 1, '0');
  return s.slice(0, s.length - decimals) + '.' + s.slice(s.length - decimals);
}

/** C "%g"-style with precision p for a double. */
export function formatG(x: number, p = 6): string {
  const [n, d] = doubleToRational(x);
  return (x < 0 ? '-' : '') + formatGRational(n, d, p);
}

const UNITS = ['B', 'KiB', 'MiB', 'GiB', 'TiB', 'PiB', 'EiB'];

/** qemu's size_to_str(): `1.5 KiB`, `1e+03 KiB`, `2.93 GiB`. */
export function humanSize(bytes: number | bigint): string {
  const v = BigInt(bytes);
  // unit index: (frexp exponent of v / (1000/1024) - 1) / 10, truncated
  const x = Number(v) * 1.024;
  let e = 0;
  if (x !== 0) e = Math.floor(Math.log2(x)) + 1;
  // correct possible log2 rounding at powers of two
  if (x !== 0) {
    if (2 ** (e - 1) > x) e--;
    else if (2 ** e <= x) e++;
  }
  let i = Math.trunc((e - 1) / 10);
  if (i < 0) i = 0;
  if (i >= UNITS.length) i = UNITS.length - 1;
  return `${formatGRational(v, 1n << BigInt(i * 10), 3)} ${UNITS[i]}`;
}
