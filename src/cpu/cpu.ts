/**
 * The x86 CPU: instruction decoder and integer execution unit (i686 integer
 * ISA), run loop, interrupt acceptance, CPUID/MSRs, and the public contract
 * with the machine (see docs/cpu.md).
 *
 * Execution is a `switch` over the opcode (0x000-0x0FF one-byte, 0x100-0x1FF
 * 0F-prefixed). Faults throw the shared FAULT object; the run loop restores
 * EIP/ESP to the instruction start and delivers the exception.
 */

import type { MemoryBus } from '../memory/memory-bus.js';
import type { IoBus } from '../bus/io-bus.js';
import type { InterruptController } from '../bus/irq.js';
import type { CpuModel } from './models.js';
import { cpuSignature, FEAT_FPU, FEAT_FXSR } from './models.js';
import type { FpuHost, FpuLike } from './fpu-iface.js';
import { Fpu } from './fpu/fpu.js';
import {
  AC, AF, ARITH, CF, CS, DF, DS, ES, FS, GS, ID, IF, IOPL, L_ADC, L_ADD, L_DEC, L_INC, L_LOGIC, L_NONE, L_SBB, L_SHF, L_SUB,
  NT, OF, PARITY, PF, R8, RF, SEG_NAMES, SF, SS, TF, VM, ZF,
} from './regs.js';
import {
  ACC_X, CR0_EM, CR0_ET, CR0_MP, CR0_NE, CR0_PE, CR0_PG, CR0_TS, CR0_WP, CR4_PAE, CR4_PGE, CR4_PSE, CR4_TSD,
  EX_BP, EX_BR, EX_DB, EX_DE, EX_DF, EX_GP, EX_MF, EX_NM, EX_NP, EX_OF, EX_PF, EX_SS, EX_TS, EX_UD, FAULT,
} from './mmu.js';
import { INT_EXC, INT_HW, INT_SOFT, Protect } from './protect.js';

const MASK = [0, 0xff, 0xffff, 0, -1];
const SIGN = [0, 0x80, 0x8000, 0, 0x80000000 | 0];
const PREFIX = new Uint8Array(256);
for (const p of [0x26, 0x2e, 0x36, 0x3e, 0x64, 0x65, 0x66, 0x67, 0xf0, 0xf2, 0xf3]) PREFIX[p] = 1;
/** x87 memory operand sizes by (opcode & 7) * 8 + reg; 0xe = FLDENV/FSTENV, 0x5e = FSAVE/FRSTOR (by operand size). */
const X87_MEM_SIZE = new Uint8Array([
  4, 4, 4, 4, 4, 4, 4, 4, // D8
  4, 4, 4, 4, 0xe, 2, 0xe, 2, // D9
  4, 4, 4, 4, 4, 4, 4, 4, // DA
  4, 4, 4, 4, 4, 10, 4, 10, // DB
  8, 8, 8, 8, 8, 8, 8, 8, // DC
  8, 8, 8, 8, 0x5e, 8, 0x5e, 2, // DD
  2, 2, 2, 2, 2, 2, 2, 2, // DE
  2, 2, 2, 2, 10, 8, 10, 8, // DF
]);
/** 1 where the x87 memory form writes its operand. */
const X87_MEM_STORE = new Uint8Array([
  0, 0, 0, 0, 0, 0, 0, 0,
  0, 0, 1, 1, 0, 0, 1, 1,
  0, 0, 0, 0, 0, 0, 0, 0,
  0, 1, 1, 1, 0, 0, 0, 1,
  0, 0, 0, 0, 0, 0, 0, 0,
  0, 1, 1, 1, 0, 0, 1, 1,
  0, 0, 0, 0, 0, 0, 0, 0,
  0, 1, 1, 1, 0, 0, 1, 1,
]);
const CONTRIBUTORY = (v: number): boolean => v === 0 || (v >= 10 && v <= 13);

/** Plain JSON-able snapshot of the whole CPU state. */
export interface CpuState {
  regs: number[]; eip: number; eflags: number;
  seg: { sel: number; base: number; limit: number; ar: number }[];
  cr: number[]; dr: number[];
  gdt: [number, number]; idt: [number, number];
  ldt: [number, number, number]; tr: [number, number, number, number];
  cpl: number; efer: number; sysenter: [number, number, number];
  halted: boolean; a20: boolean; inhibit: number; nmiPending: boolean; nmiBlocked: boolean;
  tsc: number; fpu: unknown;
}

export class Cpu extends Protect implements FpuHost {
  readonly io: IoBus;
  readonly model: CpuModel;
  intc: InterruptController | null = null;
  /** TSC ticks; the machine sets a virtual-clock based source. Default: instructions retired. */
  tscSource: () => number;
  onShutdown: ((reason: 'triple-fault') => void) | null = null;
  /** Called with the FERR# level (IRQ13 path when CR0.NE = 0). */
  onFerr: ((level: boolean) => void) | null = null;
  fpu: FpuLike | null = null;
  halted = false;
  /** Total instructions retired (default TSC source). */
  instructions = 0;
  /** Instructions completed in the current run() before the one executing (see instructionsInSlice). */
  private sliceN = 0;

  private stopReq = false;
  private inhibit = 0;
  private nmiPending = false;
  private nmiBlocked = false;
  private tscOffset = 0;
  /** Set when the last instruction delivered an interrupt itself (INT n): no single-step trap. */
  private noTrap = false;
  /** Task switch committed during this instruction: do not roll back EIP/ESP on a fault. */
  private committed = false;
  private shutdown = false;

  // decode state of the current instruction
  private os32 = false;
  private as32 = false;
  private segOvr = -1;
  private rep = 0;
  private lockp = false;
  private modrm = 0;
  private ea = 0;
  private eaSeg = DS;
  private mulHi = 0;
  private longInsn = false;
  /** FERR# currently asserted (CR0.NE = 0 error reporting through IRQ 13). */
  private ferr = false;

  constructor(mem: MemoryBus, io: IoBus, model: CpuModel) {
    super(mem);
    this.io = io;
    this.model = model;
    this.tscSource = () => this.instructions + this.sliceN;
    if (model.hasFpu) this.fpu = new Fpu(this);
    this.reset();
  }

  /** Attach the x87 (src/cpu/fpu/fpu.ts) once it exists. */
  attachFpu(fpu: FpuLike): void { this.fpu = fpu; }

  // ---------------------------------------------------------------- reset / lines
  reset(): void {
    this.r32.fill(0);
    this.r32[2] = cpuSignature(this.model);
    this.flags = 2; this.lop = L_NONE;
    this.cr0 = 0x60000010; this.cr2 = 0; this.cr3 = 0; this.cr4 = 0; this.efer = 0;
    this.dr.fill(0); this.dr[6] = 0xffff0ff0 | 0; this.dr[7] = 0x400;
    this.cpl = 0;
    for (let s = 0; s < 6; s++) {
      this.segSel[s] = 0; this.segBase[s] = 0; this.segLimit[s] = 0xffff; this.segAR[s] = 0x93;
    }
    this.segSel[CS] = 0xf000; this.segBase[CS] = 0xffff0000 | 0; this.segAR[CS] = 0x9b;
    this.csD = false;
    this.fetchMax = 0xffff; this.longInsn = false; this.killWindow();
    this.modeChanged();
    this.eip = 0xfff0;
    this.gdtBase = 0; this.gdtLimit = 0xffff; this.idtBase = 0; this.idtLimit = 0x3ff;
    this.ldtSel = 0; this.ldtBase = 0; this.ldtLimit = 0xffff;
    this.trSel = 0; this.trBase = 0; this.trLimit = 0xffff; this.trType = 11;
    this.sysenterCs = 0; this.sysenterEsp = 0; this.sysenterEip = 0;
    this.halted = false; this.inhibit = 0; this.nmiPending = false; this.nmiBlocked = false;
    this.shutdown = false;
    this.tscOffset = -this.tscSource();
    this.selectTlb();
    this.flushTlb(false);
    this.checkIrq = true;
    if (this.fpu !== null) this.fpu.reset();
  }

  setA20(enabled: boolean): void {
    const m = enabled ? -1 : ~0x100000;
    if (m !== this.a20Mask) { this.a20Mask = m; this.flushTlb(false); }
  }
  get a20(): boolean { return this.a20Mask === -1; }

  nmi(): void { this.nmiPending = true; this.checkIrq = true; }
  requestStop(): void { this.stopReq = true; this.checkIrq = true; }

  // ---------------------------------------------------------------- register accessors (monitor / gdb)
  get eax(): number { return this.r32[0]! >>> 0; } set eax(v: number) { this.r32[0] = v; }
  get ecx(): number { return this.r32[1]! >>> 0; } set ecx(v: number) { this.r32[1] = v; }
  get edx(): number { return this.r32[2]! >>> 0; } set edx(v: number) { this.r32[2] = v; }
  get ebx(): number { return this.r32[3]! >>> 0; } set ebx(v: number) { this.r32[3] = v; }
  get esp(): number { return this.r32[4]! >>> 0; } set esp(v: number) { this.r32[4] = v; }
  get ebp(): number { return this.r32[5]! >>> 0; } set ebp(v: number) { this.r32[5] = v; }
  get esi(): number { return this.r32[6]! >>> 0; } set esi(v: number) { this.r32[6] = v; }
  get edi(): number { return this.r32[7]! >>> 0; } set edi(v: number) { this.r32[7] = v; }
  get eflags(): number { return this.getFlags(); }
  set eflags(v: number) { this.flags = (v | 2) & 0x3f7fd5; this.lop = L_NONE; this.modeChanged(); this.checkIrq = true; }
  /** Load a segment register the way real mode does (base = sel << 4). */
  setSegmentReal(seg: number, sel: number): void { this.setSegReal(seg, sel); }
  /** Linear address of CS:EIP. */
  get pc(): number { return (this.segBase[CS]! + this.eip) >>> 0; }

  // ---------------------------------------------------------------- FpuHost (linear, paging-checked)
  read8(lin: number): number { return this.rdL8(lin | 0); }
  read16(lin: number): number { return this.rdL16(lin | 0); }
  read32(lin: number): number { return this.rdL32(lin | 0) >>> 0; }
  write8(lin: number, v: number): void { this.wrL8(lin | 0, v); }
  write16(lin: number, v: number): void { this.wrL16(lin | 0, v); }
  write32(lin: number, v: number): void { this.wrL32(lin | 0, v); }

  override afterSlowWrite(): void { this.checkIrq = true; }

  // ---------------------------------------------------------------- run loop
  run(maxInstructions: number): number {
    this.stopReq = false;
    this.checkIrq = true;
    let n = 0;
    const traced = this.trace.exec || this.trace.inAsm || this.trace.cpu;
    while (n < maxInstructions) {
      if (this.checkIrq || traced || this.dbgExec || (this.flags & TF) !== 0) {
        // slow path: one instruction with interrupt acceptance, single-step trap and tracing
        this.checkIrq = false;
        this.events();
        if (this.halted || this.shutdown || this.stopReq) break;
        if (traced) this.traceInsn();
        const csBase = this.segBase[CS]!, ip0 = this.eip;
        this.insnEnd = -1;
        const tf = this.flags & TF;
        this.committed = false;
        this.noTrap = false;
        this.sliceN = n;
        try {
          if (this.dbgExec && (this.flags & RF) === 0) this.execBreakpoint();
          this.step();
          this.flags &= ~RF;
          if ((tf !== 0 && !this.noTrap) || this.pendingDb !== 0) this.singleStepTrap(tf !== 0 && !this.noTrap);
        } catch (e) {
          if (e !== FAULT) throw e;
          this.handleFault();
        }
        n++;
        if (this.trace.inAsm) this.traceBytes(csBase, ip0);
        if (this.inhibit !== 0 || this.nmiPending) this.checkIrq = true;
        if (this.stopReq || this.halted) break;
        continue;
      }
      // fast path: straight-line execution until something needs attention
      this.committed = false;
      try {
        while (n < maxInstructions) {
          this.sliceN = n;
          this.step();
          n++;
          if (this.checkIrq) break;
        }
      } catch (e) {
        if (e !== FAULT) throw e;
        this.handleFault();
        n++;
      }
      if (this.stopReq || this.halted) break;
    }
    this.sliceN = 0;
    this.instructions += n;
    return n;
  }

  /**
   * Instructions completed so far in the current `run()` call (0 outside it).
   * Devices read mid-slice (PIT, PM timer, RTC, TSC) add it to the time at the
   * start of the slice: it is exact at port I/O, MMIO, RDTSC and RDMSR.
   */
  instructionsInSlice(): number { return this.sliceN; }

  /** #DB trap after an instruction: single step (BS) and/or data breakpoint hits (B0-B3). */
  private singleStepTrap(bs: boolean): void {
    this.dr[6] = (this.dr[6]! & ~0xf) | this.pendingDb | (bs ? 0x4000 : 0);
    this.pendingDb = 0;
    this.raise(EX_DB, -1, INT_HW, this.eip);
  }

  /** Interrupt acceptance at an instruction boundary. */
  private events(): void {
    if (this.pendingDb !== 0) { this.singleStepTrap(false); }
    if (this.inhibit !== 0) { this.inhibit = 0; this.checkIrq = true; return; }
    if (this.nmiPending && !this.nmiBlocked) {
      this.nmiPending = false; this.nmiBlocked = true; this.halted = false;
      this.raise(2, -1, INT_HW, this.eip);
      return;
    }
    if ((this.flags & IF) !== 0 && this.intc !== null && this.intc.hasInterrupt()) {
      const vec = this.intc.acknowledge();
      this.halted = false;
      this.raise(vec, -1, INT_HW, this.eip);
      return;
    }
  }

  private handleFault(): void {
    const vec = this.excVec, code = this.excCode;
    this.pendingDb = 0;
    this.clearPrefixes();
    if (!this.committed) { this.eip = this.startEip; this.r32[4] = this.startEsp; }
    this.raise(vec, code, INT_EXC, this.eip);
  }

