/**
 * Splits argv into option occurrences using the option table: `-opt` or `--opt`, the next word
 * as argument when the option takes one (even if it starts with '-', as QEMU does), and a bare
 * word as the disk image for IDE disk 0 (`qemu-system-x86_64 disk.img`).
 */
import { readFileSync } from 'node:fs';
import type { ArgItem } from './build.js';
import { CliError } from './errors.js';
import { findOption } from './options.js';

export function splitArgv(argv: readonly string[]): ArgItem[] {
  const out: ArgItem[] = [];
  for (let i = 0; i < argv.length; i++) {
    const w = argv[i]!;
    if (w[0] !== '-' || w === '-') {
      out.push({ name: 'hda', arg: w, where: w });
      continue;
    }
    const name = w.startsWith('--') ? w.slice(2) : w.slice(1);
    const def = findOption(name);
    if (!def) throw new CliError('invalid option', w);
    if (def.status === 'unsupported') {
      throw new CliError(`option not supported by qemu-ts (${def.help}); see docs/cli.md`, w);
    }
    if (def.arg !== null) {
      if (i + 1 >= argv.length) throw new CliError('requires an argument', w);
      const arg = argv[++i]!;
      out.push({ name: def.name, arg, where: `${w} ${arg}` });
    } else {
      out.push({ name: def.name, arg: null, where: w });
    }
  }
  return out;
}

/** Config groups a -readconfig file may hold, and the option each maps to. */
const GROUP_OPTION: Record<string, string> = {
  drive: 'drive', device: 'device', netdev: 'netdev', net: 'net', chardev: 'chardev', machine: 'machine',
  memory: 'm', 'smp-opts': 'smp', 'boot-opts': 'boot', rtc: 'rtc', name: 'name', global: 'global', mon: 'mon',
  icount: 'icount', accel: 'accel', display: 'display', 'option-rom': 'option-rom', vnc: 'vnc',
};
/** The id-bearing groups: `[drive "d0"]` means id=d0. */
const ID_KEY: Record<string, string> = { drive: 'id', device: 'id', netdev: 'id', net: 'id', chardev: 'id', mon: 'id' };

function escapeValue(v: string): string {
  return v.replace(/,/g, ',,');
}

/** Read a QEMU config file (`[group "id"]` sections of `key = "value"` lines) into option items. */
export function readConfigFile(path: string, where: string): ArgItem[] {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (e) {
    throw new CliError(`Cannot read config file ${path}: ${(e as NodeJS.ErrnoException).code === 'ENOENT' ? 'No such file or directory' : (e as Error).message}`, where);
  }
  const out: ArgItem[] = [];
  let group: string | null = null;
  let pairs: string[] = [];
  const flush = () => {
    if (group === null) return;
    const opt = GROUP_OPTION[group]!;
    const arg = pairs.join(',');
    out.push({ name: opt, arg, where: `-${opt} ${arg}` });
  };
  text.split(/\r?\n/).forEach((raw, n) => {
    const line = raw.trim();
    if (line === '' || line.startsWith('#')) return;
    const sec = /^\[([\w-]+)(?:\s+"([^"]*)")?\]$/.exec(line);
    if (sec) {
      flush();
      group = sec[1]!;
      if (!GROUP_OPTION[group]) throw new CliError(`There is no option group '${group}'`, `${path}:${n + 1}`);
      pairs = [];
      if (sec[2] !== undefined) pairs.push(`${ID_KEY[group] ?? 'id'}=${escapeValue(sec[2])}`);
      return;
    }
    const kv = /^([\w.-]+)\s*=\s*"(.*)"$/.exec(line);
    if (!kv || group === null) throw new CliError('parse error', `${path}:${n + 1}`);
    const key = kv[1]!;
    const value = escapeValue(kv[2]!);
    // [memory] size = "1024" is MiB, as -m; [machine] type = "pc".
    pairs.push(`${key}=${value}`);
  });
  flush();
  return out;
}

/** -writeconfig output: the groups that were given as options, in config-file form. */
export function writeConfig(items: readonly ArgItem[]): string {
  const inv: Record<string, string> = {};
  for (const [g, o] of Object.entries(GROUP_OPTION)) if (!(o in inv)) inv[o] = g;
  inv.M = 'machine';
  const implied: Record<string, string> = { machine: 'type', m: 'size', smp: 'cpus', boot: 'order', net: 'type', netdev: 'type', chardev: 'backend', device: 'driver', name: 'guest', rtc: 'base' };
  const lines: string[] = [];
  for (const it of items) {
    const g = inv[it.name];
    if (!g || it.arg === null) continue;
    const opt = it.name === 'M' ? 'machine' : it.name;
    const parts: [string, string][] = [];
    let first = true;
    for (const el of it.arg.split(/(?<!,),(?!,)/)) {
      const eq = el.indexOf('=');
      if (eq < 0 && first && implied[opt]) parts.push([implied[opt]!, el]);
      else if (eq >= 0) parts.push([el.slice(0, eq), el.slice(eq + 1)]);
      first = false;
    }
    const idKey = ID_KEY[g];
    const idPart = idKey ? parts.find(([k]) => k === idKey) : undefined;
    lines.push(idPart ? `[${g} "${idPart[1]}"]` : `[${g}]`);
    for (const [k, v] of parts) if (k !== idKey || !idPart) lines.push(`  ${k} = "${v.replace(/,,/g, ',')}"`);
    lines.push('');
  }
  return '# qemu config file\n\n' + lines.join('\n');
}
