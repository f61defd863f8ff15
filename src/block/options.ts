/** Parsing of creation/amend option values with qemu-img's error texts. */
import { BlockError } from './errors.js';

/** `on`/`off` (qemu also takes yes/no/true/false? no: 7.2 wants on or off). */
export function parseBool(name: string, v: string | undefined, dflt: boolean): boolean {
  if (v === undefined) return dflt;
  if (v === 'on') return true;
  if (v === 'off') return false;
  throw new BlockError(`Parameter '${name}' expects 'on' or 'off'`);
}

const UNITS = 'bkmgtpe';

/** A size string (section 2 of the reference); null when invalid. */
export function parseSizeString(s: string): number | null {
  const m = /^\s*\+?(0[xX][0-9a-fA-F]+|[0-9]+(?:\.[0-9]*)?)([bBkKmMgGtTpPeE]?)$/.exec(s);
  if (!m) return null;
  const num = m[1]!;
  const unit = m[2]!.toLowerCase();
  const mult = unit === '' ? 1 : 2 ** (10 * UNITS.indexOf(unit));
  let v: number;
  if (/^0[xX]/.test(num)) v = parseInt(num, 16) * mult;
  else if (num.includes('.')) {
    const [ip, fp] = num.split('.') as [string, string];
    if (unit === '' && !/^0*$/.test(fp)) return null;
    v = Math.floor(parseFloat(`${ip}.${fp || '0'}`) * mult);
  } else v = parseInt(num, 10) * mult;
  if (!Number.isFinite(v) || v > 2 ** 63 - 1) return null;
  return v;
}

export function parseSizeOpt(name: string, v: string | undefined, dflt: number): number {
  if (v === undefined) return dflt;
  const n = parseSizeString(v);
  if (n === null) {
    throw new BlockError(`Parameter '${name}' expects a non-negative number below 2^64\nOptional suffix k, M, G, T, P or E means kilo-, mega-, giga-, tera-, peta-\nand exabytes, respectively.`);
  }
  return n;
}

export function parseNumberOpt(name: string, v: string | undefined, dflt: number): number {
  if (v === undefined) return dflt;
  if (!/^\s*\+?[0-9]+$/.test(v) && !/^\s*0[xX][0-9a-fA-F]+$/.test(v)) {
    throw new BlockError(`Parameter '${name}' expects a number`);
  }
  return Number(v.trim());
}

export function parseEnum(name: string, v: string | undefined, values: string[], dflt: string): string {
  if (v === undefined) return dflt;
  if (!values.includes(v)) throw new BlockError(`Parameter '${name}' does not accept value '${v}'`);
  return v;
}

/** Reject keys the driver does not know: `Invalid parameter 'k'`. */
export function checkKnown(opts: Map<string, string>, known: string[]): void {
  for (const k of opts.keys()) if (!known.includes(k)) throw new BlockError(`Invalid parameter '${k}'`);
}