  /** Deliver an exception/interrupt, escalating to #DF and triple fault. */
  private raise(vec: number, code: number, kind: number, retEip: number): void {
    let first = vec, err = code, k = kind;
    const ssSel = this.segSel[SS]!, ssBase = this.segBase[SS]!, ssLim = this.segLimit[SS]!, ssAr = this.segAR[SS]!;
    const esp = this.r32[4]!, cpl = this.cpl, fl = this.flags, lop = this.lop;
    const csSel = this.segSel[CS]!, csBase = this.segBase[CS]!, csLim = this.segLimit[CS]!, csAr = this.segAR[CS]!;
    for (;;) {
      try {
        this.deliver(first, k, err, retEip);
        return;
      } catch (e) {
        if (e !== FAULT) throw e;
        // roll back the partial delivery
        this.segSel[SS] = ssSel; this.segBase[SS] = ssBase; this.segLimit[SS] = ssLim; this.segAR[SS] = ssAr;
        this.segFast(SS);
        this.segSel[CS] = csSel; this.segBase[CS] = csBase; this.segLimit[CS] = csLim; this.segAR[CS] = csAr;
        this.segFast(CS); this.csD = (csAr & 0x4000) !== 0; this.fetchMax = csLim; this.killWindow();
        this.r32[4] = esp; this.cpl = cpl; this.selectTlb(); this.flags = fl; this.lop = lop; this.modeChanged();
        const second = this.excVec;
        if (first === EX_DF) {
          this.tripleFault();
          return;
        }
        const df = (CONTRIBUTORY(first) && CONTRIBUTORY(second)) || (first === EX_PF && (CONTRIBUTORY(second) || second === EX_PF));
        if (df) { first = EX_DF; err = 0; } else { first = second; err = this.excCode; }
        k = INT_EXC;
      }
    }
  }

  private tripleFault(): void {
    if (this.trace.int) this.trace.log('triple fault');
    this.shutdown = true;
    this.halted = true;
    this.stopReq = true;
    if (this.onShutdown !== null) this.onShutdown('triple-fault');
  }

  // ---------------------------------------------------------------- fetch
  private fetch8(): number {
    const ip = this.eip;
    if (ip >= this.winLo && ip <= this.winHi) { this.eip = ip + 1; return this.ram[this.winOff + ip]!; }
    return this.fetchSlow(ip);
  }
  /** Fetch outside the window: limit check, translation, then open a new window. */
  private fetchSlow(ip: number): number {
    if (ip > this.fetchMax) this.fault(EX_GP, 0);
    const lin = (this.segBase[CS]! + ip) | 0;
    let h = this.tR[lin >>> 12]!;
    if (h < 0) {
      const phys = this.fill(lin, ACC_X);
      h = this.tR[lin >>> 12]!;
      if (h < 0) { this.eip = ip + 1; return this.mem.read8(phys); } // MMIO / unmapped: no window
    }
    const pageStart = ip - (lin & 0xfff);
    this.winLo = Math.max(pageStart, 0);
    this.winHi = Math.min(pageStart + 0xfff, this.fetchMax);
    this.winOff = h - pageStart;
    this.eip = ip + 1;
    return this.ram[h + (lin & 0xfff)]!;
  }
  private fetch16(): number {
    const ip = this.eip;
    if (ip >= this.winLo && ip + 1 <= this.winHi) {
      this.eip = ip + 2; const i = this.winOff + ip; return this.ram[i]! | (this.ram[i + 1]! << 8);
    }
    const lo = this.fetch8();
    return lo | (this.fetch8() << 8);
  }
  private fetch32(): number {
    const ip = this.eip;
    if (ip >= this.winLo && ip + 3 <= this.winHi) {
      this.eip = ip + 4; const r = this.ram, i = this.winOff + ip;
      return r[i]! | (r[i + 1]! << 8) | (r[i + 2]! << 16) | (r[i + 3]! << 24);
    }
    const lo = this.fetch16();
    return lo | (this.fetch16() << 16);
  }
  private fetchImm(sz: number): number { return sz === 1 ? this.fetch8() : sz === 2 ? this.fetch16() : this.fetch32(); }

  // ---------------------------------------------------------------- ModRM
  private decodeModrm(): void {
    const ip = this.eip;
    if (this.as32 && ip >= this.winLo && ip + 5 <= this.winHi) {
      // 32-bit addressing with ModRM, SIB and disp32 all inside the fetch window: read the bytes directly
      const ram = this.ram, p0 = this.winOff + ip;
      const m = ram[p0]!;
      this.modrm = m;
      if (m >= 0xc0) { this.eip = ip + 1; return; }
      const mod = m >> 6, rm = m & 7, r = this.r32;
      let p = p0 + 1, seg = DS, ea: number;
      if (rm === 4) {
        const sib = ram[p++]!;
        const base = sib & 7, idx = (sib >> 3) & 7;
        if (base === 5 && mod === 0) { ea = ram[p]! | (ram[p + 1]! << 8) | (ram[p + 2]! << 16) | (ram[p + 3]! << 24); p += 4; }
        else { ea = r[base]!; if (base === 4 || base === 5) seg = SS; }
        if (idx !== 4) ea += r[idx]! << (sib >> 6);
      } else if (rm === 5 && mod === 0) {
        ea = ram[p]! | (ram[p + 1]! << 8) | (ram[p + 2]! << 16) | (ram[p + 3]! << 24); p += 4;
      } else {
        ea = r[rm]!;
        if (rm === 5) seg = SS;
      }
      if (mod === 1) { ea += (ram[p]! << 24) >> 24; p++; }
      else if (mod === 2) { ea += ram[p]! | (ram[p + 1]! << 8) | (ram[p + 2]! << 16) | (ram[p + 3]! << 24); p += 4; }
      this.ea = ea >>> 0;
      this.eip = ip + (p - p0);
      this.eaSeg = this.segOvr >= 0 ? this.segOvr : seg;
      return;
    }
    this.decodeModrmSlow();
  }
  private decodeModrmSlow(): void {
    const m = this.fetch8();
    this.modrm = m;
    if (m >= 0xc0) return;
    const mod = m >> 6, rm = m & 7;
    let seg = DS;
    if (!this.as32) {
      const r = this.r16;
      let ea: number;
      switch (rm) {
        case 0: ea = r[6]! + r[12]!; break;
        case 1: ea = r[6]! + r[14]!; break;
        case 2: ea = r[10]! + r[12]!; seg = SS; break;
        case 3: ea = r[10]! + r[14]!; seg = SS; break;
        case 4: ea = r[12]!; break;
        case 5: ea = r[14]!; break;
        case 6: if (mod === 0) { ea = this.fetch16(); } else { ea = r[10]!; seg = SS; } break;
        default: ea = r[6]!; break;
      }
      if (mod === 1) ea += (this.fetch8() << 24) >> 24;
      else if (mod === 2) ea += this.fetch16();
      this.ea = ea & 0xffff;
    } else {
      let ea: number;
      if (rm === 4) {
        const sib = this.fetch8();
        const base = sib & 7, idx = (sib >> 3) & 7;
        if (base === 5 && mod === 0) ea = this.fetch32();
        else { ea = this.r32[base]!; if (base === 4 || base === 5) seg = SS; }
        if (idx !== 4) ea += this.r32[idx]! << (sib >> 6);
      } else if (rm === 5 && mod === 0) {
        ea = this.fetch32();
      } else {
        ea = this.r32[rm]!;
        if (rm === 5) seg = SS;
      }
      if (mod === 1) ea += (this.fetch8() << 24) >> 24;
      else if (mod === 2) ea += this.fetch32();
      this.ea = ea >>> 0;
    }
    this.eaSeg = this.segOvr >= 0 ? this.segOvr : seg;
  }
  private rmRead(sz: number): number {
    const m = this.modrm;
    if (m >= 0xc0) return this.getReg(m & 7, sz);
    return this.rdS(this.eaSeg, this.ea, sz);
  }
  private rmWrite(sz: number, v: number): void {
    const m = this.modrm;
    if (m >= 0xc0) this.setReg(m & 7, sz, v); else this.wrS(this.eaSeg, this.ea, sz, v);
  }
  private needMem(): void { if (this.modrm >= 0xc0) this.fault(EX_UD); }
  private get opsz(): number { return this.os32 ? 4 : 2; }

  // ---------------------------------------------------------------- ALU
  private alu(op: number, a: number, b: number, sz: number): number {
    const m = MASK[sz]!;
    a &= m; b &= m;
    let r: number;
    switch (op) {
      case 0: r = (a + b) & m; this.lop = L_ADD; this.la = a; this.lb = b; break;
      case 1: r = (a | b) & m; this.lop = L_LOGIC; break;
      case 2: { const c = this.getCF(); r = (a + b + c) & m; this.lop = L_ADC; this.lcin = c; this.la = a; this.lb = b; break; }
      case 3: { const c = this.getCF(); r = (a - b - c) & m; this.lop = L_SBB; this.lcin = c; this.la = a; this.lb = b; break; }
      case 4: r = a & b; this.lop = L_LOGIC; break;
      case 6: r = (a ^ b) & m; this.lop = L_LOGIC; break;
      default: r = (a - b) & m; this.lop = L_SUB; this.la = a; this.lb = b; break;
    }
    this.lres = r; this.lmask = m; this.lsign = SIGN[sz]!;
    return r;
  }
  /**
   * Condition code n for Jcc: the common cases after CMP/SUB (and ZF after any
   * arithmetic) straight from the lazy operands, everything else through `cond`.
   */
  private condFast(n: number): boolean {
    const lop = this.lop;
    if (lop === L_SUB) {
      const lf = this.lf, a = lf[0]!, b = lf[1]!;
      let t: boolean;
      switch (n >> 1) {
        case 1: t = (a >>> 0) < (b >>> 0); break; // B: CF
        case 2: t = a === b; break; // Z (operands are masked to the size, so equal iff the result is 0)
        case 3: t = (a >>> 0) <= (b >>> 0); break; // BE: CF | ZF
        case 6: if (lf[3] !== -1) return this.cond(n); t = a < b; break; // L (32-bit): SF != OF
        case 7: if (lf[3] !== -1) return this.cond(n); t = a <= b; break; // LE
        default: return this.cond(n);
      }
      return (n & 1) !== 0 ? !t : t;
    }
    if ((n & 14) === 4 && lop !== L_NONE) return (this.lres === 0) !== ((n & 1) !== 0);
    return this.cond(n);
  }

  /** `alu` for 32-bit operands (no masking: values are int32 already). */
  private alu32(op: number, a: number, b: number): number {
    const lf = this.lf;
    let r: number;
    switch (op) {
      case 0: r = (a + b) | 0; this.lop = L_ADD; lf[0] = a; lf[1] = b; break;
      case 1: r = a | b; this.lop = L_LOGIC; break;
      case 4: r = a & b; this.lop = L_LOGIC; break;
      case 5: case 7: r = (a - b) | 0; this.lop = L_SUB; lf[0] = a; lf[1] = b; break;
      case 6: r = a ^ b; this.lop = L_LOGIC; break;
      default: return this.alu(op, a, b, 4);
    }
    lf[2] = r; lf[3] = -1; lf[4] = 0x80000000 | 0;
    return r;
  }
  private incdec(v: number, sz: number, dec: boolean): number {
    const lop = this.lop;
    if (lop !== L_NONE && lop !== L_INC && lop !== L_DEC && lop !== L_SHF) this.flags = (this.flags & ~CF) | this.getCF();
    const m = MASK[sz]!;
    const r = (dec ? v - 1 : v + 1) & m;
    this.lop = dec ? L_DEC : L_INC; this.la = v & m; this.lb = 1; this.lres = r; this.lmask = m; this.lsign = SIGN[sz]!;
    return r;
  }
  /** Eagerly set the arithmetic flags (lazy state discarded). */
  private setArith(bits: number): void { this.materialize(); this.flags = (this.flags & ~ARITH) | bits; }
  private szp(r: number, sz: number): number {
    r &= MASK[sz]!;
    return (r === 0 ? ZF : 0) | ((r & SIGN[sz]!) !== 0 ? SF : 0) | PARITY[r & 0xff]!;
  }

  private shift(op: number, v: number, cnt: number, sz: number): number {
    cnt &= 31;
    if (cnt === 0) return v;
    const m = MASK[sz]!, sign = SIGN[sz]!, bits = sz * 8;
    v &= m;
    if (op < 4) this.materialize();
    let f = this.flags, r: number, cf: number;
    switch (op) {
      case 0: { // ROL
        const c = cnt & (bits - 1);
        r = c !== 0 ? ((v << c) | (v >>> (bits - c))) & m : v;
        cf = r & 1;
        f = (f & ~(CF | OF)) | cf | ((((r & sign) !== 0 ? 1 : 0) ^ cf) !== 0 ? OF : 0);
        this.flags = f; return r;
      }
      case 1: { // ROR
        const c = cnt & (bits - 1);
        r = c !== 0 ? ((v >>> c) | (v << (bits - c))) & m : v;
        cf = (r & sign) !== 0 ? 1 : 0;
        const b2 = (r & (sign >>> 1)) !== 0 ? 1 : 0;
        f = (f & ~(CF | OF)) | cf | ((cf ^ b2) !== 0 ? OF : 0);
        this.flags = f; return r;
      }
      case 2: { // RCL
        const c = sz === 4 ? cnt : cnt % (bits + 1);
        cf = f & CF; r = v;
        for (let i = 0; i < c; i++) { const nc = (r & sign) !== 0 ? 1 : 0; r = ((r << 1) | cf) & m; cf = nc; }
        f = (f & ~(CF | OF)) | cf | ((((r & sign) !== 0 ? 1 : 0) ^ cf) !== 0 ? OF : 0);
        this.flags = f; return r;
      }
      case 3: { // RCR
        const c = sz === 4 ? cnt : cnt % (bits + 1);
        cf = f & CF; r = v;
        for (let i = 0; i < c; i++) { const nc = r & 1; r = ((r >>> 1) | (cf !== 0 ? sign : 0)) & m; cf = nc; }
        const b1 = (r & sign) !== 0 ? 1 : 0, b2 = (r & (sign >>> 1)) !== 0 ? 1 : 0;
        f = (f & ~(CF | OF)) | cf | ((b1 ^ b2) !== 0 ? OF : 0);
        this.flags = f; return r;
      }
      case 4: case 6: // SHL
        r = (v << cnt) & m;
        cf = ((v << (cnt - 1)) & sign) !== 0 ? 1 : 0;
        this.shiftFlags(f, cf, (((r & sign) !== 0 ? 1 : 0) ^ cf) !== 0, r, sz);
        return r;
      case 5: // SHR
        cf = (v >>> (cnt - 1)) & 1;
        r = (v >>> cnt) & m;
        this.shiftFlags(f, cf, (v & sign) !== 0, r, sz);
        return r;
      default: { // SAR
        const sx = sz === 1 ? (v << 24) >> 24 : sz === 2 ? (v << 16) >> 16 : v | 0;
        cf = (sx >> (cnt - 1)) & 1;
        r = (sx >> cnt) & m;
        this.shiftFlags(f, cf, false, r, sz);
        return r;
      }
    }
  }

