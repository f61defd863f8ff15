/**
 * Segmentation and control transfer: descriptor loads and checks, the stack,
 * interrupt/exception delivery (real mode IVT, protected mode IDT with
 * interrupt/trap/task gates and stack switches, V86), far CALL/JMP/RET/IRET
 * across privilege levels and call gates, and hardware task switching.
 */

import type { MemoryBus } from '../memory/memory-bus.js';
import { ARITH, CS, DS, ES, FS, GS, IF, IOPL, NT, RF, SS, TF, VM, AC, VIF, VIP, ID, L_NONE } from './regs.js';
import { CR0_PE, CR0_PG, CR0_TS, EX_GP, EX_NP, EX_SS, EX_TS, FAULT, Mmu } from './mmu.js';

/** Kinds of interrupt delivery. */
export const INT_EXC = 0, INT_HW = 1, INT_SOFT = 2;
/** Task switch sources. */
export const TS_JMP = 0, TS_CALL = 1, TS_IRET = 2, TS_INT = 3;

export class Protect extends Mmu {
  /** Default operand/address size of CS (true = 32-bit). */
  csD = false;
  /** EIP just past the current instruction when a control transfer replaced EIP (-1: none); for -d in_asm. */
  insnEnd = -1;
  /** Highest EIP instruction fetch may use: the CS limit, or less while a prefixed instruction nears 15 bytes. */
  fetchMax = 0xffff;
  /** Selector-error fields of the last descriptor read. */
  dLo = 0; dHi = 0;
  /** EIP and ESP at the start of the current instruction (faults restart there). */
  startEip = 0;
  startEsp = 0;
  /** Vector of the last interrupt/exception delivery attempt (diagnostics, tests). */
  lastVector = -1;
  onTripleFault: (() => void) | null = null;
  trace: { inAsm: boolean; int: boolean; cpu: boolean; exec: boolean; log: (line: string) => void } =
    { inAsm: false, int: false, cpu: false, exec: false, log: () => {} };

  constructor(mem: MemoryBus) { super(mem); }

  get pe(): boolean { return (this.cr0 & CR0_PE) !== 0; }
  get v86(): boolean { return (this.flags & VM) !== 0; }
  /** Protected mode and not V86. */
  get pmode(): boolean { return (this.cr0 & CR0_PE) !== 0 && (this.flags & VM) === 0; }

  // ---- stack ----
  push(v: number, sz: number): void {
    if ((this.segAR[SS]! & 0x4000) !== 0) {
      const sp = (this.r32[4]! - sz) >>> 0;
      if (sz === 4) this.wr32(SS, sp, v); else this.wr16(SS, sp, v);
      this.r32[4] = sp;
    } else {
      const sp = (this.r16[8]! - sz) & 0xffff;
      this.wrS(SS, sp, sz, v); this.r16[8] = sp;
    }
  }
  pop(sz: number): number {
    if ((this.segAR[SS]! & 0x4000) !== 0) {
      const sp = this.r32[4]! >>> 0;
      const v = sz === 4 ? this.rd32(SS, sp) : this.rd16(SS, sp); this.r32[4] = sp + sz; return v;
    }
    const sp = this.r16[8]!;
    const v = this.rdS(SS, sp, sz); this.r16[8] = sp + sz; return v;
  }
  /** Read the stack `n` bytes above ESP without popping. */
  peek(n: number, sz: number): number {
    if ((this.segAR[SS]! & 0x4000) !== 0) return this.rdS(SS, (this.r32[4]! + n) >>> 0, sz);
    return this.rdS(SS, (this.r16[8]! + n) & 0xffff, sz);
  }
  addSp(n: number): void {
    if ((this.segAR[SS]! & 0x4000) !== 0) this.r32[4] = this.r32[4]! + n; else this.r16[8] = this.r16[8]! + n;
  }

  // ---- flags ----
  /** Write EFLAGS bits selected by `mask` (the caller decides what the privilege allows). */
  setFlagsMasked(v: number, mask: number): void {
    this.materialize();
    const old = this.flags;
    this.flags = ((old & ~mask) | (v & mask) | 2) & 0x3f7fd5;
    this.lop = L_NONE;
    if (((old ^ this.flags) & VM) !== 0) this.modeChanged();
    this.checkIrq = true;
  }
  /** Called when CR0.PE or EFLAGS.VM change: recompute fast segment limits. */
  modeChanged(): void {
    for (let s = 0; s < 6; s++) this.segFast(s);
  }

  // ---- segment register loads ----
  setSegReal(seg: number, sel: number): void {
    sel &= 0xffff;
    this.segSel[seg] = sel;
    this.segBase[seg] = sel << 4;
    if ((this.flags & VM) !== 0) { this.segLimit[seg] = 0xffff; this.segAR[seg] = seg === CS ? 0xfb : 0xf3; }
    else if (this.segAR[seg] === 0) this.segAR[seg] = seg === CS ? 0x9b : 0x93;
    if (seg === CS) { this.csD = (this.segAR[CS]! & 0x4000) !== 0; this.fetchMax = this.segLimit[CS]!; this.killWindow(); }
    this.segFast(seg);
  }

