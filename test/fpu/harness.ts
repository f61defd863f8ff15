/**
 * Test harness: runs x87 instructions on the host CPU (through host-oracle.c,
 * compiled once with gcc into os.tmpdir()) and on our Fpu, from the same
 * FSAVE image, and returns both final images for bit-exact comparison.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, readFileSync, renameSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Fpu, type FpuHost } from '../../src/cpu/fpu/fpu.js';

const here = dirname(fileURLToPath(import.meta.url));

let oraclePath = '';
export function oracle(): string {
  if (oraclePath) return oraclePath;
  const src = join(here, 'host-oracle.c');
  const hash = createHash('sha1').update(readFileSync(src)).digest('hex').slice(0, 12);
  const out = join(tmpdir(), `qemu-ts-fpu-oracle-${hash}`);
  if (!existsSync(out)) {
    const tmp = `${out}.${process.pid}`;
    execFileSync('gcc', ['-O1', '-o', tmp, src]);
    renameSync(tmp, out);
  }
  oraclePath = out;
  return out;
}

/** A value as (sign, biased exponent, 64-bit significand). */
export interface X { s: number; e: number; m: bigint }

export interface Case {
  code: number[];          // instruction bytes; memory operand as mod=00 rm=110
  state: Uint8Array;       // 108-byte FSAVE image (32-bit protected)
  mem?: Uint8Array;        // up to 128 bytes
  eflags?: number;
}

export interface Result { state: Uint8Array; mem: Uint8Array; eflags: number }

const hex = (b: Uint8Array): string => Buffer.from(b).toString('hex');
const unhex = (s: string): Uint8Array => new Uint8Array(Buffer.from(s, 'hex'));

