import { describe, it, expect } from 'vitest';
import { diff, makeState, cwOf, Rng, randX, randF32, randF64, le32, le16, type Case, type X } from './harness.js';

const J = 0x8000000000000000n;
const masks = (r: Rng): number => (r.int(3) ? 0x3f : r.u32() & 0x3f);

function x80(x: X): Uint8Array {
  const b = new Uint8Array(10);
  const dv = new DataView(b.buffer);
  dv.setBigUint64(0, x.m, true); dv.setUint16(8, (x.s << 15) | x.e, true);
  return b;
}

describe('x87 loads and stores vs host CPU', () => {
  it('FLD m32/m64/m80, FILD m16/m32/m64, FBLD (incl. stack overflow)', () => {
    const r = new Rng(11);
    const cases: Case[] = [];
    for (let n = 0; n < 4000; n++) {
      const kind = r.int(7);
      let code: number[], mem: Uint8Array;
      switch (kind) {
        case 0: code = [0xd9, 0x06]; mem = le32(randF32(r)); break;
        case 1: code = [0xdd, 0x06]; mem = randF64(r); break;
        case 2: code = [0xdb, 0x2e]; mem = x80(randX(r)); break;
        case 3: code = [0xdf, 0x06]; mem = le16(r.u32()); break;
        case 4: code = [0xdb, 0x06]; mem = le32(r.u32()); break;
        case 5: { code = [0xdf, 0x2e]; mem = new Uint8Array(8); new DataView(mem.buffer).setBigUint64(0, r.int(2) ? r.u64() : r.u64() >> BigInt(r.int(64)), true); break; }
        default: {
          code = [0xdf, 0x26]; mem = new Uint8Array(10);
          for (let i = 0; i < 9; i++) mem[i] = r.int(10) * 16 + r.int(10);
          mem[9] = r.int(2) ? 0x80 : 0;
          if (r.int(5) === 0) mem.fill(0, 0, 9);
        }
      }
      const depth = r.int(10) === 0 ? 8 : r.int(3);
      const st: X[] = []; for (let i = 0; i < depth; i++) st.push(randX(r));
      cases.push({ code, mem, state: makeState(cwOf(r.int(4), r.pick([0, 2, 3]), masks(r)), st, 0, r.int(8)) });
    }
    expect(diff(cases)).toEqual([]);
  });

  it('FST/FSTP m32/m64/m80 with rounding, overflow, underflow, NaNs, empty stack', () => {
    const r = new Rng(12);
    const cases: Case[] = [];
    for (let n = 0; n < 6000; n++) {
      const code = r.pick([[0xd9, 0x16], [0xd9, 0x1e], [0xdd, 0x16], [0xdd, 0x1e], [0xdb, 0x3e]]);
      let a = randX(r);
      if (r.int(2)) a = { s: r.int(2), e: r.pick([0x3fff - 126, 0x3fff - 149, 0x3fff - 1022, 0x3fff - 1074, 0x3fff + 127, 0x3fff + 1023]) + r.int(5) - 2, m: r.int(2) ? r.u64() | J : J | ((1n << 63n) - 1n) };
      const st = r.int(20) ? [a, randX(r)] : [];
      cases.push({ code, mem: new Uint8Array(16).fill(0xa5), state: makeState(cwOf(r.int(4), r.pick([0, 2, 3]), masks(r)), st) });
    }
    expect(diff(cases)).toEqual([]);
  });

  it('FIST/FISTP m16/m32/m64 and FBSTP: rounding, range limits, NaN, empty stack', () => {
    const r = new Rng(13);
    const cases: Case[] = [];
    for (let n = 0; n < 6000; n++) {
      const code = r.pick([[0xdf, 0x16], [0xdf, 0x1e], [0xdb, 0x16], [0xdb, 0x1e], [0xdf, 0x3e], [0xdf, 0x36]]);
      let a = randX(r);
      if (r.int(3)) a = { s: r.int(2), e: 0x3fff + r.int(66) - 2, m: r.int(3) ? r.u64() | J : J | (r.u64() & 0x7fffn << 48n) };
      if (r.int(6) === 0) a = { s: 1, e: 0x3fff + r.pick([15, 31, 63]), m: J | BigInt(r.int(2)) };
      const st = r.int(20) ? [a] : [];
      cases.push({ code, mem: new Uint8Array(16).fill(0x5a), state: makeState(cwOf(r.int(4), 3, masks(r)), st) });
    }
    expect(diff(cases)).toEqual([]);
  });

  it('FBLD of arbitrary bytes (invalid BCD nibbles and sign bytes) matches the host', () => {
    const r = new Rng(14);
    const cases: Case[] = [];
    for (let n = 0; n < 2000; n++) {
      const mem = new Uint8Array(10);
      for (let i = 0; i < 10; i++) mem[i] = r.u32() & 0xff;
      cases.push({ code: [0xdf, 0x26], mem, state: makeState(cwOf(r.int(4), 3), []) });
    }
    expect(diff(cases)).toEqual([]);
  });
});
