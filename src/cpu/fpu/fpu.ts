/**
 * The x87 FPU (Pentium Pro / Pentium III instruction set, D8-DF).
 *
 * Registers are kept as three typed arrays (sign, biased exponent, 64-bit
 * significand) indexed by physical register; TOP lives apart from the status
 * word. Arithmetic goes through the soft-float core (softfloat.ts) and the
 * transcendental kernels (transcend.ts); the in-memory formats of the
 * environment / save images live in layout.ts.
 *
 * Exceptions: an instruction collects its flags in R.exc. Unmasked IE/DE/ZE
 * leave the destination and TOP unchanged; unmasked OE/UE on a register
 * destination store the exponent-wrapped result; on a memory destination they
 * store nothing. Any unmasked flag sets ES and B; the CPU raises #MF / IRQ13
 * at the next waiting instruction when {@link Fpu.pendingException} is true.
 */
import {
  R, IE, DE, ZE, OE, UE, PE, SF, J_BIT, Q_BIT, INDEF_M, EXT_BIAS, EXT_EMAX,
  C_ZERO, C_NORMAL, C_DENORMAL, C_INF, C_QNAN, C_SNAN, C_UNSUPPORTED,
  classify, arith, sqrt, cmpValues, roundToIntMag, fromInt, loadF32, loadF64, toSmall,
  packF32, packF64, storeF64Fast, setIndefinite, bitLen,
  OP_ADD, OP_MUL, OP_SUB, OP_DIV,
} from './softfloat.js';
import * as T from './transcend.js';
import { storeEnv, loadEnv, envSize } from './layout.js';

export interface FpuHost {
  read8(lin: number): number; read16(lin: number): number; read32(lin: number): number;
  write8(lin: number, v: number): void; write16(lin: number, v: number): void; write32(lin: number, v: number): void;
}

const CF = 0x01, PF = 0x04, AF = 0x10, ZF = 0x40, SF_FLAG = 0x80, OF = 0x800;
const C0 = 0x100, C1 = 0x200, C2 = 0x400, C3 = 0x4000;
const ES_B = 0x8080;
const TAG_VALID = 0, TAG_ZERO = 1, TAG_SPECIAL = 2, TAG_EMPTY = 3;
const PC_BITS = [24, 64, 53, 64];
const INT_MAX = [0n, 0x7fffn, 0x7fffffffn, 0x7fffffffffffffffn];

/** Serializable FPU state (saveState/loadState). */
export interface FpuState {
  cw: number; sw: number; top: number; tags: number[];
  regs: string[]; // "s:e:m(hex)" per physical register
  fip: number; fcs: number; fdp: number; fds: number; fop: number;
  mxcsr: number; xmm: number[];
}

export class Fpu {
  /** control word */
  cw = 0x37f;
  /** status word without TOP (bits 11-13 kept zero here) */
  sw = 0;
  top = 0;
  readonly tags = new Uint8Array(8);
  readonly rs = new Uint8Array(8);
  readonly re = new Uint16Array(8);
  readonly rm = new BigUint64Array(8);
  fip = 0; fcs = 0; fdp = 0; fds = 0; fop = 0;
  /** values staged by setInstructionPointer, committed by non-control instructions */
  private nCs = 0; private nEip = 0; private nDs = 0; private nDp = 0; private nOp = 0;
  mxcsr = 0x1f80;
  readonly mxcsrMask = 0xffbf;
  /** XMM0-7 image (SSE is not implemented; kept for FXSAVE/FXRSTOR) */
  readonly xmm = new Uint8Array(128);
  private readonly f64 = new Uint32Array(2);

  constructor(private readonly host: FpuHost) {
    this.reset();
  }

  /**
   * Power-on state (Intel SDM vol. 3, table "IA-32 processor states following
   * power-up"): CW = 0x0040, SW = 0, all registers +0.0 tagged zero (TW 0x5555),
   * pointers 0. FNINIT differs only in CW = 0x037F and TW = 0xFFFF.
   */
  reset(): void {
    this.init();
    this.cw = 0x40;
    for (let i = 0; i < 8; i++) { this.rs[i] = 0; this.re[i] = 0; this.rm[i] = 0n; this.tags[i] = TAG_ZERO; }
    this.mxcsr = 0x1f80;
    this.xmm.fill(0);
  }

  /** FNINIT */
  private init(): void {
    this.cw = 0x37f; this.sw = 0; this.top = 0;
    this.tags.fill(TAG_EMPTY);
    this.fip = 0; this.fcs = 0; this.fdp = 0; this.fds = 0; this.fop = 0;
  }

  get pendingException(): boolean { return (this.sw & 0x80) !== 0; }

  statusWord(): number { return ((this.sw & ~0x3800) | (this.top << 11)) & 0xffff; }

  /** Tag word (2 bits per physical register) computed from the contents. */
  /** EMMS (0F 77): every register tagged empty (the tag word becomes FFFFh); TOP is unchanged. */
  emms(): void { this.tags.fill(TAG_EMPTY); }

  tagWord(): number {
    let tw = 0;
    for (let i = 0; i < 8; i++) tw |= this.tags[i] << (2 * i);
    return tw;
  }

  /**
   * Record the instruction about to execute: CS selector, EIP offset, data
   * segment selector, data address (linear in real/V86 mode, offset in
   * protected mode; pass dataOff to give the offset separately), and the
   * 11-bit opcode ((first byte & 7) << 8 | modrm). The values become FIP/FCS/
   * FDP/FDS/FOP only if the next execute() is a non-control instruction.
   */
  setInstructionPointer(cs: number, eip: number, ds: number, dataLin: number, opcode11: number, dataOff?: number): void {
    this.nCs = cs; this.nEip = eip; this.nDs = ds;
    this.nDp = dataOff ?? dataLin; this.nOp = opcode11 & 0x7ff;
  }

