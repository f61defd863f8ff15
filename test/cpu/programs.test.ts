import { describe, it, expect } from 'vitest';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { ASM_DIR, assemble, qemuAvailable, runOnCore, runOnQemu } from './programs.js';

/**
 * Lines where QEMU 7.2 deviates from real CPUs (issue 4 lists them); the
 * expected text comes from the Intel SDM / AMD APM instead.
 */
const MANUAL: Record<string, Record<string, { line: string; why: string }>> = {
  pmode: {
    limit: { line: 'limit: #0d err=00000000', why: 'SDM 3A 5.3: data access beyond the segment limit raises #GP(0); QEMU skips data limit checks' },
    expdown: { line: 'expdown: ok #0d err=00000000', why: 'SDM 3A 5.3: expand-down segment, offsets <= limit are invalid' },
    rodata: { line: 'rodata: read #0d err=00000000', why: 'SDM 3A 5.4: write to a read-only data segment raises #GP(0); QEMU skips type checks' },
    nullseg: { line: 'nullseg: loaded #0d err=00000000', why: 'SDM 3A 5.4.1: access through a null selector raises #GP(0)' },
    lockmov: { line: 'lockmov: #06 err=00000000', why: 'SDM 2A LOCK: #UD unless the destination is a lockable read-modify-write' },
  },
  realmode: {
    limit: { line: 'limit: #GP', why: 'SDM 3B 20.1 real-address mode: a word at offset FFFFh exceeds the 64 KiB limit, #GP(0) (the 80286 vectors show the same); QEMU skips the check' },
  },
  x87: {
    mf: {
      line: 'mf: pending #10 err=00000000000006ca000006ca00008084',
      why: 'SDM 1 8.6: a pending unmasked x87 exception is raised (#MF with CR0.NE=1) before the next waiting x87 instruction (here FLD1); QEMU 7.2 only checks at FWAIT',
    },
    fstenv: {
      line: 'fstenv:00000731000007310000000500000600',
      why: 'SDM 1 8.1.10 / figure 8-9: the 32-bit protected-mode FSTENV image holds the last opcode (FOP, here D8 05 -> 0x005); QEMU 7.2 stores 0',
    },
  },
  paging: {
    pde_a: { line: 'pde_a: #0e err=00000000 cr2=00c0000000000000', why: 'a walk that ends in a not-present PTE does not set the PDE accessed bit (QEMU sets it)' },
  },
  v86: {
    v86b: {
      line: 'v86b:+ int3100000000000006b40000f00000023202000070000000000000001111000020000000333300004444< gp92/cd gp00/a1> gp00/f4',
      why: 'SDM 3B 20.2: V86 segments have a 64 KiB limit; a word at offset FFFFh raises #GP(0) (QEMU skips data limit checks)',
    },
  },
};

function applyManual(name: string, out: string): string {
  const ov = MANUAL[name] ?? {};
  return out.split('\n').map((l) => {
    const key = l.split(':')[0]!;
    return ov[key] !== undefined ? ov[key].line : l;
  }).join('\n');
}

interface Program { name: string; file: string; defines: string[]; qemu: boolean; triple: boolean }
const PROGRAMS: Program[] = [
  { name: 'pmode', file: 'pmode', defines: [], qemu: true, triple: false },
  { name: 'pmode2', file: 'pmode2', defines: [], qemu: true, triple: false },
  { name: 'realmode', file: 'realmode', defines: [], qemu: true, triple: false },
  { name: 'x87', file: 'x87', defines: [], qemu: true, triple: false },
  { name: 'paging', file: 'paging', defines: [], qemu: true, triple: false },
  { name: 'v86', file: 'v86', defines: [], qemu: true, triple: false },
  { name: 'debug', file: 'debug', defines: ['-DNO_EXEC_BP'], qemu: true, triple: true },
  // QEMU 7.2 crashes (SIGSEGV) on this DR0 instruction breakpoint, so this variant's
  // expectation is stored: the #DB is a fault (EIP = breakpoint), DR6.B0 set and
  // DR6.BS still set from the earlier single-step (SDM 3B 18.2.3: the CPU never clears it).
  { name: 'debug-execbp', file: 'debug', defines: [], qemu: false, triple: true },
];
const haveQemu = qemuAvailable();

describe('nasm CPU test programs (expected output = QEMU 7.2, corrected by the manuals where QEMU deviates)', () => {
  for (const p of PROGRAMS) {
    const name = p.name;
    it(name, () => {
      const image = assemble(p.file, p.defines);
      const ours = runOnCore(image);
      expect(ours.tripleFault, 'triple fault').toBe(p.triple);
      if (!p.triple) expect(ours.exited, `program did not reach the exit port; output:\n${ours.output}`).toBe(true);
      const goldenPath = join(ASM_DIR, `${name}.expected`);
      let expected: string;
      if (haveQemu && p.qemu) {
        expected = applyManual(name, runOnQemu(image));
        if (process.env.UPDATE_GOLDEN === '1' || !existsSync(goldenPath)) writeFileSync(goldenPath, expected);
        expect(readFileSync(goldenPath, 'latin1'), 'stored expectation is stale (UPDATE_GOLDEN=1)').toBe(expected);
      } else {
        expected = readFileSync(goldenPath, 'latin1');
      }
      expect(ours.output).toBe(expected);
    });
  }
});
