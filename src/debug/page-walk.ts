/**
 * Debugger address translation: linear → physical through the guest's page
 * tables as the CPU would walk them (2-level with PSE, or PAE), but without
 * side effects: no accessed/dirty bits, no #PF, no TLB fill. Used by the
 * monitor's `x`/`memsave`/`info tlb`/`info mem` and by the gdb stub.
 */
import type { MemoryBus } from '../memory/memory-bus.js';

/** What the walk needs from the CPU (src/cpu/cpu.ts has all of these). */
export interface PagingState {
  cr0: number;
  cr3: number;
  cr4: number;
  a20Mask: number;
}

const CR0_PG = 0x80000000;
const CR4_PSE = 0x10, CR4_PAE = 0x20;

/** One mapped page or large page: linear base, physical base, size, PTE/PDE permission bits (bit 1 W, bit 2 U). */
export interface Mapping { lin: number; phys: number; size: number; flags: number }

/** Physical address for `lin`, or null when it is not mapped. */
export function debugTranslate(cpu: PagingState, mem: MemoryBus, lin: number): number | null {
  lin >>>= 0;
  if ((cpu.cr0 & CR0_PG) === 0) return (lin & cpu.a20Mask) >>> 0;
  if ((cpu.cr4 & CR4_PAE) !== 0) {
    const pdpte = mem.read32(((cpu.cr3 & 0xffffffe0) + ((lin >>> 30) << 3)) >>> 0);
    if ((pdpte & 1) === 0) return null;
    const pde = mem.read32(((pdpte & 0xfffff000) + (((lin >>> 21) & 0x1ff) << 3)) >>> 0);
    if ((pde & 1) === 0) return null;
    if ((pde & 0x80) !== 0) return (((pde & 0xffe00000) | (lin & 0x1fffff)) & cpu.a20Mask) >>> 0;
    const pte = mem.read32(((pde & 0xfffff000) + (((lin >>> 12) & 0x1ff) << 3)) >>> 0);
    if ((pte & 1) === 0) return null;
    return (((pte & 0xfffff000) | (lin & 0xfff)) & cpu.a20Mask) >>> 0;
  }
  const pde = mem.read32(((cpu.cr3 & 0xfffff000) + ((lin >>> 22) << 2)) >>> 0);
  if ((pde & 1) === 0) return null;
  if ((pde & 0x80) !== 0 && (cpu.cr4 & CR4_PSE) !== 0) return (((pde & 0xffc00000) | (lin & 0x3fffff)) & cpu.a20Mask) >>> 0;
  const pte = mem.read32(((pde & 0xfffff000) + (((lin >>> 12) & 0x3ff) << 2)) >>> 0);
  if ((pte & 1) === 0) return null;
  return (((pte & 0xfffff000) | (lin & 0xfff)) & cpu.a20Mask) >>> 0;
}

/** Every present mapping (non-PAE and PAE), in linear order; empty when paging is off. */
export function listMappings(cpu: PagingState, mem: MemoryBus): Mapping[] {
  const out: Mapping[] = [];
  if ((cpu.cr0 & CR0_PG) === 0) return out;
  if ((cpu.cr4 & CR4_PAE) !== 0) {
    for (let i = 0; i < 4; i++) {
      const pdpte = mem.read32(((cpu.cr3 & 0xffffffe0) + i * 8) >>> 0);
      if ((pdpte & 1) === 0) continue;
      for (let j = 0; j < 512; j++) {
        const pde = mem.read32(((pdpte & 0xfffff000) + j * 8) >>> 0);
        if ((pde & 1) === 0) continue;
        const lin = (i * 0x40000000 + j * 0x200000) >>> 0;
        if ((pde & 0x80) !== 0) { out.push({ lin, phys: (pde & 0xffe00000) >>> 0, size: 0x200000, flags: pde & 0xfff }); continue; }
        for (let k = 0; k < 512; k++) {
          const pte = mem.read32(((pde & 0xfffff000) + k * 8) >>> 0);
          if ((pte & 1) === 0) continue;
          out.push({ lin: (lin + k * 4096) >>> 0, phys: (pte & 0xfffff000) >>> 0, size: 4096, flags: (pte & 0xfff) & (pde | ~6) });
        }
      }
    }
    return out;
  }
  for (let i = 0; i < 1024; i++) {
    const pde = mem.read32(((cpu.cr3 & 0xfffff000) + i * 4) >>> 0);
    if ((pde & 1) === 0) continue;
    const lin = (i << 22) >>> 0;
    if ((pde & 0x80) !== 0 && (cpu.cr4 & CR4_PSE) !== 0) { out.push({ lin, phys: (pde & 0xffc00000) >>> 0, size: 0x400000, flags: pde & 0xfff }); continue; }
    for (let k = 0; k < 1024; k++) {
      const pte = mem.read32(((pde & 0xfffff000) + k * 4) >>> 0);
      if ((pte & 1) === 0) continue;
      out.push({ lin: (lin + k * 4096) >>> 0, phys: (pte & 0xfffff000) >>> 0, size: 4096, flags: (pte & 0xfff) & (pde | ~6) });
    }
  }
  return out;
}

/** Read `len` bytes at a linear address page by page; null if any page is unmapped. */
export function readLinear(cpu: PagingState, mem: MemoryBus, lin: number, len: number): Uint8Array | null {
  const out = new Uint8Array(len);
  let i = 0;
  while (i < len) {
    const a = (lin + i) >>> 0;
    const n = Math.min(4096 - (a & 0xfff), len - i);
    const p = debugTranslate(cpu, mem, a);
    if (p === null || mem.describe(p) === 'unassigned') return null;
    mem.readBytes(p, out.subarray(i, i + n));
    i += n;
  }
  return out;
}

/** Write bytes at a linear address (gdb's M packet); false if any page is unmapped. */
export function writeLinear(cpu: PagingState, mem: MemoryBus, lin: number, data: Uint8Array): boolean {
  let i = 0;
  const parts: [number, number, number][] = [];
  while (i < data.length) {
    const a = (lin + i) >>> 0;
    const n = Math.min(4096 - (a & 0xfff), data.length - i);
    const p = debugTranslate(cpu, mem, a);
    if (p === null || mem.describe(p) === 'unassigned') return false;
    parts.push([p, i, n]);
    i += n;
  }
  for (const [p, o, n] of parts) mem.writeBytes(p, data.subarray(o, o + n));
  return true;
}
