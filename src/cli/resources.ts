/**
 * The machine's resources from their options, with QEMU 7.2's rules and messages:
 * -cpu (model, +feat/-feat/feat=on|off), -smp (topology), -m (size, maxmem, slots), -boot.
 */
import { canonicalFeature, CPU_PROPS, findCpuModel } from './cpu-models.js';
import { CliError, withOption } from './errors.js';
import type { MachineDescription } from './machine-description.js';
import type { MachineType } from './machines.js';
import { parseBool, parseInt64, parseSize, parseUint, type QemuOpts } from './qemu-opts.js';

/** @param defaultModel the machine's default CPU (QEMU: qemu64 for pc, 486 for isapc). */
export function resolveCpu(spec: { text: string } | null, defaultModel = 'qemu64'): MachineDescription['cpu'] {
  const text = spec?.text ?? defaultModel;
  const parts = text.split(',');
  const modelName = parts[0]!;
  const m = findCpuModel(modelName);
  if (!m) throw CliError.bare(`unable to find CPU model '${modelName}'`);
  if (m.kvmOnly) throw CliError.bare(`CPU model '${modelName}' requires KVM or HVF`);
  const features: Record<string, boolean> = {};
  const plus: string[] = [];
  const minus: string[] = [];
  const props: Record<string, string> = {};
  const cls = `${m.name}-x86_64-cpu`;
  for (const p of parts.slice(1)) {
    if (p === '') continue;
    if (p[0] === '+' || p[0] === '-') {
      const f = canonicalFeature(p.slice(1));
      if (!f) throw CliError.bare(`Property '${cls}.${p.slice(1)}' not found`);
      (p[0] === '+' ? plus : minus).push(f);
      continue;
    }
    const eq = p.indexOf('=');
    const key = eq < 0 ? p : p.slice(0, eq);
    const val = eq < 0 ? 'on' : p.slice(eq + 1);
    if (CPU_PROPS.includes(key)) {
      props[key] = val;
      continue;
    }
    const f = canonicalFeature(key);
    if (!f) throw CliError.bare(`can't apply global ${cls}.${key}=${val}: Property '${cls}.${key}' not found`);
    try {
      features[f] = parseBool(val, key);
    } catch {
      throw CliError.bare(`can't apply global ${cls}.${key}=${val}: Parameter '${key}' expects 'on' or 'off'`);
    }
  }
  // +feat / -feat override feat=on|off; -feat wins over +feat (QEMU's order).
  for (const f of plus) features[f] = true;
  for (const f of minus) features[f] = false;
  const lm = features.lm ?? m.lm;
  return { model: m.name, features, props, longMode: lm };
}

export function resolveSmp(o: QemuOpts | null, mt: MachineType, warn: (m: string) => void): MachineDescription['smp'] {
  if (!o) return { cpus: 1, maxcpus: 1, sockets: 1, dies: 1, cores: 1, threads: 1 };
  const get = (k: string): number => {
    const v = o.get(k);
    if (v === undefined) return 0;
    const n = parseUint(v);
    if (n === null) throw new CliError(`Parameter '${k}' expects a number`, '-smp ' + o.text);
    return n;
  };
  let cpus = get('cpus'), maxcpus = get('maxcpus'), sockets = get('sockets'), cores = get('cores'), threads = get('threads');
  const dies = get('dies') || 1;
  if (o.entries.some((e) => parseUint(e.value) === 0)) {
    warn('warning: Deprecated CPU topology (considered invalid): CPU topology parameters must be greater than zero');
  }
  const preferSockets = mt.kind === 'pc' && /^pc-i440fx-([1-5]\.|6\.[01]$)/.test(mt.name);
  if (cpus === 0 && maxcpus === 0) {
    sockets ||= 1;
    cores ||= 1;
    threads ||= 1;
  } else {
    maxcpus ||= cpus;
    const mx = maxcpus;
    if (preferSockets) {
      threads ||= 1;
      cores ||= 1;
      sockets ||= Math.floor(mx / (dies * cores * threads));
    } else {
      threads ||= 1;
      sockets ||= 1;
      cores ||= Math.floor(mx / (sockets * dies * threads));
    }
  }
  const total = sockets * dies * cores * threads;
  maxcpus ||= total;
  cpus ||= maxcpus;
  const topo = `sockets (${sockets}) * dies (${dies}) * cores (${cores}) * threads (${threads})`;
  if (total !== maxcpus) throw CliError.bare(`Invalid CPU topology: product of the hierarchy must match maxcpus: ${topo} != maxcpus (${maxcpus})`);
  if (maxcpus < cpus) throw CliError.bare(`Invalid CPU topology: maxcpus must be equal to or greater than smp: ${topo} == maxcpus (${maxcpus}) < smp_cpus (${cpus})`);
  if (maxcpus > mt.maxCpus) throw CliError.bare(`Invalid SMP CPUs ${maxcpus}. The max CPUs supported by machine '${mt.aliasOf ?? mt.name}' is ${mt.maxCpus}`);
  return { cpus, maxcpus, sockets, dies, cores, threads };
}

