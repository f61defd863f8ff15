import { describe, it, expect } from 'vitest';
import type { FpuLike } from '../../src/cpu/fpu-iface.js';
import { Fpu } from '../../src/cpu/fpu/fpu.js';
import { runHost, runOurs, makeState, cwOf, Rng, randX, FlatMem, type Case, type X } from './harness.js';

const J = 0x8000000000000000n;
const hex = (b: Uint8Array): string => Buffer.from(b).toString('hex');

/** Bytes of the x87 image that hold instruction/data pointers (not comparable with a 64-bit host). */
function maskPointers(b: Uint8Array, envAt: number): Uint8Array {
  const c = b.slice();
  c.fill(0, envAt + 12, envAt + 28);
  return c;
}

function randomState(r: Rng): Uint8Array {
  const st: X[] = [];
  const depth = r.int(9);
  for (let i = 0; i < depth; i++) st.push(randX(r));
  return makeState(cwOf(r.int(4), r.int(4), 0x3f) | (r.int(2) << 12), st, r.u32() & 0x477f & ~0x80, r.int(8));
}

describe('x87 environment images vs host CPU (32-bit protected-mode layout)', () => {
  it('FNSTENV and FNSAVE write the same bytes as the host (except FIP/FCS/FOP/FDP/FDS)', () => {
    const r = new Rng(31);
    const cases: Case[] = [];
    for (let n = 0; n < 400; n++) cases.push({ code: r.int(2) ? [0xd9, 0x36] : [0xdd, 0x36], state: randomState(r), mem: new Uint8Array(128).fill(0xcc) });
    const host = runHost(cases), ours = runOurs(cases);
    const bad: string[] = [];
    for (let i = 0; i < cases.length; i++) {
      const h = hex(maskPointers(host[i].mem, 0)) + hex(maskPointers(host[i].state, 0));
      const o = hex(maskPointers(ours[i].mem, 0)) + hex(maskPointers(ours[i].state, 0));
      if (h !== o && bad.length < 4) bad.push(`${hex(new Uint8Array(cases[i].code))}\n host ${h}\n ours ${o}`);
    }
    expect(bad).toEqual([]);
  });

  it('FLDENV and FRSTOR load images with arbitrary tags, CW reserved bits and status words (pending exceptions too) like the host', () => {
    const r = new Rng(32);
    const cases: Case[] = [];
    for (let n = 0; n < 400; n++) {
      const frstor = r.int(2) === 1;
      const img = randomState(r);
      const dv = new DataView(img.buffer);
      dv.setUint16(0, r.u32() & 0xffff, true);                            // any CW
      dv.setUint16(4, r.u32() & 0xffff, true);                            // any SW, even with ES/B or pending flags
      dv.setUint16(8, r.u32() & 0xffff, true);                           // any tag word (only empty/non-empty counts)
      for (let i = 0; i < 8; i++) { const x = randX(r); dv.setBigUint64(28 + 10 * i, x.m, true); dv.setUint16(36 + 10 * i, (x.s << 15) | x.e, true); }
      const mem = new Uint8Array(128); mem.set(frstor ? img : img.slice(0, 28));
      cases.push({ code: frstor ? [0xdd, 0x26] : [0xd9, 0x26], state: randomState(r), mem });
    }
    const host = runHost(cases), ours = runOurs(cases);
    const bad: string[] = [];
    for (let i = 0; i < cases.length; i++) {
      const h = hex(maskPointers(host[i].state, 0)), o = hex(maskPointers(ours[i].state, 0));
      if (h !== o && bad.length < 4) bad.push(`${hex(new Uint8Array(cases[i].code))} mem=${hex(cases[i].mem!.slice(0, 28))}\n host ${h}\n ours ${o}`);
    }
    expect(bad).toEqual([]);
  });
});

// ------------------------------------------------------------------ SDM layouts for the other modes

function setup(): { mem: FlatMem; fpu: Fpu } {
  const mem = new FlatMem();
  const fpu = new Fpu(mem);
  // FNINIT, then FLD1 so the tag word and TOP are non-trivial; the FLD1 records the pointers
  fpu.execute(0xdb, 0xe3, 0, 3, 0);
  fpu.setInstructionPointer(0x1234, 0x00056789, 0x4321, 0x000abcde, 0x1e8);
  fpu.execute(0xd9, 0xe8, 0, 3, 0);
  return { mem, fpu };
}
const u16 = (m: FlatMem, a: number): number => m.read16(a);
const u32 = (m: FlatMem, a: number): number => m.read32(a) >>> 0;

