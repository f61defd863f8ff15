/**
 * Runner for the SingleStepTests vectors in /work/shared/cpu-tests (see its
 * README for format, masks and the 286/8086-only behaviours skipped by rule).
 */
import { readFileSync, readdirSync, existsSync } from 'node:fs';
import { gunzipSync } from 'node:zlib';
import { join } from 'node:path';
import { MemoryBus } from '../../src/memory/memory-bus.js';
import { IoBus } from '../../src/bus/io-bus.js';
import { Cpu } from '../../src/cpu/cpu.js';
import { MODELS } from '../../src/cpu/models.js';

export const VECTOR_ROOT = process.env.CPU_TESTS_DIR ?? join(process.cwd(), '..', 'shared', 'cpu-tests');

interface Regs { [k: string]: number }
interface Test {
  idx: number; name: string; bytes: number[];
  initial: { regs: Regs; ram: [number, number][] };
  final: { regs: Regs; ram: [number, number][] };
  exception?: { number: number; flag_address: number };
  hash: string;
}
interface OpMeta { status?: string; 'flags-mask'?: number; reg?: Record<string, OpMeta> }

export interface FileResult { file: string; total: number; passed: number; skipped: number; failures: string[] }

const REGS16 = ['ax', 'cx', 'dx', 'bx', 'sp', 'bp', 'si', 'di'];
const SEGS = ['es', 'cs', 'ss', 'ds'];
const PREFIXES = new Set([0x26, 0x2e, 0x36, 0x3e, 0xf0, 0xf2, 0xf3]);
const OF = 0x800, SF = 0x80, ZF = 0x40, AF = 0x10, PF = 0x4, CF = 0x1;

export class VectorHarness {
  readonly mem = new MemoryBus(0x200000, 0x1000);
  readonly io = new IoBus();
  readonly cpu: Cpu;
  constructor() {
    this.mem.mapRam(0, 0x200000);
    this.cpu = new Cpu(this.mem, this.io, MODELS.pentium3!);
  }

  listFiles(set: '80286' | '8086'): string[] {
    const dir = set === '80286' ? join(VECTOR_ROOT, '80286', 'v1_real_mode') : join(VECTOR_ROOT, '8086', 'v1');
    if (!existsSync(dir)) return [];
    return readdirSync(dir).filter((f) => f.endsWith('.json.gz')).sort().map((f) => join(dir, f));
  }

  meta(set: string): Record<string, OpMeta> {
    return (JSON.parse(readFileSync(join(VECTOR_ROOT, set, 'metadata.json'), 'utf8')) as { opcodes: Record<string, OpMeta> }).opcodes;
  }

  runFile(path: string, set: '80286' | '8086', meta: Record<string, OpMeta>, maxFailures = 5): FileResult {
    const tests = JSON.parse(gunzipSync(readFileSync(path)).toString('utf8')) as Test[];
    const base = path.split('/').pop()!.replace('.json.gz', '');
    const [op, regStr] = base.split('.');
    const res: FileResult = { file: base, total: tests.length, passed: 0, skipped: 0, failures: [] };
    for (const t of tests) {
      // the ModRM reg field decides the metadata entry for group opcodes
      const prefixLen = this.prefixLen(t.bytes);
      const opByte = t.bytes[prefixLen]!;
      let m: OpMeta | undefined = meta[op!];
      let reg = regStr !== undefined ? Number(regStr) : -1;
      if (m?.reg !== undefined) {
        if (reg < 0) reg = (t.bytes[prefixLen + 1]! >> 3) & 7;
        m = m.reg[String(reg)];
      }
      const skip = this.skipReason(set, op!, opByte, reg, t, prefixLen, m);
      if (skip !== null) { res.skipped++; continue; }
      const err = set === '80286' ? this.run286(t, op!, reg, m) : this.run8086(t, op!, reg, m);
      if (err === undefined) res.skipped++; // skipped by a rule that needs the run (8086 offset-FFFFh wrap)
      else if (err === null) res.passed++;
      else if (res.failures.length < maxFailures) res.failures.push(`${t.name} [${t.hash.slice(0, 10)}]: ${err}`);
    }
    return res;
  }

  private prefixLen(bytes: number[]): number {
    let i = 0;
    while (i < bytes.length && PREFIXES.has(bytes[i]!)) i++;
    return i;
  }