  /** True when (op, modrm) is an x87 instruction this FPU implements; false means #UD. */
  static isValid(op: number, modrm: number): boolean {
    const reg = (modrm >> 3) & 7;
    if ((modrm >> 6) !== 3) {
      switch (op) {
        case 0xd9: return reg !== 1;
        case 0xdb: return reg !== 1 && reg !== 4 && reg !== 6;
        case 0xdd: return reg !== 1 && reg !== 5;
        case 0xdf: return reg !== 1;
        default: return true;
      }
    }
    switch (op) {
      case 0xd9: return !(modrm >= 0xd1 && modrm <= 0xd7) && modrm !== 0xe2 && modrm !== 0xe3
        && modrm !== 0xe6 && modrm !== 0xe7 && modrm !== 0xef;
      case 0xda: return modrm < 0xe0 || modrm === 0xe9;
      case 0xdb: return modrm < 0xe0 || (modrm >= 0xe0 && modrm <= 0xe4) || (modrm >= 0xe8 && modrm <= 0xf7);
      case 0xdd: return modrm < 0xf0;
      case 0xde: return modrm < 0xd8 || modrm === 0xd9 || modrm >= 0xe0;
      case 0xdf: return modrm < 0xe1 || (modrm >= 0xe8 && modrm <= 0xf7);
      default: return true;
    }
  }

  // ------------------------------------------------------------ helpers

  private phys(i: number): number { return (this.top + i) & 7; }
  private empty(i: number): boolean { return this.tags[(this.top + i) & 7] === TAG_EMPTY; }

  private static tagFor(e: number, m: bigint): number {
    if (e === 0) return m === 0n ? TAG_ZERO : TAG_SPECIAL;
    if (e === EXT_EMAX || m < J_BIT) return TAG_SPECIAL;
    return TAG_VALID;
  }

  private setPhys(p: number, s: number, e: number, m: bigint): void {
    this.rs[p] = s; this.re[p] = e; this.rm[p] = m; this.tags[p] = Fpu.tagFor(e, m);
  }
  private setSt(i: number, s: number, e: number, m: bigint): void { this.setPhys((this.top + i) & 7, s, e, m); }
  private push(s: number, e: number, m: bigint): void {
    this.top = (this.top - 1) & 7;
    this.setPhys(this.top, s, e, m);
  }
  private pop(): void {
    this.tags[this.top] = TAG_EMPTY;
    this.top = (this.top + 1) & 7;
  }

  private setC1(v: number): void { this.sw = v ? this.sw | C1 : this.sw & ~C1; }
  private setCC(c3: number, c2: number, c1: number, c0: number): void {
    this.sw = (this.sw & ~(C0 | C1 | C2 | C3)) | (c3 ? C3 : 0) | (c2 ? C2 : 0) | (c1 ? C1 : 0) | (c0 ? C0 : 0);
  }

  /** Merge R.exc into the status word; unmasked ones set ES and B. */
  private finish(): void {
    let exc = R.exc & 0x7f;
    // an unmasked pre-computation exception stops the operation before rounding
    if ((exc & ~this.cw & (IE | DE | ZE)) !== 0) exc &= ~(OE | UE | PE);
    if (exc !== 0) {
      this.sw |= exc;
      if ((exc & ~this.cw & 0x3f) !== 0) this.sw |= ES_B;
    }
  }
  /** An unmasked pre-computation exception (IE, DE, ZE) blocks the result. */
  private blocked(): boolean { return (R.exc & ~this.cw & (IE | DE | ZE)) !== 0; }
  /** Blocked by an unmasked IE/DE/ZE: C1 is cleared and nothing is written. */
  private stopped(): boolean {
    if ((R.exc & ~this.cw & (IE | DE | ZE)) === 0) return false;
    this.setC1(0);
    return true;
  }
  private ieMasked(): boolean { return (this.cw & IE) !== 0; }

  /** Stack underflow: IE+SF, C1=0; masked → destination (if any) gets the indefinite. Returns true if masked. */
  private underflow(): boolean {
    R.exc = (R.exc & ~DE) | IE | SF;
    this.setC1(0);
    return this.ieMasked();
  }
  /** Stack overflow on push: IE+SF, C1=1; masked → push the indefinite. */
  private overflow(): void {
    R.exc = (R.exc & ~DE) | IE | SF;
    this.setC1(1);
    if (this.ieMasked()) this.push(1, EXT_EMAX, INDEF_M);
  }

  /** Stack overflow of a two-result instruction: masked → ST0 and the pushed value both indefinite. */
  private overflow2(): void {
    if (this.ieMasked()) this.setSt(0, 1, EXT_EMAX, INDEF_M);
    this.overflow();
  }

  private read64(lin: number): void {
    this.f64[0] = this.host.read32(lin) >>> 0;
    this.f64[1] = this.host.read32(lin + 4) >>> 0;
  }
  private read80(lin: number): void {
    const lo = BigInt(this.host.read32(lin) >>> 0);
    const hi = BigInt(this.host.read32(lin + 4) >>> 0);
    const se = this.host.read16(lin + 8);
    R.s = se >>> 15; R.e = se & 0x7fff; R.m = (hi << 32n) | lo;
  }
  private write80(lin: number, s: number, e: number, m: bigint): void {
    const h = this.host;
    h.write16(lin + 8, (s << 15) | e); // highest part first: a fault there leaves memory untouched
    h.write32(lin, Number(m & 0xffffffffn));
    h.write32(lin + 4, Number(m >> 32n));
  }

  private pcBits(): number { return PC_BITS[(this.cw >> 8) & 3]; }

  private static isControl(op: number, modrm: number): boolean {
    if ((modrm >> 6) !== 3) {
      const reg = (modrm >> 3) & 7;
      return (op === 0xd9 && reg >= 4) || (op === 0xdd && (reg === 4 || reg === 6 || reg === 7));
    }
    return (op === 0xdb && modrm >= 0xe0 && modrm <= 0xe4) || (op === 0xdf && modrm === 0xe0);
  }

  // ------------------------------------------------------------ execute

  /**
   * Execute one x87 instruction. op = 0xD8..0xDF, modrm = ModR/M byte, lin =
   * linear address of the memory operand, mode bit0 = 32-bit operand size,
   * bit1 = protected mode. Returns EFLAGS (changed by FCOMI & co).
   */
  execute(op: number, modrm: number, lin: number, mode: number, eflags: number): number {
    R.exc = 0;
    R.up = 0;
    R.rc = (this.cw >> 10) & 3;
    R.oeMasked = (this.cw & OE) !== 0;
    R.ueMasked = (this.cw & UE) !== 0;
    const isMem = (modrm >> 6) !== 3;
    const reg = (modrm >> 3) & 7;
    eflags = this.dispatch(op, modrm, reg, isMem, lin, mode, eflags);
    // pointers are recorded only once the instruction has completed (a fault leaves them alone)
    if (!Fpu.isControl(op, modrm)) {
      this.fip = this.nEip; this.fcs = this.nCs; this.fop = this.nOp;
      if (isMem) { this.fdp = this.nDp; this.fds = this.nDs; }
    }
    return eflags;
  }