  setSegCache(seg: number, sel: number, lo: number, hi: number): void {
    let limit = (lo & 0xffff) | (hi & 0xf0000);
    if ((hi & 0x800000) !== 0) limit = ((limit << 12) | 0xfff) >>> 0;
    this.segSel[seg] = sel;
    this.segBase[seg] = (lo >>> 16) | ((hi & 0xff) << 16) | (hi & 0xff000000);
    this.segLimit[seg] = limit;
    this.segAR[seg] = (hi >>> 8) & 0xf0ff;
    if (seg === CS) { this.csD = (hi & 0x400000) !== 0; this.fetchMax = limit; this.killWindow(); }
    this.segFast(seg);
  }

  setSegNull(seg: number, sel: number): void {
    this.segSel[seg] = sel; this.segBase[seg] = 0; this.segLimit[seg] = 0; this.segAR[seg] = 0;
    this.segFast(seg);
  }

  /** Read a descriptor into dLo/dHi; false if the selector is beyond its table's limit. */
  readDesc(sel: number): boolean {
    const idx = sel & 0xfff8;
    let base: number, limit: number;
    if ((sel & 4) !== 0) { if ((this.ldtSel & 0xfffc) === 0) return false; base = this.ldtBase; limit = this.ldtLimit; }
    else { base = this.gdtBase; limit = this.gdtLimit; }
    if (idx + 7 > limit) return false;
    this.dLo = this.sysRd32((base + idx) | 0);
    this.dHi = this.sysRd32((base + idx + 4) | 0);
    return true;
  }
  /** Set the accessed bit of the descriptor just read. */
  setAccessed(sel: number): void {
    if ((this.dHi & 0x100) !== 0) return;
    this.dHi |= 0x100;
    const base = (sel & 4) !== 0 ? this.ldtBase : this.gdtBase;
    this.sysWr8((base + (sel & 0xfff8) + 5) | 0, (this.dHi >>> 8) & 0xff);
  }

  /** MOV/POP/LxS to a data segment register or SS, with all protected-mode checks. */
  loadSeg(seg: number, sel: number): void {
    sel &= 0xffff;
    if ((this.cr0 & CR0_PE) === 0 || (this.flags & VM) !== 0) { this.setSegReal(seg, sel); return; }
    const rpl = sel & 3, cpl = this.cpl;
    if ((sel & 0xfffc) === 0) {
      if (seg === SS) this.fault(EX_GP, 0);
      this.setSegNull(seg, sel); return;
    }
    if (!this.readDesc(sel)) this.fault(EX_GP, sel & 0xfffc);
    const hi = this.dHi, type = (hi >>> 8) & 0x1f, dpl = (hi >>> 13) & 3;
    if (seg === SS) {
      if (rpl !== cpl || dpl !== cpl || (type & 0x1a) !== 0x12) this.fault(EX_GP, sel & 0xfffc);
      if ((hi & 0x8000) === 0) this.fault(EX_SS, sel & 0xfffc);
    } else {
      if ((type & 0x10) === 0 || (type & 0x1a) === 0x18) this.fault(EX_GP, sel & 0xfffc); // system or exec-only code
      if ((type & 0x1c) !== 0x1c && (rpl > dpl || cpl > dpl)) this.fault(EX_GP, sel & 0xfffc);
      if ((hi & 0x8000) === 0) this.fault(EX_NP, sel & 0xfffc);
    }
    this.setAccessed(sel);
    this.setSegCache(seg, sel, this.dLo, this.dHi);
  }

  /** Load CS for a control transfer (checks already done); sets CPL. */
  loadCs(sel: number, lo: number, hi: number, cpl: number): void {
    this.setSegCache(CS, (sel & 0xfffc) | cpl, lo, hi);
    if (cpl !== this.cpl) { this.cpl = cpl; this.selectTlb(); }
  }

  /** Check a code-segment target of a far JMP/CALL/RET; error code `sel`. */
  private checkCode(sel: number, err: number): void {
    const hi = this.dHi;
    if ((hi & 0x1800) !== 0x1800) this.fault(EX_GP, err);
    if ((hi & 0x8000) === 0) this.fault(EX_NP, err);
  }

  /** After a return to an outer level: null DS/ES/FS/GS that the new CPL may not use. */
  private clearOuterSegs(): void {
    for (const s of [ES, DS, FS, GS]) {
      const ar = this.segAR[s]!;
      const dpl = (ar >>> 5) & 3;
      const confCode = (ar & 0x1c) === 0x1c;
      if (ar === 0) continue;
      if (!confCode && dpl < this.cpl) this.setSegNull(s, 0);
    }
  }

