import { describe, it, expect } from 'vitest';
import { diff, makeState, cwOf, Rng, randX, randF32, randF64, le32, le16, type Case } from './harness.js';

const J = 0x8000000000000000n;

describe('x87 arithmetic vs host CPU', () => {
  it('FADD/FMUL/FSUB(R)/FDIV(R) register forms, all RC/PC, masked', () => {
    const r = new Rng(1);
    const cases: Case[] = [];
    for (let n = 0; n < 6000; n++) {
      const op = r.pick([0xd8, 0xdc, 0xde]);
      const reg = r.pick([0, 1, 4, 5, 6, 7]);
      cases.push({ code: [op, 0xc0 | (reg << 3) | 1], state: makeState(cwOf(r.int(4), r.pick([0, 2, 3])), [randX(r), randX(r)]) });
    }
    expect(diff(cases)).toEqual([]);
  });

  it('near-boundary operands (overflow, underflow, denormal results) with random exception masks', () => {
    const r = new Rng(2);
    const cases: Case[] = [];
    for (let n = 0; n < 6000; n++) {
      const op = r.pick([0xd8, 0xdc, 0xde]);
      const reg = r.pick([0, 1, 4, 5, 6, 7]);
      const big = () => ({ s: r.int(2), e: r.pick([0x7ffe, 0x7ffd, 0x7ffe - r.int(70), 0x3fff + r.int(3)]), m: r.u64() | J });
      const small = () => r.int(3) ? { s: r.int(2), e: 1 + r.int(70), m: r.u64() | J } : { s: r.int(2), e: 0, m: r.u64() >> BigInt(r.int(64)) };
      const a = r.int(2) ? big() : small();
      const b = r.pick([big, small, () => ({ s: r.int(2), e: 0x3fff - 70 + r.int(140), m: r.u64() | J })])();
      cases.push({ code: [op, 0xc0 | (reg << 3) | 1], state: makeState(cwOf(r.int(4), r.pick([0, 2, 3]), r.u32() & 0x3f), [a, b]) });
    }
    expect(diff(cases)).toEqual([]);
  });

  it('NaN propagation: equal significands, signs, SNaN/QNaN pairs', () => {
    const cases: Case[] = [];
    const nans = [
      { s: 0, e: 0x7fff, m: 0xc000000000000001n }, { s: 1, e: 0x7fff, m: 0xc000000000000001n },
      { s: 0, e: 0x7fff, m: 0x8000000000000001n }, { s: 1, e: 0x7fff, m: 0x8000000000000001n },
      { s: 0, e: 0x7fff, m: 0xc000000000000000n }, { s: 1, e: 0x7fff, m: 0x4000000000000001n },
    ];
    for (const a of nans) for (const b of nans) for (const reg of [0, 1, 4, 5, 6, 7]) for (const masks of [0x3f, 0x3e]) {
      cases.push({ code: [0xd8, 0xc1 | (reg << 3)], state: makeState(cwOf(0, 3, masks), [a, b]) });
      cases.push({ code: [0xdc, 0xc1 | (reg << 3)], state: makeState(cwOf(0, 3, masks), [a, b]) });
    }
    expect(diff(cases)).toEqual([]);
  });

  it('memory operand forms: m32real, m64real, m32int, m16int (FADD..FDIVR, FCOM, FCOMP)', () => {
    const r = new Rng(3);
    const cases: Case[] = [];
    for (let n = 0; n < 6000; n++) {
      const op = r.pick([0xd8, 0xdc, 0xda, 0xde]);
      const reg = r.int(8);
      let mem: Uint8Array;
      switch (op) {
        case 0xd8: mem = le32(randF32(r)); break;
        case 0xdc: mem = randF64(r); break;
        case 0xda: mem = le32(r.int(4) ? r.u32() : r.pick([0, 1, 0x80000000, 0x7fffffff, 0xffffffff])); break;
        default: mem = le16(r.int(4) ? r.u32() : r.pick([0, 1, 0x8000, 0x7fff, 0xffff]));
      }
      const st = r.int(20) ? [randX(r), randX(r)] : [];
      cases.push({ code: [op, 0x06 | (reg << 3)], mem, state: makeState(cwOf(r.int(4), r.pick([0, 2, 3]), r.int(3) ? 0x3f : r.u32() & 0x3f), st) });
    }
    expect(diff(cases)).toEqual([]);
  });

  it('FSQRT, FRNDINT, FSCALE, FXTRACT, FPREM, FPREM1', () => {
    const r = new Rng(4);
    const cases: Case[] = [];
    for (let n = 0; n < 6000; n++) {
      const modrm = r.pick([0xfa, 0xfc, 0xfd, 0xf4, 0xf8, 0xf5]);
      let a = randX(r), b = randX(r);
      if (modrm === 0xfd && r.int(2)) b = { s: r.int(2), e: 0x3fff + r.int(16), m: r.u64() | J };
      if ((modrm === 0xf8 || modrm === 0xf5) && r.int(2)) { b = { s: r.int(2), e: a.e - r.int(80) + 10, m: r.u64() | J }; if (b.e < 1) b.e = 1; }
      if (modrm === 0xfc && r.int(2)) a = { s: r.int(2), e: 0x3fff + r.int(66) - 2, m: r.u64() | J };
      const st = r.int(30) ? [a, b] : [];
      cases.push({ code: [0xd9, modrm], state: makeState(cwOf(r.int(4), r.pick([0, 2, 3]), r.int(3) ? 0x3f : r.u32() & 0x3f), st) });
    }
    expect(diff(cases)).toEqual([]);
  });
});

describe('x87 edge coverage vs host CPU', () => {
  it('FPREM/FPREM1 partial remainders (exponent difference 64..20000) and quotient bits', () => {
    const r = new Rng(5);
    const cases: Case[] = [];
    for (let n = 0; n < 3000; n++) {
      const eb = 1 + r.int(0x7ffd);
      const d = r.int(3) ? 64 + r.int(200) : r.int(0x7ffe - eb);
      const ea = Math.min(0x7ffe, eb + d);
      const a = { s: r.int(2), e: ea, m: r.u64() | J }, b = { s: r.int(2), e: eb, m: r.int(3) ? r.u64() | J : J };
      cases.push({ code: [0xd9, r.pick([0xf8, 0xf5])], state: makeState(cwOf(r.int(4), r.int(4), r.int(4) ? 0x3f : r.u32() & 0x3f), [a, b], r.u32() & 0x4700) });
    }
    expect(diff(cases)).toEqual([]);
  });

  it('precision control 01 (reserved) and the X bit behave as on the host', () => {
    const r = new Rng(6);
    const cases: Case[] = [];
    for (let n = 0; n < 2000; n++) {
      const reg = r.pick([0, 1, 4, 5, 6, 7]);
      const code = r.int(4) ? [0xd8, 0xc1 | (reg << 3)] : [0xd9, 0xfa];
      cases.push({ code, state: makeState(cwOf(r.int(4), 1) | (r.int(2) << 12), [randX(r), randX(r)]) });
    }
    expect(diff(cases)).toEqual([]);
  });
});