  private dispatch(op: number, modrm: number, reg: number, isMem: boolean, lin: number, mode: number, eflags: number): number {
    if (isMem) {
      switch (op) {
        case 0xd8: this.loadMemF32(lin); this.arithMem(reg); break;
        case 0xdc: this.read64(lin); loadF64(this.f64[0], this.f64[1]); this.arithMem(reg); break;
        case 0xda: this.loadInt(this.host.read32(lin) | 0); this.arithMem(reg); break;
        case 0xde: this.loadInt((this.host.read16(lin) << 16) >> 16); this.arithMem(reg); break;
        case 0xd9: this.memD9(reg, lin, mode); break;
        case 0xdb: this.memDB(reg, lin); break;
        case 0xdd: this.memDD(reg, lin, mode); break;
        case 0xdf: this.memDF(reg, lin); break;
      }
    } else {
      const i = modrm & 7;
      switch (op) {
        case 0xd8:
          if (reg === 2 || reg === 3) this.compare(i, false, reg === 3 ? 1 : 0);
          else this.arithReg(0, i, reg, false);
          break;
        case 0xdc:
          if (reg === 2 || reg === 3) this.compare(i, false, reg === 3 ? 1 : 0);
          else this.arithReg(i, 0, reg ^ (reg >= 4 ? 1 : 0), false);
          break;
        case 0xde:
          if (reg === 2) this.compare(i, false, 1);
          else if (reg === 3) { if (i === 1) this.compare(1, false, 2); }
          else this.arithReg(i, 0, reg ^ (reg >= 4 ? 1 : 0), true);
          break;
        case 0xd9: this.regD9(modrm); break;
        case 0xda:
          if (modrm === 0xe9) this.compare(1, true, 2);
          else if (modrm < 0xe0) this.fcmov(i, Fpu.cond(reg & 3, eflags));
          break;
        case 0xdb:
          if (modrm < 0xe0) this.fcmov(i, !Fpu.cond(reg & 3, eflags));
          else if (modrm === 0xe2) this.sw &= ~(0x80ff);
          else if (modrm === 0xe3) this.init();
          else if (reg === 5) return this.comi(i, true, false, eflags);
          else if (reg === 6) return this.comi(i, false, false, eflags);
          break;
        case 0xdd:
          switch (reg) {
            case 0: this.tags[this.phys(i)] = TAG_EMPTY; this.setC1(0); break;
            case 1: this.fxch(i); break;
            case 2: this.fstReg(i, false); break;
            case 3: this.fstReg(i, true); break;
            case 4: this.compare(i, true, 0); break;
            case 5: this.compare(i, true, 1); break;
          }
          break;
        case 0xdf:
          switch (reg) {
            case 0: this.tags[this.phys(i)] = TAG_EMPTY; this.pop(); this.setC1(0); break;
            case 1: this.fxch(i); break;
            case 2: case 3: this.fstReg(i, true); break;
            case 5: return this.comi(i, true, true, eflags);
            case 6: return this.comi(i, false, true, eflags);
          }
          break;
      }
    }
    this.finish();
    return eflags;
  }

  private static cond(c: number, fl: number): boolean {
    switch (c) {
      case 0: return (fl & CF) !== 0;
      case 1: return (fl & ZF) !== 0;
      case 2: return (fl & (CF | ZF)) !== 0;
      default: return (fl & PF) !== 0;
    }
  }

  // ------------------------------------------------------------ operand loading

  /** Memory operands are converted into the b-operand slot (bS/bE/bM). */
  private bS = 0; private bE = 0; private bM = 0n;

  private loadMemF32(lin: number): void {
    loadF32(this.host.read32(lin) >>> 0);
    this.bS = R.s; this.bE = R.e; this.bM = R.m;
  }
  private loadInt(v: number): void {
    fromInt(v < 0 ? 1 : 0, BigInt(v < 0 ? -v : v));
    if (v === 0) R.s = 0;
    this.bS = R.s; this.bE = R.e; this.bM = R.m;
  }

  /** D8/DC/DA/DE memory forms: ST0 op= operand in R. */
  private arithMem(reg: number): void {
    this.bS = R.s; this.bE = R.e; this.bM = R.m;
    // a denormal memory operand reports DE only if ST0 is not a NaN / unsupported
    if ((R.exc & DE) !== 0 && !this.empty(0) && classify(this.re[this.top], this.rm[this.top]) >= C_QNAN) R.exc &= ~DE;
    if (reg === 2 || reg === 3) { this.compareWith(this.bS, this.bE, this.bM, false, reg === 3 ? 1 : 0); return; }
    if (this.empty(0)) {
      if (this.underflow()) this.setSt(0, 1, EXT_EMAX, INDEF_M);
      return;
    }
    const p = this.top;
    this.doArith(reg, this.rs[p], this.re[p], this.rm[p], this.bS, this.bE, this.bM);
    if (this.blocked()) { this.setC1(0); return; }
    this.setPhys(p, R.s, R.e, R.m);
    this.setC1(R.up);
  }

  private doArith(reg: number, as: number, ae: number, am: bigint, bs: number, be: number, bm: bigint): void {
    const bits = this.pcBits();
    switch (reg) {
      case 0: arith(OP_ADD, as, ae, am, bs, be, bm, bits); break;
      case 1: arith(OP_MUL, as, ae, am, bs, be, bm, bits); break;
      case 4: arith(OP_SUB, as, ae, am, bs, be, bm, bits); break;
      case 5: arith(OP_SUB, bs, be, bm, as, ae, am, bits); break;
      case 6: arith(OP_DIV, as, ae, am, bs, be, bm, bits); break;
      case 7: arith(OP_DIV, bs, be, bm, as, ae, am, bits); break;
    }
  }