  // ---- TSS stack pointers ----
  private tssStack(dpl: number): [number, number] {
    if ((this.trType & 8) !== 0) {
      const off = 4 + dpl * 8;
      if (off + 7 > this.trLimit) this.fault(EX_TS, this.trSel & 0xfffc);
      return [this.sysRd32((this.trBase + off) | 0) >>> 0, this.sysRd16((this.trBase + off + 4) | 0)];
    }
    const off = 2 + dpl * 4;
    if (off + 3 > this.trLimit) this.fault(EX_TS, this.trSel & 0xfffc);
    return [this.sysRd16((this.trBase + off) | 0), this.sysRd16((this.trBase + off + 2) | 0)];
  }

  /** Check a new SS for a privilege change to `dpl`; leaves its descriptor in dLo/dHi. */
  private checkNewSs(ss: number, dpl: number, ext: number): void {
    if ((ss & 0xfffc) === 0) this.fault(EX_TS, ext);
    if (!this.readDesc(ss)) this.fault(EX_TS, (ss & 0xfffc) | ext);
    const hi = this.dHi;
    if ((ss & 3) !== dpl || ((hi >>> 13) & 3) !== dpl || ((hi >>> 8) & 0x1a) !== 0x12) this.fault(EX_TS, (ss & 0xfffc) | ext);
    if ((hi & 0x8000) === 0) this.fault(EX_SS, (ss & 0xfffc) | ext);
  }

  // ---- interrupts and exceptions ----
  /**
   * Deliver interrupt `vec`. `kind`: INT_EXC (processor exception), INT_HW
   * (external), INT_SOFT (INT n / INT3 / INTO). `err` = error code or -1.
   * `retEip` = the EIP to push.
   */
  deliver(vec: number, kind: number, err: number, retEip: number): void {
    if (this.insnEnd < 0) this.insnEnd = this.eip;
    this.lastVector = vec;
    if (this.trace.int) this.traceInt(vec, kind, err, retEip);
    if ((this.cr0 & CR0_PE) === 0) {
      if (vec * 4 + 3 > this.idtLimit) this.fault(EX_GP, 0);
      const lin = (this.idtBase + vec * 4) | 0;
      const ip = this.sysRd16(lin), cs = this.sysRd16((lin + 2) | 0);
      const fl = this.getFlags();
      this.push(fl, 2); this.push(this.segSel[CS]!, 2); this.push(retEip, 2);
      this.flags &= ~(IF | TF | AC | RF);
      this.setSegReal(CS, cs);
      this.eip = ip;
      return;
    }
    const ext = kind === INT_SOFT ? 0 : 1;
    const gerr = vec * 8 + 2 + ext;
    if (vec * 8 + 7 > this.idtLimit) this.fault(EX_GP, gerr);
    const lo = this.sysRd32((this.idtBase + vec * 8) | 0), hi = this.sysRd32((this.idtBase + vec * 8 + 4) | 0);
    const type = (hi >>> 8) & 0x1f, gdpl = (hi >>> 13) & 3;
    if (type !== 5 && type !== 6 && type !== 7 && type !== 0xe && type !== 0xf) this.fault(EX_GP, gerr);
    if (kind === INT_SOFT && gdpl < this.cpl) this.fault(EX_GP, gerr);
    if ((hi & 0x8000) === 0) this.fault(EX_NP, gerr);
    if (type === 5) {
      const tsel = lo >>> 16;
      this.taskSwitchTo(tsel, TS_INT, retEip, ext);
      if (err >= 0) this.push(err, (this.trType & 8) !== 0 ? 4 : 2);
      return;
    }
    const gate32 = (type & 8) !== 0;
    const sel = lo >>> 16;
    const off = gate32 ? ((lo & 0xffff) | (hi & 0xffff0000)) >>> 0 : lo & 0xffff;
    if ((sel & 0xfffc) === 0) this.fault(EX_GP, ext);
    if (!this.readDesc(sel)) this.fault(EX_GP, (sel & 0xfffc) | ext);
    const clo = this.dLo, chi = this.dHi;
    const dpl = (chi >>> 13) & 3;
    if ((chi & 0x1800) !== 0x1800 || dpl > this.cpl) this.fault(EX_GP, (sel & 0xfffc) | ext);
    if ((chi & 0x8000) === 0) this.fault(EX_NP, (sel & 0xfffc) | ext);
    const conforming = (chi & 0x400) !== 0;
    let climit = (clo & 0xffff) | (chi & 0xf0000);
    if ((chi & 0x800000) !== 0) climit = ((climit << 12) | 0xfff) >>> 0;
    if (off > climit) this.fault(EX_GP, 0);
    const sz = gate32 ? 4 : 2;
    let fl = this.getFlags();
    // fault-class exceptions push RF=1 so that IRET does not re-trigger an instruction breakpoint
    if (kind === INT_EXC && vec !== 1 && vec !== 3 && vec !== 4 && vec !== 8 && vec !== 2) fl |= RF;
    const vm = (fl & VM) !== 0;
    if (!conforming && dpl < this.cpl) {
      if (vm && dpl !== 0) this.fault(EX_GP, (sel & 0xfffc) | ext);
      const [nesp, nss] = this.tssStack(dpl);
      this.checkNewSs(nss, dpl, ext);
      const slo = this.dLo, shi = this.dHi;
      const oss = this.segSel[SS]!, oesp = this.r32[4]!;
      const ocs = this.segSel[CS]!;
      // switch to the new stack (faults while pushing raise #SS on the new stack; state restored by caller)
      if (vm) {
        // leave V86 first so the new segments are loaded as protected-mode descriptors
        this.flags &= ~VM;
        this.modeChanged();
      }
      this.setSegCache(SS, nss, slo, shi);
      this.r32[4] = nesp;
      // The pushes onto the inner stack are supervisor accesses: switch CPL (and the TLB
      // permissions) first. A fault here is rolled back by the caller, which restores CPL.
      this.cpl = dpl; this.selectTlb();
      if (vm) {
        this.push(this.segSel[GS]!, sz); this.push(this.segSel[FS]!, sz);
        this.push(this.segSel[DS]!, sz); this.push(this.segSel[ES]!, sz);
      }
      this.push(oss, sz); this.push(oesp, sz);
      this.push(fl, sz); this.push(ocs, sz); this.push(retEip, sz);
      if (err >= 0) this.push(err, sz);
      if (vm) { this.setSegNull(GS, 0); this.setSegNull(FS, 0); this.setSegNull(DS, 0); this.setSegNull(ES, 0); }
      this.loadCs(sel, clo, chi, dpl);
      this.modeChanged();
    } else {
      if (vm) this.fault(EX_GP, (sel & 0xfffc) | ext);
      this.push(fl, sz); this.push(this.segSel[CS]!, sz); this.push(retEip, sz);
      if (err >= 0) this.push(err, sz);
      this.loadCs(sel, clo, chi, this.cpl);
    }
    this.setAccessed(sel);
    this.eip = off;
    this.flags &= ~(TF | NT | RF | VM);
    if ((type & 1) === 0) this.flags &= ~IF;
  }