export function resolveMemory(o: QemuOpts, where: string): MachineDescription['memory'] {
  const DEFAULT = 128 * 1024 * 1024;
  let size = DEFAULT;
  const s = o.get('size');
  if (s !== undefined) {
    size = withOption(where, () => parseSize(s, 'size', 'm'));
    if (size === 0) size = DEFAULT;
    size = Math.ceil(size / 8192) * 8192;
  }
  const mm = o.get('maxmem');
  const slotsS = o.get('slots');
  const maxBytes = mm === undefined ? size : withOption(where, () => parseSize(mm, 'maxmem'));
  const slots = slotsS === undefined ? 0 : withOption(where, () => parseInt64(slotsS, 'slots', 'a number'));
  if (slotsS !== undefined && mm === undefined) throw CliError.bare('slots specified but no max-size');
  if (maxBytes < size) {
    throw CliError.bare(`invalid value of maxmem: maximum memory size (0x${maxBytes.toString(16)}) must be at least the initial memory size (0x${size.toString(16)})`);
  }
  // TCG's default 40 physical address bits (1 TiB) bound RAM plus the PCI hole remap.
  if (size > 2 ** 40 - 2 ** 30) throw CliError.bare(`cannot set up guest memory 'pc.ram': Cannot allocate memory`);
  return { sizeBytes: size, maxBytes, slots };
}

export function resolveBoot(o: QemuOpts | null): MachineDescription['boot'] {
  let pcInvalid: string | null = null;
  const checkOrder = (s: string): string => {
    const seen = new Set<string>();
    for (const c of s) {
      if (c < 'a' || c > 'p') throw CliError.bare(`Invalid boot device '${c}'`);
      if (seen.has(c)) throw CliError.bare(`Boot device '${c}' was given twice`);
      // The PC firmware boots floppy (a, b), disk (c), CD-ROM (d) and network (n) only.
      if (!'abcdn'.includes(c)) pcInvalid ??= c;
      seen.add(c);
    }
    return s;
  };
  if (!o) return { order: 'cad', once: null, menu: null, splash: null, splashTimeMs: null, rebootTimeoutMs: -1, strict: false };
  const order = o.get('order');
  const once = o.get('once');
  const menu = o.get('menu');
  const st = o.get('splash-time');
  const rt = o.get('reboot-timeout');
  const strict = o.get('strict');
  const boolOf = (v: string, k: string) => {
    try {
      return parseBool(v, k);
    } catch {
      throw CliError.bare(`Parameter 'boot.${k}' expects 'on' or 'off'`);
    }
  };
  const intOf = (v: string, k: string) => {
    try {
      return parseInt64(v, k);
    } catch {
      throw CliError.bare(`Parameter 'boot.${k}' expects integer`);
    }
  };
  const result = {
    order: order !== undefined ? checkOrder(order) : 'cad',
    once: once !== undefined ? checkOrder(once) : null,
    menu: menu !== undefined ? boolOf(menu, 'menu') : null,
    splash: o.get('splash') ?? null,
    splashTimeMs: st !== undefined ? intOf(st, 'splash-time') : null,
    rebootTimeoutMs: rt !== undefined ? intOf(rt, 'reboot-timeout') : -1,
    strict: strict !== undefined ? boolOf(strict, 'strict') : false,
  };
  if (pcInvalid !== null) throw CliError.bare(`Invalid boot device for PC: '${pcInvalid}'`);
  return result;
}