  /** ST(d) = ST(d) op ST(s) (reg = operation with sub/div meaning dest-first). */
  private arithReg(d: number, s: number, reg: number, popAfter: boolean): void {
    const pd = this.phys(d), ps = this.phys(s);
    if (this.tags[pd] === TAG_EMPTY || this.tags[ps] === TAG_EMPTY) {
      if (this.underflow()) { this.setPhys(pd, 1, EXT_EMAX, INDEF_M); if (popAfter) this.pop(); }
      return;
    }
    this.doArith(reg, this.rs[pd], this.re[pd], this.rm[pd], this.rs[ps], this.re[ps], this.rm[ps]);
    if (this.blocked()) { this.setC1(0); return; }
    this.setPhys(pd, R.s, R.e, R.m);
    this.setC1(R.up);
    if (popAfter) this.pop();
  }

  // ------------------------------------------------------------ comparisons

  /** Compare ST0 with ST(i) (unordered = FUCOM semantics); pops 0/1/2. */
  private compare(i: number, unordered: boolean, pops: number): void {
    if (this.empty(0) || this.empty(i)) { this.compareUnderflow(pops); return; }
    const p = this.phys(i);
    this.compareWith(this.rs[p], this.re[p], this.rm[p], unordered, pops);
  }

  /** Stack underflow in a compare: unordered even when IE is unmasked; pops only if masked. */
  private compareUnderflow(pops: number): void {
    const masked = this.underflow();
    this.setCC(1, 1, 0, 1);
    if (masked) for (let k = 0; k < pops; k++) this.pop();
  }

  /** Returns -1, 0, 1 or 2 (unordered); raises IE/DE. */
  private cmp(as: number, ae: number, am: bigint, bs: number, be: number, bm: bigint, unordered: boolean): number {
    const ca = classify(ae, am), cb = classify(be, bm);
    if (ca >= C_QNAN || cb >= C_QNAN) {
      if (!unordered || ca !== C_QNAN || cb === C_SNAN || cb === C_UNSUPPORTED) {
        if (!unordered || ca === C_SNAN || cb === C_SNAN || ca === C_UNSUPPORTED || cb === C_UNSUPPORTED) R.exc |= IE;
      }
      return 2;
    }
    if (ca === C_DENORMAL || cb === C_DENORMAL) R.exc |= DE;
    return cmpValues(as, ae, am, bs, be, bm);
  }

  private compareWith(bs: number, be: number, bm: bigint, unordered: boolean, pops: number): void {
    if (this.empty(0)) { this.compareUnderflow(pops); return; }
    const p = this.top;
    const r = this.cmp(this.rs[p], this.re[p], this.rm[p], bs, be, bm, unordered);
    this.setCC(r === 0 || r === 2 ? 1 : 0, r === 2 ? 1 : 0, 0, r < 0 || r === 2 ? 1 : 0);
    if (this.blocked()) return;
    for (let k = 0; k < pops; k++) this.pop();
  }

  /** FCOMI/FUCOMI(P): result in ZF/PF/CF. */
  private comi(i: number, unordered: boolean, popAfter: boolean, fl: number): number {
    fl &= ~(CF | PF | AF | ZF | SF_FLAG | OF);
    // C1 is left alone (only a stack underflow clears it); flags are set even when the exception is unmasked
    if (this.empty(0) || this.empty(i)) {
      const masked = this.underflow();
      fl |= CF | PF | ZF;
      if (masked && popAfter) this.pop();
      this.finish();
      return fl;
    }
    const pa = this.top, pb = this.phys(i);
    const r = this.cmp(this.rs[pa], this.re[pa], this.rm[pa], this.rs[pb], this.re[pb], this.rm[pb], unordered);
    if (r === 2) fl |= CF | PF | ZF;
    else if (r === 0) fl |= ZF;
    else if (r < 0) fl |= CF;
    if (!this.blocked() && popAfter) this.pop();
    this.finish();
    return fl;
  }

  private fcmov(i: number, doMove: boolean): void {
    if (this.empty(0) || this.empty(i)) {
      // masked underflow: ST0 gets the indefinite whether or not the condition holds
      if (this.underflow()) this.setSt(0, 1, EXT_EMAX, INDEF_M);
      return;
    }
    if (doMove) { const p = this.phys(i); this.setSt(0, this.rs[p], this.re[p], this.rm[p]); }
  }

  // ------------------------------------------------------------ register forms

  private fxch(i: number): void {
    const pa = this.top, pb = this.phys(i);
    if (this.tags[pa] === TAG_EMPTY || this.tags[pb] === TAG_EMPTY) {
      if (!this.underflow()) return;
      if (this.tags[pa] === TAG_EMPTY) this.setPhys(pa, 1, EXT_EMAX, INDEF_M);
      if (this.tags[pb] === TAG_EMPTY) this.setPhys(pb, 1, EXT_EMAX, INDEF_M);
    } else this.setC1(0);
    const s = this.rs[pa], e = this.re[pa], m = this.rm[pa];
    this.setPhys(pa, this.rs[pb], this.re[pb], this.rm[pb]);
    this.setPhys(pb, s, e, m);
  }

  private fstReg(i: number, popAfter: boolean): void {
    if (this.empty(0)) {
      if (this.underflow()) { this.setSt(i, 1, EXT_EMAX, INDEF_M); if (popAfter) this.pop(); }
      return;
    }
    this.setC1(0);
    const p = this.top;
    this.setSt(i, this.rs[p], this.re[p], this.rm[p]);
    if (popAfter) this.pop();
  }

  private fldSt(s: number, e: number, m: bigint): void {
    if (!this.empty(7)) { this.overflow(); return; }
    this.setC1(0);
    this.push(s, e, m);
  }

