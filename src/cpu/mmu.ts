/**
 * Linear-to-physical translation (paging: 2-level, PSE, PGE, PAE with NX,
 * CR0.WP, accessed/dirty bits), the TLB and the linear / segment-checked
 * memory access paths used by the instruction core.
 *
 * TLB: per linear page, four Int32Arrays (supervisor read, supervisor write,
 * user read, user write) hold the offset in `mem.mem` of the physical page for
 * direct access, or -1 (walk + slow path through the MemoryBus). A write entry
 * is only installed once the page's dirty bit is set and the write is allowed,
 * so the fast path never needs to update paging structures.
 */

import type { MemoryBus } from '../memory/memory-bus.js';
import { Registers, SS } from './regs.js';

export const CR0_PE = 1, CR0_MP = 2, CR0_EM = 4, CR0_TS = 8, CR0_ET = 0x10, CR0_NE = 0x20, CR0_WP = 0x10000, CR0_AM = 0x40000, CR0_PG = 0x80000000 | 0;
export const CR4_VME = 1, CR4_PVI = 2, CR4_TSD = 4, CR4_DE = 8, CR4_PSE = 0x10, CR4_PAE = 0x20, CR4_PGE = 0x80, CR4_OSFXSR = 0x200;
export const EFER_NXE = 0x800;

/** Exception vectors. */
export const EX_DE = 0, EX_DB = 1, EX_NMI = 2, EX_BP = 3, EX_OF = 4, EX_BR = 5, EX_UD = 6, EX_NM = 7, EX_DF = 8,
  EX_TS = 10, EX_NP = 11, EX_SS = 12, EX_GP = 13, EX_PF = 14, EX_MF = 16, EX_AC = 17;

/** Thrown (one shared object, no allocation) when an instruction faults; details are on the CPU. */
export class CpuFault { readonly isCpuFault = true; }
export const FAULT = new CpuFault();

const NPAGES = 1 << 20;
const TLB_LIST = 65536;

export const ACC_R = 0, ACC_W = 1, ACC_X = 2;

export class Mmu extends Registers {
  readonly mem: MemoryBus;
  readonly ram: Uint8Array;
  /** 32-bit view of `ram` for aligned dword accesses (little-endian host). */
  readonly ram32: Int32Array;
  /** Supervisor / user read and write TLBs. */
  readonly tlbSR = new Int32Array(NPAGES).fill(-1);
  readonly tlbSW = new Int32Array(NPAGES).fill(-1);
  readonly tlbUR = new Int32Array(NPAGES).fill(-1);
  readonly tlbUW = new Int32Array(NPAGES).fill(-1);
  /** The pair for the current privilege level (user = CPL 3). */
  tR: Int32Array;
  tW: Int32Array;
  private readonly tlbPages = new Int32Array(TLB_LIST);
  private readonly tlbGlobal = new Uint8Array(NPAGES);
  private tlbCount = 0;
  private tlbOverflow = false;
  a20Mask = -1;
  /** Set when pages must not be cached for writes (data breakpoints active). */
  noFastWrite = false;

  // pending exception
  excVec = -1;
  excCode = -1;

  // result of the last walk
  private walkW = false;
  private walkD = false;
  private walkG = false;

  constructor(mem: MemoryBus) {
    super();
    this.mem = mem;
    this.ram = mem.mem;
    this.ram32 = new Int32Array(this.ram.buffer, this.ram.byteOffset, this.ram.length >> 2);
    this.tR = this.tlbSR;
    this.tW = this.tlbSW;
    mem.onRemap(() => this.flushTlb(false));
  }

  /** Record an exception and abort the instruction. */
  fault(vec: number, code = -1): never {
    this.excVec = vec;
    this.excCode = code;
    throw FAULT;
  }

  /**
   * Instruction fetch window: EIPs in [winLo, winHi] are read directly from
   * `ram[winOff + eip]` (one code page, clipped to the CS limit). Emptied
   * whenever CS, the privilege level or any translation changes.
   */
  winLo = 1; winHi = 0; winOff = 0;
  killWindow(): void { this.winLo = 1; this.winHi = 0; }