  /** Lazy flags after SHL/SHR/SAR: CF/OF stored, SZP from the result. */
  private shiftFlags(f: number, cf: number, of: boolean, r: number, sz: number): void {
    this.flags = (f & ~(CF | OF)) | cf | (of ? OF : 0);
    this.lop = L_SHF; this.lres = r; this.lmask = MASK[sz]!; this.lsign = SIGN[sz]!;
  }

  /** SHLD (left) / SHRD: `v` destination, `s` source bits. */
  private shiftDouble(v: number, s: number, cnt: number, sz: number, left: boolean): number {
    cnt &= 31;
    if (cnt === 0) return v;
    const m = MASK[sz]!, sign = SIGN[sz]!, bits = sz * 8;
    v &= m; s &= m;
    let r: number, cf: number;
    if (sz === 4) {
      if (left) { r = (v << cnt) | (s >>> (32 - cnt)); cf = (v >>> (32 - cnt)) & 1; }
      else { r = (v >>> cnt) | (s << (32 - cnt)); cf = (v >>> (cnt - 1)) & 1; }
    } else {
      // 16-bit: operate on the 32-bit concatenation; counts above 16 are undefined (use the 48-bit rotation Intel CPUs show)
      if (left) {
        const big = (v * 65536 + s) * 65536 + v; // v:s:v
        const c = cnt;
        r = Math.floor(big / 2 ** (32 - c)) % 65536;
        cf = Math.floor(big / 2 ** (48 - c)) % 2;
      } else {
        const big = (s * 65536 + s) * 65536 + v; // s:s:v  (bits shifted in come from s)
        const bigv = (v * 65536 + s) * 65536 + v;
        r = Math.floor(big / 2 ** cnt) % 65536;
        cf = Math.floor(bigv / 2 ** (cnt - 1)) % 2;
        if (cnt > 16) { const x = (s * 65536 + v) * 65536 + s; r = Math.floor(x / 2 ** (cnt - 16)) % 65536; cf = Math.floor(x / 2 ** (cnt - 17)) % 2; }
      }
      void bits;
    }
    r &= m;
    this.setArith(cf | this.szp(r, sz) | ((((r ^ v) & sign) !== 0) ? OF : 0));
    return r;
  }

  private mulu32(a: number, b: number): number {
    a >>>= 0; b >>>= 0;
    const al = a & 0xffff, ah = a >>> 16, bl = b & 0xffff, bh = b >>> 16;
    const t = al * bl;
    const m1 = ah * bl + (t >>> 16);
    const m2 = al * bh + (m1 & 0xffff);
    this.mulHi = (ah * bh + Math.floor(m1 / 65536) + Math.floor(m2 / 65536)) | 0;
    return Math.imul(a, b);
  }
  private muls32(a: number, b: number): number {
    const lo = this.mulu32(a, b);
    let hi = this.mulHi;
    if ((a | 0) < 0) hi = (hi - b) | 0;
    if ((b | 0) < 0) hi = (hi - a) | 0;
    this.mulHi = hi;
    return lo;
  }

  /** F6/F7 /4../7: MUL, IMUL, DIV, IDIV. */
  private muldiv(op: number, sz: number): void {
    const src = this.rmRead(sz);
    const r = this.r32, r16 = this.r16, r8 = this.r8;
    switch (op) {
      case 4: { // MUL
        let hiNz: boolean, lo: number;
        if (sz === 1) { const p = r8[0]! * src; r16[0] = p; hiNz = (p & 0xff00) !== 0; lo = p & 0xff; }
        else if (sz === 2) { const p = r16[0]! * src; r16[0] = p; r16[4] = p >>> 16; hiNz = (p >>> 16) !== 0; lo = p & 0xffff; }
        else { lo = this.mulu32(r[0]!, src); r[0] = lo; r[2] = this.mulHi; hiNz = this.mulHi !== 0; }
        this.setArith((hiNz ? CF | OF : 0) | this.szp(lo, sz));
        return;
      }
      case 5: { // IMUL
        let ovf: boolean, lo: number;
        if (sz === 1) { const p = ((r8[0]! << 24) >> 24) * ((src << 24) >> 24); r16[0] = p; ovf = p !== ((p << 24) >> 24); lo = p; }
        else if (sz === 2) { const p = ((r16[0]! << 16) >> 16) * ((src << 16) >> 16); r16[0] = p; r16[4] = p >> 16; ovf = p !== ((p << 16) >> 16); lo = p; }
        else { lo = this.muls32(r[0]!, src); r[0] = lo; r[2] = this.mulHi; ovf = this.mulHi !== (lo >> 31); }
        this.setArith((ovf ? CF | OF : 0) | this.szp(lo, sz));
        return;
      }
      case 6: { // DIV
        if (src === 0) this.fault(EX_DE);
        if (sz === 1) {
          const d = r16[0]!; const q = Math.floor(d / src);
          if (q > 0xff) this.fault(EX_DE);
          r8[0] = q; r8[1] = d % src;
        } else if (sz === 2) {
          const d = r16[4]! * 65536 + r16[0]!; const q = Math.floor(d / src);
          if (q > 0xffff) this.fault(EX_DE);
          r16[0] = q; r16[4] = d % src;
        } else {
          const hi = r[2]! >>> 0, lo = r[0]! >>> 0, dv = src >>> 0;
          if (hi >= dv) this.fault(EX_DE);
          if (hi < 0x200000) {
            const d = hi * 4294967296 + lo;
            r[0] = Math.floor(d / dv); r[2] = d % dv;
          } else {
            const d = (BigInt(hi) << 32n) | BigInt(lo), b = BigInt(dv);
            r[0] = Number(d / b); r[2] = Number(d % b);
          }
        }
        return;
      }
      default: { // IDIV
        if (src === 0) this.fault(EX_DE);
        if (sz === 1) {
          const d = (r16[0]! << 16) >> 16, s = (src << 24) >> 24;
          const q = Math.trunc(d / s);
          if (q > 127 || q < -128) this.fault(EX_DE);
          r8[0] = q; r8[1] = d % s;
        } else if (sz === 2) {
          const d = (r16[4]! << 16) | r16[0]!, s = (src << 16) >> 16;
          const q = Math.trunc(d / s);
          if (q > 32767 || q < -32768) this.fault(EX_DE);
          r16[0] = q; r16[4] = d % s;
        } else {
          const d = (BigInt(r[2]!) << 32n) | BigInt(r[0]! >>> 0), s = BigInt(src | 0);
          const q = d / s;
          if (q > 2147483647n || q < -2147483648n) this.fault(EX_DE);
          r[0] = Number(q); r[2] = Number(d % s);
        }
        return;
      }
    }
  }

  // ---------------------------------------------------------------- string instructions
  private strOp(op: number, sz: number): void {
    const a32 = this.as32;
    const r = this.r32, r16 = this.r16;
    const delta = (this.flags & DF) !== 0 ? -sz : sz;
    const srcSeg = this.segOvr >= 0 ? this.segOvr : DS;
    const rep = this.rep;
    let budget = 4096;
    for (;;) {
      if (rep !== 0) {
        const cnt = a32 ? r[1]! : r16[2]!;
        if (cnt === 0) return;
      }
      const si = a32 ? r[6]! >>> 0 : r16[12]!;
      const di = a32 ? r[7]! >>> 0 : r16[14]!;
      let dsi = false, ddi = false, cmp = false;
      switch (op) {
        case 0xa4: this.wrS(ES, di, sz, this.rdS(srcSeg, si, sz)); dsi = ddi = true; break; // MOVS
        case 0xa6: { const a = this.rdS(srcSeg, si, sz), b = this.rdS(ES, di, sz); this.alu(7, a, b, sz); dsi = ddi = cmp = true; break; }
        case 0xaa: this.wrS(ES, di, sz, this.getReg(0, sz)); ddi = true; break; // STOS
        case 0xac: this.setReg(0, sz, this.rdS(srcSeg, si, sz)); dsi = true; break; // LODS
        case 0xae: this.alu(7, this.getReg(0, sz), this.rdS(ES, di, sz), sz); ddi = cmp = true; break; // SCAS
        case 0x6c: { // INS
          this.ioCheck(r16[4]!, sz);
          const v = this.io.read(r16[4]!, sz);
          this.wrS(ES, di, sz, v); ddi = true; this.checkIrq = true; break;
        }
        default: { // OUTS
          this.ioCheck(r16[4]!, sz);
          const v = this.rdS(srcSeg, si, sz);
          this.io.write(r16[4]!, sz, v); dsi = true; this.checkIrq = true; break;
        }
      }
      if (dsi) { if (a32) r[6] = si + delta; else r16[12] = si + delta; }
      if (ddi) { if (a32) r[7] = di + delta; else r16[14] = di + delta; }
      if (rep === 0) return;
      if (a32) r[1] = r[1]! - 1; else r16[2] = r16[2]! - 1;
      if (cmp && (rep === 1 ? !this.getZF() : this.getZF())) return; // REPE stops on NZ, REPNE on Z
      if (--budget === 0) {
        if ((a32 ? r[1]! : r16[2]!) !== 0) this.eip = this.startEip; // continue later (interrupt window)
        return;
      }
    }
  }

  // ---------------------------------------------------------------- I/O permission
  private ioCheck(port: number, sz: number): void {
    if ((this.cr0 & CR0_PE) === 0) return;
    if ((this.flags & VM) === 0 && this.cpl <= ((this.flags & IOPL) >>> 12)) return;
    if ((this.trType & 8) === 0 || this.trLimit < 0x67) this.fault(EX_GP, 0);
    const base = this.sysRd16((this.trBase + 0x66) | 0);
    const off = base + (port >>> 3);
    if (off + 1 > this.trLimit) this.fault(EX_GP, 0);
    const bits = this.sysRd16((this.trBase + off) | 0);
    if (((bits >>> (port & 7)) & ((1 << sz) - 1)) !== 0) this.fault(EX_GP, 0);
  }

  private privCheck(): void {
    if ((this.cr0 & CR0_PE) !== 0 && ((this.flags & VM) !== 0 || this.cpl !== 0)) this.fault(EX_GP, 0);
  }
  private iopl(): number { return (this.flags & IOPL) >>> 12; }

  // ---------------------------------------------------------------- one instruction
  private step(): void {
    // invariant between instructions: segOvr = -1, rep = 0, lockp = false, longInsn = false
    this.startEip = this.eip;
    this.startEsp = this.r32[4]!;
    let b = this.fetch8();
    if (PREFIX[b] === 0) {
      const d = this.csD;
      this.os32 = this.as32 = d;
      const osz = d ? 4 : 2;
      switch (b >> 5) {
        case 0: case 1: this.execA(b, osz); return;
        case 2: case 3: this.execB(b, osz); return;
        case 4: this.execC(b, osz); return;
        case 5: this.execD(b, osz); return;
        case 6: this.execE(b, osz); return;
        default: this.execF(b, osz); return;
      }
    }
    if (b === 0x66) {
      // a lone operand-size prefix (16-bit data in 32-bit code and vice versa): no prefix state to set or clear
      const ip = this.eip;
      if (ip >= this.winLo && ip <= this.winHi) {
        const b2 = this.ram[this.winOff + ip]!;
        if (PREFIX[b2] === 0) {
          this.eip = ip + 1;
          const d = this.csD;
          this.os32 = !d; this.as32 = d;
          this.exec(b2);
          return;
        }
      }
    }
    this.eip--;
    this.stepPrefixed();
    this.clearPrefixes();
  }

  /** Restore the between-instructions prefix state (after a prefixed instruction or a fault). */
  private clearPrefixes(): void {
    this.segOvr = -1; this.rep = 0; this.lockp = false;
    if (this.longInsn) { this.longInsn = false; this.fetchMax = this.segLimit[CS]!; this.killWindow(); }
  }

  private stepPrefixed(): void {
    let b: number;
    let os = this.csD, as = this.csD;
    for (;;) {
      b = this.fetch8();
      switch (b) {
        case 0x26: this.segOvr = ES; break;
        case 0x2e: this.segOvr = CS; break;
        case 0x36: this.segOvr = SS; break;
        case 0x3e: this.segOvr = DS; break;
        case 0x64: this.segOvr = FS; break;
        case 0x65: this.segOvr = GS; break;
        case 0x66: os = !this.csD; break;
        case 0x67: as = !this.csD; break;
        case 0xf0: this.lockp = true; break;
        case 0xf2: this.rep = 2; break;
        case 0xf3: this.rep = 1; break;
        default:
          this.os32 = os; this.as32 = as;
          if (b === 0x0f) b = 0x100 | this.fetch8();
          this.exec(b);
          return;
      }
      if (this.eip - this.startEip >= 4 && !this.longInsn) {
        // many prefixes: limit fetching so that the whole instruction stays within 15 bytes
        this.longInsn = true;
        this.fetchMax = Math.min(this.segLimit[CS]!, this.startEip + 14);
        this.killWindow();
      }
    }
  }