  /** Skips defined by rule (README "286-only behaviour" and "8086 caveats"), never by test id. */
  private skipReason(set: string, op: string, opByte: number, reg: number, t: Test, pl: number, m: OpMeta | undefined): string | null {
    if (m?.status === 'undefined') return 'undefined opcode form';
    if (op === 'D8' || m?.status === 'fpu') { if (this.cpu.fpu === null) return 'ESC without FPU'; }
    if (set === '80286') {
      if (t.bytes.slice(0, pl).includes(0xf0)) {
        const modrm = t.bytes[pl + 1] ?? 0xc0;
        const mem = modrm < 0xc0;
        const g = (modrm >> 3) & 7;
        const lockable = mem && (
          (opByte < 0x40 && (opByte & 7) < 2 && (opByte & 0x38) !== 0x38)
          || (opByte >= 0x80 && opByte <= 0x83 && g !== 7) || opByte === 0x86 || opByte === 0x87
          || ((opByte === 0xf6 || opByte === 0xf7) && (g === 2 || g === 3)) || ((opByte === 0xfe || opByte === 0xff) && g < 2));
        if (!lockable) return 'LOCK on a non-lockable instruction (#UD on 386)';
      }
      if (t.bytes.length - 1 > 10) return 'longer than 10 bytes (#UD on 286 only)';
      if ((opByte === 0x8c || opByte === 0x8e) && [4, 5].includes((t.bytes[pl + 1]! >> 3) & 7)) return 'FS/GS do not exist on a 286 (#UD there)';
      return null;
    }
    // 8086 set
    const st = m?.status;
    if (st === 'undocumented' || st === 'alias' || st === 'prefix' || st === 'fpu') return '8086 non-normal opcode';
    const b = opByte;
    if (b === 0x54 || b === 0xd2 || b === 0xd3 || (b >= 0x60 && b <= 0x6f) || b === 0xc0 || b === 0xc1 || b === 0xc8 || b === 0xc9 || b === 0xf1) return '8086-specific';
    if ((b === 0x8f || b === 0xc6 || b === 0xc7) && reg !== 0) return '8086-specific';
    if (b === 0xfe && reg > 1) return '8086-specific';
    if ((b === 0xf6 || b === 0xf7) && reg >= 6) return '8086 divide semantics differ';
    if (b === 0x0f) return 'POP CS';
    if ((b === 0x8c || b === 0x8e) && ((t.bytes[pl + 1]! >> 3) & 7) > 3) return '8086 decodes 2 bits of the segment register field';
    if (b === 0xff && t.bytes[pl + 1] === 0xf4) return 'PUSH SP via FF /6 (8086 pushes the new SP)';
    if (b === 0x27 || b === 0x2f || b === 0x37 || b === 0x3f) return '8086 BCD adjust algorithm (286+ semantics are checked by the 80286 set)';
    void t;
    return null;
  }

  private flagMask(op: string, reg: number, t: Test, m: OpMeta | undefined, set: string): number {
    let mask = (m?.['flags-mask'] ?? 0xffff) & ~0xf000 & ~0x28;
    const grp = (o: string, regs: number[]): boolean => op.startsWith(o) && regs.includes(reg);
    if (grp('F6', [6, 7]) || grp('F7', [6, 7])) mask &= ~(OF | SF | ZF | AF | PF | CF);
    if (grp('F6', [4, 5]) || grp('F7', [4, 5]) || op === '69' || op === '6B') mask &= ~(SF | ZF | AF | PF);
    if (['C0', 'C1', 'D2', 'D3'].includes(op.slice(0, 2))) {
      const cnt = op.startsWith('D') ? t.initial.regs.cx! & 0xff : t.bytes[t.bytes.length - (set === '80286' ? 2 : 1)]!;
      if ((cnt & 31) !== 1) mask &= ~OF;
    }
    if (op === '37' || op === '3F') mask &= ~(OF | SF | ZF | PF);
    if (op === '27' || op === '2F') mask &= ~OF;
    if (op === 'D4' || op === 'D5') mask &= ~(OF | AF | CF);
    return mask;
  }

  private load(t: Test, flagsInit: number): void {
    const cpu = this.cpu, r = t.initial.regs;
    cpu.reset();
    for (let i = 0; i < 8; i++) cpu.r16[i << 1] = r[REGS16[i]!]!;
    for (let i = 0; i < 4; i++) cpu.setSegmentReal(i, r[SEGS[i]!]!);
    cpu.eip = r.ip!;
    cpu.eflags = flagsInit;
    const mem = this.mem.mem;
    for (const [a, v] of t.initial.ram) mem[a] = v;
  }

  private cleanup(t: Test): void {
    const mem = this.mem.mem;
    for (const [a] of t.initial.ram) mem[a] = 0;
    for (const [a] of t.final.ram) mem[a] = 0;
  }