  private intCount = 0;
  /** `-d int` line in QEMU's format. */
  private traceInt(vec: number, kind: number, err: number, retEip: number): void {
    const h = (v: number, n: number): string => (v >>> 0).toString(16).padStart(n, '0');
    if (kind === INT_HW) this.trace.log(`Servicing hardware INT=0x${h(vec, 2)}`);
    let line = `${String(this.intCount++).padStart(6)}: v=${h(vec, 2)} e=${h(err < 0 ? 0 : err, 4)} i=${kind === INT_SOFT ? 1 : 0} cpl=${this.cpl} ` +
      `IP=${h(this.segSel[CS]!, 4)}:${h(retEip, 8)} pc=${h(this.segBase[CS]! + retEip, 8)} SP=${h(this.segSel[SS]!, 4)}:${h(this.r32[4]!, 8)}`;
    if (vec === 14 && kind === INT_EXC) line += ` CR2=${h(this.cr2, 8)}`;
    else line += ` env->regs[R_EAX]=${h(this.r32[0]!, 8)}`;
    this.trace.log(line);
  }

  // ---- far transfers ----
  /** Far JMP (isCall=false) or CALL to sel:off. `sz` = operand size, `retEip` = EIP after the instruction. */
  farTransfer(sel: number, off: number, isCall: boolean, sz: number, retEip: number): void {
    this.insnEnd = this.eip;
    if ((this.cr0 & CR0_PE) === 0 || (this.flags & VM) !== 0) {
      if (isCall) { this.push(this.segSel[CS]!, sz); this.push(retEip, sz); }
      if (off > this.segLimit[CS]! && (this.cr0 & CR0_PE) !== 0) this.fault(EX_GP, 0);
      this.setSegReal(CS, sel);
      this.eip = off;
      return;
    }
    sel &= 0xffff;
    if ((sel & 0xfffc) === 0) this.fault(EX_GP, 0);
    if (!this.readDesc(sel)) this.fault(EX_GP, sel & 0xfffc);
    const lo = this.dLo, hi = this.dHi;
    const dpl = (hi >>> 13) & 3, rpl = sel & 3, cpl = this.cpl;
    if ((hi & 0x1000) !== 0) {
      if ((hi & 0x800) === 0) this.fault(EX_GP, sel & 0xfffc);
      if ((hi & 0x400) !== 0) { if (dpl > cpl) this.fault(EX_GP, sel & 0xfffc); }
      else if (rpl > cpl || dpl !== cpl) this.fault(EX_GP, sel & 0xfffc);
      if ((hi & 0x8000) === 0) this.fault(EX_NP, sel & 0xfffc);
      let limit = (lo & 0xffff) | (hi & 0xf0000);
      if ((hi & 0x800000) !== 0) limit = ((limit << 12) | 0xfff) >>> 0;
      if (isCall) { this.push(this.segSel[CS]!, sz); this.push(retEip, sz); }
      if (off > limit) this.fault(EX_GP, 0);
      this.setAccessed(sel);
      this.loadCs(sel, lo, hi, cpl);
      this.eip = off;
      return;
    }
    const type = (hi >>> 8) & 0xf;
    if (type === 1 || type === 9) {
      if (dpl < cpl || dpl < rpl) this.fault(EX_GP, sel & 0xfffc);
      if ((hi & 0x8000) === 0) this.fault(EX_NP, sel & 0xfffc);
      this.taskSwitchTo(sel, isCall ? TS_CALL : TS_JMP, retEip, 0, lo, hi);
      return;
    }
    if (type === 5) {
      if (dpl < cpl || dpl < rpl) this.fault(EX_GP, sel & 0xfffc);
      if ((hi & 0x8000) === 0) this.fault(EX_NP, sel & 0xfffc);
      this.taskSwitchTo(lo >>> 16, isCall ? TS_CALL : TS_JMP, retEip, 0);
      return;
    }
    if (type !== 4 && type !== 0xc) this.fault(EX_GP, sel & 0xfffc);
    // call gate
    if (dpl < cpl || dpl < rpl) this.fault(EX_GP, sel & 0xfffc);
    if ((hi & 0x8000) === 0) this.fault(EX_NP, sel & 0xfffc);
    const gate32 = type === 0xc;
    const tsel = lo >>> 16;
    const toff = gate32 ? ((lo & 0xffff) | (hi & 0xffff0000)) >>> 0 : lo & 0xffff;
    const pcount = hi & 0x1f;
    if ((tsel & 0xfffc) === 0) this.fault(EX_GP, 0);
    if (!this.readDesc(tsel)) this.fault(EX_GP, tsel & 0xfffc);
    const clo = this.dLo, chi = this.dHi;
    const cdpl = (chi >>> 13) & 3;
    if ((chi & 0x1800) !== 0x1800 || cdpl > cpl) this.fault(EX_GP, tsel & 0xfffc);
    const conforming = (chi & 0x400) !== 0;
    if (!isCall && !conforming && cdpl !== cpl) this.fault(EX_GP, tsel & 0xfffc);
    if ((chi & 0x8000) === 0) this.fault(EX_NP, tsel & 0xfffc);
    let climit = (clo & 0xffff) | (chi & 0xf0000);
    if ((chi & 0x800000) !== 0) climit = ((climit << 12) | 0xfff) >>> 0;
    const gsz = gate32 ? 4 : 2;
    if (isCall && !conforming && cdpl < cpl) {
      const [nesp, nss] = this.tssStack(cdpl);
      this.checkNewSs(nss, cdpl, 0);
      const slo = this.dLo, shi = this.dHi;
      const oss = this.segSel[SS]!, oesp = this.r32[4]!;
      const params: number[] = [];
      for (let i = pcount - 1; i >= 0; i--) params.push(this.peek(i * gsz, gsz));
      const ocs = this.segSel[CS]!;
      const osLo = this.segBase[SS]!, osLim = this.segLimit[SS]!, osAr = this.segAR[SS]!, ocpl = this.cpl;
      this.setSegCache(SS, nss, slo, shi);
      this.r32[4] = nesp;
      // Inner-stack pushes are supervisor accesses: CPL changes first, and is restored on a fault.
      this.cpl = cdpl; this.selectTlb();
      try {
        this.push(oss, gsz); this.push(oesp, gsz);
        for (const p of params) this.push(p, gsz);
        this.push(ocs, gsz); this.push(retEip, gsz);
        if (toff > climit) this.fault(EX_GP, 0);
      } catch (e) {
        this.segSel[SS] = oss; this.segBase[SS] = osLo; this.segLimit[SS] = osLim; this.segAR[SS] = osAr;
        this.segFast(SS);
        this.r32[4] = oesp; this.cpl = ocpl; this.selectTlb();
        throw e;
      }
      this.loadCs(tsel, clo, chi, cdpl);
    } else {
      if (isCall) { this.push(this.segSel[CS]!, gsz); this.push(retEip, gsz); }
      if (toff > climit) this.fault(EX_GP, 0);
      this.loadCs(tsel, clo, chi, cpl);
    }
    this.eip = toff;
  }

