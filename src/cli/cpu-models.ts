/**
 * x86 CPU models (names and descriptions as QEMU 7.2 lists them) and the CPUID feature names
 * -cpu accepts. Feature bits themselves belong to the CPU core; here we only validate names.
 */
export interface CpuModel {
  name: string;
  desc: string;
  /** Supports long mode (64-bit). */
  lm: boolean;
  /** Needs KVM (rejected under TCG). */
  kvmOnly?: boolean;
}

export const CPU_MODELS: readonly CpuModel[] = [
  { name: '486', desc: '', lm: false },
  { name: 'pentium', desc: '', lm: false },
  { name: 'pentium2', desc: '', lm: false },
  { name: 'pentium3', desc: '', lm: false },
  { name: 'qemu32', desc: 'QEMU Virtual CPU version 2.5+', lm: false },
  { name: 'qemu64', desc: 'QEMU Virtual CPU version 2.5+', lm: true },
  { name: 'kvm32', desc: 'Common 32-bit KVM processor', lm: false },
  { name: 'kvm64', desc: 'Common KVM processor', lm: true },
  { name: 'coreduo', desc: 'Genuine Intel(R) CPU           T2600  @ 2.16GHz', lm: false },
  { name: 'core2duo', desc: 'Intel(R) Core(TM)2 Duo CPU     T7700  @ 2.40GHz', lm: true },
  { name: 'n270', desc: 'Intel(R) Atom(TM) CPU N270   @ 1.60GHz', lm: false },
  { name: 'athlon', desc: 'QEMU Virtual CPU version 2.5+', lm: false },
  { name: 'phenom', desc: 'AMD Phenom(tm) 9550 Quad-Core Processor', lm: true },
  { name: 'Conroe', desc: 'Intel Celeron_4x0 (Conroe/Merom Class Core 2)', lm: true },
  { name: 'Penryn', desc: 'Intel Core 2 Duo P9xxx (Penryn Class Core 2)', lm: true },
  { name: 'Nehalem', desc: 'Intel Core i7 9xx (Nehalem Class Core i7)', lm: true },
  { name: 'Westmere', desc: 'Westmere E56xx/L56xx/X56xx (Nehalem-C)', lm: true },
  { name: 'Opteron_G1', desc: 'AMD Opteron 240 (Gen 1 Class Opteron)', lm: true },
  { name: 'Opteron_G2', desc: 'AMD Opteron 22xx (Gen 2 Class Opteron)', lm: true },
  { name: 'Opteron_G3', desc: 'AMD Opteron 23xx (Gen 3 Class Opteron)', lm: true },
  { name: 'base', desc: 'base CPU model type with no features enabled', lm: false },
  { name: 'max', desc: 'Enables all features supported by the accelerator in the current host', lm: true },
  { name: 'host', desc: 'processor with all supported host features ', lm: true, kvmOnly: true },
];

/** Find a model; accepts the "-v1" versioned names QEMU also lists. */
export function findCpuModel(name: string): CpuModel | undefined {
  const base = name.endsWith('-v1') ? name.slice(0, -3) : name;
  return CPU_MODELS.find((m) => m.name === base && !(m.kvmOnly && base !== name));
}

