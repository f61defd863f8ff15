/**
 * `-o` option lists against a driver's schema, with qemu's parse-time checks:
 * unknown keys, size / number / bool syntax. Values of size and number type
 * are normalised to decimal (qemu echoes them that way); bools to on/off.
 */
import type { OptionSpec } from '../block/types.js';
import { ImgError, splitOptList } from './common.js';
import { parseSize } from '../util/size.js';

export interface ParsedOpts {
  /** key -> value for the driver */
  values: Map<string, string>;
  /** key -> value as qemu-img echoes it in the Formatting line */
  display: Map<string, string>;
}

const BOOL_TRUE = ['on', 'yes', 'true', 'y'];
const BOOL_FALSE = ['off', 'no', 'false', 'n'];

export function sizeParamError(name: string): string {
  return `Parameter '${name}' expects a non-negative number below 2^64\n` +
    'Optional suffix k, M, G, T, P or E means kilo-, mega-, giga-, tera-, peta-\nand exabytes, respectively.';
}

/**
 * Parse `list` against `schema`. `extraKeys` are accepted as strings.
 * `warn` receives deprecation warnings (hex with suffix).
 */
export function parseOptList(list: string | undefined, schema: OptionSpec[], extraKeys: string[],
  warn: (msg: string) => void): ParsedOpts {
  const values = new Map<string, string>();
  const display = new Map<string, string>();
  if (list === undefined) return { values, display };
  for (const [key, raw] of splitOptList(list)) {
    const spec = schema.find((s) => s.name === key);
    if (!spec && !extraKeys.includes(key)) throw new ImgError(`Invalid parameter '${key}'`);
    let v = raw;
    let shown = raw;
    const type = spec?.type ?? 'string';
    if (type === 'bool') {
      if (v === undefined) v = 'on';
      shown = v;
      if (BOOL_TRUE.includes(v)) v = 'on';
      else if (BOOL_FALSE.includes(v)) v = 'off';
      else throw new ImgError(`Parameter '${key}' expects 'on' or 'off'`);
    } else if (type === 'size') {
      const r = parseSize(v ?? '');
      if (!r.ok) throw new ImgError(sizeParamError(key));
      if (r.hexSuffixWarning) warn(`warning: Using a multiplier suffix on hex numbers is deprecated: ${v}`);
      v = shown = r.value.toString();
    } else if (type === 'number') {
      const t = (v ?? '').trim();
      let n: bigint | null = null;
      if (/^\+?[0-9]+$/.test(t)) n = BigInt(t.replace('+', ''));
      else if (/^0[xX][0-9a-fA-F]+$/.test(t)) n = BigInt(t);
      if (n === null) throw new ImgError(`Parameter '${key}' expects a number`);
      v = shown = n.toString();
    } else {
      if (v === undefined) v = 'on';
      shown = v;
    }
    values.set(key, v);
    display.set(key, shown!);
  }
  return { values, display };
}

const TYPE_NAMES: Record<OptionSpec['type'], string> = {
  size: '<size>', number: '<num>', bool: '<bool (on/off)>', string: '<str>',
};

/** `-o help` text for a driver. */
export function optionsHelp(format: string, schema: OptionSpec[]): string {
  const sorted = [...schema].sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  let s = `Supported ${format} options:\n`;
  for (const o of sorted) s += `  ${`${o.name}=${TYPE_NAMES[o.type]}`.padEnd(22)} - ${o.help}\n`;
  s += '\nThe protocol level may support further options.\nSpecify the target filename to include those options.\n';
  return s;
}

/** Options of the protocol layer (file-posix), which `-o help` without a target file does not list. */
const PROTOCOL_OPTIONS = ['nocow', 'extent_size_hint'];

/** The options `-o help` lists for a format when no target filename is known. */
export function formatOptions(format: string, schema: OptionSpec[]): OptionSpec[] {
  if (format === 'raw') return schema.filter((o) => o.name === 'size');
  return schema.filter((o) => !PROTOCOL_OPTIONS.includes(o.name));
}
