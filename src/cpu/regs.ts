/**
 * Register file and lazily evaluated arithmetic flags.
 *
 * General registers live in one ArrayBuffer with 32-, 16- and 8-bit views
 * (EAX=0 ECX=1 EDX=2 EBX=3 ESP=4 EBP=5 ESI=6 EDI=7). Arithmetic instructions
 * record their operands and result (`lop`, `la`, `lb`, `lres`, `lmask`); the
 * six status flags are computed only when something reads them.
 */

export const CF = 0x1, PF = 0x4, AF = 0x10, ZF = 0x40, SF = 0x80, TF = 0x100, IF = 0x200, DF = 0x400, OF = 0x800;
export const IOPL = 0x3000, NT = 0x4000, RF = 0x10000, VM = 0x20000, AC = 0x40000, VIF = 0x80000, VIP = 0x100000, ID = 0x200000;
export const ARITH = CF | PF | AF | ZF | SF | OF;

export const ES = 0, CS = 1, SS = 2, DS = 3, FS = 4, GS = 5;
export const SEG_NAMES = ['es', 'cs', 'ss', 'ds', 'fs', 'gs'];

// lazy flag operations
export const L_NONE = 0, L_ADD = 1, L_SUB = 2, L_LOGIC = 3, L_INC = 4, L_DEC = 5, L_ADC = 6, L_SBB = 7;
/** Shifts: CF and OF are stored in `flags`, ZF/SF/PF come from the result, AF reads 0. */
export const L_SHF = 8;

export const PARITY = new Uint8Array(256);
for (let i = 0; i < 256; i++) {
  let p = 1;
  for (let b = i; b !== 0; b >>= 1) p ^= b & 1;
  PARITY[i] = p ? PF : 0;
}

/** Byte register n (AL CL DL BL AH CH DH BH) to its index in the 8-bit view. */
export const R8 = new Uint8Array([0, 4, 8, 12, 1, 5, 9, 13]);

export class Registers {
  readonly regBuf = new ArrayBuffer(32);
  readonly r32 = new Int32Array(this.regBuf);
  readonly r16 = new Uint16Array(this.regBuf);
  readonly r8 = new Uint8Array(this.regBuf);

  /** Offset of the next instruction byte (EIP) within CS. */
  eip = 0;
  /** EFLAGS except the six arithmetic flags while `lop` is not L_NONE. */
  flags = 2;
  lop = L_NONE;
  /**
   * Lazy-flag operands live in an Int32Array: full 32-bit values stored in
   * plain fields would leave V8's 31-bit Smi range and be boxed as doubles.
   */
  readonly lf = new Int32Array(8);
  get la(): number { return this.lf[0]!; } set la(v: number) { this.lf[0] = v; }
  get lb(): number { return this.lf[1]!; } set lb(v: number) { this.lf[1] = v; }
  get lres(): number { return this.lf[2]!; } set lres(v: number) { this.lf[2] = v; }
  get lmask(): number { return this.lf[3]!; } set lmask(v: number) { this.lf[3] = v; }
  get lsign(): number { return this.lf[4]!; } set lsign(v: number) { this.lf[4] = v; }
  get lcin(): number { return this.lf[5]!; } set lcin(v: number) { this.lf[5] = v; }

  // segment registers: selector, base, limit, access rights (descriptor bits 8..23 of the high dword)
  readonly segSel = new Uint16Array(6);
  readonly segBase = new Int32Array(6);
  readonly segLimit = new Float64Array(6);
  readonly segAR = new Int32Array(6);
  /** Fast-path limits for reads / writes (-1 = always take the checked slow path). */
  readonly segRL = new Float64Array(6);
  readonly segWL = new Float64Array(6);

  cr0 = 0x60000010; cr2 = 0; cr3 = 0; cr4 = 0;
  readonly dr = new Int32Array(8);
  gdtBase = 0; gdtLimit = 0xffff; idtBase = 0; idtLimit = 0x3ff;
  ldtSel = 0; ldtBase = 0; ldtLimit = 0xffff;
  trSel = 0; trBase = 0; trLimit = 0xffff; trType = 11;
  cpl = 0;
  efer = 0;
  sysenterCs = 0; sysenterEsp = 0; sysenterEip = 0;