  selectTlb(): void {
    this.winLo = 1; this.winHi = 0;
    if (this.cpl === 3) { this.tR = this.tlbUR; this.tW = this.tlbUW; } else { this.tR = this.tlbSR; this.tW = this.tlbSW; }
  }

  flushTlb(keepGlobal: boolean): void {
    this.winLo = 1; this.winHi = 0;
    if (this.tlbOverflow) {
      this.tlbSR.fill(-1); this.tlbSW.fill(-1); this.tlbUR.fill(-1); this.tlbUW.fill(-1); this.tlbGlobal.fill(0);
      this.tlbOverflow = false; this.tlbCount = 0;
      return;
    }
    let kept = 0;
    for (let i = 0; i < this.tlbCount; i++) {
      const p = this.tlbPages[i]!;
      if (keepGlobal && this.tlbGlobal[p] !== 0) { this.tlbPages[kept++] = p; continue; }
      this.tlbSR[p] = -1; this.tlbSW[p] = -1; this.tlbUR[p] = -1; this.tlbUW[p] = -1; this.tlbGlobal[p] = 0;
    }
    this.tlbCount = kept;
  }

  invlpg(lin: number): void {
    this.winLo = 1; this.winHi = 0;
    const p = lin >>> 12;
    this.tlbSR[p] = -1; this.tlbSW[p] = -1; this.tlbUR[p] = -1; this.tlbUW[p] = -1; this.tlbGlobal[p] = 0;
  }

  private noteTlb(p: number): void {
    if (this.tlbSR[p] === -1 && this.tlbSW[p] === -1 && this.tlbUR[p] === -1 && this.tlbUW[p] === -1) {
      if (this.tlbCount < TLB_LIST) this.tlbPages[this.tlbCount++] = p; else this.tlbOverflow = true;
    }
  }

  private pageFault(lin: number, present: boolean, acc: number, user: boolean, rsvd = false): never {
    this.cr2 = lin | 0;
    let code = (present ? 1 : 0) | (acc === ACC_W ? 2 : 0) | (user ? 4 : 0) | (rsvd ? 8 : 0);
    if (acc === ACC_X && (this.efer & EFER_NXE) !== 0 && (this.cr4 & CR4_PAE) !== 0) code |= 16;
    return this.fault(14, code);
  }

  /** Translate a linear address; raises #PF. `user` = access with user privilege. */
  translate(lin: number, acc: number, user: boolean): number {
    if ((this.cr0 & CR0_PG) === 0) { this.walkW = true; this.walkD = true; this.walkG = false; return (lin & this.a20Mask) >>> 0; }
    if ((this.cr4 & CR4_PAE) !== 0) return this.walkPae(lin, acc, user);
    const mem = this.mem;
    const pdeA = ((this.cr3 & 0xfffff000) + ((lin >>> 22) << 2)) & this.a20Mask;
    const pde = mem.read32(pdeA);
    if ((pde & 1) === 0) this.pageFault(lin, false, acc, user);
    let perm: number, phys: number;
    const wp = (this.cr0 & CR0_WP) !== 0;
    if ((pde & 0x80) !== 0 && (this.cr4 & CR4_PSE) !== 0) {
      perm = pde;
      this.checkPerm(lin, perm, acc, user, wp);
      const npde = pde | 0x20 | (acc === ACC_W ? 0x40 : 0);
      if (npde !== pde) mem.write32(pdeA, npde);
      this.walkD = (npde & 0x40) !== 0;
      this.walkG = (pde & 0x100) !== 0 && (this.cr4 & CR4_PGE) !== 0;
      phys = ((pde & 0xffc00000) | (lin & 0x3fffff)) >>> 0;
    } else {
      const pteA = ((pde & 0xfffff000) + (((lin >>> 12) & 0x3ff) << 2)) & this.a20Mask;
      const pte = mem.read32(pteA);
      if ((pte & 1) === 0) this.pageFault(lin, false, acc, user);
      perm = pde & pte;
      this.checkPerm(lin, perm, acc, user, wp);
      if ((pde & 0x20) === 0) mem.write32(pdeA, pde | 0x20);
      const npte = pte | 0x20 | (acc === ACC_W ? 0x40 : 0);
      if (npte !== pte) mem.write32(pteA, npte);
      this.walkD = (npte & 0x40) !== 0;
      this.walkG = (pte & 0x100) !== 0 && (this.cr4 & CR4_PGE) !== 0;
      phys = ((pte & 0xfffff000) | (lin & 0xfff)) >>> 0;
    }
    this.walkW = (perm & 2) !== 0 || (!user && !wp);
    return (phys & this.a20Mask) >>> 0;
  }

