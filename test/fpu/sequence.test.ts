import { describe, it, expect } from 'vitest';
import { Fpu } from '../../src/cpu/fpu/fpu.js';
import { diff, makeState, cwOf, Rng, randX, randF64, type Case, type X } from './harness.js';

/** Two-byte x87 instructions that are safe in a sequence on the host with all exceptions masked. */
function pool(): number[][] {
  const out: number[][] = [];
  for (let op = 0xd8; op <= 0xdf; op++) {
    for (let modrm = 0xc0; modrm <= 0xff; modrm++) {
      if (!Fpu.isValid(op, modrm)) continue;
      if (op === 0xdf && modrm === 0xe0) continue;               // FNSTSW AX
      if (op === 0xdb && (modrm === 0xe3 || modrm === 0xe4)) continue; // FNINIT would unmask nothing but reset CW; FSETPM
      // transcendentals may differ by 1 ulp (and in C1): checked with a tolerance in transcend.test.ts
      if (op === 0xd9 && [0xf0, 0xf1, 0xf2, 0xf3, 0xf9, 0xfb, 0xfe, 0xff].includes(modrm)) continue;
      out.push([op, modrm]);
    }
  }
  // memory forms on the 8-byte double at [rsi]: arithmetic, FLD/FST/FSTP m64, FILD/FIST m16/m32
  for (let reg = 0; reg < 8; reg++) out.push([0xdc, 0x06 | (reg << 3)]);
  out.push([0xdd, 0x06], [0xdd, 0x16], [0xdd, 0x1e], [0xdf, 0x06], [0xdb, 0x06], [0xdf, 0x16], [0xd9, 0x06]);
  return out;
}

describe('x87 instruction sequences vs host CPU', () => {
  it('random 2..12-instruction sequences with all exceptions masked (stack wrap, tags, C0-C3 carried across)', () => {
    const r = new Rng(Number(process.env.SEQSEED ?? 41));
    const p = pool();
    const cases: Case[] = [];
    for (let n = 0; n < Number(process.env.SEQN ?? 3000); n++) {
      const len = 2 + r.int(11);
      const code: number[] = [];
      for (let k = 0; k < len; k++) code.push(...p[r.int(p.length)]);
      const depth = r.int(9);
      const st: X[] = [];
      for (let i = 0; i < depth; i++) st.push(randX(r, 'nnnnnnndziq'));
      const mem = new Uint8Array(16); mem.set(randF64(r));
      cases.push({ code, mem, eflags: 0x202 | (r.u32() & 0x8d5), state: makeState(cwOf(r.int(4), r.pick([0, 2, 3])), st, r.u32() & 0x4700, r.int(8)) });
    }
    expect(diff(cases)).toEqual([]);
  });
});