  private regD9(modrm: number): void {
    const i = modrm & 7;
    if (modrm < 0xc8) { // FLD ST(i)
      const p = this.phys(i);
      if (this.tags[p] === TAG_EMPTY) { // underflow wins over overflow (C1 = 0)
        if (this.underflow()) this.push(1, EXT_EMAX, INDEF_M);
        return;
      }
      this.fldSt(this.rs[p], this.re[p], this.rm[p]);
      return;
    }
    if (modrm < 0xd0) { this.fxch(i); return; }
    if (modrm === 0xd0) return; // FNOP
    if (modrm >= 0xd8 && modrm < 0xe0) { // FSTP1 alias: with ST0 empty it only pops (observed on the host)
      if (this.empty(0)) { this.pop(); this.setC1(0); } else this.fstReg(i, true);
      return;
    }
    const p = this.top;
    switch (modrm) {
      case 0xe0: case 0xe1: // FCHS, FABS
        if (this.empty(0)) { if (this.underflow()) this.setSt(0, 1, EXT_EMAX, INDEF_M); return; }
        this.setC1(0);
        this.rs[p] = modrm === 0xe0 ? this.rs[p] ^ 1 : 0;
        return;
      case 0xe4: // FTST
        this.compareWith(0, 0, 0n, false, 0);
        return;
      case 0xe5: this.fxam(); return;
      case 0xe8: case 0xe9: case 0xea: case 0xeb: case 0xec: case 0xed: case 0xee:
        if (!this.empty(7)) { this.overflow(); return; }
        T.constant(modrm - 0xe8);
        this.setC1(0);
        this.push(R.s, R.e, R.m);
        return;
      case 0xf6: this.top = (this.top - 1) & 7; this.setC1(0); return;
      case 0xf7: this.top = (this.top + 1) & 7; this.setC1(0); return;
      case 0xfa: this.unaryOp(0); return;
      case 0xfc: this.unaryOp(1); return;
      case 0xfe: this.sw &= ~C2; this.unaryOp(2); return; // trig: C2 = 0 unless out of range
      case 0xff: this.sw &= ~C2; this.unaryOp(3); return;
      case 0xf0: this.unaryOp(4); return;
      case 0xf4: this.fxtract(); return;
      case 0xf2: this.sw &= ~C2; this.fptan(); return;
      case 0xfb: this.sw &= ~C2; this.fsincos(); return;
      case 0xf1: this.binaryPop(0); return;
      case 0xf3: this.binaryPop(1); return;
      case 0xf9: this.binaryPop(2); return;
      case 0xfd: this.fscale(); return;
      case 0xf8: this.fprem(false); return;
      case 0xf5: this.fprem(true); return;
    }
  }

  private fxam(): void {
    const p = this.top;
    const sign = this.rs[p];
    if (this.tags[p] === TAG_EMPTY) { this.setCC(1, 0, sign, 1); return; }
    switch (classify(this.re[p], this.rm[p])) {
      case C_UNSUPPORTED: this.setCC(0, 0, sign, 0); break;
      case C_QNAN: case C_SNAN: this.setCC(0, 0, sign, 1); break;
      case C_NORMAL: this.setCC(0, 1, sign, 0); break;
      case C_INF: this.setCC(0, 1, sign, 1); break;
      case C_ZERO: this.setCC(1, 0, sign, 0); break;
      default: this.setCC(1, 1, sign, 0); break;
    }
  }

  /** FSQRT, FRNDINT, FSIN, FCOS, F2XM1 (result replaces ST0). */
  private unaryOp(kind: number): void {
    if (this.empty(0)) { if (this.underflow()) this.setSt(0, 1, EXT_EMAX, INDEF_M); return; }
    const p = this.top;
    const s = this.rs[p], e = this.re[p], m = this.rm[p];
    let c2 = -1;
    switch (kind) {
      case 0: sqrt(s, e, m, this.pcBits()); break;
      case 1: frndint(s, e, m); break;
      case 2: c2 = T.fsin(s, e, m) ? 1 : 0; break;
      case 3: c2 = T.fcos(s, e, m) ? 1 : 0; break;
      default: T.f2xm1(s, e, m); break;
    }
    if (this.stopped()) return;
    if (c2 === 1) { this.sw |= C2; return; }
    if (c2 === 0) this.sw &= ~C2;
    this.setPhys(p, R.s, R.e, R.m);
    this.setC1(R.up);
  }

  private fptan(): void {
    if (this.empty(0)) {
      if (this.underflow()) { this.setSt(0, 1, EXT_EMAX, INDEF_M); this.push(1, EXT_EMAX, INDEF_M); }
      return;
    }
    if (!this.empty(7)) { this.overflow2(); return; }
    const p = this.top;
    const outOfRange = T.ftan(this.rs[p], this.re[p], this.rm[p]);
    if (this.stopped()) return;
    if (outOfRange) { this.sw |= C2; return; }
    this.sw &= ~C2;
    this.setPhys(p, R.s, R.e, R.m);
    this.setC1(R.up);
    const isNaN = classify(R.e, R.m) >= C_QNAN;
    if (isNaN) this.push(R.s, R.e, R.m);
    else this.push(0, EXT_BIAS, J_BIT);
  }

  private fsincos(): void {
    if (this.empty(0)) {
      if (this.underflow()) { this.setSt(0, 1, EXT_EMAX, INDEF_M); this.push(1, EXT_EMAX, INDEF_M); }
      return;
    }
    if (!this.empty(7)) { this.overflow2(); return; }
    const p = this.top;
    const s = this.rs[p], e = this.re[p], m = this.rm[p];
    const out = T.fsin(s, e, m);
    if (this.stopped()) return;
    if (out) { this.sw |= C2; return; }
    const ss = R.s, se = R.e, sm = R.m, sup = R.up;
    T.fcos(s, e, m);
    const cup = R.up;
    this.sw &= ~C2;
    this.setPhys(p, ss, se, sm);
    this.push(R.s, R.e, R.m);
    this.setC1(cup || sup);
  }

