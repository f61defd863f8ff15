/**
 * From the command line's -cpu model to the core's CpuModel: QEMU's identity
 * for that model (vendor, family/model/stepping, brand) with only the feature
 * bits this core really executes. A guest never sees a feature we do not run
 * (so qemu64 reports no SSE or long mode until the core has them).
 */
import { FEAT_CMOV, FEAT_CX8, FEAT_DE, FEAT_FPU, FEAT_FXSR, FEAT_MSR, FEAT_PAE, FEAT_PGE, FEAT_PSE, FEAT_SEP, FEAT_TSC, MODELS, type CpuModel } from '../cpu/models.js';

interface Identity { vendor: 'GenuineIntel' | 'AuthenticAMD'; family: number; model: number; stepping: number; brand: string; level: number; feats: string[] }

const P5 = ['fpu', 'de', 'pse', 'tsc', 'msr', 'cx8'];
const P6 = [...P5, 'pae', 'sep', 'pge', 'cmov', 'fxsr'];
const MODERN = [...P6, 'fxsr'];

/** QEMU 7.2's identities (target/i386/cpu.c builtin_x86_defs), features reduced to the names we map. */
const IDS: Record<string, Identity> = {
  '486': { vendor: 'GenuineIntel', family: 4, model: 8, stepping: 0, brand: '', level: 1, feats: ['fpu', 'pse'] },
  pentium: { vendor: 'GenuineIntel', family: 5, model: 4, stepping: 3, brand: '', level: 1, feats: P5 },
  pentium2: { vendor: 'GenuineIntel', family: 6, model: 5, stepping: 2, brand: '', level: 2, feats: [...P5, 'pae', 'sep', 'pge', 'cmov', 'fxsr'] },
  pentium3: { vendor: 'GenuineIntel', family: 6, model: 7, stepping: 3, brand: '', level: 3, feats: [...P5, 'pae', 'sep', 'pge', 'cmov', 'fxsr'] },
  qemu32: { vendor: 'GenuineIntel', family: 6, model: 6, stepping: 3, brand: 'QEMU Virtual CPU version 2.5+', level: 4, feats: ['fpu', 'de', 'pse', 'tsc', 'msr', 'pae', 'cx8', 'pge', 'cmov'] },
  qemu64: { vendor: 'AuthenticAMD', family: 15, model: 107, stepping: 1, brand: 'QEMU Virtual CPU version 2.5+', level: 0xd, feats: ['fpu', 'de', 'pse', 'tsc', 'msr', 'pae', 'cx8', 'pge', 'cmov', 'fxsr'] },
  kvm32: { vendor: 'GenuineIntel', family: 15, model: 6, stepping: 1, brand: 'Common 32-bit KVM processor', level: 5, feats: MODERN },
  kvm64: { vendor: 'GenuineIntel', family: 15, model: 6, stepping: 1, brand: 'Common KVM processor', level: 0xd, feats: MODERN },
  coreduo: { vendor: 'GenuineIntel', family: 6, model: 14, stepping: 8, brand: 'Genuine Intel(R) CPU           T2600  @ 2.16GHz', level: 10, feats: MODERN },
  core2duo: { vendor: 'GenuineIntel', family: 6, model: 15, stepping: 11, brand: 'Intel(R) Core(TM)2 Duo CPU     T7700  @ 2.40GHz', level: 10, feats: MODERN },
  n270: { vendor: 'GenuineIntel', family: 6, model: 28, stepping: 2, brand: 'Intel(R) Atom(TM) CPU N270   @ 1.60GHz', level: 10, feats: MODERN },
  athlon: { vendor: 'AuthenticAMD', family: 6, model: 2, stepping: 3, brand: 'QEMU Virtual CPU version 2.5+', level: 2, feats: MODERN },
  phenom: { vendor: 'AuthenticAMD', family: 16, model: 2, stepping: 3, brand: 'AMD Phenom(tm) 9550 Quad-Core Processor', level: 5, feats: MODERN },
  Conroe: { vendor: 'GenuineIntel', family: 6, model: 15, stepping: 3, brand: 'Intel Celeron_4x0 (Conroe/Merom Class Core 2)', level: 10, feats: MODERN },
  Penryn: { vendor: 'GenuineIntel', family: 6, model: 23, stepping: 3, brand: 'Intel Core 2 Duo P9xxx (Penryn Class Core 2)', level: 10, feats: MODERN },
  Nehalem: { vendor: 'GenuineIntel', family: 6, model: 26, stepping: 3, brand: 'Intel Core i7 9xx (Nehalem Class Core i7)', level: 11, feats: MODERN },
  Westmere: { vendor: 'GenuineIntel', family: 6, model: 44, stepping: 1, brand: 'Westmere E56xx/L56xx/X56xx (Nehalem-C)', level: 11, feats: MODERN },
  Opteron_G1: { vendor: 'AuthenticAMD', family: 15, model: 6, stepping: 1, brand: 'AMD Opteron 240 (Gen 1 Class Opteron)', level: 5, feats: MODERN },
  Opteron_G2: { vendor: 'AuthenticAMD', family: 15, model: 6, stepping: 1, brand: 'AMD Opteron 22xx (Gen 2 Class Opteron)', level: 5, feats: MODERN },
  Opteron_G3: { vendor: 'AuthenticAMD', family: 16, model: 2, stepping: 3, brand: 'AMD Opteron 23xx (Gen 3 Class Opteron)', level: 5, feats: MODERN },
  base: { vendor: 'GenuineIntel', family: 6, model: 6, stepping: 3, brand: '', level: 1, feats: [] },
  max: { vendor: 'GenuineIntel', family: 6, model: 6, stepping: 3, brand: 'QEMU TCG CPU version 2.5+', level: 0xd, feats: MODERN },
};