  /** -d in_asm: the executed instruction's linear address and bytes (no disassembler yet). */
  private traceBytes(csBase: number, ip0: number): void {
    const end = this.insnEnd >= 0 ? this.insnEnd : this.eip;
    const len = end - ip0;
    const lin = (csBase + ip0) >>> 0;
    const bytes: string[] = [];
    if (len > 0 && len <= 15) {
      for (let i = 0; i < len; i++) {
        // the code page was just fetched, so its TLB entry is present (else: MMIO/ROM slow path)
        const a = (lin + i) >>> 0, h = this.tR[a >>> 12]!;
        bytes.push(h >= 0 ? this.ram[h + (a & 0xfff)]!.toString(16).padStart(2, '0') : '??');
      }
    }
    this.trace.log(`0x${lin.toString(16).padStart(8, '0')}:  ${bytes.length > 0 ? bytes.join(' ') : '(restarted)'}`);
  }

  private traceInsn(): void {
    const t = this.trace;
    const cs = this.segSel[CS]!.toString(16).padStart(4, '0');
    const ip = (this.eip >>> 0).toString(16).padStart(8, '0');
    if (t.exec) t.log(`Trace: ${cs}:${ip}`);
    if (t.cpu) t.log(this.dumpRegs());
  }

  /** Register dump in the layout of QEMU's `info registers` / `-d cpu` (32-bit). */
  dumpRegs(): string {
    const h = (v: number, n = 8): string => (v >>> 0).toString(16).padStart(n, '0');
    const r = this.r32;
    const fl = this.getFlags();
    const fc = (bit: number, c: string): string => ((fl & bit) !== 0 ? c : '-');
    const lines = [
      `EAX=${h(r[0]!)} EBX=${h(r[3]!)} ECX=${h(r[1]!)} EDX=${h(r[2]!)}`,
      `ESI=${h(r[6]!)} EDI=${h(r[7]!)} EBP=${h(r[5]!)} ESP=${h(r[4]!)}`,
      `EIP=${h(this.eip)} EFL=${h(fl)} [${fc(DF, 'D')}${fc(OF, 'O')}${fc(SF, 'S')}${fc(ZF, 'Z')}${fc(AF, 'A')}${fc(PF, 'P')}${fc(CF, 'C')}] CPL=${this.cpl} II=${this.inhibit !== 0 ? 1 : 0} A20=${this.a20 ? 1 : 0} SMM=0 HLT=${this.halted ? 1 : 0}`,
    ];
    for (let s = 0; s < 6; s++) {
      lines.push(`${SEG_NAMES[s]!.toUpperCase()} =${h(this.segSel[s]!, 4)} ${h(this.segBase[s]!)} ${h(this.segLimit[s]!)} ${h(this.segAR[s]! << 8)}`);
    }
    lines.push(`LDT=${h(this.ldtSel, 4)} ${h(this.ldtBase)} ${h(this.ldtLimit)} 00008200`);
    lines.push(`TR =${h(this.trSel, 4)} ${h(this.trBase)} ${h(this.trLimit)} ${h((0x80 | this.trType) << 8)}`);
    lines.push(`GDT=     ${h(this.gdtBase)} ${h(this.gdtLimit)}`);
    lines.push(`IDT=     ${h(this.idtBase)} ${h(this.idtLimit)}`);
    lines.push(`CR0=${h(this.cr0)} CR2=${h(this.cr2)} CR3=${h(this.cr3)} CR4=${h(this.cr4)}`);
    lines.push(`DR0=${h(this.dr[0]!)} DR1=${h(this.dr[1]!)} DR2=${h(this.dr[2]!)} DR3=${h(this.dr[3]!)}`);
    lines.push(`DR6=${h(this.dr[6]! | 0xffff0ff0)} DR7=${h(this.dr[7]! | 0x400)}`);
    return lines.join('\n');
  }

  private lockCheck(b: number): void {
    // LOCK is allowed only on read-modify-write instructions with a memory destination
    const memDst = this.modrm < 0xc0;
    let ok = false;
    if (memDst) {
      if (b < 0x40 && (b & 7) < 2 && (b & 0x38) !== 0x38) ok = true; // ALU r/m, r (not CMP)
      else if (b >= 0x80 && b <= 0x83) ok = ((this.modrm >> 3) & 7) !== 7;
      else if (b === 0x86 || b === 0x87) ok = true;
      else if (b === 0xf6 || b === 0xf7) { const g = (this.modrm >> 3) & 7; ok = g === 2 || g === 3; }
      else if (b === 0xfe || b === 0xff) ok = ((this.modrm >> 3) & 7) < 2;
      else if (b === 0x1ab || b === 0x1b3 || b === 0x1bb || b === 0x1b0 || b === 0x1b1 || b === 0x1c0 || b === 0x1c1 || b === 0x1c7) ok = true;
      else if (b === 0x1ba) ok = ((this.modrm >> 3) & 7) >= 5;
    }
    if (!ok) this.fault(EX_UD);
  }

  /** Operand size for near branches / stack pushes of the current instruction. */
  private exec(b: number): void {
    const osz = this.os32 ? 4 : 2;
    if (this.lockp && !(b < 0x40 && (b & 7) < 6) && b !== 0x80 && b !== 0x81 && b !== 0x82 && b !== 0x83 && b !== 0x86 && b !== 0x87 && b !== 0xf6 && b !== 0xf7
      && b !== 0xfe && b !== 0xff && b !== 0x1ab && b !== 0x1b3 && b !== 0x1bb && b !== 0x1b0 && b !== 0x1b1 && b !== 0x1c0 && b !== 0x1c1 && b !== 0x1c7 && b !== 0x1ba) {
      this.fault(EX_UD);
    }
    switch (b >> 5) {
      case 0: case 1: this.execA(b, osz); return;
      case 2: case 3: this.execB(b, osz); return;
      case 4: this.execC(b, osz); return;
      case 5: this.execD(b, osz); return;
      case 6: this.execE(b, osz); return;
      case 7: this.execF(b, osz); return;
      default: this.exec0f(b & 0xff, osz); return;
    }
  }

  /** One-byte opcodes 0x00-0x3f (split so that each dispatch target stays small for V8). */
  private execA(b: number, osz: number): void {
    const r = this.r32, r16 = this.r16, r8 = this.r8;
    void r; void r16; void r8;
    // ALU block 00-3F (except prefixes / BCD / segment push-pop)
    if (b < 0x40 && (b & 7) < 6) {
      const op = b >> 3;
      switch (b & 7) {
        case 0: case 1: { // r/m, reg
          const sz = (b & 1) === 0 ? 1 : osz;
          this.decodeModrm();
          if (this.lockp) this.lockCheck(b);
          const reg = (this.modrm >> 3) & 7;
          if (sz === 4 && this.modrm >= 0xc0) {
            const rm = this.modrm & 7;
            const v = this.alu32(op, r[rm]!, r[reg]!);
            if (op !== 7) r[rm] = v;
            return;
          }
          const src = this.getReg(reg, sz);
          if (this.modrm >= 0xc0) {
            const rm = this.modrm & 7;
            const v = this.alu(op, this.getReg(rm, sz), src, sz);
            if (op !== 7) this.setReg(rm, sz, v);
          } else if (op === 7) {
            this.alu(7, this.rdS(this.eaSeg, this.ea, sz), src, sz);
          } else {
            const lin = this.linW(this.eaSeg, this.ea, sz);
            const v = this.alu(op, this.rdLinW(lin, sz), src, sz);
            this.wrLin(lin, sz, v);
          }
          return;
        }
        case 2: case 3: { // reg, r/m
          const sz = (b & 2) === 2 && (b & 1) === 0 ? 1 : osz;
          this.decodeModrm();
          if (this.lockp) this.fault(EX_UD);
          const reg = (this.modrm >> 3) & 7;
          if (sz === 4) {
            const m = this.modrm;
            const v = this.alu32(op, r[reg]!, m >= 0xc0 ? r[m & 7]! : this.rd32(this.eaSeg, this.ea));
            if (op !== 7) r[reg] = v;
            return;
          }
          const v = this.alu(op, this.getReg(reg, sz), this.rmRead(sz), sz);
          if (op !== 7) this.setReg(reg, sz, v);
          return;
        }
        case 4: { if (this.lockp) this.fault(EX_UD); const v = this.alu(op, r8[0]!, this.fetch8(), 1); if (op !== 7) r8[0] = v; return; }
        default: { if (this.lockp) this.fault(EX_UD); const v = this.alu(op, this.getReg(0, osz), this.fetchImm(osz), osz); if (op !== 7) this.setReg(0, osz, v); return; }
      }
    }
    switch (b) {
      case 0x0f: this.exec0f(this.fetch8(), osz); return;
      case 0x06: this.push(this.segSel[ES]!, osz); return;
      case 0x07: this.popSeg(ES, osz); return;
      case 0x0e: this.push(this.segSel[CS]!, osz); return;
      case 0x16: this.push(this.segSel[SS]!, osz); return;
      case 0x17: this.popSeg(SS, osz); return;
      case 0x1e: this.push(this.segSel[DS]!, osz); return;
      case 0x1f: this.popSeg(DS, osz); return;
      case 0x27: this.daa(); return;
      case 0x2f: this.das(); return;
      case 0x37: this.aaa(); return;
      case 0x3f: this.aas(); return;
      default:
        this.fault(EX_UD);
    }
  }

  /** One-byte opcodes 0x40-0x7f (split so that each dispatch target stays small for V8). */
  private execB(b: number, osz: number): void {
    const r = this.r32, r16 = this.r16, r8 = this.r8;
    void r; void r16; void r8;
    switch (b) {
      case 0x40: case 0x41: case 0x42: case 0x43: case 0x44: case 0x45: case 0x46: case 0x47:
        if (osz === 4) { r[b & 7] = this.incdec(r[b & 7]!, 4, false); return; }
        this.setReg(b & 7, osz, this.incdec(this.getReg(b & 7, osz), osz, false)); return;
      case 0x48: case 0x49: case 0x4a: case 0x4b: case 0x4c: case 0x4d: case 0x4e: case 0x4f:
        if (osz === 4) { r[b & 7] = this.incdec(r[b & 7]!, 4, true); return; }
        this.setReg(b & 7, osz, this.incdec(this.getReg(b & 7, osz), osz, true)); return;
      case 0x50: case 0x51: case 0x52: case 0x53: case 0x54: case 0x55: case 0x56: case 0x57:
        this.push(this.getReg(b & 7, osz), osz); return;
      case 0x58: case 0x59: case 0x5a: case 0x5b: case 0x5c: case 0x5d: case 0x5e: case 0x5f: {
        const v = this.pop(osz); this.setReg(b & 7, osz, v); return;
      }
      case 0x60: { // PUSHA
        const sp = r[4]!;
        for (let i = 0; i < 8; i++) this.push(i === 4 ? sp : this.getReg(i, osz), osz);
        return;
      }
      case 0x61: { // POPA
        for (let i = 7; i >= 0; i--) { const v = this.pop(osz); if (i !== 4) this.setReg(i, osz, v); }
        return;
      }
      case 0x62: { // BOUND
        this.decodeModrm(); this.needMem();
        const v = this.getReg((this.modrm >> 3) & 7, osz);
        let lo: number, hi: number, x: number;
        if (osz === 2) { lo = (this.rd16(this.eaSeg, this.ea) << 16) >> 16; hi = (this.rd16(this.eaSeg, (this.ea + 2) & (this.as32 ? 0xffffffff : 0xffff)) << 16) >> 16; x = (v << 16) >> 16; }
        else { lo = this.rd32(this.eaSeg, this.ea); hi = this.rd32(this.eaSeg, (this.ea + 4) >>> 0); x = v | 0; }
        if (x < lo || x > hi) this.fault(EX_BR);
        return;
      }
      case 0x63: { // ARPL
        if (!this.pmode) this.fault(EX_UD);
        this.decodeModrm();
        const dst = this.rmRead(2), src = r16[((this.modrm >> 3) & 7) << 1]!;
        this.materialize();
        if ((dst & 3) < (src & 3)) { this.rmWrite(2, (dst & ~3) | (src & 3)); this.flags |= ZF; } else this.flags &= ~ZF;
        return;
      }
      case 0x68: this.push(this.fetchImm(osz), osz); return;
      case 0x6a: this.push((this.fetch8() << 24) >> 24, osz); return;
      case 0x69: case 0x6b: { // IMUL r, r/m, imm
        this.decodeModrm();
        const a = this.rmRead(osz);
        const imm = b === 0x6b ? (this.fetch8() << 24) >> 24 : this.fetchImm(osz);
        this.imul3((this.modrm >> 3) & 7, a, imm, osz);
        return;
      }
      case 0x6c: this.strOp(0x6c, 1); return;
      case 0x6d: this.strOp(0x6c, osz); return;
      case 0x6e: this.strOp(0x6e, 1); return;
      case 0x6f: this.strOp(0x6e, osz); return;
      case 0x70: case 0x71: case 0x72: case 0x73: case 0x74: case 0x75: case 0x76: case 0x77:
      case 0x78: case 0x79: case 0x7a: case 0x7b: case 0x7c: case 0x7d: case 0x7e: case 0x7f: {
        const d = (this.fetch8() << 24) >> 24;
        // JZ/JNZ after an arithmetic op: ZF straight from the lazy result
        if (this.condFast(b & 15)) this.jumpRel(d);
        return;
      }
      default:
        this.fault(EX_UD);
    }
  }