describe('x87 environment layouts (Intel SDM vol. 1 figures 8-9 to 8-12)', () => {
  it('32-bit protected mode: CW, SW, TW, FIP, FCS|FOP<<16, FDP, FDS', () => {
    const { mem, fpu } = setup();
    fpu.execute(0xd9, 0x30, 0x100, 3, 0); // FNSTENV
    expect(u16(mem, 0x100)).toBe(0x37f);
    expect(u16(mem, 0x104)).toBe(0x3800); // TOP = 7
    expect(u16(mem, 0x108)).toBe(0x3fff); // ST0 = phys 7 valid
    expect(u32(mem, 0x10c)).toBe(0x00056789);
    expect(u32(mem, 0x110)).toBe((0x1e8 << 16 | 0x1234) >>> 0);
    // FLD1 has no memory operand: FDP/FDS keep their FNINIT value 0
    expect(u32(mem, 0x114)).toBe(0);
    expect(u16(mem, 0x118)).toBe(0);
    expect(fpu.cw & 0x3f).toBe(0x3f); // FNSTENV masks all exceptions
  });

  it('32-bit real mode: FIP/FDP as 32-bit linear addresses split 16 + 16<<12, FOP in the low 11 bits', () => {
    const { mem, fpu } = setup();
    fpu.setInstructionPointer(0x1000, 0x0234, 0x2000, 0x0002_0010, 0x5a5);
    fpu.execute(0xdd, 0x06, 0x300, 1, 0); // FLD m64 (records data pointer)
    fpu.execute(0xd9, 0x30, 0x100, 1, 0);
    const ip = (0x1000 << 4) + 0x234;
    expect(u16(mem, 0x10c)).toBe(ip & 0xffff);
    expect(u32(mem, 0x110)).toBe((((ip >>> 16) << 12) | 0x5a5) >>> 0);
    expect(u16(mem, 0x114)).toBe(0x0010);
    expect(u32(mem, 0x118)).toBe((0x0002 << 12) >>> 0);
  });

  it('16-bit protected mode: 14 bytes CW, SW, TW, IP, CS, DP, DS', () => {
    const { mem, fpu } = setup();
    fpu.setInstructionPointer(0x0008, 0x4567, 0x0010, 0x89ab, 0x0dd);
    fpu.execute(0xdd, 0x06, 0x300, 2, 0);
    fpu.execute(0xd9, 0x30, 0x100, 2, 0);
    expect([0, 2, 4, 6, 8, 10, 12].map((o) => u16(mem, 0x100 + o))).toEqual([0x37f, 0x3000, 0x1fff, 0x4567, 0x0008, 0x89ab, 0x0010]);
    expect(u16(mem, 0x10e)).toBe(0); // nothing beyond 14 bytes
  });

  it('16-bit real mode: 20-bit pointers with the top nibble in bits 12-15, FOP in bits 0-10', () => {
    const { mem, fpu } = setup();
    fpu.setInstructionPointer(0xf000, 0xfff0, 0x9000, 0x9_8765, 0x7ff);
    fpu.execute(0xdd, 0x06, 0x300, 0, 0);
    fpu.execute(0xd9, 0x30, 0x100, 0, 0);
    const ip = 0xf0000 + 0xfff0;
    expect([6, 8, 10, 12].map((o) => u16(mem, 0x100 + o))).toEqual([ip & 0xffff, ((ip >>> 16) << 12) | 0x7ff, 0x8765, 0x9000]);
  });

  it('FSAVE/FRSTOR round trip in every mode (94 and 108 bytes), registers in ST order', () => {
    for (const mode of [0, 1, 2, 3]) {
      const { mem, fpu } = setup();
      fpu.execute(0xd9, 0xeb, 0, mode, 0); // FLDPI
      const before = fpu.saveState();
      fpu.execute(0xdd, 0x30, 0x400, mode, 0); // FNSAVE
      const size = mode & 1 ? 108 : 94;
      const envSize = mode & 1 ? 28 : 14;
      expect(mem.read16(0x400 + envSize + 8)).toBe(0x4000); // ST0 = pi: sign/exponent of the first register slot
      expect(mem.b[0x400 + size]).toBe(0);
      expect(fpu.tagWord()).toBe(0xffff); // FNSAVE reinitialises
      fpu.execute(0xdd, 0x20, 0x400, mode, 0); // FRSTOR
      const after = fpu.saveState() as { regs: string[]; tags: number[]; cw: number; sw: number; top: number };
      const b = before as typeof after;
      expect([after.regs, after.tags, after.cw, after.sw, after.top]).toEqual([b.regs, b.tags, b.cw, b.sw, b.top]);
    }
  });

  it('a faulting store leaves the FPU state untouched (FSTP m64 to an unwritable page)', () => {
    const { mem, fpu } = setup();
    const fault = new Error('#PF');
    const host = { ...mem, read8: mem.read8.bind(mem), read16: mem.read16.bind(mem), read32: mem.read32.bind(mem),
      write8: () => { throw fault; }, write16: () => { throw fault; }, write32: () => { throw fault; } };
    const f2 = new Fpu(host);
    f2.loadState(fpu.saveState());
    const st = JSON.stringify(f2.saveState());
    expect(() => f2.execute(0xdd, 0x18, 0x500, 3, 0)).toThrow(fault);
    expect(() => f2.execute(0xdb, 0x38, 0x500, 3, 0)).toThrow(fault);
    expect(() => f2.execute(0xdd, 0x30, 0x500, 3, 0)).toThrow(fault);
    expect(JSON.stringify(f2.saveState())).toBe(st);
  });

  it('FXSAVE / FXRSTOR: 512-byte layout with abridged tags, MXCSR 0x1F80 and its mask, registers in 16-byte slots', () => {
    const { mem, fpu } = setup();
    fpu.execute(0xd9, 0xeb, 0, 3, 0); // FLDPI → ST0 = pi, ST1 = 1
    fpu.fxsave(0x400, 3);
    expect(mem.read16(0x400)).toBe(0x37f);
    expect(mem.read16(0x402)).toBe(0x3000);
    expect(mem.b[0x404]).toBe(0xc0);        // physical registers 6 and 7 in use
    expect(mem.read16(0x406)).toBe(0x1e8);  // FOP staged by setInstructionPointer
    expect(mem.read32(0x408)).toBe(0x56789);
    expect(mem.read32(0x418) >>> 0).toBe(0x1f80);
    expect(mem.read32(0x41c) >>> 0).toBe(0xffbf);
    expect(mem.read16(0x400 + 32 + 8)).toBe(0x4000);
    expect(mem.read32(0x400 + 32 + 4) >>> 0).toBe(0xc90fdaa2);
    expect(mem.read16(0x400 + 48 + 8)).toBe(0x3fff);
    const img = mem.b.slice(0x400, 0x600);
    const f2 = new Fpu(mem);
    f2.fxrstor(0x400, 3);
    f2.fxsave(0x800, 3);
    expect(hex(mem.b.slice(0x800, 0xa00))).toBe(hex(img));
    expect(f2.tagWord()).toBe(0x0fff);
  });
});

