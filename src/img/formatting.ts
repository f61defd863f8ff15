/** The `Formatting 'F', fmt=...` line create (and convert's target creation) prints. */
import type { OptionSpec } from '../block/types.js';

/** Print order of each format's options; '*' = defaults echoed even when unset. */
const ORDER: Record<string, string[]> = {
  qcow2: ['encryption', 'encrypt.format', 'encrypt.key-secret', 'encrypt.cipher-alg', 'encrypt.cipher-mode',
    'encrypt.ivgen-alg', 'encrypt.ivgen-hash-alg', 'encrypt.hash-alg', 'encrypt.iter-time',
    'cluster_size*', 'extended_l2*', 'preallocation', 'compression_type*', 'size', 'compat', 'backing_file',
    'backing_fmt', 'data_file', 'data_file_raw', 'lazy_refcounts*', 'refcount_bits*'],
  raw: ['size', 'nocow', 'preallocation', 'extent_size_hint'],
};

const DEFAULTS: Record<string, Record<string, string>> = {
  qcow2: { cluster_size: '65536', extended_l2: 'off', compression_type: 'zlib', lazy_refcounts: 'off', refcount_bits: '16' },
};

export function formattingLine(filename: string, fmt: string, size: number, display: Map<string, string>,
  schema: OptionSpec[]): string {
  const order = ORDER[fmt] ?? ['size', ...schema.map((o) => o.name).filter((n) => n !== 'size')];
  const defaults = DEFAULTS[fmt] ?? {};
  const parts: string[] = [];
  for (const entry of order) {
    const always = entry.endsWith('*');
    const name = always ? entry.slice(0, -1) : entry;
    if (name === 'size') { parts.push(`size=${size}`); continue; }
    const v = display.get(name);
    if (v !== undefined) parts.push(`${name}=${v}`);
    else if (always) {
      const d = schema.find((o) => o.name === name)?.defaultValue ?? defaults[name];
      if (d !== undefined) parts.push(`${name}=${d}`);
    }
  }
  return `Formatting '${filename}', fmt=${fmt} ${parts.join(' ')}`;
}