  private checkPerm(lin: number, perm: number, acc: number, user: boolean, wp: boolean): void {
    if (user && (perm & 4) === 0) this.pageFault(lin, true, acc, user);
    if (acc === ACC_W && (perm & 2) === 0 && (user || wp)) this.pageFault(lin, true, acc, user);
  }

  private walkPae(lin: number, acc: number, user: boolean): number {
    const mem = this.mem;
    const nxe = (this.efer & EFER_NXE) !== 0;
    const rsvdHi = nxe ? 0x7ff00000 : 0xfff00000 | 0; // physical bits above 52 (and NX when disabled)
    const pdpteA = ((this.cr3 & 0xffffffe0) + ((lin >>> 30) << 3)) & this.a20Mask;
    const pdpte = mem.read32(pdpteA);
    if ((pdpte & 1) === 0) this.pageFault(lin, false, acc, user);
    const pdeA = ((pdpte & 0xfffff000) + (((lin >>> 21) & 0x1ff) << 3)) & this.a20Mask;
    const pde = mem.read32(pdeA), pdeHi = mem.read32(pdeA + 4);
    if ((pde & 1) === 0) this.pageFault(lin, false, acc, user);
    if ((pdeHi & rsvdHi) !== 0) this.pageFault(lin, true, acc, user, true);
    const wp = (this.cr0 & CR0_WP) !== 0;
    let perm: number, nx: boolean, phys: number;
    if ((pde & 0x80) !== 0) {
      perm = pde; nx = nxe && pdeHi < 0;
      this.checkPerm(lin, perm, acc, user, wp);
      if (acc === ACC_X && nx) this.pageFault(lin, true, acc, user);
      const npde = pde | 0x20 | (acc === ACC_W ? 0x40 : 0);
      if (npde !== pde) mem.write32(pdeA, npde);
      this.walkD = (npde & 0x40) !== 0;
      this.walkG = (pde & 0x100) !== 0 && (this.cr4 & CR4_PGE) !== 0;
      phys = ((pde & 0xffe00000) | (lin & 0x1fffff)) >>> 0;
    } else {
      const pteA = ((pde & 0xfffff000) + (((lin >>> 12) & 0x1ff) << 3)) & this.a20Mask;
      const pte = mem.read32(pteA), pteHi = mem.read32(pteA + 4);
      if ((pte & 1) === 0) this.pageFault(lin, false, acc, user);
      if ((pteHi & rsvdHi) !== 0) this.pageFault(lin, true, acc, user, true);
      perm = pde & pte; nx = nxe && (pdeHi < 0 || pteHi < 0);
      this.checkPerm(lin, perm, acc, user, wp);
      if (acc === ACC_X && nx) this.pageFault(lin, true, acc, user);
      if ((pde & 0x20) === 0) mem.write32(pdeA, pde | 0x20);
      const npte = pte | 0x20 | (acc === ACC_W ? 0x40 : 0);
      if (npte !== pte) mem.write32(pteA, npte);
      this.walkD = (npte & 0x40) !== 0;
      this.walkG = (pte & 0x100) !== 0 && (this.cr4 & CR4_PGE) !== 0;
      phys = ((pte & 0xfffff000) | (lin & 0xfff)) >>> 0;
    }
    this.walkW = (perm & 2) !== 0 || (!user && !wp);
    return (phys & this.a20Mask) >>> 0;
  }