  private fxtract(): void {
    if (this.empty(0)) {
      if (this.underflow()) { this.setSt(0, 1, EXT_EMAX, INDEF_M); this.push(1, EXT_EMAX, INDEF_M); }
      return;
    }
    if (!this.empty(7)) { this.overflow2(); return; }
    const p = this.top;
    const s = this.rs[p], e = this.re[p], m = this.rm[p];
    const c = classify(e, m);
    this.setC1(0);
    switch (c) {
      case C_UNSUPPORTED: R.exc |= IE; if (this.stopped()) return;
        this.setPhys(p, 1, EXT_EMAX, INDEF_M); this.push(1, EXT_EMAX, INDEF_M); return;
      case C_SNAN: case C_QNAN:
        if (c === C_SNAN) { R.exc |= IE; if (this.stopped()) return; }
        this.setPhys(p, s, e, m | Q_BIT); this.push(s, e, m | Q_BIT); return;
      case C_INF:
        this.setPhys(p, 0, EXT_EMAX, J_BIT); this.push(s, e, m); return;
      case C_ZERO:
        R.exc |= ZE; if (this.stopped()) return;
        this.setPhys(p, 1, EXT_EMAX, J_BIT); this.push(s, 0, 0n); return;
    }
    let ee = e, mm = m;
    if (c === C_DENORMAL) {
      R.exc |= DE; if (this.stopped()) return;
      const sh = 64 - bitLen(m);
      mm = m << BigInt(sh);
      ee = 1 - sh;
    }
    const x = ee - EXT_BIAS;
    fromInt(x < 0 ? 1 : 0, BigInt(x < 0 ? -x : x));
    this.setPhys(p, R.s, R.e, R.m);
    this.push(s, EXT_BIAS, mm);
  }

  /** FYL2X (0), FPATAN (1), FYL2XP1 (2): ST1 = f(ST1, ST0), pop. */
  private binaryPop(kind: number): void {
    if (this.empty(0) || this.empty(1)) {
      if (this.underflow()) { this.setSt(1, 1, EXT_EMAX, INDEF_M); this.pop(); }
      return;
    }
    const p0 = this.top, p1 = this.phys(1);
    const xs = this.rs[p0], xe = this.re[p0], xm = this.rm[p0];
    const ys = this.rs[p1], ye = this.re[p1], ym = this.rm[p1];
    switch (kind) {
      case 0: T.fyl2x(ys, ye, ym, xs, xe, xm); break;
      case 1: T.fpatan(ys, ye, ym, xs, xe, xm); break;
      default: T.fyl2xp1(ys, ye, ym, xs, xe, xm); break;
    }
    if (this.stopped()) return;
    this.setPhys(p1, R.s, R.e, R.m);
    this.setC1(R.up);
    this.pop();
  }

  private fscale(): void {
    if (this.empty(0) || this.empty(1)) { if (this.underflow()) this.setSt(0, 1, EXT_EMAX, INDEF_M); return; }
    const p0 = this.top, p1 = this.phys(1);
    T.fscale(this.rs[p0], this.re[p0], this.rm[p0], this.rs[p1], this.re[p1], this.rm[p1]);
    if (this.stopped()) return;
    this.setPhys(p0, R.s, R.e, R.m);
    this.setC1(R.up);
  }

  private fprem(ieee: boolean): void {
    if (this.empty(0) || this.empty(1)) {
      this.sw &= ~C2;
      if (this.underflow()) this.setSt(0, 1, EXT_EMAX, INDEF_M);
      return;
    }
    const p0 = this.top, p1 = this.phys(1);
    const q = T.fprem(this.rs[p0], this.re[p0], this.rm[p0], this.rs[p1], this.re[p1], this.rm[p1], ieee);
    if (this.stopped()) { this.sw &= ~C2; return; }
    this.setPhys(p0, R.s, R.e, R.m);
    if (q < 0) { // partial: C2 = 1
      this.sw = (this.sw & ~(C0 | C1 | C3)) | C2;
    } else if (q === T.PREM_SPECIAL) {
      this.sw &= ~(C1 | C2);
    } else {
      this.setCC(q & 2, 0, q & 1, q & 4);
    }
  }

  // ------------------------------------------------------------ memory forms

  private memD9(reg: number, lin: number, mode: number): void {
    switch (reg) {
      case 0: { // FLD m32
        const v = this.host.read32(lin) >>> 0;
        loadF32(v);
        this.fldConverted();
        return;
      }
      case 2: case 3: this.fstSmall(lin, 24, reg === 3); return;
      case 4: this.fldenv(lin, mode); return;
      case 5: this.fldcw(this.host.read16(lin)); return;
      case 6:
        storeEnv(this.host, lin, mode, this.cw, this.statusWord(), this.tagWord(), this);
        this.cw |= 0x3f;
        return;
      case 7: this.host.write16(lin, this.cw); return;
    }
  }

  /** Push the converted memory value in R (FLD m32/m64), with SNaN → IE. */
  private fldConverted(): void {
    const c = classify(R.e, R.m);
    if (!this.empty(7)) { this.overflow(); return; }
    if (c === C_SNAN) { R.exc |= IE; R.m |= Q_BIT; if (!this.ieMasked()) return; }
    // an unmasked DE does not stop a load
    this.fldSt(R.s, R.e, R.m);
  }

  private fldcw(v: number): void {
    this.cw = (v & 0x1f3f) | 0x40;
    if ((this.sw & ~this.cw & 0x3f) !== 0) this.sw |= ES_B; else this.sw &= ~ES_B;
  }

  private fstSmall(lin: number, bits: number, popAfter: boolean): void {
    if (this.empty(0)) {
      if (this.underflow()) {
        if (bits === 24) this.host.write32(lin, 0xffc00000);
        else { this.host.write32(lin + 4, 0xfff80000); this.host.write32(lin, 0); }
        if (popAfter) this.pop();
      }
      return;
    }
    const p = this.top;
    if (bits === 53 && storeF64Fast(this.rs[p], this.re[p], this.rm[p], this.f64)) { // common case
      this.host.write32(lin + 4, this.f64[1]);
      this.host.write32(lin, this.f64[0]);
      this.setC1(R.up);
      if (popAfter) this.pop();
      return;
    }
    if (bits === 24) toSmall(this.rs[p], this.re[p], this.rm[p], 24, 127, 0xff);
    else toSmall(this.rs[p], this.re[p], this.rm[p], 53, 1023, 0x7ff);
    if ((R.exc & ~this.cw & (IE | OE | UE)) !== 0) { R.exc &= ~PE; this.setC1(0); return; } // nothing stored
    if (bits === 24) this.host.write32(lin, packF32());
    else {
      packF64(this.f64);
      this.host.write32(lin + 4, this.f64[1]);
      this.host.write32(lin, this.f64[0]);
    }
    this.setC1(R.up);
    if (popAfter) this.pop();
  }