  /** One-byte opcodes 0x80-0x9f (split so that each dispatch target stays small for V8). */
  private execC(b: number, osz: number): void {
    const r = this.r32, r16 = this.r16, r8 = this.r8;
    void r; void r16; void r8;
    switch (b) {
      case 0x80: case 0x81: case 0x82: case 0x83: {
        const sz = b === 0x81 || b === 0x83 ? osz : 1;
        this.decodeModrm();
        if (this.lockp) this.lockCheck(b);
        const op = (this.modrm >> 3) & 7;
        const imm = b === 0x81 ? this.fetchImm(osz) : b === 0x83 ? (this.fetch8() << 24) >> 24 : this.fetch8();
        if (this.modrm >= 0xc0) {
          const rm = this.modrm & 7;
          if (sz === 4) { const v = this.alu32(op, r[rm]!, imm); if (op !== 7) r[rm] = v; return; }
          const v = this.alu(op, this.getReg(rm, sz), imm, sz);
          if (op !== 7) this.setReg(rm, sz, v);
        } else if (op === 7) {
          this.alu(7, this.rdS(this.eaSeg, this.ea, sz), imm, sz);
        } else {
          const lin = this.linW(this.eaSeg, this.ea, sz);
          this.wrLin(lin, sz, this.alu(op, this.rdLinW(lin, sz), imm, sz));
        }
        return;
      }
      case 0x84: case 0x85: {
        const sz = b === 0x84 ? 1 : osz;
        this.decodeModrm();
        this.alu(4, this.rmRead(sz), this.getReg((this.modrm >> 3) & 7, sz), sz);
        return;
      }
      case 0x86: case 0x87: {
        const sz = b === 0x86 ? 1 : osz;
        this.decodeModrm();
        const reg = (this.modrm >> 3) & 7;
        if (this.modrm >= 0xc0) {
          const a = this.getReg(this.modrm & 7, sz);
          this.setReg(this.modrm & 7, sz, this.getReg(reg, sz));
          this.setReg(reg, sz, a);
        } else {
          const lin = this.linW(this.eaSeg, this.ea, sz);
          const a = this.rdLinW(lin, sz);
          this.wrLin(lin, sz, this.getReg(reg, sz));
          this.setReg(reg, sz, a);
        }
        return;
      }
      case 0x88: this.decodeModrm(); this.rmWrite(1, this.getReg((this.modrm >> 3) & 7, 1)); return;
      case 0x89: {
        this.decodeModrm();
        const m = this.modrm;
        if (osz === 4) { const v = r[(m >> 3) & 7]!; if (m >= 0xc0) r[m & 7] = v; else this.wr32(this.eaSeg, this.ea, v); return; }
        this.rmWrite(osz, this.getReg((m >> 3) & 7, osz)); return;
      }
      case 0x8a: this.decodeModrm(); this.setReg((this.modrm >> 3) & 7, 1, this.rmRead(1)); return;
      case 0x8b: {
        this.decodeModrm();
        const m = this.modrm;
        if (osz === 4) { r[(m >> 3) & 7] = m >= 0xc0 ? r[m & 7]! : this.rd32(this.eaSeg, this.ea); return; }
        this.setReg((m >> 3) & 7, osz, this.rmRead(osz)); return;
      }
      case 0x8c: {
        this.decodeModrm();
        const s = (this.modrm >> 3) & 7;
        if (s > 5) this.fault(EX_UD);
        if (this.modrm >= 0xc0) this.setReg(this.modrm & 7, osz, this.segSel[s]!);
        else this.wr16(this.eaSeg, this.ea, this.segSel[s]!);
        return;
      }
      case 0x8d: {
        this.decodeModrm(); this.needMem();
        this.setReg((this.modrm >> 3) & 7, osz, this.ea);
        return;
      }
      case 0x8e: {
        this.decodeModrm();
        const s = (this.modrm >> 3) & 7;
        if (s > 5 || s === CS) this.fault(EX_UD);
        const v = this.rmRead(2);
        this.loadSeg(s, v);
        if (s === SS) { this.inhibit = 1; this.checkIrq = true; this.noTrap = true; }
        return;
      }
      case 0x8f: {
        // POP r/m: the effective address is computed after ESP has been incremented
        const save = this.eip;
        this.decodeModrm();
        if (((this.modrm >> 3) & 7) !== 0) this.fault(EX_UD);
        const v = this.pop(osz);
        if (this.modrm >= 0xc0) { this.setReg(this.modrm & 7, osz, v); return; }
        this.eip = save;
        this.decodeModrm();
        this.wrS(this.eaSeg, this.ea, osz, v);
        return;
      }
      case 0x90:
        return; // NOP / PAUSE
      case 0x91: case 0x92: case 0x93: case 0x94: case 0x95: case 0x96: case 0x97: {
        const a = this.getReg(0, osz);
        this.setReg(0, osz, this.getReg(b & 7, osz));
        this.setReg(b & 7, osz, a);
        return;
      }
      case 0x98: if (osz === 2) r16[0] = (r8[0]! << 24) >> 24; else r[0] = (r16[0]! << 16) >> 16; return;
      case 0x99: if (osz === 2) r16[4] = (r16[0]! & 0x8000) !== 0 ? 0xffff : 0; else r[2] = r[0]! >> 31; return;
      case 0x9a: {
        const off = this.fetchImm(osz), sel = this.fetch16();
        this.farTransfer(sel, osz === 2 ? off : off >>> 0, true, osz, this.eip);
        return;
      }
      case 0x9b: this.fwait(); return;
      case 0x9c: { // PUSHF
        if ((this.flags & VM) !== 0 && this.iopl() < 3) this.fault(EX_GP, 0);
        this.push(this.getFlags() & (osz === 4 ? 0x00fcffff : 0xffff), osz);
        return;
      }
      case 0x9d: { // POPF
        if ((this.flags & VM) !== 0 && this.iopl() < 3) this.fault(EX_GP, 0);
        const v = this.pop(osz);
        let mask = ARITH | TF | DF | NT;
        if (osz === 4) mask |= AC | ID;
        if (!this.pe || this.cpl === 0) mask |= IOPL;
        if (!this.pe || this.cpl <= this.iopl() || (this.flags & VM) !== 0) mask |= IF;
        if ((this.flags & VM) !== 0) mask &= ~IOPL;
        this.setFlagsMasked(v, mask);
        return;
      }
      case 0x9e: { this.materialize(); this.flags = (this.flags & ~(SF | ZF | AF | PF | CF)) | (r8[1]! & (SF | ZF | AF | PF | CF)); return; }
      case 0x9f: r8[1] = this.getFlags() & 0xff; return;
      default:
        this.fault(EX_UD);
    }
  }

  /** One-byte opcodes 0xa0-0xbf (split so that each dispatch target stays small for V8). */
  private execD(b: number, osz: number): void {
    const r = this.r32, r16 = this.r16, r8 = this.r8;
    void r; void r16; void r8;
    switch (b) {
      case 0xa0: case 0xa1: case 0xa2: case 0xa3: {
        const off = this.as32 ? this.fetch32() >>> 0 : this.fetch16();
        const seg = this.segOvr >= 0 ? this.segOvr : DS;
        const sz = (b & 1) === 0 ? 1 : osz;
        if (b < 0xa2) this.setReg(0, sz, this.rdS(seg, off, sz)); else this.wrS(seg, off, sz, this.getReg(0, sz));
        return;
      }
      case 0xa4: this.strOp(0xa4, 1); return;
      case 0xa5: this.strOp(0xa4, osz); return;
      case 0xa6: this.strOp(0xa6, 1); return;
      case 0xa7: this.strOp(0xa6, osz); return;
      case 0xa8: this.alu(4, r8[0]!, this.fetch8(), 1); return;
      case 0xa9: this.alu(4, this.getReg(0, osz), this.fetchImm(osz), osz); return;
      case 0xaa: this.strOp(0xaa, 1); return;
      case 0xab: this.strOp(0xaa, osz); return;
      case 0xac: this.strOp(0xac, 1); return;
      case 0xad: this.strOp(0xac, osz); return;
      case 0xae: this.strOp(0xae, 1); return;
      case 0xaf: this.strOp(0xae, osz); return;
      case 0xb0: case 0xb1: case 0xb2: case 0xb3: case 0xb4: case 0xb5: case 0xb6: case 0xb7:
        r8[R8[b & 7]!] = this.fetch8(); return;
      case 0xb8: case 0xb9: case 0xba: case 0xbb: case 0xbc: case 0xbd: case 0xbe: case 0xbf:
        this.setReg(b & 7, osz, this.fetchImm(osz)); return;
      default:
        this.fault(EX_UD);
    }
  }

  /** One-byte opcodes 0xc0-0xdf (split so that each dispatch target stays small for V8). */
  private execE(b: number, osz: number): void {
    const r = this.r32, r16 = this.r16, r8 = this.r8;
    void r; void r16; void r8;
    switch (b) {
      case 0xc0: case 0xc1: case 0xd0: case 0xd1: case 0xd2: case 0xd3: {
        const sz = (b & 1) === 0 ? 1 : osz;
        this.decodeModrm();
        const op = (this.modrm >> 3) & 7;
        if (sz === 4 && this.modrm >= 0xc0 && op >= 4) {
          // SHL/SHR/SAR of a 32-bit register (same results and lazy flags as shift())
          const rm = this.modrm & 7;
          const cnt = (b <= 0xc1 ? this.fetch8() : b <= 0xd1 ? 1 : r8[4]!) & 31;
          if (cnt === 0) return;
          const v = r[rm]!;
          let res: number, cf: number, of: boolean;
          if (op === 5) { res = v >>> cnt; cf = (v >>> (cnt - 1)) & 1; of = v < 0; }
          else if (op === 7) { res = v >> cnt; cf = (v >> (cnt - 1)) & 1; of = false; }
          else { res = v << cnt; cf = (v >>> (32 - cnt)) & 1; of = ((res >>> 31) ^ cf) !== 0; }
          r[rm] = res;
          this.shiftFlags(this.flags, cf, of, res | 0, 4);
          return;
        }
        let lin = 0, v: number;
        if (this.modrm >= 0xc0) v = this.getReg(this.modrm & 7, sz);
        else { lin = this.linW(this.eaSeg, this.ea, sz); v = this.rdLinW(lin, sz); }
        const cnt = b <= 0xc1 ? this.fetch8() : b <= 0xd1 ? 1 : r8[4]!;
        const res = this.shift(op, v, cnt, sz);
        if (this.modrm >= 0xc0) this.setReg(this.modrm & 7, sz, res); else if ((cnt & 31) !== 0) this.wrLin(lin, sz, res);
        return;
      }
      case 0xc2: { const n = this.fetch16(); const ip = this.pop(osz); this.addSp(n); this.nearJump(ip); return; }
      case 0xc3: this.nearJump(this.pop(osz)); return;
      case 0xc4: case 0xc5: {
        this.decodeModrm(); this.needMem();
        const off = this.rdS(this.eaSeg, this.ea, osz);
        const sel = this.rd16(this.eaSeg, (this.ea + osz) & (this.as32 ? 0xffffffff : 0xffff));
        this.loadSeg(b === 0xc4 ? ES : DS, sel);
        this.setReg((this.modrm >> 3) & 7, osz, off);
        return;
      }
      case 0xc6: case 0xc7: {
        const sz = b === 0xc6 ? 1 : osz;
        this.decodeModrm();
        if (((this.modrm >> 3) & 7) !== 0) this.fault(EX_UD);
        this.rmWrite(sz, this.fetchImm(sz));
        return;
      }
      case 0xc8: this.enter(this.fetch16(), this.fetch8() & 31, osz); return;
      case 0xc9: { // LEAVE
        if ((this.segAR[SS]! & 0x4000) !== 0) r[4] = r[5]!; else r16[8] = r16[10]!;
        this.setReg(5, osz, this.pop(osz));
        return;
      }
      case 0xca: { const n = this.fetch16(); this.farReturn(osz, n); return; }
      case 0xcb: this.farReturn(osz, 0); return;
      case 0xcc: this.softInt(3); return;
      case 0xcd: this.softInt(this.fetch8()); return;
      case 0xce: if (this.getOF()) this.softInt(EX_OF); return;
      case 0xcf: this.iret(osz); this.nmiBlocked = false; this.checkIrq = true; return;
      case 0xd4: { // AAM
        const d = this.fetch8();
        if (d === 0) this.fault(EX_DE);
        const al = r8[0]!;
        r8[1] = Math.floor(al / d); r8[0] = al % d;
        this.setArith(this.szp(r8[0]!, 1));
        return;
      }
      case 0xd5: { // AAD
        const d = this.fetch8();
        const v = this.alu(0, r8[0]!, (r8[1]! * d) & 0xff, 1);
        r8[0] = v; r8[1] = 0;
        return;
      }
      case 0xd6: r8[0] = this.getCF() !== 0 ? 0xff : 0; return; // SALC
      case 0xd7: { // XLAT
        const seg = this.segOvr >= 0 ? this.segOvr : DS;
        const off = this.as32 ? (r[3]! + r8[0]!) >>> 0 : (r16[6]! + r8[0]!) & 0xffff;
        r8[0] = this.rd8(seg, off);
        return;
      }
      case 0xd8: case 0xd9: case 0xda: case 0xdb: case 0xdc: case 0xdd: case 0xde: case 0xdf:
        this.x87(b); return;
      default:
        this.fault(EX_UD);
    }
  }

