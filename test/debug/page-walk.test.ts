/**
 * The debugger's page walk agrees with the CPU's own translation (Mmu.translate)
 * for 4 KiB, 4 MiB (PSE) and PAE mappings, returns null where the CPU would
 * fault, and never sets accessed/dirty bits.
 */
import { describe, it, expect } from 'vitest';
import { MemoryBus } from '../../src/memory/memory-bus.js';
import { IoBus } from '../../src/bus/io-bus.js';
import { Cpu } from '../../src/cpu/cpu.js';
import { MODELS } from '../../src/cpu/models.js';
import { debugTranslate, listMappings, readLinear } from '../../src/debug/page-walk.js';

function machine(): { mem: MemoryBus; cpu: Cpu } {
  const mem = new MemoryBus(16 << 20, 1 << 20);
  mem.mapRam(0, 16 << 20);
  const cpu = new Cpu(mem, new IoBus(), MODELS.pentium3!);
  return { mem, cpu };
}

const cpuTranslate = (cpu: Cpu, lin: number): number | null => {
  try { return cpu.translate(lin, 0, false); } catch { return null; }
};

describe('debug page walk', () => {
  it('matches the CPU for 2-level paging with 4 KiB and PSE pages, without touching A/D bits', () => {
    const { mem, cpu } = machine();
    const pd = 0x10000, pt = 0x11000;
    mem.write32(pd + 0 * 4, pt | 0x3); // 0-4 MiB through a page table
    mem.write32(pt + 5 * 4, 0x123000 | 0x3); // 0x5000 -> 0x123000
    mem.write32(pt + 6 * 4, 0x200000 | 0x7); // 0x6000 -> 0x200000 (user)
    mem.write32(pd + 2 * 4, 0x00c00000 | 0x83); // 8 MiB: 4 MiB page -> 12 MiB
    mem.writeBytes(0x123000 + 0x10, new Uint8Array([1, 2, 3, 4]));
    cpu.cr3 = pd; cpu.cr4 = 0x10; cpu.cr0 |= 0x80000001;
    const before = [mem.read32(pd), mem.read32(pt + 5 * 4), mem.read32(pd + 8)];
    for (const lin of [0x5010, 0x6ffc, 0x7000, 0x800123, 0x9fffff, 0xc00000, 0x400000]) debugTranslate(cpu, mem, lin);
    readLinear(cpu, mem, 0x5000, 0x2000);
    expect([mem.read32(pd), mem.read32(pt + 5 * 4), mem.read32(pd + 8)]).toEqual(before);
    for (const lin of [0x5010, 0x6ffc, 0x7000, 0x800123, 0x9fffff, 0xc00000, 0x400000]) {
      expect(debugTranslate(cpu, mem, lin)).toBe(cpuTranslate(cpu, lin));
    }
    expect(debugTranslate(cpu, mem, 0x5010)).toBe(0x123010);
    expect(debugTranslate(cpu, mem, 0x800123)).toBe(0xc00123);
    expect(debugTranslate(cpu, mem, 0x7000)).toBe(null);
    expect(Array.from(readLinear(cpu, mem, 0x5010, 4)!)).toEqual([1, 2, 3, 4]);
    expect(readLinear(cpu, mem, 0x6ffe, 4)).toBe(null); // runs into the unmapped page
    expect(listMappings(cpu, mem).map((p) => [p.lin, p.phys, p.size])).toEqual([[0x5000, 0x123000, 4096], [0x6000, 0x200000, 4096], [0x800000, 0xc00000, 0x400000]]);
  });

  it('matches the CPU with PAE (2 MiB and 4 KiB pages)', () => {
    const { mem, cpu } = machine();
    const pdpt = 0x20000, pd = 0x21000, pt = 0x22000;
    mem.write32(pdpt, pd | 1);
    mem.write32(pd + 0 * 8, pt | 3);
    mem.write32(pt + 3 * 8, 0x345000 | 3);
    mem.write32(pd + 1 * 8, 0x600000 | 0x83); // 2 MiB page at 2 MiB -> 6 MiB
    cpu.cr3 = pdpt; cpu.cr4 = 0x20; cpu.cr0 |= 0x80000001;
    const lins = [0x3004, 0x4000, 0x200010, 0x3fffff, 0x40000000];
    const dbg = lins.map((l) => debugTranslate(cpu, mem, l));
    expect(dbg).toEqual([0x345004, null, 0x600010, 0x7fffff, null]);
    expect(dbg).toEqual(lins.map((l) => cpuTranslate(cpu, l)));
  });

  it('is the identity (with the A20 mask) when paging is off', () => {
    const { mem, cpu } = machine();
    expect(debugTranslate(cpu, mem, 0x12345)).toBe(0x12345);
    cpu.setA20(false);
    expect(debugTranslate(cpu, mem, 0x112345)).toBe(0x012345);
  });
});