  private memDB(reg: number, lin: number): void {
    switch (reg) {
      case 0: this.loadInt(this.host.read32(lin) | 0); this.fldSt(R.s, R.e, R.m); return;
      case 2: case 3: this.fist(lin, 2, reg === 3); return;
      case 5: { this.read80(lin); if (this.empty(7)) this.fldSt(R.s, R.e, R.m); else this.overflow(); return; }
      case 7:
        if (this.empty(0)) {
          if (this.underflow()) { this.write80(lin, 1, EXT_EMAX, INDEF_M); this.pop(); }
          return;
        }
        this.write80(lin, this.rs[this.top], this.re[this.top], this.rm[this.top]);
        this.setC1(0);
        this.pop();
        return;
    }
  }

  private memDD(reg: number, lin: number, mode: number): void {
    switch (reg) {
      case 0: this.read64(lin); loadF64(this.f64[0], this.f64[1]); this.fldConverted(); return;
      case 2: case 3: this.fstSmall(lin, 53, reg === 3); return;
      case 4: this.frstor(lin, mode); return;
      case 6: this.fsave(lin, mode); return;
      case 7: this.host.write16(lin, this.statusWord()); return;
    }
  }

  private memDF(reg: number, lin: number): void {
    switch (reg) {
      case 0: this.loadInt((this.host.read16(lin) << 16) >> 16); this.fldSt(R.s, R.e, R.m); return;
      case 2: case 3: this.fist(lin, 1, reg === 3); return;
      case 4: this.fbld(lin); return;
      case 5: {
        const lo = BigInt(this.host.read32(lin) >>> 0), hi = BigInt.asIntN(32, BigInt(this.host.read32(lin + 4)));
        const v = (hi << 32n) | lo;
        fromInt(v < 0n ? 1 : 0, v < 0n ? -v : v);
        this.fldSt(R.s, R.e, R.m);
        return;
      }
      case 6: this.fbstp(lin); return;
      case 7: this.fist(lin, 3, true); return;
    }
  }

  /** FIST/FISTP: size 1 = m16, 2 = m32, 3 = m64. */
  private fist(lin: number, size: number, popAfter: boolean): void {
    let v: bigint;
    if (this.empty(0)) {
      if (!this.underflow()) return;
      v = -INT_MAX[size] - 1n;
    } else {
      const p = this.top;
      const s = this.rs[p], e = this.re[p], m = this.rm[p];
      const c = classify(e, m);
      if (c >= C_INF) { R.exc |= IE; v = -INT_MAX[size] - 1n; }
      else {
        const mag = roundToIntMag(s, e, m);
        if (mag > INT_MAX[size] + BigInt(s)) { R.exc = (R.exc & ~PE) | IE; R.up = 0; v = -INT_MAX[size] - 1n; }
        else v = s ? -mag : mag;
      }
      if ((R.exc & IE) !== 0 && !this.ieMasked()) return;
      this.setC1(R.up);
    }
    const h = this.host;
    switch (size) {
      case 1: h.write16(lin, Number(v) & 0xffff); break;
      case 2: h.write32(lin, Number(BigInt.asUintN(32, v))); break;
      default: {
        const u = BigInt.asUintN(64, v);
        h.write32(lin + 4, Number(u >> 32n));
        h.write32(lin, Number(u & 0xffffffffn));
      }
    }
    if (popAfter) this.pop();
  }

  private fbld(lin: number): void {
    let v = 0n;
    for (let i = 8; i >= 0; i--) {
      const b = this.host.read8(lin + i);
      v = v * 100n + BigInt((b >> 4) * 10 + (b & 15));
    }
    const s = this.host.read8(lin + 9) >> 7;
    fromInt(s, v);
    this.fldSt(R.s, R.e, R.m);
  }

  private readonly bcd = new Uint8Array(10);
  private fbstp(lin: number): void {
    const out = this.bcd;
    out.fill(0);
    if (this.empty(0)) {
      if (!this.underflow()) return;
      out[7] = 0xc0; out[8] = 0xff; out[9] = 0xff;
    } else {
      const p = this.top;
      const s = this.rs[p], e = this.re[p], m = this.rm[p];
      const c = classify(e, m);
      let mag = 0n;
      if (c >= C_INF) R.exc |= IE;
      else {
        mag = roundToIntMag(s, e, m);
        if (mag > 999999999999999999n) { R.exc = (R.exc & ~PE) | IE; R.up = 0; }
      }
      if ((R.exc & IE) !== 0) {
        if (!this.ieMasked()) return;
        out[7] = 0xc0; out[8] = 0xff; out[9] = 0xff;
      } else {
        for (let i = 0; i < 9; i++) {
          const lo = Number(mag % 10n); mag /= 10n;
          const hi = Number(mag % 10n); mag /= 10n;
          out[i] = (hi << 4) | lo;
        }
        out[9] = s << 7;
      }
      this.setC1(R.up);
    }
    this.host.write8(lin + 9, out[9]);
    for (let i = 0; i < 9; i++) this.host.write8(lin + i, out[i]);
    this.pop();
  }

  // ------------------------------------------------------------ environment

  /** Load from an environment image: CW, SW (with TOP), tag word (only empty/non-empty kept). */
  setEnvironment(cw: number, sw: number, tw: number): void {
    this.cw = (cw & 0x1f3f) | 0x40;
    this.sw = sw & 0x477f;
    // ES (and B, which mirrors it) follow the loaded flags and masks, as on the host
    if ((this.sw & ~this.cw & 0x3f) !== 0) this.sw |= ES_B;
    this.top = (sw >> 11) & 7;
    for (let i = 0; i < 8; i++) {
      if (((tw >> (2 * i)) & 3) === TAG_EMPTY) this.tags[i] = TAG_EMPTY;
      else this.tags[i] = Fpu.tagFor(this.re[i], this.rm[i]);
    }
  }

  private fldenv(lin: number, mode: number): void {
    loadEnv(this.host, lin, mode, this);
  }

  private fsave(lin: number, mode: number): void {
    const h = this.host;
    const base = lin + envSize(mode);
    // registers first (highest addresses), then the environment, then FNINIT
    for (let i = 7; i >= 0; i--) {
      const p = this.phys(i);
      this.write80(base + 10 * i, this.rs[p], this.re[p], this.rm[p]);
    }
    storeEnv(h, lin, mode, this.cw, this.statusWord(), this.tagWord(), this);
    this.init();
  }