/** Feature name -> CPUID.1:EDX bit, for the features the core executes. */
const EXECUTED: Record<string, number> = {
  fpu: FEAT_FPU, de: FEAT_DE, pse: FEAT_PSE, tsc: FEAT_TSC, msr: FEAT_MSR, pae: FEAT_PAE, cx8: FEAT_CX8,
  sep: FEAT_SEP, pge: FEAT_PGE, cmov: FEAT_CMOV, fxsr: FEAT_FXSR,
};

export class CpuModelError extends Error {}

/** Every -cpu name the machine can run. */
export function runnableCpuModels(): string[] { return Object.keys(IDS); }

/**
 * Build the core's model. `features` are the command line's +f/-f changes;
 * turning on a feature the core does not execute is refused (QEMU's TCG warns
 * and drops such features; we refuse, so a guest is never told a lie).
 */
export function coreModelFor(name: string, features: Record<string, boolean>): CpuModel {
  const id = IDS[name.replace(/-v1$/, '')];
  if (id === undefined) throw new CpuModelError(`CPU model '${name}' is not supported by the emulation core`);
  const on = new Set(id.feats);
  for (const [f, v] of Object.entries(features)) {
    if (v) {
      if (!(f in EXECUTED) || (EXECUTED[f]! & MODELS['pentium3']!.featuresEdx) === 0) throw new CpuModelError(`-cpu ${name},+${f}: feature '${f}' is not implemented by the qemu-ts CPU core`);
      on.add(f);
    } else on.delete(f);
  }
  let edx = 0;
  for (const f of on) { const bit = EXECUTED[f]; if (bit !== undefined) edx |= bit; }
  // Only what the core itself advertises for its fullest model: the single source of truth.
  edx &= MODELS['pentium3']!.featuresEdx;
  // The core implements FXSAVE only together with the x87.
  if ((edx & FEAT_FPU) === 0) edx &= ~FEAT_FXSR;
  const template = MODELS['pentium3']!;
  return {
    ...template,
    name, vendor: id.vendor, family: id.family, model: id.model, stepping: id.stepping,
    featuresEdx: edx >>> 0, featuresEcx: 0, maxLeaf: Math.min(id.level, 2), // leaves above 2 are not implemented by the core
    brand: id.brand, hasFpu: (edx & FEAT_FPU) !== 0,
  };
}
