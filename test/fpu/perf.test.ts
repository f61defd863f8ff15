import { describe, it, expect } from 'vitest';
import { Fpu } from '../../src/cpu/fpu/fpu.js';
import { FlatMem } from './harness.js';

/** Throughput of the common path; prints ops/s (the numbers quoted in docs/fpu.md). */
function measure(name: string, body: (fpu: Fpu, n: number) => void, n: number): number {
  const mem = new FlatMem();
  const dv = new DataView(mem.b.buffer);
  dv.setFloat64(0x100, 1.0000001, true);
  dv.setFloat64(0x108, 0.9999999, true);
  const fpu = new Fpu(mem);
  fpu.execute(0xdb, 0xe3, 0, 3, 0); // FNINIT
  body(fpu, 1000); // warm up
  // CPU time of this process (less sensitive to other load on a shared machine than wall time)
  const c0 = process.cpuUsage();
  body(fpu, n);
  const c = process.cpuUsage(c0);
  const rate = n / ((c.user + c.system) / 1e6);
  console.log(`${name}: ${(rate / 1e6).toFixed(2)} M ops/s (CPU time)`);
  return rate;
}

describe('x87 performance (common path)', () => {
  it('FLD m64 / FMUL m64 / FADD ST(1) / FDIV m64 / FSTP m64 loops', () => {
    const ld = measure('FLD m64 + FSTP m64 (pairs count as 2 ops)', (f, n) => {
      for (let i = 0; i < n; i += 2) { f.execute(0xdd, 0x06, 0x100, 3, 0); f.execute(0xdd, 0x1e, 0x200, 3, 0); }
    }, 200000);
    const mul = measure('FMUL m64', (f, n) => {
      f.execute(0xdd, 0x06, 0x100, 3, 0);
      for (let i = 0; i < n; i++) f.execute(0xdc, 0x0e, i & 1 ? 0x100 : 0x108, 3, 0);
      f.execute(0xdd, 0xd8, 0, 3, 0);
    }, 200000);
    const add = measure('FADD ST0, ST1', (f, n) => {
      f.execute(0xdd, 0x06, 0x100, 3, 0); f.execute(0xdd, 0x06, 0x108, 3, 0);
      for (let i = 0; i < n; i++) f.execute(0xd8, 0xc1, 0, 3, 0);
      f.execute(0xdd, 0xd8, 0, 3, 0); f.execute(0xdd, 0xd8, 0, 3, 0);
    }, 200000);
    const div = measure('FDIV m64', (f, n) => {
      f.execute(0xdd, 0x06, 0x100, 3, 0);
      for (let i = 0; i < n; i++) f.execute(0xdc, 0x36, i & 1 ? 0x100 : 0x108, 3, 0);
      f.execute(0xdd, 0xd8, 0, 3, 0);
    }, 100000);
    const sin = measure('FSIN', (f, n) => {
      f.execute(0xdd, 0x06, 0x100, 3, 0);
      for (let i = 0; i < n; i++) f.execute(0xd9, 0xfe, 0, 3, 0);
      f.execute(0xdd, 0xd8, 0, 3, 0);
    }, 2000);
    // floor far below the measured numbers: catches pathological slowdowns only
    for (const r of [ld, mul, add, div]) expect(r).toBeGreaterThan(100000);
    expect(sin).toBeGreaterThan(1000);
  });
});