  private frstor(lin: number, mode: number): void {
    const base = lin + envSize(mode);
    const rs = new Uint8Array(8), re = new Uint16Array(8), rm = new BigUint64Array(8);
    for (let i = 0; i < 8; i++) { this.read80(base + 10 * i); rs[i] = R.s; re[i] = R.e; rm[i] = R.m; }
    loadEnv(this.host, lin, mode, this, (top: number) => {
      for (let i = 0; i < 8; i++) {
        const p = (top + i) & 7;
        this.rs[p] = rs[i]; this.re[p] = re[i]; this.rm[p] = rm[i];
      }
    });
  }

  /** FXSAVE: 512-byte image (legacy 32-bit layout, XMM0-7). */
  fxsave(lin: number, _mode: number): void {
    const h = this.host;
    h.write32(lin + 508, 0); // probe the highest byte first
    h.write16(lin, this.cw);
    h.write16(lin + 2, this.statusWord());
    let ftw = 0;
    for (let i = 0; i < 8; i++) if (this.tags[i] !== TAG_EMPTY) ftw |= 1 << i;
    h.write8(lin + 4, ftw);
    h.write8(lin + 5, 0);
    h.write16(lin + 6, this.fop);
    h.write32(lin + 8, this.fip);
    h.write16(lin + 12, this.fcs);
    h.write16(lin + 14, 0);
    h.write32(lin + 16, this.fdp);
    h.write16(lin + 20, this.fds);
    h.write16(lin + 22, 0);
    h.write32(lin + 24, this.mxcsr);
    h.write32(lin + 28, this.mxcsrMask);
    for (let i = 0; i < 8; i++) {
      const p = this.phys(i);
      const a = lin + 32 + 16 * i;
      this.write80(a, this.rs[p], this.re[p], this.rm[p]);
      h.write16(a + 10, 0); h.write32(a + 12, 0);
    }
    for (let i = 0; i < 128; i++) h.write8(lin + 160 + i, this.xmm[i]);
  }

  /** FXRSTOR from a 512-byte image. */
  fxrstor(lin: number, _mode: number): void {
    const h = this.host;
    const cw = h.read16(lin), sw = h.read16(lin + 2), ftw = h.read8(lin + 4);
    const fop = h.read16(lin + 6), fip = h.read32(lin + 8), fcs = h.read16(lin + 12);
    const fdp = h.read32(lin + 16), fds = h.read16(lin + 20), mxcsr = h.read32(lin + 24);
    const rs = new Uint8Array(8), re = new Uint16Array(8), rm = new BigUint64Array(8);
    for (let i = 0; i < 8; i++) { this.read80(lin + 32 + 16 * i); rs[i] = R.s; re[i] = R.e; rm[i] = R.m; }
    const xmm = new Uint8Array(128);
    for (let i = 0; i < 128; i++) xmm[i] = h.read8(lin + 160 + i);
    // commit
    this.cw = (cw & 0x1f3f) | 0x40;
    this.sw = sw & 0x477f;
    if ((this.sw & ~this.cw & 0x3f) !== 0) this.sw |= ES_B;
    this.top = (sw >> 11) & 7;
    for (let i = 0; i < 8; i++) {
      const p = (this.top + i) & 7;
      this.rs[p] = rs[i]; this.re[p] = re[i]; this.rm[p] = rm[i];
    }
    for (let p = 0; p < 8; p++) this.tags[p] = (ftw >> p) & 1 ? Fpu.tagFor(this.re[p], this.rm[p]) : TAG_EMPTY;
    this.fop = fop & 0x7ff; this.fip = fip >>> 0; this.fcs = fcs; this.fdp = fdp >>> 0; this.fds = fds;
    this.mxcsr = mxcsr & this.mxcsrMask;
    this.xmm.set(xmm);
  }

  // ------------------------------------------------------------ state

  saveState(): FpuState {
    const regs: string[] = [];
    for (let i = 0; i < 8; i++) regs.push(`${this.rs[i]}:${this.re[i]}:${this.rm[i].toString(16)}`);
    return {
      cw: this.cw, sw: this.sw, top: this.top, tags: Array.from(this.tags), regs,
      fip: this.fip, fcs: this.fcs, fdp: this.fdp, fds: this.fds, fop: this.fop,
      mxcsr: this.mxcsr, xmm: Array.from(this.xmm),
    };
  }

  loadState(st: unknown): void {
    const s = st as FpuState;
    if (!s || typeof s !== 'object' || !Array.isArray(s.regs) || s.regs.length !== 8 || !Array.isArray(s.tags)) {
      throw new Error('fpu: invalid saved state');
    }
    this.cw = s.cw & 0xffff; this.sw = s.sw & 0xffff & ~0x3800; this.top = s.top & 7;
    for (let i = 0; i < 8; i++) {
      const [a, b, c] = String(s.regs[i]).split(':');
      this.rs[i] = Number(a) & 1; this.re[i] = Number(b) & 0x7fff; this.rm[i] = BigInt('0x' + (c || '0'));
      this.tags[i] = Number(s.tags[i]) & 3;
    }
    this.fip = s.fip >>> 0; this.fcs = s.fcs & 0xffff; this.fdp = s.fdp >>> 0; this.fds = s.fds & 0xffff;
    this.fop = s.fop & 0x7ff; this.mxcsr = s.mxcsr >>> 0;
    if (Array.isArray(s.xmm)) this.xmm.set(s.xmm.slice(0, 128));
  }
}

/** FRNDINT core: round ST0 to an integer under RC (into R). */
function frndint(s: number, e: number, m: bigint): void {
  const c = classify(e, m);
  switch (c) {
    case C_UNSUPPORTED: R.exc |= IE; setIndefinite(); return;
    case C_SNAN: R.exc |= IE; R.s = s; R.e = e; R.m = m | Q_BIT; R.up = 0; return;
    case C_QNAN: case C_INF: case C_ZERO: R.s = s; R.e = e; R.m = m; R.up = 0; return;
  }
  if (c === C_DENORMAL) R.exc |= DE;
  if (e >= EXT_BIAS + 63) { R.s = s; R.e = e; R.m = m; R.up = 0; return; }
  const mag = roundToIntMag(s, e, m);
  const up = R.up;
  fromInt(s, mag);
  R.up = up;
}