  /** One-byte opcodes 0xe0-0xff (split so that each dispatch target stays small for V8). */
  private execF(b: number, osz: number): void {
    const r = this.r32, r16 = this.r16, r8 = this.r8;
    void r; void r16; void r8;
    switch (b) {
      case 0xe0: case 0xe1: case 0xe2: { // LOOPNZ / LOOPZ / LOOP
        const d = (this.fetch8() << 24) >> 24;
        let c: number;
        if (this.as32) { c = r[1] = r[1]! - 1; } else { c = r16[2] = r16[2]! - 1; }
        if (c !== 0 && (b === 0xe2 || (b === 0xe1) === this.getZF())) this.jumpRel(d);
        return;
      }
      case 0xe3: { const d = (this.fetch8() << 24) >> 24; if ((this.as32 ? r[1]! : r16[2]!) === 0) this.jumpRel(d); return; }
      case 0xe4: case 0xe5: { const p = this.fetch8(); const sz = b === 0xe4 ? 1 : osz; this.ioCheck(p, sz); this.setReg(0, sz, this.io.read(p, sz)); this.checkIrq = true; return; }
      case 0xe6: case 0xe7: { const p = this.fetch8(); const sz = b === 0xe6 ? 1 : osz; this.ioCheck(p, sz); this.io.write(p, sz, this.getReg(0, sz) >>> 0); this.checkIrq = true; return; }
      case 0xec: case 0xed: { const p = r16[4]!; const sz = b === 0xec ? 1 : osz; this.ioCheck(p, sz); this.setReg(0, sz, this.io.read(p, sz)); this.checkIrq = true; return; }
      case 0xee: case 0xef: { const p = r16[4]!; const sz = b === 0xee ? 1 : osz; this.ioCheck(p, sz); this.io.write(p, sz, this.getReg(0, sz) >>> 0); this.checkIrq = true; return; }
      case 0xe8: { const d = this.fetchImm(osz); this.push(this.eip, osz); this.jumpRel(d); return; }
      case 0xe9: { const d = this.fetchImm(osz); this.jumpRel(d); return; }
      case 0xea: { const off = this.fetchImm(osz), sel = this.fetch16(); this.farTransfer(sel, osz === 2 ? off : off >>> 0, false, osz, this.eip); return; }
      case 0xeb: { const d = (this.fetch8() << 24) >> 24; this.jumpRel(d); return; }
      case 0xf1: this.softIntIcebp(); return;
      case 0xf4: // HLT
        if (this.pe && this.cpl !== 0) this.fault(EX_GP, 0);
        this.halted = true; this.checkIrq = true;
        return;
      case 0xf5: this.materialize(); this.flags ^= CF; return;
      case 0xf6: case 0xf7: {
        const sz = b === 0xf6 ? 1 : osz;
        this.decodeModrm();
        if (this.lockp) this.lockCheck(b);
        const op = (this.modrm >> 3) & 7;
        switch (op) {
          case 0: case 1: this.alu(4, this.rmRead(sz), this.fetchImm(sz), sz); return;
          case 2: case 3: {
            let lin = 0, v: number;
            if (this.modrm >= 0xc0) v = this.getReg(this.modrm & 7, sz);
            else { lin = this.linW(this.eaSeg, this.ea, sz); v = this.rdLinW(lin, sz); }
            const res = op === 2 ? ~v & MASK[sz]! : this.alu(5, 0, v, sz);
            if (this.modrm >= 0xc0) this.setReg(this.modrm & 7, sz, res); else this.wrLin(lin, sz, res);
            return;
          }
          default: this.muldiv(op, sz); return;
        }
      }
      case 0xf8: this.materialize(); this.flags &= ~CF; return;
      case 0xf9: this.materialize(); this.flags |= CF; return;
      case 0xfa: // CLI
        if (this.pe && this.cpl > this.iopl()) this.fault(EX_GP, 0);
        if ((this.flags & VM) !== 0 && this.iopl() < 3) this.fault(EX_GP, 0);
        this.flags &= ~IF; return;
      case 0xfb: // STI
        if (this.pe && this.cpl > this.iopl()) this.fault(EX_GP, 0);
        if ((this.flags & VM) !== 0 && this.iopl() < 3) this.fault(EX_GP, 0);
        if ((this.flags & IF) === 0) { this.inhibit = 1; }
        this.flags |= IF; this.checkIrq = true; return;
      case 0xfc: this.flags &= ~DF; return;
      case 0xfd: this.flags |= DF; return;
      case 0xfe: {
        this.decodeModrm();
        if (this.lockp) this.lockCheck(b);
        const op = (this.modrm >> 3) & 7;
        if (op > 1) this.fault(EX_UD);
        this.rmw(1, op === 1 ? 1 : 0);
        return;
      }
      case 0xff: {
        this.decodeModrm();
        if (this.lockp) this.lockCheck(b);
        const op = (this.modrm >> 3) & 7;
        switch (op) {
          case 0: case 1: this.rmw(osz, op); return;
          case 2: { const t = this.rmRead(osz); this.push(this.eip, osz); this.nearJump(t); return; }
          case 3: case 5: {
            this.needMem();
            const off = this.rdS(this.eaSeg, this.ea, osz);
            const sel = this.rd16(this.eaSeg, (this.ea + osz) & (this.as32 ? 0xffffffff : 0xffff));
            this.farTransfer(sel, osz === 2 ? off & 0xffff : off >>> 0, op === 3, osz, this.eip);
            return;
          }
          case 4: this.nearJump(this.rmRead(osz)); return;
          case 6: this.push(this.rmRead(osz), osz); return;
          default: this.fault(EX_UD);
        }
        return;
      }
      default:
        this.fault(EX_UD);
    }
  }


  /** INC/DEC r/m (op 0/1). */
  private rmw(sz: number, op: number): void {
    if (this.modrm >= 0xc0) {
      const rm = this.modrm & 7;
      this.setReg(rm, sz, this.incdec(this.getReg(rm, sz), sz, op === 1));
    } else {
      const lin = this.linW(this.eaSeg, this.ea, sz);
      this.wrLin(lin, sz, this.incdec(this.rdLinW(lin, sz), sz, op === 1));
    }
  }

  private imul3(reg: number, a: number, b: number, sz: number): void {
    let res: number, ovf: boolean;
    if (sz === 2) {
      const p = ((a << 16) >> 16) * ((b << 16) >> 16);
      res = p & 0xffff; ovf = p !== ((p << 16) >> 16);
    } else {
      res = this.muls32(a, b); ovf = this.mulHi !== (res >> 31);
    }
    this.setReg(reg, sz, res);
    this.setArith((ovf ? CF | OF : 0) | this.szp(res, sz));
  }

  private popSeg(seg: number, osz: number): void {
    const v = this.peek(0, osz) & 0xffff;
    this.loadSeg(seg, v);
    this.addSp(osz);
    if (seg === SS) { this.inhibit = 1; this.checkIrq = true; this.noTrap = true; }
  }

  private jumpRel(d: number): void {
    const t = this.eip + d;
    this.nearJump(t);
  }
  private nearJump(t: number): void {
    this.insnEnd = this.eip;
    if (!this.os32) t &= 0xffff; else t >>>= 0;
    if (t > this.segLimit[CS]!) this.fault(EX_GP, 0);
    this.eip = t;
  }

  private enter(size: number, level: number, osz: number): void {
    const big = (this.segAR[SS]! & 0x4000) !== 0;
    this.push(this.r32[5]!, osz);
    const frame = big ? this.r32[4]! : this.r16[8]!;
    if (level > 0) {
      let bp = big ? this.r32[5]! >>> 0 : this.r16[10]!;
      for (let i = 1; i < level; i++) {
        bp = big ? (bp - osz) >>> 0 : (bp - osz) & 0xffff;
        this.push(this.rdS(SS, bp, osz), osz);
      }
      this.push(frame, osz);
    }
    if (osz === 4) this.r32[5] = frame; else this.r16[10] = frame;
    if (big) this.r32[4] = this.r32[4]! - size; else this.r16[8] = this.r16[8]! - size;
    // the new stack top must be writable
    if (big) this.linW(SS, this.r32[4]! >>> 0, 1); else this.linW(SS, this.r16[8]!, 1);
  }

  private softInt(vec: number): void {
    if ((this.flags & VM) !== 0 && this.iopl() < 3) this.fault(EX_GP, 0);
    this.noTrap = true;
    this.deliver(vec, INT_SOFT, -1, this.eip);
  }
  private softIntIcebp(): void {
    this.noTrap = true;
    this.deliver(EX_DB, INT_HW, -1, this.eip);
  }

  // ---------------------------------------------------------------- BCD
  private daa(): void {
    const al = this.r8[0]!, cf = this.getCF(), af = this.getAF();
    let v = al, ncf = 0, naf = false;
    if ((al & 0xf) > 9 || af) { ncf = cf | (al + 6 > 0xff ? 1 : 0); v = (v + 6) & 0xff; naf = true; }
    if (al > 0x99 || cf !== 0) { v = (v + 0x60) & 0xff; ncf = 1; }
    this.r8[0] = v;
    this.setArith(ncf | (naf ? AF : 0) | this.szp(v, 1));
  }
  private das(): void {
    const al = this.r8[0]!, cf = this.getCF(), af = this.getAF();
    let v = al, ncf = 0, naf = false;
    if ((al & 0xf) > 9 || af) { ncf = cf | (al < 6 ? 1 : 0); v = (v - 6) & 0xff; naf = true; }
    if (al > 0x99 || cf !== 0) { v = (v - 0x60) & 0xff; ncf = 1; }
    this.r8[0] = v;
    this.setArith(ncf | (naf ? AF : 0) | this.szp(v, 1));
  }
  private aaa(): void {
    const af = this.getAF();
    let fl = 0;
    if ((this.r8[0]! & 0xf) > 9 || af) { this.r16[0] = this.r16[0]! + 0x106; fl = AF | CF; }
    this.r8[0] = this.r8[0]! & 0xf;
    this.setArith(fl | this.szp(this.r8[0]!, 1));
  }
  private aas(): void {
    const af = this.getAF();
    let fl = 0;
    if ((this.r8[0]! & 0xf) > 9 || af) { this.r16[0] = this.r16[0]! - 6; this.r8[1] = this.r8[1]! - 1; fl = AF | CF; }
    this.r8[0] = this.r8[0]! & 0xf;
    this.setArith(fl | this.szp(this.r8[0]!, 1));
  }

  // ---------------------------------------------------------------- x87 glue
  private fpuWaitCheck(): void {
    const f = this.fpu;
    if (f !== null && f.pendingException) {
      if ((this.cr0 & CR0_NE) !== 0) this.fault(EX_MF);
      if (!this.ferr) { this.ferr = true; if (this.onFerr !== null) this.onFerr(true); }
    }
  }
  private fwait(): void {
    if ((this.cr0 & (CR0_MP | CR0_TS)) === (CR0_MP | CR0_TS)) this.fault(EX_NM);
    this.fpuWaitCheck();
  }
  private x87(op: number): void {
    this.decodeModrm();
    if ((this.cr0 & (CR0_EM | CR0_TS)) !== 0) this.fault(EX_NM);
    const f = this.fpu;
    if (f === null) this.fault(EX_UD);
    const m = this.modrm;
    if (!Fpu.isValid(op, m)) this.fault(EX_UD);
    // non-waiting control instructions: FNINIT/FNCLEX (DB E2/E3), FNSTSW/FNSTCW/FNSTENV/FNSAVE
    const reg = (m >> 3) & 7;
    const noWait = (op === 0xdb && (m === 0xe2 || m === 0xe3)) || (op === 0xdf && m === 0xe0)
      || (m < 0xc0 && ((op === 0xd9 && (reg === 6 || reg === 7)) || (op === 0xdd && (reg === 6 || reg === 7))));
    if (!noWait) this.fpuWaitCheck();
    let lin = 0;
    // bit 1 = protected-mode layouts (FSAVE/FSTENV); pmode is false in V86 mode, which uses the real-mode ones
    const pm = this.pmode;
    const mode = (this.os32 ? 1 : 0) | (pm ? 2 : 0);
    if (m < 0xc0) {
      // segment checks for the whole memory operand (size and direction by opcode)
      const i = ((op & 7) << 3) | reg;
      let size = X87_MEM_SIZE[i]!;
      if (size === 0xe) size = this.os32 ? 28 : 14; else if (size === 0x5e) size = this.os32 ? 108 : 94;
      lin = X87_MEM_STORE[i] !== 0 ? this.linW(this.eaSeg, this.ea, size) : this.linR(this.eaSeg, this.ea, size);
    }
    // control instructions (FLDENV/FLDCW/FSTENV/FSTCW, FRSTOR/FSAVE/FSTSW m) keep FIP/FOP
    const isCtl = (op === 0xd9 && m < 0xc0 && reg >= 4) || (op === 0xdd && m < 0xc0 && reg >= 4);
    if (!isCtl && !(op === 0xdb && (m === 0xe2 || m === 0xe3))) {
      // FDP: the offset within the segment in protected mode, the linear address in real/V86 mode
      f.setInstructionPointer(this.segSel[CS]!, this.startEip, m < 0xc0 ? this.segSel[this.eaSeg]! : 0, lin, ((op & 7) << 8) | m,
        pm && m < 0xc0 ? this.ea : lin);
    }
    if (op === 0xdf && m === 0xe0) { this.r16[0] = f.statusWord(); return; }
    this.flags = f.execute(op, m, lin, mode, this.getFlags()) | 2;
    this.lop = L_NONE;
    if (this.ferr && !f.pendingException) { this.ferr = false; if (this.onFerr !== null) this.onFerr(false); }
  }

