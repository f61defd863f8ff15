import { describe, it, expect } from 'vitest';
import { Fpu } from '../../src/cpu/fpu/fpu.js';
import { diff, makeState, cwOf, Rng, randX, le16, type Case, type X } from './harness.js';

const TRANSCENDENTAL = new Set([0xf0, 0xf1, 0xf2, 0xf3, 0xf9, 0xfb, 0xfe, 0xff]);

/** Every valid register-form x87 instruction except transcendentals (and FNSTSW AX, done by the CPU). */
function registerForms(): number[][] {
  const out: number[][] = [];
  for (let op = 0xd8; op <= 0xdf; op++) {
    for (let modrm = 0xc0; modrm <= 0xff; modrm++) {
      if (!Fpu.isValid(op, modrm)) continue;
      if (op === 0xd9 && TRANSCENDENTAL.has(modrm)) continue;
      if (op === 0xdf && modrm === 0xe0) continue;
      if (op === 0xdb && modrm === 0xe4) continue; // FSETPM: AMD64 hosts may #UD it
      out.push([op, modrm]);
    }
  }
  return out;
}

function randState(r: Rng): Uint8Array {
  const depth = r.pick([0, 1, 2, 2, 3, 8, r.int(9)]);
  const st: X[] = [];
  for (let i = 0; i < depth; i++) st.push(randX(r, 'nnnnndzisqNu'));
  return makeState(cwOf(r.int(4), r.pick([0, 2, 3]), r.int(3) ? 0x3f : r.u32() & 0x3f), st, r.u32() & 0x4700, r.int(8));
}

describe('x87 register forms vs host CPU', () => {
  it('every register-form instruction (compare, FCOMI, FCMOVcc, FXCH, FFREE(P), FLD/FST ST(i), FXAM, FTST, constants, FNCLEX, FNINIT, aliases)', () => {
    const r = new Rng(21);
    const forms = registerForms();
    const cases: Case[] = [];
    for (let n = 0; n < 12000; n++) {
      const code = forms[n % forms.length];
      cases.push({ code, state: randState(r), eflags: 0x202 | (r.u32() & 0x8d5) });
    }
    expect(diff(cases)).toEqual([]);
  });

  it('FLDCW / FNSTCW / FNSTSW m16 / FNSTENV-masking, with pending exceptions', () => {
    const r = new Rng(22);
    const cases: Case[] = [];
    for (let n = 0; n < 1500; n++) {
      const code = r.pick([[0xd9, 0x2e], [0xd9, 0x3e], [0xdd, 0x3e]]);
      const cw = r.int(2) ? r.u32() & 0xffff : 0x0340 | (r.u32() & 0x0c3f);
      cases.push({ code, mem: le16(cw), state: makeState(cwOf(r.int(4), 3, 0x3f), [randX(r)], r.u32() & 0x477f & ~0x80, r.int(8)) });
    }
    expect(diff(cases)).toEqual([]);
  });
});