  /**
   * `stringFault`: a string instruction that hit a segment-limit fault. The 286
   * has already stepped SI/DI (and CX under REP) when it faults; a 386 faults
   * before and restarts the iteration, so those registers are not compared.
   */
  private compare(t: Test, mask: number, ipAdjust: number, stringFault = false): string | null {
    const cpu = this.cpu;
    const exp: Regs = { ...t.initial.regs, ...t.final.regs };
    const errs: string[] = [];
    for (let i = 0; i < 8; i++) {
      if (stringFault && (i === 1 || i === 6 || i === 7)) continue;
      const got = cpu.r16[i << 1]!, want = exp[REGS16[i]!]!;
      if (got !== want) errs.push(`${REGS16[i]}=${got.toString(16)} want ${want.toString(16)}`);
    }
    for (let i = 0; i < 4; i++) {
      const got = cpu.segSel[i]!, want = exp[SEGS[i]!]!;
      if (got !== want) errs.push(`${SEGS[i]}=${got.toString(16)} want ${want.toString(16)}`);
    }
    const ip = (cpu.eip + ipAdjust) & 0xffff;
    if (ip !== exp.ip) errs.push(`ip=${ip.toString(16)} want ${exp.ip!.toString(16)}`);
    const fl = cpu.eflags & mask, wfl = exp.flags! & mask;
    if (fl !== wfl) errs.push(`flags=${fl.toString(16)} want ${wfl.toString(16)} (mask ${mask.toString(16)})`);
    const mem = this.mem.mem;
    // the FLAGS image sits 4 bytes above the final SP (the upstream flag_address is off by one for odd SP)
    const fa = t.exception !== undefined ? exp.ss! * 16 + ((exp.sp! + 4) & 0xffff) : -1;
    for (const [a, v] of t.final.ram) {
      let got = mem[a]!, want = v;
      if (fa >= 0 && (a === fa || a === fa + 1)) {
        const bm = a === fa ? mask & 0xff : (mask >> 8) & 0xff;
        got &= bm; want &= bm;
      }
      if (got !== want) errs.push(`[${a.toString(16)}]=${got.toString(16)} want ${want.toString(16)}`);
    }
    return errs.length === 0 ? null : errs.join(', ');
  }

  /**
   * 386 rule for segment-limit faults: a 286 reports #GP for an offset-FFFFh word
   * access even when the operand is SS-relative; a 386 raises #SS there. Returns
   * the vectors a 386 may raise for the test's expected #GP.
   */
  private limitFaultVectors(t: Test): number[] {
    const b = t.bytes;
    let i = 0, ovr = -1;
    while (PREFIXES.has(b[i]!)) { if (b[i] !== 0xf0 && b[i] !== 0xf2 && b[i] !== 0xf3) ovr = b[i]!; i++; }
    const op = b[i]!, modrm = b[i + 1]!;
    const stackOps = [0x06, 0x07, 0x0e, 0x16, 0x17, 0x1e, 0x1f, 0x60, 0x61, 0x68, 0x6a, 0x9a, 0x9c, 0x9d, 0xc2, 0xc3, 0xc8, 0xc9, 0xca, 0xcb, 0xcc, 0xcd, 0xce, 0xcf, 0xe8];
    const isStack = (op >= 0x50 && op <= 0x5f) || stackOps.includes(op) || op === 0x8f
      || (op === 0xff && [2, 3, 6].includes((modrm >> 3) & 7));
    const hasModrm = !isStack || op === 0x8f || op === 0xff;
    let memSS = false, memOther = false;
    if (hasModrm && modrm < 0xc0 && this.usesModrm(op)) {
      const rm = modrm & 7, mod = modrm >> 6;
      const bpBased = rm === 2 || rm === 3 || (rm === 6 && mod !== 0);
      const ss = ovr === 0x36 || (ovr === -1 && bpBased);
      if (ss) memSS = true; else memOther = true;
    } else if (!isStack && [0xa0, 0xa1, 0xa2, 0xa3, 0xd7].includes(op)) {
      if (ovr === 0x36) memSS = true; else memOther = true;
    } else if (!isStack && ((op >= 0xa4 && op <= 0xa7) || (op >= 0x6e && op <= 0x6f) || (op >= 0xac && op <= 0xad))) {
      if (ovr === 0x36) memSS = true; else memOther = true; // source DS:SI
      if (op >= 0xa4 && op <= 0xa7) memOther = true; // ES:DI
    } else if (!isStack) memOther = true;
    const v: number[] = [];
    if (isStack || memSS) v.push(12);
    if (memOther) v.push(13);
    if (op === 0xcd) v.push(b[i + 1]!); // INT n itself
    return v;
  }