  // ---------------------------------------------------------------- 0F xx
  private exec0f(b: number, osz: number): void {
    const r = this.r32, r16 = this.r16;
    switch (b) {
      case 0x00: { // group 6
        if (!this.pmode) this.fault(EX_UD);
        this.decodeModrm();
        const op = (this.modrm >> 3) & 7;
        switch (op) {
          case 0: if (this.modrm >= 0xc0) this.setReg(this.modrm & 7, osz, this.ldtSel); else this.wr16(this.eaSeg, this.ea, this.ldtSel); return;
          case 1: if (this.modrm >= 0xc0) this.setReg(this.modrm & 7, osz, this.trSel); else this.wr16(this.eaSeg, this.ea, this.trSel); return;
          case 2: this.privCheck(); this.lldt(this.rmRead(2)); return;
          case 3: this.privCheck(); this.ltr(this.rmRead(2)); return;
          case 4: case 5: this.verx(this.rmRead(2), op === 5); return;
          default: this.fault(EX_UD);
        }
        return;
      }
      case 0x01: { // group 7
        this.decodeModrm();
        const op = (this.modrm >> 3) & 7;
        switch (op) {
          case 0: case 1: {
            this.needMem();
            const lim = op === 0 ? this.gdtLimit : this.idtLimit, base = op === 0 ? this.gdtBase : this.idtBase;
            this.wr16(this.eaSeg, this.ea, lim);
            this.wr32(this.eaSeg, (this.ea + 2) >>> 0 & (this.as32 ? 0xffffffff : 0xffff), osz === 2 ? base & 0xffffff : base);
            return;
          }
          case 2: case 3: {
            this.needMem(); this.privCheck();
            const lim = this.rd16(this.eaSeg, this.ea);
            let base = this.rd32(this.eaSeg, (this.ea + 2) >>> 0 & (this.as32 ? 0xffffffff : 0xffff));
            if (osz === 2) base &= 0xffffff;
            if (op === 2) { this.gdtLimit = lim; this.gdtBase = base; } else { this.idtLimit = lim; this.idtBase = base; }
            return;
          }
          case 4: // SMSW
            if (this.modrm >= 0xc0) this.setReg(this.modrm & 7, osz, this.cr0); else this.wr16(this.eaSeg, this.ea, this.cr0);
            return;
          case 6: { // LMSW
            this.privCheck();
            const v = this.rmRead(2);
            this.setCr0((this.cr0 & ~0xe) | (v & 0xf) | (this.cr0 & CR0_PE));
            return;
          }
          case 7: // INVLPG
            this.needMem(); this.privCheck();
            this.invlpg((this.segBase[this.eaSeg]! + this.ea) | 0);
            return;
          default: this.fault(EX_UD);
        }
        return;
      }
      case 0x02: case 0x03: { // LAR / LSL
        if (!this.pmode) this.fault(EX_UD);
        this.decodeModrm();
        const sel = this.rmRead(2);
        this.materialize();
        const v = this.larlsl(sel, b === 0x03);
        if (v === null) { this.flags &= ~ZF; return; }
        this.flags |= ZF;
        this.setReg((this.modrm >> 3) & 7, osz, v);
        return;
      }
      case 0x06: this.privCheck(); this.cr0 &= ~CR0_TS; return; // CLTS
      case 0x08: case 0x09: this.privCheck(); return; // INVD / WBINVD
      case 0x0b: this.fault(EX_UD); return; // UD2
      case 0x77: // EMMS. MMX is not advertised, but every model we present (P5 MMX onwards, AMD K7/K8) has it,
        // and Linux's AMD FXSAVE-leak workaround executes it; its effect is on the x87 tag word only.
        if (this.fpu === null || this.fpu.emms === undefined || (this.cr0 & CR0_EM) !== 0) this.fault(EX_UD);
        if ((this.cr0 & CR0_TS) !== 0) this.fault(EX_NM);
        this.fpu!.emms!();
        return;
      case 0x18: case 0x19: case 0x1a: case 0x1b: case 0x1c: case 0x1d: case 0x1e: case 0x1f:
        this.decodeModrm(); return; // prefetch hints / multi-byte NOP
      case 0x20: case 0x22: { // MOV r32, CRn / MOV CRn, r32
        this.privCheck();
        const m = this.fetch8();
        const n = (m >> 3) & 7, rr = m & 7;
        if (b === 0x20) {
          let v: number;
          switch (n) { case 0: v = this.cr0; break; case 2: v = this.cr2; break; case 3: v = this.cr3; break; case 4: v = this.cr4; break; default: this.fault(EX_UD); }
          r[rr] = v;
        } else {
          const v = r[rr]!;
          switch (n) {
            case 0: this.setCr0(v); break;
            case 2: this.cr2 = v; break;
            case 3: this.cr3 = v; this.flushTlb(true); break;
            case 4: this.setCr4(v); break;
            default: this.fault(EX_UD);
          }
        }
        return;
      }
      case 0x21: case 0x23: { // MOV DRn
        this.privCheck();
        const m = this.fetch8();
        let n = (m >> 3) & 7; const rr = m & 7;
        if (n === 4 || n === 5) { if ((this.cr4 & 8) !== 0) this.fault(EX_UD); n += 2; }
        if (b === 0x21) r[rr] = n === 6 ? (this.dr[6]! | 0xffff0ff0) : n === 7 ? (this.dr[7]! | 0x400) : this.dr[n]!;
        else { this.dr[n] = r[rr]!; this.debugChanged(); }
        return;
      }
      case 0x30: { // WRMSR
        this.privCheck();
        this.wrmsr(r[1]! >>> 0, r[0]! >>> 0, r[2]! >>> 0);
        return;
      }
      case 0x31: { // RDTSC
        if ((this.cr4 & CR4_TSD) !== 0 && (this.cpl !== 0 || this.v86) && this.pe) this.fault(EX_GP, 0);
        const t = this.tsc();
        r[0] = t % 4294967296; r[2] = Math.floor(t / 4294967296);
        return;
      }
      case 0x32: { // RDMSR
        this.privCheck();
        this.rdmsr(r[1]! >>> 0);
        return;
      }
      case 0x34: this.sysenter(); return;
      case 0x35: this.sysexit(); return;
      case 0x40: case 0x41: case 0x42: case 0x43: case 0x44: case 0x45: case 0x46: case 0x47:
      case 0x48: case 0x49: case 0x4a: case 0x4b: case 0x4c: case 0x4d: case 0x4e: case 0x4f: {
        this.decodeModrm();
        const v = this.rmRead(osz);
        if (this.cond(b & 15)) this.setReg((this.modrm >> 3) & 7, osz, v);
        return;
      }
      case 0x80: case 0x81: case 0x82: case 0x83: case 0x84: case 0x85: case 0x86: case 0x87:
      case 0x88: case 0x89: case 0x8a: case 0x8b: case 0x8c: case 0x8d: case 0x8e: case 0x8f: {
        const d = osz === 2 ? (this.fetch16() << 16) >> 16 : this.fetch32();
        if (this.condFast(b & 15)) this.jumpRel(d);
        return;
      }
      case 0x90: case 0x91: case 0x92: case 0x93: case 0x94: case 0x95: case 0x96: case 0x97:
      case 0x98: case 0x99: case 0x9a: case 0x9b: case 0x9c: case 0x9d: case 0x9e: case 0x9f:
        this.decodeModrm(); this.rmWrite(1, this.cond(b & 15) ? 1 : 0); return;
      case 0xa0: this.push(this.segSel[FS]!, osz); return;
      case 0xa1: this.popSeg(FS, osz); return;
      case 0xa8: this.push(this.segSel[GS]!, osz); return;
      case 0xa9: this.popSeg(GS, osz); return;
      case 0xa2: this.cpuid(); return;
      case 0xa3: case 0xab: case 0xb3: case 0xbb: this.bitOp(b, osz, false); return;
      case 0xba: this.bitOp(b, osz, true); return;
      case 0xa4: case 0xa5: case 0xac: case 0xad: {
        this.decodeModrm();
        let lin = 0, v: number;
        if (this.modrm >= 0xc0) v = this.getReg(this.modrm & 7, osz);
        else { lin = this.linW(this.eaSeg, this.ea, osz); v = this.rdLinW(lin, osz); }
        const cnt = (b & 1) === 0 ? this.fetch8() : this.r8[4]!;
        const res = this.shiftDouble(v, this.getReg((this.modrm >> 3) & 7, osz), cnt, osz, b < 0xa8);
        if (this.modrm >= 0xc0) this.setReg(this.modrm & 7, osz, res); else if ((cnt & 31) !== 0) this.wrLin(lin, osz, res);
        return;
      }
      case 0xaf: {
        this.decodeModrm();
        const reg = (this.modrm >> 3) & 7;
        this.imul3(reg, this.getReg(reg, osz), this.rmRead(osz), osz);
        return;
      }
      case 0xb0: case 0xb1: { // CMPXCHG
        const sz = b === 0xb0 ? 1 : osz;
        this.decodeModrm();
        const reg = (this.modrm >> 3) & 7;
        let lin = 0, v: number;
        if (this.modrm >= 0xc0) v = this.getReg(this.modrm & 7, sz);
        else { lin = this.linW(this.eaSeg, this.ea, sz); v = this.rdLinW(lin, sz); }
        this.alu(7, this.getReg(0, sz), v, sz);
        if (this.lres === 0) {
          if (this.modrm >= 0xc0) this.setReg(this.modrm & 7, sz, this.getReg(reg, sz)); else this.wrLin(lin, sz, this.getReg(reg, sz));
        } else {
          if (this.modrm < 0xc0) this.wrLin(lin, sz, v);
          this.setReg(0, sz, v);
        }
        return;
      }
      case 0xb2: case 0xb4: case 0xb5: {
        this.decodeModrm(); this.needMem();
        const off = this.rdS(this.eaSeg, this.ea, osz);
        const sel = this.rd16(this.eaSeg, (this.ea + osz) & (this.as32 ? 0xffffffff : 0xffff));
        const seg = b === 0xb2 ? SS : b === 0xb4 ? FS : GS;
        this.loadSeg(seg, sel);
        this.setReg((this.modrm >> 3) & 7, osz, off);
        return;
      }
      case 0xb6: case 0xb7: case 0xbe: case 0xbf: {
        this.decodeModrm();
        const sz = (b & 1) === 0 ? 1 : 2;
        let v = this.rmRead(sz);
        if (b >= 0xbe) v = sz === 1 ? (v << 24) >> 24 : (v << 16) >> 16;
        this.setReg((this.modrm >> 3) & 7, osz, v);
        return;
      }
      case 0xbc: case 0xbd: { // BSF / BSR
        this.decodeModrm();
        const v = this.rmRead(osz) & MASK[osz]!;
        this.materialize();
        if (v === 0) { this.flags |= ZF; return; }
        this.flags &= ~ZF;
        const idx = b === 0xbc ? 31 - Math.clz32(v & -v) : 31 - Math.clz32(v);
        this.setReg((this.modrm >> 3) & 7, osz, idx);
        return;
      }
      case 0xc0: case 0xc1: { // XADD
        const sz = b === 0xc0 ? 1 : osz;
        this.decodeModrm();
        const reg = (this.modrm >> 3) & 7;
        if (this.modrm >= 0xc0) {
          const rm = this.modrm & 7;
          const d = this.getReg(rm, sz), s = this.getReg(reg, sz);
          const sum = this.alu(0, d, s, sz);
          this.setReg(reg, sz, d); this.setReg(rm, sz, sum);
        } else {
          const lin = this.linW(this.eaSeg, this.ea, sz);
          const d = this.rdLinW(lin, sz), s = this.getReg(reg, sz);
          const sum = this.alu(0, d, s, sz);
          this.wrLin(lin, sz, sum); this.setReg(reg, sz, d);
        }
        return;
      }
      case 0xc7: { // CMPXCHG8B
        this.decodeModrm();
        if (((this.modrm >> 3) & 7) !== 1) this.fault(EX_UD);
        this.needMem();
        const lin = this.linW(this.eaSeg, this.ea, 8);
        this.probeW(lin); this.probeW((lin + 7) | 0);
        const lo = this.rdL32(lin), hi = this.rdL32((lin + 4) | 0);
        this.materialize();
        if (lo === r[0] && hi === r[2]) {
          this.wrL32(lin, r[3]!); this.wrL32((lin + 4) | 0, r[1]!);
          this.flags |= ZF;
        } else {
          this.wrL32(lin, lo); this.wrL32((lin + 4) | 0, hi);
          r[0] = lo; r[2] = hi;
          this.flags &= ~ZF;
        }
        return;
      }
      case 0xc8: case 0xc9: case 0xca: case 0xcb: case 0xcc: case 0xcd: case 0xce: case 0xcf: {
        const v = r[b & 7]!;
        if (osz === 4) r[b & 7] = ((v & 0xff) << 24) | ((v & 0xff00) << 8) | ((v >>> 8) & 0xff00) | (v >>> 24);
        else r16[(b & 7) << 1] = 0; // BSWAP with 16-bit operand: undefined, zero like Intel parts
        return;
      }
      case 0xae: { // FXSAVE / FXRSTOR (group 15)
        this.decodeModrm();
        const op = (this.modrm >> 3) & 7;
        if (this.fpu === null || op > 1 || this.modrm >= 0xc0) this.fault(EX_UD);
        if ((this.cr0 & (CR0_EM)) !== 0) this.fault(EX_UD);
        if ((this.cr0 & CR0_TS) !== 0) this.fault(EX_NM);
        const lin = (this.segBase[this.eaSeg]! + this.ea) | 0;
        if ((lin & 15) !== 0) this.fault(EX_GP, 0);
        const mode = (this.os32 ? 1 : 0) | (this.pmode ? 2 : 0);
        if (op === 0) this.fpu.fxsave(lin, mode); else this.fpu.fxrstor(lin, mode);
        return;
      }
      default:
        this.fault(EX_UD);
    }
  }

  private bitOp(b: number, osz: number, imm: boolean): void {
    this.decodeModrm();
    let op: number, bit: number;
    if (imm) {
      op = (this.modrm >> 3) & 7;
      if (op < 4) this.fault(EX_UD);
      bit = this.fetch8() & (osz * 8 - 1);
    } else {
      op = b === 0xa3 ? 4 : b === 0xab ? 5 : b === 0xb3 ? 6 : 7;
      bit = this.getReg((this.modrm >> 3) & 7, osz);
    }
    let v: number, lin = 0;
    if (this.modrm >= 0xc0) {
      bit &= osz * 8 - 1;
      v = this.getReg(this.modrm & 7, osz);
    } else {
      let off = this.ea;
      if (!imm) {
        const sb = osz === 2 ? (bit << 16) >> 16 : bit | 0;
        off += Math.floor(sb / (osz * 8)) * osz;
        off = this.as32 ? off >>> 0 : off & 0xffff;
        bit = sb & (osz * 8 - 1);
      }
      if (op === 4) { v = this.rdS(this.eaSeg, off, osz); }
      else { lin = this.linW(this.eaSeg, off, osz); v = this.rdLinW(lin, osz); }
    }
    this.materialize();
    const m = 1 << bit;
    this.flags = (this.flags & ~CF) | ((v & m) !== 0 ? CF : 0);
    if (op === 4) return;
    const nv = op === 5 ? v | m : op === 6 ? v & ~m : v ^ m;
    if (this.modrm >= 0xc0) this.setReg(this.modrm & 7, osz, nv); else this.wrLin(lin, osz, nv);
  }