export function runHost(cases: Case[]): Result[] {
  const input = cases.map((c) => {
    const mem = new Uint8Array(Math.max(128, c.mem?.length ?? 0)); if (c.mem) mem.set(c.mem);
    return `${hex(new Uint8Array(c.code))} ${hex(c.state)} ${hex(mem)} ${((c.eflags ?? 0x202) >>> 0).toString(16)}`;
  }).join('\n') + '\n';
  const r = spawnSync(oracle(), [], { input, maxBuffer: 1 << 30, encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`oracle failed: ${r.status} ${r.stdout.slice(-200)} ${r.stderr}`);
  const lines = r.stdout.trim().split('\n');
  if (lines.length !== cases.length) throw new Error(`oracle returned ${lines.length} of ${cases.length}`);
  return lines.map((l) => {
    const [s, m, f] = l.split(' ');
    return { state: unhex(s), mem: unhex(m), eflags: parseInt(f, 16) };
  });
}

export class FlatMem implements FpuHost {
  readonly b = new Uint8Array(0x3000);
  read8(a: number): number { return this.b[a]; }
  read16(a: number): number { return this.b[a] | (this.b[a + 1] << 8); }
  read32(a: number): number { return (this.read16(a) | (this.read16(a + 2) << 16)) >>> 0; }
  write8(a: number, v: number): void { this.b[a] = v; }
  write16(a: number, v: number): void { this.b[a] = v; this.b[a + 1] = v >> 8; }
  write32(a: number, v: number): void { this.write16(a, v & 0xffff); this.write16(a + 2, v >>> 16); }
}

export const STATE_AT = 0x100, MEM_AT = 0x800;

export function runOurs(cases: Case[]): Result[] {
  const mem = new FlatMem();
  const fpu = new Fpu(mem);
  return cases.map((c) => {
    mem.b.fill(0);
    mem.b.set(c.state, STATE_AT);
    if (c.mem) mem.b.set(c.mem, MEM_AT);
    fpu.execute(0xdd, 0x26, STATE_AT, 3, 0);
    let fl = c.eflags ?? 0x202;
    if (c.code[0] === 0x0f && c.code[1] === 0xae) { // FXSAVE / FXRSTOR [rsi]
      if (((c.code[2] >> 3) & 7) === 0) fpu.fxsave(MEM_AT, 3); else fpu.fxrstor(MEM_AT, 3);
    } else {
      // one instruction, or a sequence of two-byte x87 instructions (memory operand always [rsi])
      for (let k = 0; k + 1 < c.code.length; k += 2) fl = fpu.execute(c.code[k], c.code[k + 1], MEM_AT, 3, fl);
    }
    fpu.execute(0xdd, 0x36, STATE_AT, 3, 0);
    const n = Math.max(128, c.mem?.length ?? 0);
    return { state: mem.b.slice(STATE_AT, STATE_AT + 108), mem: mem.b.slice(MEM_AT, MEM_AT + n), eflags: fl };
  });
}

/** Build an FSAVE image: regs in ST order (ST0 first); others empty. */
export function makeState(cw: number, regs: X[], sw = 0, top = 0): Uint8Array {
  const st = new Uint8Array(108);
  const dv = new DataView(st.buffer);
  dv.setUint32(0, 0xffff0000 | cw, true);
  dv.setUint32(4, (0xffff0000 | (sw & ~0x3800) | (top << 11)) >>> 0, true);
  let tw = 0xffff;
  regs.forEach((r, i) => {
    const p = (top + i) & 7;
    tw &= ~(3 << (2 * p));
    writeX(st, 28 + 10 * i, r);
  });
  dv.setUint32(8, (0xffff0000 | tw) >>> 0, true);
  return st;
}

export function writeX(b: Uint8Array, off: number, x: X): void {
  const dv = new DataView(b.buffer, b.byteOffset);
  dv.setBigUint64(off, x.m, true);
  dv.setUint16(off + 8, (x.s << 15) | x.e, true);
}
export function readX(b: Uint8Array, off: number): X {
  const dv = new DataView(b.buffer, b.byteOffset);
  const se = dv.getUint16(off + 8, true);
  return { s: se >> 15, e: se & 0x7fff, m: dv.getBigUint64(off, true) };
}

export function fmtX(x: X): string {
  return `${x.s ? '-' : '+'}${x.e.toString(16).padStart(4, '0')}:${x.m.toString(16).padStart(16, '0')}`;
}

/** Describe the architecturally compared parts of a result (CW, SW, TW, ST0-7, memory, flags). */
export function describe(r: Result, memBytes = 16): string {
  const dv = new DataView(r.state.buffer, r.state.byteOffset);
  const regs: string[] = [];
  for (let i = 0; i < 8; i++) regs.push(fmtX(readX(r.state, 28 + 10 * i)));
  return `cw=${dv.getUint16(0, true).toString(16)} sw=${dv.getUint16(4, true).toString(16)} tw=${dv.getUint16(8, true).toString(16)} `
    + `st=[${regs.join(' ')}] mem=${hex(r.mem.slice(0, memBytes))} fl=${(r.eflags & 0x8d5).toString(16)}`;
}

// ------------------------------------------------------------------ value generators

/** Deterministic PRNG (xorshift128+ on BigInt-free 32-bit words). */
export class Rng {
  private a: number; private b: number; private c: number; private d: number;
  constructor(seed: number) { this.a = seed | 0 || 1; this.b = 0x9e3779b9; this.c = 0x243f6a88; this.d = 0xb7e15162; for (let i = 0; i < 16; i++) this.u32(); }
  u32(): number {
    const t = this.a ^ (this.a << 11);
    this.a = this.b; this.b = this.c; this.c = this.d;
    this.d = (this.d ^ (this.d >>> 19) ^ t ^ (t >>> 8)) >>> 0;
    return this.d;
  }
  int(n: number): number { return this.u32() % n; }
  u64(): bigint { return (BigInt(this.u32()) << 32n) | BigInt(this.u32()); }
  pick<T>(a: T[]): T { return a[this.int(a.length)]; }
}

const J = 0x8000000000000000n;
/** A random "interesting" extended value. */
export function randX(r: Rng, kinds = 'nnnnnnnndzisqNu'): X {
  const k = kinds[r.int(kinds.length)];
  const s = r.int(2);
  switch (k) {
    case 'n': { // normal, exponent near 1.0 or anywhere
      const e = r.int(4) === 0 ? 1 + r.int(0x7ffe) : 0x3fff - 70 + r.int(140);
      let m = r.u64() | J;
      if (r.int(4) === 0) m = J | (BigInt(r.u32()) << 32n); // short significands → exact results
      if (r.int(8) === 0) m = J | ((1n << BigInt(r.int(63))) - 1n);
      return { s, e, m };
    }
    case 'd': return { s, e: 0, m: r.u64() >> BigInt(1 + r.int(63)) };      // denormal
    case 'z': return { s, e: 0, m: 0n };
    case 'i': return { s, e: 0x7fff, m: J };
    case 's': return { s, e: 0x7fff, m: J | (r.u64() & 0x3fffffffffffffffn) | 1n }; // SNaN
    case 'q': return { s, e: 0x7fff, m: J | 0x4000000000000000n | (r.u64() & 0x3fffffffffffffffn) };
    case 'N': return { s, e: r.pick([1, 2, 0x7ffe, 0x7ffd, 0x3fff]), m: r.pick([J, J | 1n, 0xffffffffffffffffn]) };
    case 'u': return r.int(2) ? { s, e: 1 + r.int(0x7ffe), m: r.u64() >> 1n } : { s, e: 0, m: J | r.u64() }; // unnormal / pseudo-denormal
    default: throw new Error(k);
  }
}

/** Control word with given RC/PC and mask bits. */
export function cwOf(rc: number, pc: number, masks = 0x3f): number { return 0x40 | masks | (pc << 8) | (rc << 10); }

/** Run cases on both sides; return descriptions of the differing ones (compared: CW/SW/TW, ST0-7, memory, arithmetic flags). */
export function diff(cases: Case[], opts: { memBytes?: number; limit?: number; ignoreSw?: number } = {}): string[] {
  const host = runHost(cases);
  const ours = runOurs(cases);
  const out: string[] = [];
  const memBytes = opts.memBytes ?? 16;
  for (let i = 0; i < cases.length; i++) {
    const h = host[i], o = ours[i];
    if (opts.ignoreSw) {
      for (const r of [h, o]) { r.state[4] &= ~opts.ignoreSw; r.state[5] &= ~(opts.ignoreSw >> 8); }
    }
    const dh = describe(h, memBytes), d0 = describe(o, memBytes);
    if (dh !== d0) {
      const inp = describe({ state: cases[i].state, mem: cases[i].mem ?? new Uint8Array(128), eflags: cases[i].eflags ?? 0x202 }, memBytes);
      out.push(`code=${Buffer.from(cases[i].code).toString('hex')}\n  in   ${inp}\n  host ${dh}\n  ours ${d0}`);
      if (out.length >= (opts.limit ?? 5)) break;
    }
  }
  return out;
}

/** Random IEEE single bit pattern with specials. */
export function randF32(r: Rng): number {
  const s = r.int(2) << 31;
  switch (r.int(8)) {
    case 0: return (s | (r.u32() & 0x7fffff)) >>> 0;                  // denormal / zero
    case 1: return (s | 0x7f800000 | (r.int(3) ? (r.u32() & 0x7fffff) | 1 : 0)) >>> 0; // NaN / inf
    case 2: return (s | ((r.int(2) ? 1 : 254) << 23) | (r.u32() & 0x7fffff)) >>> 0;
    default: return (s | ((100 + r.int(56)) << 23) | (r.u32() & 0x7fffff)) >>> 0;
  }
}
/** Random IEEE double as 8 little-endian bytes. */
export function randF64(r: Rng): Uint8Array {
  const b = new Uint8Array(8);
  const dv = new DataView(b.buffer);
  const s = r.int(2) << 31;
  let hi: number; const lo = r.u32();
  switch (r.int(8)) {
    case 0: hi = s | (r.u32() & 0xfffff); break;
    case 1: hi = s | 0x7ff00000 | (r.int(3) ? (r.u32() & 0xfffff) | 1 : 0); break;
    case 2: hi = s | ((r.int(2) ? 1 : 0x7fe) << 20) | (r.u32() & 0xfffff); break;
    default: hi = s | ((1023 - 80 + r.int(160)) << 20) | (r.u32() & 0xfffff);
  }
  dv.setUint32(0, lo, true); dv.setUint32(4, hi >>> 0, true);
  return b;
}
export function le32(v: number): Uint8Array { const b = new Uint8Array(4); new DataView(b.buffer).setUint32(0, v >>> 0, true); return b; }
export function le16(v: number): Uint8Array { const b = new Uint8Array(2); new DataView(b.buffer).setUint16(0, v & 0xffff, true); return b; }