  private usesModrm(op: number): boolean {
    if (op < 0x40) return (op & 7) < 4;
    return [0x62, 0x63, 0x69, 0x6b, 0x80, 0x81, 0x82, 0x83, 0x84, 0x85, 0x86, 0x87, 0x88, 0x89, 0x8a, 0x8b, 0x8c, 0x8d, 0x8e, 0x8f,
      0xc0, 0xc1, 0xc4, 0xc5, 0xc6, 0xc7, 0xd0, 0xd1, 0xd2, 0xd3, 0xf6, 0xf7, 0xfe, 0xff].includes(op) || (op >= 0xd8 && op <= 0xdf);
  }

  private run286(t: Test, op: string, reg: number, m: OpMeta | undefined): string | null {
    this.load(t, (t.initial.regs.flags! & 0x0fff) | 2);
    const cpu = this.cpu;
    const ex = t.exception?.number ?? -1;
    let allowed: number[] = [];
    if (ex === 13) {
      allowed = this.limitFaultVectors(t);
      // let #SS reach the same handler as the 286's #GP so the rest of the state can be compared
      const mem = this.mem.mem;
      for (let k = 0; k < 4; k++) mem[48 + k] = mem[52 + k]!;
    }
    cpu.lastVector = -1;
    let steps = 0;
    while (!cpu.halted && steps < 400) steps += cpu.run(400 - steps);
    let err = cpu.halted ? this.compare(t, this.flagMask(op, reg, t, m, '80286'), 0, ex === 13 && this.isString(t)) : 'did not reach HLT';
    if (err === null && ex === 13 && !allowed.includes(cpu.lastVector)) err = `raised vector ${cpu.lastVector}, 386 rule allows ${allowed.join('/')}`;
    if (ex === 13) { const mem = this.mem.mem; for (let k = 0; k < 4; k++) mem[48 + k] = 0; }
    this.cleanup(t);
    return err;
  }

  private isString(t: Test): boolean {
    const op = t.bytes[this.prefixLen(t.bytes)]!;
    return (op >= 0xa4 && op <= 0xa7) || (op >= 0xaa && op <= 0xaf) || (op >= 0x6c && op <= 0x6f);
  }

  private run8086(t: Test, op: string, reg: number, m: OpMeta | undefined): string | null | undefined {
    // one instruction only: the capture ends before a single-step trap would be taken, so TF is cleared
    this.load(t, (t.initial.regs.flags! & 0x0eff) | 2);
    this.cpu.setA20(false); // 8086: 20-bit addresses wrap at 1 MiB
    this.cpu.lastVector = -1;
    this.cpu.run(1);
    // REP string instructions that yield to interrupts restart themselves: finish them
    let guard = 0;
    while (this.cpu.eip === t.initial.regs.ip && guard++ < 100000 && (t.bytes.includes(0xf2) || t.bytes.includes(0xf3))) this.cpu.run(1);
    const mask = this.flagMask(op, reg, t, m, '8086') & 0x0eff;
    // FLAGS images pushed by PUSHF / INT: bits 12-15 read as 1 on an 8086, TF was cleared above
    const b = t.bytes[this.prefixLen(t.bytes)]!;
    const exp: Regs = { ...t.initial.regs, ...t.final.regs };
    const img = b === 0x9c ? exp.sp! : [0xcc, 0xcd, 0xce].includes(b) ? (exp.sp! + 4) & 0xffff : -1;
    const saved: [number, number][] = [];
    if (img >= 0) {
      for (const k of [0, 1]) {
        const a = (exp.ss! * 16 + ((img + k) & 0xffff)) & 0xfffff;
        const bm = k === 0 ? mask & 0xff : (mask >> 8) & 0xff;
        for (const e of t.final.ram) if (e[0] === a) { saved.push([a, this.mem.mem[a]!]); e[1] &= bm; this.mem.mem[a] = this.mem.mem[a]! & bm; }
      }
    }
    // a limit fault means a word access at offset FFFFh: it wraps silently on the 8086 and faults on a 386
    const limitFault = this.cpu.lastVector === 12 || this.cpu.lastVector === 13;
    const err = limitFault ? null : this.compare(t, mask, 0, false);
    this.cpu.setA20(true);
    if (limitFault) { this.cleanup(t); return undefined; }
    this.cleanup(t);
    return err;
  }
}