  // ---- lazy flags ----
  getCF(): number {
    switch (this.lop) {
      case L_NONE: case L_INC: case L_DEC: case L_SHF: return this.flags & CF;
      case L_ADD: return (this.lres >>> 0) < (this.la >>> 0) ? 1 : 0;
      case L_ADC: return (this.lres >>> 0) < (this.la >>> 0) || (this.lcin !== 0 && this.lres === this.la) ? 1 : 0;
      case L_SUB: return (this.la >>> 0) < (this.lb >>> 0) ? 1 : 0;
      case L_SBB: return (this.la >>> 0) < (this.lb >>> 0) || (this.lcin !== 0 && this.la === this.lb) ? 1 : 0;
      default: return 0;
    }
  }
  getOF(): boolean {
    switch (this.lop) {
      case L_NONE: case L_SHF: return (this.flags & OF) !== 0;
      case L_ADD: case L_ADC: return ((this.la ^ this.lres) & (this.lb ^ this.lres) & this.lsign) !== 0;
      case L_SUB: case L_SBB: return ((this.la ^ this.lb) & (this.la ^ this.lres) & this.lsign) !== 0;
      case L_INC: return (this.lres >>> 0) === (this.lsign >>> 0);
      case L_DEC: return (this.lres >>> 0) === ((this.lsign - 1) >>> 0);
      default: return false;
    }
  }
  getZF(): boolean { return this.lop === L_NONE ? (this.flags & ZF) !== 0 : this.lres === 0; }
  getSF(): boolean { return this.lop === L_NONE ? (this.flags & SF) !== 0 : (this.lres & this.lsign) !== 0; }
  getPF(): boolean { return this.lop === L_NONE ? (this.flags & PF) !== 0 : PARITY[this.lres & 0xff] !== 0; }
  getAF(): boolean {
    switch (this.lop) {
      case L_NONE: return (this.flags & AF) !== 0;
      case L_LOGIC: case L_SHF: return false;
      case L_INC: case L_DEC: return ((this.la ^ 1 ^ this.lres) & 0x10) !== 0;
      default: return ((this.la ^ this.lb ^ this.lres) & 0x10) !== 0;
    }
  }

  /** Fold the lazy state into `flags`. */
  materialize(): void {
    if (this.lop === L_NONE) return;
    let f = this.flags & ~ARITH;
    f |= this.getCF();
    if (this.getPF()) f |= PF;
    if (this.getAF()) f |= AF;
    if (this.lres === 0) f |= ZF;
    if ((this.lres & this.lsign) !== 0) f |= SF;
    if (this.getOF()) f |= OF;
    this.flags = f;
    this.lop = L_NONE;
  }

  /** EFLAGS as the guest sees it. */
  getFlags(): number { this.materialize(); return (this.flags | 2) >>> 0; }

  /** Condition code n (0=O .. 15=G) of Jcc/SETcc/CMOVcc. */
  cond(n: number): boolean {
    let r: boolean;
    switch (n >> 1) {
      case 0: r = this.getOF(); break;
      case 1: r = this.getCF() !== 0; break;
      case 2: r = this.getZF(); break;
      case 3: r = this.getCF() !== 0 || this.getZF(); break;
      case 4: r = this.getSF(); break;
      case 5: r = this.getPF(); break;
      case 6: r = this.getSF() !== this.getOF(); break;
      default: r = this.getZF() || this.getSF() !== this.getOF(); break;
    }
    return (n & 1) !== 0 ? !r : r;
  }

  // ---- register access by size (1, 2, 4) ----
  getReg(n: number, sz: number): number {
    return sz === 4 ? this.r32[n]! : sz === 2 ? this.r16[n << 1]! : this.r8[R8[n]!]!;
  }
  setReg(n: number, sz: number, v: number): void {
    if (sz === 4) this.r32[n] = v; else if (sz === 2) this.r16[n << 1] = v; else this.r8[R8[n]!] = v;
  }
}