  /** Far RET with `imm` bytes of parameters. */
  farReturn(sz: number, imm: number): void {
    this.insnEnd = this.eip;
    if ((this.cr0 & CR0_PE) === 0 || (this.flags & VM) !== 0) {
      const ip = this.pop(sz), cs = this.pop(sz);
      this.addSp(imm);
      if (ip > this.segLimit[CS]! && (this.cr0 & CR0_PE) !== 0) this.fault(EX_GP, 0);
      this.setSegReal(CS, cs & 0xffff);
      this.eip = ip >>> 0;
      return;
    }
    const off = this.peek(0, sz) >>> 0, sel = this.peek(sz, sz) & 0xffff;
    const rpl = sel & 3;
    if ((sel & 0xfffc) === 0) this.fault(EX_GP, 0);
    if (rpl < this.cpl) this.fault(EX_GP, sel & 0xfffc);
    if (!this.readDesc(sel)) this.fault(EX_GP, sel & 0xfffc);
    const lo = this.dLo, hi = this.dHi;
    const dpl = (hi >>> 13) & 3;
    if ((hi & 0x1800) !== 0x1800) this.fault(EX_GP, sel & 0xfffc);
    if ((hi & 0x400) !== 0 ? dpl > rpl : dpl !== rpl) this.fault(EX_GP, sel & 0xfffc);
    if ((hi & 0x8000) === 0) this.fault(EX_NP, sel & 0xfffc);
    let limit = (lo & 0xffff) | (hi & 0xf0000);
    if ((hi & 0x800000) !== 0) limit = ((limit << 12) | 0xfff) >>> 0;
    if (rpl === this.cpl) {
      if (off > limit) this.fault(EX_GP, 0);
      this.addSp(2 * sz + imm);
      this.loadCs(sel, lo, hi, rpl);
      this.eip = off;
      return;
    }
    const nesp = this.peek(2 * sz + imm, sz) >>> 0, nss = this.peek(3 * sz + imm, sz) & 0xffff;
    if ((nss & 0xfffc) === 0) this.fault(EX_GP, 0);
    if (!this.readDesc(nss)) this.fault(EX_GP, nss & 0xfffc);
    const slo = this.dLo, shi = this.dHi;
    if ((nss & 3) !== rpl || ((shi >>> 13) & 3) !== rpl || ((shi >>> 8) & 0x1a) !== 0x12) this.fault(EX_GP, nss & 0xfffc);
    if ((shi & 0x8000) === 0) this.fault(EX_SS, nss & 0xfffc);
    if (off > limit) this.fault(EX_GP, 0);
    this.loadCs(sel, lo, hi, rpl);
    this.setSegCache(SS, nss, slo, shi);
    if ((shi & 0x400000) !== 0) this.r32[4] = nesp + imm; else this.r16[8] = nesp + imm;
    this.eip = off;
    this.clearOuterSegs();
  }

