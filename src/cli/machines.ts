/**
 * Machine types qemu-ts builds, with the per-version defaults QEMU 7.2 applies to them
 * (observed with qemu-system-x86_64 7.2: which BIOS and VGA ROM each one loads).
 */
import type { MachineKind } from './machine-description.js';

export interface MachineType {
  name: string;
  kind: MachineKind;
  desc: string;
  /** Name this one is an alias of, or null. */
  aliasOf: string | null;
  isDefault: boolean;
  deprecated: boolean;
  /** BIOS image file name loaded when no -bios is given. */
  bios: string;
  /** -vga value used when none is given. */
  defaultVga: string;
  /** NIC model for a plain `-net nic`. */
  defaultNic: string;
  maxCpus: number;
}

const I440FX_DESC = 'Standard PC (i440FX + PIIX, 1996)';
/** pc-i440fx versions QEMU 7.2 offers, newest first (its own -M help order). */
const I440FX_VERSIONS = [
  '7.2', '7.1', '7.0', '6.2', '6.1', '6.0', '5.2', '5.1', '5.0', '4.2', '4.1', '4.0', '3.1', '3.0',
  '2.9', '2.8', '2.7', '2.6', '2.5', '2.4', '2.3', '2.2', '2.12', '2.11', '2.10', '2.1', '2.0',
  '1.7', '1.6', '1.5', '1.4',
];

function versionAtLeast(v: string, major: number, minor: number): boolean {
  const [a, b] = v.split('.').map(Number) as [number, number];
  return a > major || (a === major && b >= minor);
}

function i440fx(v: string): MachineType {
  return {
    name: `pc-i440fx-${v}`,
    kind: 'pc',
    desc: I440FX_DESC,
    aliasOf: null,
    isDefault: v === '7.2',
    deprecated: !versionAtLeast(v, 2, 0),
    // SeaBIOS 256k image from pc-i440fx-2.0 on; the 128k bios.bin before.
    bios: versionAtLeast(v, 2, 0) ? 'bios-256k.bin' : 'bios.bin',
    // Standard VGA became the default display in 2.2; Cirrus before.
    defaultVga: versionAtLeast(v, 2, 2) ? 'std' : 'cirrus',
    defaultNic: 'e1000',
    maxCpus: 255,
  };
}

export const MACHINE_TYPES: readonly MachineType[] = [
  { ...i440fx('7.2'), name: 'pc', aliasOf: 'pc-i440fx-7.2', isDefault: false },
  ...I440FX_VERSIONS.map(i440fx),
  {
    name: 'isapc', kind: 'isapc', desc: 'ISA-only PC', aliasOf: null, isDefault: false, deprecated: false,
    bios: 'bios.bin', defaultVga: 'cirrus', defaultNic: 'ne2k_isa', maxCpus: 1,
  },
];

/** Machine names real QEMU knows that qemu-ts does not build yet. */
const NOT_YET = /^(q35|pc-q35-.*|microvm|x-remote|none)$/;

export type MachineLookup = { ok: true; type: MachineType } | { ok: false; notYet: boolean };

export function findMachine(name: string): MachineLookup {
  const t = MACHINE_TYPES.find((m) => m.name === name);
  if (t) return { ok: true, type: t };
  return { ok: false, notYet: NOT_YET.test(name) };
}

export function defaultMachine(): MachineType {
  return MACHINE_TYPES.find((m) => m.isDefault)!;
}

/** `-machine help` in QEMU's layout. */
export function machineHelp(): string {
  const lines = ['Supported machines are:'];
  for (const m of MACHINE_TYPES) {
    let d = m.desc;
    if (m.aliasOf) d += ` (alias of ${m.aliasOf})`;
    if (m.isDefault) d += ' (default)';
    if (m.deprecated) d += ' (deprecated)';
    lines.push(`${m.name.padEnd(20)} ${d}`);
  }
  return lines.join('\n') + '\n';
}

/** -machine properties accepted for pc/isapc, with their kind. */
export const MACHINE_PROPS: Record<string, 'bool' | 'string' | 'size' | 'onoffauto'> = {
  accel: 'string', usb: 'bool', acpi: 'onoffauto', hpet: 'bool', vmport: 'onoffauto', smm: 'onoffauto',
  'kernel-irqchip': 'string', 'mem-merge': 'bool', 'dump-guest-core': 'bool', graphics: 'bool',
  'max-ram-below-4g': 'size', pit: 'bool', 'sata': 'bool', 'dtb': 'string', 'firmware': 'string',
  'kernel': 'string', 'initrd': 'string', 'append': 'string', 'memory-backend': 'string', 'suppress-vmdesc': 'bool',
  'nvdimm': 'bool', 'hmat': 'bool', 'smbus': 'bool', 'pic': 'bool', 'i8042': 'bool', 'default-bus-bypass-iommu': 'bool',
};