  // ---------------------------------------------------------------- system registers
  private setCr0(v: number): void {
    v = (v | CR0_ET) & (0xe005003f | 0);
    if ((v & CR0_PG) !== 0 && (v & CR0_PE) === 0) this.fault(EX_GP, 0);
    if ((v & 0x40000000) === 0 && (v & 0x20000000) !== 0) this.fault(EX_GP, 0); // CD=0, NW=1
    const old = this.cr0;
    this.cr0 = v;
    if (((old ^ v) & (CR0_PG | CR0_WP | CR0_PE)) !== 0) { this.flushTlb(false); }
    if (((old ^ v) & CR0_PE) !== 0) {
      if ((v & CR0_PE) === 0) { this.cpl = 0; this.selectTlb(); }
      this.modeChanged();
    }
  }
  private setCr4(v: number): void {
    // VME/PVI, DE (I/O breakpoints), MCE and OSXMMEXCPT are not implemented (nor advertised): reserved
    const allowed = CR4_TSD | CR4_PSE | CR4_PAE | CR4_PGE | 0x100 | 0x200;
    if ((v & ~allowed) !== 0) this.fault(EX_GP, 0);
    const old = this.cr4;
    this.cr4 = v;
    if (((old ^ v) & (CR4_PSE | CR4_PAE | CR4_PGE)) !== 0) this.flushTlb(false);
  }

  private lldt(sel: number): void {
    if ((sel & 0xfffc) === 0) { this.ldtSel = sel; this.ldtBase = 0; this.ldtLimit = 0; return; }
    if ((sel & 4) !== 0) this.fault(EX_GP, sel & 0xfffc);
    if (!this.readDesc(sel)) this.fault(EX_GP, sel & 0xfffc);
    if (((this.dHi >>> 8) & 0x1f) !== 2) this.fault(EX_GP, sel & 0xfffc);
    if ((this.dHi & 0x8000) === 0) this.fault(EX_NP, sel & 0xfffc);
    this.setLdtCache(sel, this.dLo, this.dHi);
  }
  private ltr(sel: number): void {
    if ((sel & 0xfffc) === 0) this.fault(EX_GP, 0);
    if ((sel & 4) !== 0) this.fault(EX_GP, sel & 0xfffc);
    if (!this.readDesc(sel)) this.fault(EX_GP, sel & 0xfffc);
    const type = (this.dHi >>> 8) & 0x1f;
    if (type !== 1 && type !== 9) this.fault(EX_GP, sel & 0xfffc);
    if ((this.dHi & 0x8000) === 0) this.fault(EX_NP, sel & 0xfffc);
    const lo = this.dLo, hi = this.dHi;
    this.trSel = sel;
    this.trBase = (lo >>> 16) | ((hi & 0xff) << 16) | (hi & 0xff000000);
    let limit = (lo & 0xffff) | (hi & 0xf0000);
    if ((hi & 0x800000) !== 0) limit = ((limit << 12) | 0xfff) >>> 0;
    this.trLimit = limit; this.trType = type | 2;
    this.sysWr8((this.gdtBase + (sel & 0xfff8) + 5) | 0, ((hi >>> 8) & 0xff) | 2);
  }
  /** LAR (access rights) or LSL (limit); null if not accessible. */
  private larlsl(sel: number, lsl: boolean): number | null {
    if ((sel & 0xfffc) === 0 || !this.readDesc(sel)) return null;
    const hi = this.dHi, lo = this.dLo;
    const type = (hi >>> 8) & 0x1f, dpl = (hi >>> 13) & 3;
    if ((type & 0x10) === 0) {
      const okLar = [1, 2, 3, 4, 5, 9, 0xb, 0xc], okLsl = [1, 2, 3, 9, 0xb];
      if (!(lsl ? okLsl : okLar).includes(type & 0xf)) return null;
    }
    const conforming = (type & 0x1c) === 0x1c;
    if (!conforming && (dpl < this.cpl || dpl < (sel & 3))) return null;
    if (!lsl) return hi & 0x00f0ff00;
    let limit = (lo & 0xffff) | (hi & 0xf0000);
    if ((hi & 0x800000) !== 0) limit = ((limit << 12) | 0xfff) >>> 0;
    return limit | 0;
  }
  private verx(sel: number, write: boolean): void {
    this.materialize();
    let ok = false;
    if ((sel & 0xfffc) !== 0 && this.readDesc(sel)) {
      const hi = this.dHi, type = (hi >>> 8) & 0x1f, dpl = (hi >>> 13) & 3;
      if ((type & 0x10) !== 0) {
        const conforming = (type & 0x1c) === 0x1c;
        const privOk = conforming || (dpl >= this.cpl && dpl >= (sel & 3));
        if (write) ok = privOk && (type & 0x1a) === 0x12;
        else ok = privOk && ((type & 0x18) === 0x10 || (type & 0x1a) === 0x1a);
      }
    }
    if (ok) this.flags |= ZF; else this.flags &= ~ZF;
  }

  /** Instruction breakpoints enabled in DR7 (forces the checked slow path). */
  private dbgExec = false;
  private debugChanged(): void {
    const dr7 = this.dr[7]!;
    let exec = false, data = false;
    for (let i = 0; i < 4; i++) {
      if (((dr7 >>> (i * 2)) & 3) === 0) continue;
      const rw = (dr7 >>> (16 + i * 4)) & 3;
      if (rw === 0) exec = true; else if (rw !== 2) data = true;
    }
    this.dbgExec = exec;
    if (data !== this.dbgData) { this.dbgData = data; this.noFastWrite = data; this.flushTlb(false); }
    this.checkIrq = true;
  }
  /** Instruction breakpoint check at an instruction boundary (fault: EIP not advanced). */
  private execBreakpoint(): void {
    const dr7 = this.dr[7]!;
    const pc = (this.segBase[CS]! + this.eip) >>> 0;
    let hit = 0;
    for (let i = 0; i < 4; i++) {
      if (((dr7 >>> (i * 2)) & 3) !== 0 && ((dr7 >>> (16 + i * 4)) & 3) === 0 && (this.dr[i]! >>> 0) === pc) hit |= 1 << i;
    }
    if (hit !== 0) {
      this.dr[6] = (this.dr[6]! & ~0xf) | hit;
      this.startEip = this.eip; this.startEsp = this.r32[4]!;
      this.fault(EX_DB);
    }
  }

  private tsc(): number { return Math.max(0, Math.floor(this.tscSource() + this.tscOffset)); }

  private cpuid(): void {
    const m = this.model, r = this.r32;
    const leaf = r[0]! >>> 0;
    const str = (s: string, i: number): number => (s.charCodeAt(i) | (s.charCodeAt(i + 1) << 8) | (s.charCodeAt(i + 2) << 16) | (s.charCodeAt(i + 3) << 24)) | 0;
    const vendor = m.vendor.padEnd(12, ' ');
    let edx = m.featuresEdx;
    if (this.fpu === null) edx &= ~(FEAT_FPU | FEAT_FXSR);
    const brand = m.brand.padEnd(48, '\0');
    const maxExt = m.brand !== '' ? 0x80000004 : 0x80000000;
    if (leaf === 0) { r[0] = m.maxLeaf; r[3] = str(vendor, 0); r[2] = str(vendor, 4); r[1] = str(vendor, 8); }
    else if (leaf === 1 && m.maxLeaf >= 1) { r[0] = cpuSignature(m); r[3] = 0; r[1] = m.featuresEcx; r[2] = edx; }
    else if (leaf === 2 && m.maxLeaf >= 2) { r[0] = 0x03020101; r[3] = 0; r[1] = 0; r[2] = 0x0c040843; }
    else if (leaf === 0x80000000) { r[0] = maxExt; r[3] = 0; r[1] = 0; r[2] = 0; }
    else if (leaf >= 0x80000002 && leaf <= maxExt) {
      const o = (leaf - 0x80000002) * 16;
      r[0] = str(brand, o); r[3] = str(brand, o + 4); r[1] = str(brand, o + 8); r[2] = str(brand, o + 12);
    } else if (leaf >= 0x80000000) { r[0] = 0; r[3] = 0; r[1] = 0; r[2] = 0; }
    else { r[0] = 0; r[3] = 0; r[1] = 0; r[2] = 0; }
  }

  private rdmsr(n: number): void {
    const r = this.r32;
    let lo = 0, hi = 0;
    switch (n) {
      case 0x10: { const t = this.tsc(); lo = t % 4294967296; hi = Math.floor(t / 4294967296); break; }
      case 0x17: break; // platform id
      case 0x8b: break; // microcode revision
      case 0x174: lo = this.sysenterCs; break;
      case 0x175: lo = this.sysenterEsp; break;
      case 0x176: lo = this.sysenterEip; break;
      default: this.fault(EX_GP, 0);
    }
    r[0] = lo; r[2] = hi;
  }
  private wrmsr(n: number, lo: number, hi: number): void {
    switch (n) {
      case 0x10: this.tscOffset = (hi * 4294967296 + lo) - this.tscSource(); break;
      case 0x8b: break;
      case 0x174: this.sysenterCs = lo & 0xffff; break;
      case 0x175: this.sysenterEsp = lo; break;
      case 0x176: this.sysenterEip = lo; break;
      default: this.fault(EX_GP, 0);
    }
  }

  private sysenter(): void {
    if (!this.pe) this.fault(EX_GP, 0);
    const cs = this.sysenterCs & 0xfffc;
    if (cs === 0) this.fault(EX_GP, 0);
    this.flags &= ~(VM | IF | RF);
    this.cpl = 0; this.selectTlb();
    this.setFlatSeg(CS, cs, 0xc09b00);
    this.setFlatSeg(SS, cs + 8, 0xc09300);
    this.r32[4] = this.sysenterEsp;
    this.eip = this.sysenterEip >>> 0;
    this.modeChanged();
  }
  private sysexit(): void {
    const cs = this.sysenterCs & 0xfffc;
    if (!this.pmode || this.cpl !== 0 || cs === 0) this.fault(EX_GP, 0);
    this.cpl = 3; this.selectTlb();
    this.setFlatSeg(CS, (cs + 16) | 3, 0xc0fb00);
    this.setFlatSeg(SS, (cs + 24) | 3, 0xc0f300);
    this.r32[4] = this.r32[1]!;
    this.eip = this.r32[2]! >>> 0;
  }
  private setFlatSeg(seg: number, sel: number, hiBits: number): void {
    this.setSegCache(seg, sel, 0x0000ffff, hiBits | 0x0f0000);
  }

  // ---------------------------------------------------------------- state
  saveState(): CpuState {
    const seg = [];
    for (let s = 0; s < 6; s++) seg.push({ sel: this.segSel[s]!, base: this.segBase[s]! >>> 0, limit: this.segLimit[s]!, ar: this.segAR[s]! });
    return {
      regs: Array.from(this.r32, (v) => v >>> 0), eip: this.eip >>> 0, eflags: this.getFlags(), seg,
      cr: [this.cr0 >>> 0, this.cr2 >>> 0, this.cr3 >>> 0, this.cr4 >>> 0], dr: Array.from(this.dr, (v) => v >>> 0),
      gdt: [this.gdtBase >>> 0, this.gdtLimit], idt: [this.idtBase >>> 0, this.idtLimit],
      ldt: [this.ldtSel, this.ldtBase >>> 0, this.ldtLimit], tr: [this.trSel, this.trBase >>> 0, this.trLimit, this.trType],
      cpl: this.cpl, efer: this.efer, sysenter: [this.sysenterCs, this.sysenterEsp >>> 0, this.sysenterEip >>> 0],
      halted: this.halted, a20: this.a20, inhibit: this.inhibit, nmiPending: this.nmiPending, nmiBlocked: this.nmiBlocked,
      tsc: this.tsc(), fpu: this.fpu !== null ? this.fpu.saveState() : null,
    };
  }
  loadState(s: CpuState): void {
    for (let i = 0; i < 8; i++) this.r32[i] = s.regs[i]!;
    this.eip = s.eip; this.flags = (s.eflags | 2) & 0x3f7fd5; this.lop = L_NONE;
    this.cr0 = s.cr[0]! | 0; this.cr2 = s.cr[1]! | 0; this.cr3 = s.cr[2]! | 0; this.cr4 = s.cr[3]! | 0;
    for (let i = 0; i < 8; i++) this.dr[i] = s.dr[i]!;
    [this.gdtBase, this.gdtLimit] = s.gdt; [this.idtBase, this.idtLimit] = s.idt;
    this.gdtBase |= 0; this.idtBase |= 0;
    [this.ldtSel, this.ldtBase, this.ldtLimit] = s.ldt; this.ldtBase |= 0;
    [this.trSel, this.trBase, this.trLimit, this.trType] = s.tr; this.trBase |= 0;
    this.cpl = s.cpl; this.efer = s.efer;
    [this.sysenterCs, this.sysenterEsp, this.sysenterEip] = s.sysenter;
    for (let i = 0; i < 6; i++) {
      const g = s.seg[i]!;
      this.segSel[i] = g.sel; this.segBase[i] = g.base | 0; this.segLimit[i] = g.limit; this.segAR[i] = g.ar;
    }
    this.csD = (this.segAR[CS]! & 0x4000) !== 0;
    this.fetchMax = this.segLimit[CS]!; this.longInsn = false; this.killWindow();
    this.modeChanged();
    this.halted = s.halted; this.inhibit = s.inhibit; this.nmiPending = s.nmiPending; this.nmiBlocked = s.nmiBlocked;
    this.a20Mask = s.a20 ? -1 : ~0x100000;
    this.tscOffset = s.tsc - this.tscSource();
    this.selectTlb();
    this.flushTlb(false);
    this.checkIrq = true;
    if (this.fpu !== null && s.fpu !== null) this.fpu.loadState(s.fpu);
  }
}

export { CR0_PE, CR0_PG, EX_DF, EX_SS, EX_TS, EX_NP, EX_PF, EX_GP, EX_UD, EX_DE, EX_DB, EX_BP, EX_BR, INT_HW, RF, NT, AF, SF, ZF, PF, OF, CF, IF, TF, DF };
export type { FpuHost, FpuLike };