  /** TLB miss for the current privilege: walk, install the entry if direct; returns physical address. */
  fill(lin: number, acc: number, len = 1): number {
    const user = this.cpl === 3;
    const phys = this.translate(lin, acc, user);
    if (this.dbgData && len > 0 && acc !== ACC_X) { this.dataBreakpoints(lin, len, acc === ACC_W); return phys; }
    const lp = lin >>> 12, pp = phys >>> 12;
    const rd = this.mem.rd[pp]!;
    if (rd >= 0) {
      this.noteTlb(lp);
      if (this.walkG) this.tlbGlobal[lp] = 1;
      (user ? this.tlbUR : this.tlbSR)[lp] = rd;
      if (acc === ACC_W && this.walkD && this.walkW && !this.noFastWrite) {
        const wr = this.mem.wr[pp]!;
        if (wr >= 0) (user ? this.tlbUW : this.tlbSW)[lp] = wr;
      }
    } else if (acc === ACC_W && !this.noFastWrite) {
      const wr = this.mem.wr[pp]!;
      if (wr >= 0 && this.walkD && this.walkW) { this.noteTlb(lp); (user ? this.tlbUW : this.tlbSW)[lp] = wr; }
    }
    return phys;
  }

  // ---- linear accesses with the current privilege ----
  rdL8(lin: number): number {
    const h = this.tR[lin >>> 12]!;
    if (h >= 0) return this.ram[h + (lin & 0xfff)]!;
    return this.mem.read8(this.fill(lin, ACC_R));
  }
  rdL16(lin: number): number {
    if ((lin & 0xfff) !== 0xfff) {
      const h = this.tR[lin >>> 12]!;
      if (h >= 0) { const i = h + (lin & 0xfff); return this.ram[i]! | (this.ram[i + 1]! << 8); }
      return this.mem.read16(this.fill(lin, ACC_R, 2));
    }
    return this.rdL8(lin) | (this.rdL8((lin + 1) | 0) << 8);
  }
  rdL32(lin: number): number {
    if ((lin & 0xfff) <= 0xffc) {
      const h = this.tR[lin >>> 12]!;
      if (h >= 0) {
        const i = h + (lin & 0xfff);
        if ((i & 3) === 0) return this.ram32[i >> 2]!;
        const r = this.ram; return r[i]! | (r[i + 1]! << 8) | (r[i + 2]! << 16) | (r[i + 3]! << 24);
      }
      return this.mem.read32(this.fill(lin, ACC_R, 4)) | 0;
    }
    return this.rdL16(lin) | (this.rdL16((lin + 2) | 0) << 16);
  }
  wrL8(lin: number, v: number): void {
    const h = this.tW[lin >>> 12]!;
    if (h >= 0) { this.ram[h + (lin & 0xfff)] = v; return; }
    this.mem.write8(this.fill(lin, ACC_W), v & 0xff);
    this.afterSlowWrite();
  }
  wrL16(lin: number, v: number): void {
    if ((lin & 0xfff) !== 0xfff) {
      const h = this.tW[lin >>> 12]!;
      if (h >= 0) { const i = h + (lin & 0xfff); this.ram[i] = v; this.ram[i + 1] = v >> 8; return; }
      this.mem.write16(this.fill(lin, ACC_W, 2), v & 0xffff);
      this.afterSlowWrite();
      return;
    }
    // check both pages before writing either
    this.probeW(lin); this.probeW((lin + 1) | 0);
    this.wrL8(lin, v); this.wrL8((lin + 1) | 0, v >> 8);
  }
  wrL32(lin: number, v: number): void {
    if ((lin & 0xfff) <= 0xffc) {
      const h = this.tW[lin >>> 12]!;
      if (h >= 0) {
        const i = h + (lin & 0xfff);
        if ((i & 3) === 0) { this.ram32[i >> 2] = v; return; }
        const r = this.ram; r[i] = v; r[i + 1] = v >> 8; r[i + 2] = v >> 16; r[i + 3] = v >> 24; return;
      }
      this.mem.write32(this.fill(lin, ACC_W, 4), v >>> 0);
      this.afterSlowWrite();
      return;
    }
    this.probeW(lin); this.probeW((lin + 3) | 0);
    this.wrL16(lin, v); this.wrL16((lin + 2) | 0, v >>> 16);
  }
  /** Make sure a write to `lin` would not fault (for accesses split across pages and RMW). */
  probeW(lin: number): void {
    if (this.tW[lin >>> 12]! < 0) this.fill(lin, ACC_W, 0);
  }
  /**
   * Debug registers: data breakpoints (DR7 R/W = 01 write, 11 read/write).
   * While any is enabled no page is cached in the TLB, so every access comes
   * through `fill`, which records hits in `pendingDb` (delivered as a #DB trap
   * after the instruction).
   */
  dbgData = false;
  pendingDb = 0;
  /** Set by anything that needs the run loop's attention (interrupt state, traps, stop). */
  checkIrq = true;
  private dataBreakpoints(lin: number, len: number, write: boolean): void {
    const dr7 = this.dr[7]!;
    for (let i = 0; i < 4; i++) {
      if (((dr7 >>> (i * 2)) & 3) === 0) continue;
      const rw = (dr7 >>> (16 + i * 4)) & 3;
      if (rw === 0 || rw === 2 || (rw === 1 && !write)) continue;
      const blen = ((dr7 >>> (18 + i * 4)) & 3) + 1;
      const size = blen === 3 ? 8 : blen === 4 ? 4 : blen;
      const a = (this.dr[i]! & ~(size - 1)) >>> 0;
      const l = lin >>> 0;
      if (l <= a + size - 1 && l + len - 1 >= a) { this.pendingDb |= 1 << i; this.checkIrq = true; }
    }
  }