/** CPUID feature names accepted in -cpu (QEMU spelling). */
export const CPU_FEATURES: readonly string[] = [
  // CPUID 1 EDX
  'fpu', 'vme', 'de', 'pse', 'tsc', 'msr', 'pae', 'mce', 'cx8', 'apic', 'sep', 'mtrr', 'pge', 'mca',
  'cmov', 'pat', 'pse36', 'pn', 'clflush', 'ds', 'acpi', 'mmx', 'fxsr', 'sse', 'sse2', 'ss', 'ht',
  'tm', 'ia64', 'pbe',
  // CPUID 1 ECX
  'pni', 'pclmulqdq', 'dtes64', 'monitor', 'ds-cpl', 'vmx', 'smx', 'est', 'tm2', 'ssse3', 'cid',
  'fma', 'cx16', 'xtpr', 'pdcm', 'pcid', 'dca', 'sse4.1', 'sse4.2', 'x2apic', 'movbe', 'popcnt',
  'tsc-deadline', 'aes', 'xsave', 'avx', 'f16c', 'rdrand', 'hypervisor',
  // CPUID 8000_0001 EDX / ECX
  'syscall', 'nx', 'mmxext', 'fxsr-opt', 'pdpe1gb', 'rdtscp', 'lm', '3dnowext', '3dnow',
  'lahf-lm', 'cmp-legacy', 'svm', 'extapic', 'cr8legacy', 'abm', 'sse4a', 'misalignsse',
  '3dnowprefetch', 'osvw', 'ibs', 'xop', 'skinit', 'wdt', 'lwp', 'fma4', 'tce', 'nodeid-msr',
  'tbm', 'topoext', 'perfctr-core', 'perfctr-nb',
  // CPUID 7 EBX/ECX/EDX
  'fsgsbase', 'tsc-adjust', 'bmi1', 'hle', 'avx2', 'smep', 'bmi2', 'erms', 'invpcid', 'rtm', 'mpx',
  'avx512f', 'avx512dq', 'rdseed', 'adx', 'smap', 'clflushopt', 'clwb', 'sha-ni', 'umip', 'pku',
  'rdpid', 'spec-ctrl', 'stibp', 'ssbd', 'md-clear', 'arch-capabilities',
  // XSAVE, misc
  'xsaveopt', 'xsavec', 'xgetbv1', 'xsaves', 'arat', 'invtsc',
  // KVM paravirt (accepted, no effect under TCG)
  'kvmclock', 'kvm-nopiodelay', 'kvm-mmu', 'kvm-asyncpf', 'kvm-steal-time', 'kvm-pv-eoi',
  'kvm-pv-unhalt', 'kvmclock-stable-bit',
  // accelerator-independent properties that are booleans
  'check', 'enforce', 'migratable', 'pmu', 'vmware-cpuid-freq', 'l3-cache', 'host-cache-info',
];

/** Old spellings QEMU still accepts for features. */
const FEATURE_ALIASES: Record<string, string> = {
  sse3: 'pni', 'sse4-1': 'sse4.1', 'sse4-2': 'sse4.2', i64: 'lm', em64t: 'lm', 'xd': 'nx',
  'ffxsr': 'fxsr-opt', 'sha': 'sha-ni', 'kvm-clock': 'kvmclock',
};

/** Canonical feature name, or null if unknown. `_` is read as `-`, as QEMU does. */
export function canonicalFeature(name: string): string | null {
  const n = name.replace(/_/g, '-');
  const a = FEATURE_ALIASES[n] ?? n;
  return CPU_FEATURES.includes(a) ? a : null;
}

/** Non-boolean -cpu properties. */
export const CPU_PROPS: readonly string[] = [
  'family', 'model', 'stepping', 'vendor', 'model-id', 'level', 'xlevel', 'min-level', 'min-xlevel',
  'tsc-frequency', 'hv-spinlocks', 'phys-bits', 'host-phys-bits', 'apic-id', 'ucode-rev',
];

/** `-cpu help` in QEMU's layout. */
export function cpuHelp(): string {
  // QEMU's layout: each versioned model as an alias line plus its "-v1" line, sorted by byte
  // order; then base, host and max.
  const lines = ['Available CPUs:'];
  const special = ['base', 'host', 'max'];
  const rows: [string, string][] = [];
  for (const m of CPU_MODELS) {
    if (special.includes(m.name)) continue;
    rows.push([m.name, '(alias configured by machine type)'], [`${m.name}-v1`, m.desc]);
  }
  rows.sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  for (const n of special) rows.push([n, CPU_MODELS.find((m) => m.name === n)!.desc]);
  for (const [n, d] of rows) lines.push(`x86 ${n.padEnd(20)}  ${d}`);
  lines.push('', 'Recognized CPUID flags:');
  const flags = [...CPU_FEATURES].filter((f) => !['check', 'enforce', 'migratable', 'pmu', 'vmware-cpuid-freq', 'l3-cache', 'host-cache-info'].includes(f)).sort();
  let line = ' ';
  for (const f of flags) {
    if (line.length + 1 + f.length > 76) {
      lines.push(line);
      line = ' ';
    }
    line += ' ' + f;
  }
  lines.push(line);
  return lines.join('\n') + '\n';
}
