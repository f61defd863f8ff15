/**
 * CPU models for `-cpu`: vendor, signature and the CPUID feature bits this
 * core really executes. Never list a feature here that the core does not
 * implement (see docs/cpu.md).
 */

export interface CpuModel {
  name: string;
  vendor: string;           // 12 characters, e.g. "GenuineIntel"
  family: number;
  model: number;
  stepping: number;
  /** CPUID.1:EDX feature bits. */
  featuresEdx: number;
  /** CPUID.1:ECX feature bits. */
  featuresEcx: number;
  /** Highest basic CPUID leaf. */
  maxLeaf: number;
  /** Brand string (leaves 0x80000002-4), or '' for none. */
  brand: string;
  /** True when an x87 is present (FPU feature bit, ESC opcodes execute). */
  hasFpu: boolean;
}

// CPUID.1:EDX bits
export const FEAT_FPU = 1 << 0;
export const FEAT_DE = 1 << 2;
export const FEAT_PSE = 1 << 3;
export const FEAT_TSC = 1 << 4;
export const FEAT_MSR = 1 << 5;
export const FEAT_PAE = 1 << 6;
export const FEAT_CX8 = 1 << 8;
export const FEAT_SEP = 1 << 11;
export const FEAT_PGE = 1 << 13;
export const FEAT_CMOV = 1 << 15;
export const FEAT_FXSR = 1 << 24;

/** Integer features this core executes (no MMX/SSE, no local APIC, no MTRR/PAT, no I/O breakpoints). */
const CORE = FEAT_PSE | FEAT_TSC | FEAT_MSR | FEAT_PAE | FEAT_CX8 | FEAT_SEP | FEAT_PGE | FEAT_CMOV;

export const MODELS: Record<string, CpuModel> = {
  pentium3: {
    name: 'pentium3', vendor: 'GenuineIntel', family: 6, model: 7, stepping: 3,
    featuresEdx: CORE | FEAT_FPU, featuresEcx: 0, maxLeaf: 2,
    brand: '', hasFpu: true,
  },
  pentium2: {
    name: 'pentium2', vendor: 'GenuineIntel', family: 6, model: 5, stepping: 2,
    featuresEdx: CORE | FEAT_FPU, featuresEcx: 0, maxLeaf: 2,
    brand: '', hasFpu: true,
  },
  qemu32: {
    name: 'qemu32', vendor: 'GenuineIntel', family: 6, model: 6, stepping: 3,
    featuresEdx: CORE | FEAT_FPU, featuresEcx: 0, maxLeaf: 4,
    brand: 'QEMU Virtual CPU version 2.5+', hasFpu: true,
  },
  /** A 486-class integer core without x87 (ESC opcodes raise #NM/#UD per CR0.EM). */
  'i486-nofpu': {
    name: 'i486-nofpu', vendor: 'GenuineIntel', family: 4, model: 8, stepping: 0,
    featuresEdx: 0, featuresEcx: 0, maxLeaf: 1, brand: '', hasFpu: false,
  },
};

export function cpuSignature(m: CpuModel): number {
  const fam = m.family > 15 ? 15 : m.family;
  const ext = m.family > 15 ? m.family - 15 : 0;
  return ((ext << 20) | ((m.model >> 4) << 16) | (fam << 8) | ((m.model & 15) << 4) | m.stepping) >>> 0;
}

export function findModel(name: string): CpuModel {
  const m = MODELS[name];
  if (m === undefined) throw new Error(`unknown CPU model '${name}' (known: ${Object.keys(MODELS).join(', ')})`);
  return m;
}