  /** Hook after a write that went through the slow path (MMIO may raise an IRQ). */
  afterSlowWrite(): void { /* overridden */ }

  // ---- supervisor (system) accesses: descriptor tables, TSS, IDT ----
  sysRd8(lin: number): number { return this.mem.read8(this.translate(lin, ACC_R, false)); }
  sysRd16(lin: number): number {
    if ((lin & 0xfff) === 0xfff) return this.sysRd8(lin) | (this.sysRd8((lin + 1) | 0) << 8);
    return this.mem.read16(this.translate(lin, ACC_R, false));
  }
  sysRd32(lin: number): number {
    if ((lin & 0xfff) > 0xffc) return this.sysRd16(lin) | (this.sysRd16((lin + 2) | 0) << 16);
    return this.mem.read32(this.translate(lin, ACC_R, false)) | 0;
  }
  sysWr8(lin: number, v: number): void { this.mem.write8(this.translate(lin, ACC_W, false), v & 0xff); }
  sysWr16(lin: number, v: number): void {
    if ((lin & 0xfff) === 0xfff) { this.sysWr8(lin, v); this.sysWr8((lin + 1) | 0, v >> 8); return; }
    this.mem.write16(this.translate(lin, ACC_W, false), v & 0xffff);
  }
  sysWr32(lin: number, v: number): void {
    if ((lin & 0xfff) > 0xffc) { this.sysWr16(lin, v); this.sysWr16((lin + 2) | 0, v >>> 16); return; }
    this.mem.write32(this.translate(lin, ACC_W, false), v >>> 0);
  }

  // ---- segment-checked accesses ----
  /** Full segment check (slow path): returns the linear address or raises #GP(0)/#SS(0). */
  segCheck(seg: number, off: number, len: number, write: boolean): number {
    const ar = this.segAR[seg]!;
    const vec = seg === SS ? 12 : 13;
    if ((this.cr0 & CR0_PE) !== 0 && (this.flags & 0x20000) === 0) {
      if (ar === 0) this.fault(vec, 0); // null / unusable
      const type = ar & 0xf;
      if ((ar & 0x10) === 0) this.fault(vec, 0);
      if (write) { if ((type & 0xa) !== 2) this.fault(vec, 0); }
      else if ((type & 0xa) === 8) this.fault(vec, 0); // execute-only code
    }
    const lim = this.segLimit[seg]!;
    const last = off + len - 1;
    if ((ar & 0x1c) === 0x14) { // expand-down data
      const upper = (ar & 0x4000) !== 0 ? 0xffffffff : 0xffff;
      if (off <= lim || last > upper) this.fault(vec, 0);
    } else if (last > lim) this.fault(vec, 0);
    return (this.segBase[seg]! + off) | 0;
  }