  /** IRET / IRETD. */
  iret(sz: number): void {
    this.insnEnd = this.eip;
    if ((this.cr0 & CR0_PE) === 0) {
      const ip = this.pop(sz), cs = this.pop(sz), fl = this.pop(sz);
      this.setSegReal(CS, cs & 0xffff);
      this.eip = ip >>> 0;
      this.setFlagsMasked(fl, sz === 4 ? 0x257fd5 : 0x7fd5);
      return;
    }
    if ((this.flags & VM) !== 0) {
      if ((this.flags & IOPL) !== IOPL) this.fault(EX_GP, 0);
      const ip = this.pop(sz), cs = this.pop(sz), fl = this.pop(sz);
      this.setSegReal(CS, cs & 0xffff);
      this.eip = ip >>> 0;
      this.setFlagsMasked(fl, sz === 4 ? (ARITH | TF | IF | 0x400 | NT | AC | ID) : (ARITH | TF | IF | 0x400 | NT));
      return;
    }
    if ((this.flags & NT) !== 0) {
      const back = this.sysRd16(this.trBase) & 0xffff;
      this.taskSwitchTo(back, TS_IRET, this.eip, 0);
      return;
    }
    const off = this.peek(0, sz) >>> 0, sel = this.peek(sz, sz) & 0xffff, fl = this.peek(2 * sz, sz);
    if (sz === 4 && (fl & VM) !== 0 && this.cpl === 0) {
      // return to virtual-8086 mode
      const nesp = this.peek(12, 4), nss = this.peek(16, 4), es = this.peek(20, 4), ds = this.peek(24, 4), fs = this.peek(28, 4), gs = this.peek(32, 4);
      this.setFlagsMasked(fl, 0x3f7fd5);
      this.cpl = 3; this.selectTlb();
      this.setSegReal(CS, sel); this.setSegReal(SS, nss); this.setSegReal(ES, es); this.setSegReal(DS, ds);
      this.setSegReal(FS, fs); this.setSegReal(GS, gs);
      this.r32[4] = nesp;
      this.eip = off & 0xffff;
      this.modeChanged();
      return;
    }
    const rpl = sel & 3;
    if ((sel & 0xfffc) === 0) this.fault(EX_GP, 0);
    if (rpl < this.cpl) this.fault(EX_GP, sel & 0xfffc);
    if (!this.readDesc(sel)) this.fault(EX_GP, sel & 0xfffc);
    const lo = this.dLo, hi = this.dHi;
    const dpl = (hi >>> 13) & 3;
    if ((hi & 0x1800) !== 0x1800) this.fault(EX_GP, sel & 0xfffc);
    if ((hi & 0x400) !== 0 ? dpl > rpl : dpl !== rpl) this.fault(EX_GP, sel & 0xfffc);
    if ((hi & 0x8000) === 0) this.fault(EX_NP, sel & 0xfffc);
    let limit = (lo & 0xffff) | (hi & 0xf0000);
    if ((hi & 0x800000) !== 0) limit = ((limit << 12) | 0xfff) >>> 0;
    const oldCpl = this.cpl;
    let mask = ARITH | TF | 0x400 | NT;
    if (sz === 4) mask |= RF | AC | ID;
    if (oldCpl <= ((this.flags & IOPL) >>> 12)) mask |= IF;
    if (oldCpl === 0) { mask |= IOPL; if (sz === 4) mask |= VIF | VIP; }
    if (rpl === oldCpl) {
      if (off > limit) this.fault(EX_GP, 0);
      this.addSp(3 * sz);
      this.loadCs(sel, lo, hi, rpl);
      this.eip = off;
      this.setFlagsMasked(fl, mask);
      return;
    }
    const nesp = this.peek(3 * sz, sz) >>> 0, nss = this.peek(4 * sz, sz) & 0xffff;
    if ((nss & 0xfffc) === 0) this.fault(EX_GP, 0);
    if (!this.readDesc(nss)) this.fault(EX_GP, nss & 0xfffc);
    const slo = this.dLo, shi = this.dHi;
    if ((nss & 3) !== rpl || ((shi >>> 13) & 3) !== rpl || ((shi >>> 8) & 0x1a) !== 0x12) this.fault(EX_GP, nss & 0xfffc);
    if ((shi & 0x8000) === 0) this.fault(EX_SS, nss & 0xfffc);
    if (off > limit) this.fault(EX_GP, 0);
    this.loadCs(sel, lo, hi, rpl);
    this.setSegCache(SS, nss, slo, shi);
    if ((shi & 0x400000) !== 0) this.r32[4] = nesp; else this.r16[8] = nesp;
    this.eip = off;
    this.setFlagsMasked(fl, mask);
    this.clearOuterSegs();
  }