void J;

describe('contract with the integer core', () => {
  it('Fpu satisfies the FpuLike interface the CPU codes against, and saveState/loadState round-trip', () => {
    const mem = new FlatMem();
    const f: FpuLike = new Fpu(mem);
    f.reset();
    expect(f.statusWord()).toBe(0);
    expect(f.pendingException).toBe(false);
    f.execute(0xd9, 0xe8, 0, 3, 0); // FLD1 with CW = 0x0040 after reset: stack overflow onto a "zero" register, IE unmasked
    expect(f.pendingException).toBe(true);
    const g = new Fpu(mem);
    g.loadState(JSON.parse(JSON.stringify(f.saveState())));
    expect(g.saveState()).toEqual(f.saveState());
    expect(() => g.loadState({ bogus: 1 })).toThrow(/invalid saved state/);
  });
});

describe('FXSAVE / FXRSTOR vs host CPU (legacy 512-byte layout)', () => {
  // compared: FCW, FSW, abridged FTW, ST0-7 slots (incl. the 6 reserved bytes) and MXCSR;
  // not comparable: FOP/FIP/FDP (64-bit host, AMD stores them only with ES set), MXCSR_MASK (host has DAZ), XMM
  const cmpMask = (b: Uint8Array): Uint8Array => { const c = b.slice(0, 160); c.fill(0, 5, 24); c.fill(0, 28, 32); return c; };
  it('FXSAVE writes the host bytes', () => {
    const r = new Rng(33);
    const cases: Case[] = [];
    for (let n = 0; n < 300; n++) cases.push({ code: [0x0f, 0xae, 0x06], state: randomState(r), mem: new Uint8Array(512).fill(0xcc) });
    const host = runHost(cases), ours = runOurs(cases);
    const bad: string[] = [];
    for (let i = 0; i < cases.length; i++) {
      const h = hex(cmpMask(host[i].mem)), o = hex(cmpMask(ours[i].mem));
      if (h !== o && bad.length < 4) bad.push(`host ${h}\nours ${o}`);
    }
    expect(bad).toEqual([]);
  });
  it('FXRSTOR loads arbitrary images like the host', () => {
    const r = new Rng(34);
    const cases: Case[] = [];
    for (let n = 0; n < 300; n++) {
      const img = new Uint8Array(512);
      const dv = new DataView(img.buffer);
      dv.setUint16(0, r.u32() & 0xffff, true);
      dv.setUint16(2, r.u32() & 0xffff, true);
      img[4] = r.u32() & 0xff;
      dv.setUint32(24, 0x1f80, true);
      for (let i = 0; i < 8; i++) { const x = randX(r); dv.setBigUint64(32 + 16 * i, x.m, true); dv.setUint16(40 + 16 * i, (x.s << 15) | x.e, true); }
      cases.push({ code: [0x0f, 0xae, 0x0e], state: randomState(r), mem: img });
    }
    const host = runHost(cases), ours = runOurs(cases);
    const bad: string[] = [];
    for (let i = 0; i < cases.length; i++) {
      const h = hex(maskPointers(host[i].state, 0)), o = hex(maskPointers(ours[i].state, 0));
      if (h !== o && bad.length < 4) bad.push(`img=${hex(cases[i].mem!.slice(0, 8))}\nhost ${h}\nours ${o}`);
    }
    expect(bad).toEqual([]);
  });
});