  /** Recompute the fast-path limits of a segment from its descriptor cache. */
  segFast(seg: number): void {
    const ar = this.segAR[seg]!;
    const lim = this.segLimit[seg]!;
    if ((this.cr0 & CR0_PE) === 0 || (this.flags & 0x20000) !== 0) { // real / V86: always readable+writable
      this.segRL[seg] = lim; this.segWL[seg] = lim; return;
    }
    if (ar === 0 || (ar & 0x10) === 0 || (ar & 0x1c) === 0x14) { this.segRL[seg] = -1; this.segWL[seg] = -1; return; }
    const type = ar & 0xf;
    this.segRL[seg] = (type & 0xa) === 8 ? -1 : lim;
    this.segWL[seg] = (type & 0xa) === 2 ? lim : -1;
  }

  rd8(seg: number, off: number): number {
    return this.rdL8(off <= this.segRL[seg]! ? (this.segBase[seg]! + off) | 0 : this.segCheck(seg, off, 1, false));
  }
  rd16(seg: number, off: number): number {
    return this.rdL16(off + 1 <= this.segRL[seg]! ? (this.segBase[seg]! + off) | 0 : this.segCheck(seg, off, 2, false));
  }
  rd32(seg: number, off: number): number {
    return this.rdL32(off + 3 <= this.segRL[seg]! ? (this.segBase[seg]! + off) | 0 : this.segCheck(seg, off, 4, false));
  }
  wr8(seg: number, off: number, v: number): void {
    this.wrL8(off <= this.segWL[seg]! ? (this.segBase[seg]! + off) | 0 : this.segCheck(seg, off, 1, true), v);
  }
  wr16(seg: number, off: number, v: number): void {
    this.wrL16(off + 1 <= this.segWL[seg]! ? (this.segBase[seg]! + off) | 0 : this.segCheck(seg, off, 2, true), v);
  }
  wr32(seg: number, off: number, v: number): void {
    this.wrL32(off + 3 <= this.segWL[seg]! ? (this.segBase[seg]! + off) | 0 : this.segCheck(seg, off, 4, true), v);
  }
  /** Linear address for a write of `len` bytes (segment checks done). */
  linW(seg: number, off: number, len: number): number {
    return off + len - 1 <= this.segWL[seg]! ? (this.segBase[seg]! + off) | 0 : this.segCheck(seg, off, len, true);
  }
  linR(seg: number, off: number, len: number): number {
    return off + len - 1 <= this.segRL[seg]! ? (this.segBase[seg]! + off) | 0 : this.segCheck(seg, off, len, false);
  }
  rdS(seg: number, off: number, sz: number): number {
    return sz === 2 ? this.rd16(seg, off) : sz === 4 ? this.rd32(seg, off) : this.rd8(seg, off);
  }
  wrS(seg: number, off: number, sz: number, v: number): void {
    if (sz === 2) this.wr16(seg, off, v); else if (sz === 4) this.wr32(seg, off, v); else this.wr8(seg, off, v);
  }
  rdLin(lin: number, sz: number): number {
    return sz === 2 ? this.rdL16(lin) : sz === 4 ? this.rdL32(lin) : this.rdL8(lin);
  }
  wrLin(lin: number, sz: number, v: number): void {
    if (sz === 2) this.wrL16(lin, v); else if (sz === 4) this.wrL32(lin, v); else this.wrL8(lin, v);
  }
  /** Read for a read-modify-write: translates with write intent so #PF reports W=1. */
  rdLinW(lin: number, sz: number): number {
    this.probeW(lin);
    if (sz > 1 && ((lin + sz - 1) >>> 12) !== (lin >>> 12)) this.probeW((lin + sz - 1) | 0);
    return this.rdLin(lin, sz);
  }
}