  // ---- hardware task switch ----
  /** Switch to the task whose TSS selector is `sel`. */
  taskSwitchTo(sel: number, src: number, retEip: number, ext: number, lo = 0, hi = 0): void {
    if ((src !== TS_JMP && src !== TS_CALL) || hi === 0) {
      if ((sel & 4) !== 0 || (sel & 0xfffc) === 0) this.fault(EX_GP, (sel & 0xfffc) | ext);
      if (!this.readDesc(sel)) this.fault(EX_GP, (sel & 0xfffc) | ext);
      lo = this.dLo; hi = this.dHi;
    }
    const type = (hi >>> 8) & 0x1f;
    if (src === TS_IRET) { if (type !== 0xb && type !== 3) this.fault(EX_TS, sel & 0xfffc); }
    else if (type !== 9 && type !== 1) this.fault(EX_GP, (sel & 0xfffc) | ext);
    if ((hi & 0x8000) === 0) this.fault(EX_NP, (sel & 0xfffc) | ext);
    const n32 = (type & 8) !== 0;
    let nlimit = (lo & 0xffff) | (hi & 0xf0000);
    if ((hi & 0x800000) !== 0) nlimit = ((nlimit << 12) | 0xfff) >>> 0;
    if (nlimit < (n32 ? 0x67 : 0x2b)) this.fault(EX_TS, sel & 0xfffc);
    const nbase = (lo >>> 16) | ((hi & 0xff) << 16) | (hi & 0xff000000);

    // save the outgoing task
    let fl = this.getFlags();
    if (src === TS_IRET) fl &= ~NT;
    const ob = this.trBase;
    if ((this.trType & 8) !== 0) {
      this.sysWr32((ob + 0x20) | 0, retEip);
      this.sysWr32((ob + 0x24) | 0, fl);
      for (let i = 0; i < 8; i++) this.sysWr32((ob + 0x28 + i * 4) | 0, this.r32[i]!);
      for (let s = 0; s < 6; s++) this.sysWr16((ob + 0x48 + s * 4) | 0, this.segSel[s]!);
    } else {
      this.sysWr16((ob + 0x0e) | 0, retEip);
      this.sysWr16((ob + 0x10) | 0, fl);
      for (let i = 0; i < 8; i++) this.sysWr16((ob + 0x12 + i * 2) | 0, this.r16[i << 1]!);
      for (let s = 0; s < 4; s++) this.sysWr16((ob + 0x22 + s * 2) | 0, this.segSel[s]!);
    }
    // busy bits
    if (src === TS_JMP || src === TS_IRET) this.setBusy(this.trSel, false);
    if (src !== TS_IRET) this.setBusy(sel, true);
    const oldSel = this.trSel;

    // read the incoming task
    let eip: number, nfl: number, cr3 = 0, ldt: number;
    const regs = new Int32Array(8), sels = new Uint16Array(6);
    if (n32) {
      cr3 = this.sysRd32((nbase + 0x1c) | 0);
      eip = this.sysRd32((nbase + 0x20) | 0) >>> 0;
      nfl = this.sysRd32((nbase + 0x24) | 0);
      for (let i = 0; i < 8; i++) regs[i] = this.sysRd32((nbase + 0x28 + i * 4) | 0);
      for (let s = 0; s < 6; s++) sels[s] = this.sysRd16((nbase + 0x48 + s * 4) | 0);
      ldt = this.sysRd16((nbase + 0x60) | 0);
    } else {
      eip = this.sysRd16((nbase + 0x0e) | 0);
      nfl = this.sysRd16((nbase + 0x10) | 0);
      for (let i = 0; i < 8; i++) regs[i] = this.sysRd16((nbase + 0x12 + i * 2) | 0);
      for (let s = 0; s < 4; s++) sels[s] = this.sysRd16((nbase + 0x22 + s * 2) | 0);
      ldt = this.sysRd16((nbase + 0x2a) | 0);
    }
    if (src === TS_CALL || src === TS_INT) {
      this.sysWr16(nbase, oldSel);
      nfl |= NT;
    }
    this.trSel = sel; this.trBase = nbase; this.trLimit = nlimit; this.trType = type | 2;
    this.cr0 |= CR0_TS;
    if (n32 && (this.cr0 & CR0_PG) !== 0 && cr3 !== this.cr3) { this.cr3 = cr3; this.flushTlb(true); }
    if (n32) for (let i = 0; i < 8; i++) this.r32[i] = regs[i]!;
    else for (let i = 0; i < 8; i++) this.r16[i << 1] = regs[i]!;
    this.flags = (nfl | 2) & (n32 ? 0x3f7fd5 : 0xffd5);
    this.lop = L_NONE;
    this.eip = eip;
    // segments: first put plain selectors (so a fault reports the new task's state), then check
    this.ldtSel = ldt;
    for (let s = 0; s < 6; s++) { this.segSel[s] = sels[s]!; }
    if ((ldt & 0xfffc) !== 0) {
      if ((ldt & 4) !== 0 || !this.readDesc(ldt & ~4)) this.fault(EX_TS, ldt & 0xfffc);
      if (((this.dHi >>> 8) & 0x1f) !== 2) this.fault(EX_TS, ldt & 0xfffc);
      if ((this.dHi & 0x8000) === 0) this.fault(EX_TS, ldt & 0xfffc);
      this.setLdtCache(ldt, this.dLo, this.dHi);
    } else { this.ldtBase = 0; this.ldtLimit = 0; }
    if ((this.flags & VM) !== 0) {
      this.cpl = 3; this.selectTlb();
      for (let s = 0; s < 6; s++) this.setSegReal(s, sels[s]!);
    } else {
      const ncpl = sels[CS]! & 3;
      this.cpl = ncpl; this.selectTlb();
      // CS
      const cs = sels[CS]!;
      if ((cs & 0xfffc) === 0 || !this.readDesc(cs)) this.fault(EX_TS, cs & 0xfffc);
      const chi = this.dHi, cdpl = (chi >>> 13) & 3;
      if ((chi & 0x1800) !== 0x1800) this.fault(EX_TS, cs & 0xfffc);
      if ((chi & 0x400) !== 0 ? cdpl > ncpl : cdpl !== ncpl) this.fault(EX_TS, cs & 0xfffc);
      if ((chi & 0x8000) === 0) this.fault(EX_NP, cs & 0xfffc);
      this.setSegCache(CS, cs, this.dLo, chi);
      for (const s of [SS, DS, ES, FS, GS]) {
        try { this.loadSeg(s, sels[s]!); } catch (e) {
          if (e !== FAULT) throw e;
          if (this.excVec === EX_GP) this.excVec = EX_TS;
          throw e;
        }
      }
    }
    this.modeChanged();
    this.checkIrq = true;
  }

  setLdtCache(sel: number, lo: number, hi: number): void {
    this.ldtSel = sel;
    this.ldtBase = (lo >>> 16) | ((hi & 0xff) << 16) | (hi & 0xff000000);
    let limit = (lo & 0xffff) | (hi & 0xf0000);
    if ((hi & 0x800000) !== 0) limit = ((limit << 12) | 0xfff) >>> 0;
    this.ldtLimit = limit;
  }

  private setBusy(sel: number, busy: boolean): void {
    if ((sel & 0xfffc) === 0 || (sel & 4) !== 0) return;
    const a = (this.gdtBase + (sel & 0xfff8) + 5) | 0;
    const b = this.sysRd8(a);
    this.sysWr8(a, busy ? b | 2 : b & ~2);
  }
}
