/**
 * Local APIC through its MMIO page, checked against the Intel SDM vol. 3
 * ch. 10 (register layout, priorities, timer, ESR) and QEMU's reset values.
 */
import { describe, expect, it } from 'vitest';
import { bench, LAPIC, R } from './harness.js';
import { APIC_VERSION } from '../../../src/devices/apic/lapic.js';

describe('local APIC registers', () => {
  it('has QEMU 7.2\'s power-up state', () => {
    const b = bench();
    expect(b.rd(R.ID)).toBe(0);
    expect(b.rd(R.VER)).toBe(0x00050014);
    expect(APIC_VERSION).toBe(0x00050014);
    expect(b.rd(R.SVR)).toBe(0xff); // software-disabled, spurious vector 0xFF
    expect(b.rd(R.DFR) >>> 0).toBe(0xffffffff); // flat model
    expect(b.rd(R.TPR)).toBe(0);
    expect(b.rd(R.LVT_TIMER)).toBe(0x10000);
    expect(b.rd(R.LVT_LINT0)).toBe(0x10000); // masked: firmware programs the virtual wire
    expect(b.rd(R.LVT_LINT1)).toBe(0x10000);
    expect(b.rd(R.LVT_ERROR)).toBe(0x10000);
    expect(b.rd(R.TIMER_DIV)).toBe(0);
    expect(b.lapic.readBaseMsr()).toBe(0xfee00900); // base | BSP | enable
  });

  it('keeps only writable bits and ignores writes to read-only registers', () => {
    const b = bench();
    b.wr(R.ID, 0x05000000);
    expect(b.rd(R.ID)).toBe(0x05000000);
    b.wr(R.VER, 0);
    expect(b.rd(R.VER)).toBe(0x00050014);
    b.wr(R.LVT_TIMER, 0xffffffff);
    expect(b.rd(R.LVT_TIMER)).toBe(0x000700ff); // vector, mask, mode (no delivery mode or status)
    b.wr(R.LVT_LINT0, 0xffffffff);
    expect(b.rd(R.LVT_LINT0)).toBe(0x0001a7ff); // + delivery mode, polarity, trigger; delivery status/remote IRR read-only
    b.wr(R.LVT_ERROR, 0xffffffff);
    expect(b.rd(R.LVT_ERROR)).toBe(0x000100ff);
    b.wr(R.TIMER_DIV, 0xffffffff);
    expect(b.rd(R.TIMER_DIV)).toBe(0xb);
    b.wr(R.LDR, 0x12345678);
    expect(b.rd(R.LDR)).toBe(0x12000000);
    b.wr(R.DFR, 0x0fffffff);
    expect(b.rd(R.DFR)).toBe(0x0fffffff); // cluster model
    b.wr(R.ICR_HI, 0xffffffff);
    expect(b.rd(R.ICR_HI) >>> 0).toBe(0xff000000);
  });

  it('reads a byte of a register at its offset; narrow writes are ignored', () => {
    const b = bench();
    expect(b.mem.read8(LAPIC + R.VER)).toBe(0x14);
    expect(b.mem.read8(LAPIC + R.VER + 2)).toBe(0x05);
    expect(b.mem.read16(LAPIC + R.VER + 2)).toBe(0x0005);
    b.mem.write8(LAPIC + R.TPR, 0x40);
    expect(b.rd(R.TPR)).toBe(0);
  });

  it('ESR latches errors on write: illegal register, send and receive illegal vector, with the error LVT', () => {
    const b = bench();
    b.enable();
    b.rd(0x040); // reserved register
    expect(b.rd(R.ESR)).toBe(0); // not visible before the latching write
    b.wr(R.ESR, 0);
    expect(b.rd(R.ESR)).toBe(0x80);
    b.wr(R.ESR, 0);
    expect(b.rd(R.ESR)).toBe(0);
    b.wr(R.LVT_ERROR, 0xfe);
    b.wr(R.ICR_LO, 0x40000 | 0x05); // self IPI with vector 5: illegal
    b.wr(R.ESR, 0);
    expect(b.rd(R.ESR)).toBe(0x20);
    expect(b.vectors(R.IRR)).toEqual([0xfe]); // the error interrupt
    expect(b.lapic.acknowledge()).toBe(0xfe);
    b.wr(R.EOI, 0);
    // A vector below 16 arriving from the IO-APIC is a receive error.
    b.route(3, 0x0003);
    b.ioapic.setIrq(3, true);
    b.wr(R.ESR, 0);
    expect(b.rd(R.ESR)).toBe(0x40);
    expect(b.vectors(R.IRR)).toEqual([0xfe]);
  });
});

describe('local APIC timer (1 GHz bus, as QEMU)', () => {
  it('one-shot: counts down at bus clock / divisor and interrupts once at zero', () => {
    const b = bench();
    b.enable();
    b.wr(R.TIMER_DIV, 0xb); // divide by 1
    b.wr(R.LVT_TIMER, 0x40);
    b.wr(R.TIMER_INIT, 1000);
    expect(b.rd(R.TIMER_INIT)).toBe(1000);
    b.clock.advanceBy(400);
    expect(b.rd(R.TIMER_CUR)).toBe(600);
    b.clock.advanceBy(599);
    expect(b.rd(R.TIMER_CUR)).toBe(1);
    expect(b.lapic.hasInterrupt()).toBe(false);
    b.clock.advanceBy(1);
    expect(b.rd(R.TIMER_CUR)).toBe(0);
    expect(b.lapic.hasInterrupt()).toBe(true);
    expect(b.intr).toEqual([true]);
    expect(b.lapic.acknowledge()).toBe(0x40);
    expect(b.vectors(R.ISR)).toEqual([0x40]);
    expect(b.vectors(R.TMR)).toEqual([]); // edge
    b.wr(R.EOI, 0);
    b.clock.advanceBy(100_000);
    expect(b.lapic.hasInterrupt()).toBe(false);
    expect(b.clock.nextDeadline()).toBe(Infinity);
  });

  it('periodic: reloads the initial count every period', () => {
    const b = bench();
    b.enable();
    b.wr(R.TIMER_DIV, 0x3); // divide by 16
    b.wr(R.LVT_TIMER, 0x20000 | 0x41);
    const t0 = b.clock.now();
    b.wr(R.TIMER_INIT, 100); // period 1600 ns
    const fired: number[] = [];
    for (let i = 0; i < 10; i++) {
      b.clock.advanceTo(b.clock.nextDeadline());
      expect(b.lapic.hasInterrupt()).toBe(true);
      fired.push(b.clock.now() - t0);
      expect(b.lapic.acknowledge()).toBe(0x41);
      b.wr(R.EOI, 0);
    }
    expect(fired).toEqual([1, 2, 3, 4, 5, 6, 7, 8, 9, 10].map((k) => k * 1600));
    b.clock.advanceBy(800);
    expect(b.rd(R.TIMER_CUR)).toBe(50);
  });

  it('divide configuration: the SDM encodings 2, 4, 8, 16, 32, 64, 128 and 1', () => {
    const enc = [0x0, 0x1, 0x2, 0x3, 0x8, 0x9, 0xa, 0xb];
    const div = [2, 4, 8, 16, 32, 64, 128, 1];
    enc.forEach((e, i) => {
      const b = bench();
      b.wr(R.TIMER_DIV, e);
      b.wr(R.TIMER_INIT, 1_000_000);
      b.clock.advanceBy(12_800);
      expect(b.rd(R.TIMER_CUR)).toBe(1_000_000 - 12_800 / div[i]!);
    });
  });

  it('a masked timer counts but does not interrupt; initial count 0 stops it', () => {
    const b = bench();
    b.enable();
    b.wr(R.TIMER_DIV, 0xb);
    b.wr(R.LVT_TIMER, 0x10042);
    b.wr(R.TIMER_INIT, 500);
    b.clock.advanceBy(1000);
    expect(b.rd(R.TIMER_CUR)).toBe(0);
    expect(b.lapic.hasInterrupt()).toBe(false);
    b.wr(R.LVT_TIMER, 0x20042); // periodic, unmasked
    b.wr(R.TIMER_INIT, 500);
    b.wr(R.TIMER_INIT, 0);
    b.clock.advanceBy(5000);
    expect(b.lapic.hasInterrupt()).toBe(false);
    expect(b.rd(R.TIMER_CUR)).toBe(0);
  });
});

describe('local APIC priorities', () => {
  it('TPR blocks vectors whose priority class is not above it', () => {
    const b = bench();
    b.enable();
    b.wr(R.TPR, 0x50);
    b.selfIpi(0x35);
    b.selfIpi(0x5f);
    expect(b.vectors(R.IRR)).toEqual([0x35, 0x5f]);
    expect(b.lapic.hasInterrupt()).toBe(false);
    b.wr(R.TPR, 0x4f); // class 4: 0x5f (class 5) may pass
    expect(b.lapic.hasInterrupt()).toBe(true);
    expect(b.lapic.acknowledge()).toBe(0x5f);
    expect(b.rd(R.PPR)).toBe(0x50); // in-service class beats TPR
    expect(b.lapic.hasInterrupt()).toBe(false);
    b.wr(R.EOI, 0);
    expect(b.rd(R.PPR)).toBe(0x4f);
    expect(b.lapic.hasInterrupt()).toBe(false); // 0x35 is class 3
    b.wr(R.TPR, 0);
    expect(b.lapic.acknowledge()).toBe(0x35);
    b.wr(R.EOI, 0);
    expect(b.vectors(R.ISR)).toEqual([]);
  });

  it('a higher class nests over one in service; EOI retires the highest first', () => {
    const b = bench();
    b.enable();
    b.selfIpi(0x31);
    expect(b.lapic.acknowledge()).toBe(0x31);
    b.selfIpi(0x3f); // same class: waits
    expect(b.lapic.hasInterrupt()).toBe(false);
    b.selfIpi(0x71);
    expect(b.lapic.acknowledge()).toBe(0x71);
    expect(b.vectors(R.ISR)).toEqual([0x31, 0x71]);
    b.wr(R.EOI, 0);
    expect(b.vectors(R.ISR)).toEqual([0x31]);
    expect(b.lapic.hasInterrupt()).toBe(false);
    b.wr(R.EOI, 0);
    expect(b.lapic.acknowledge()).toBe(0x3f);
  });

  it('returns the spurious vector without setting ISR when the request vanished before INTA', () => {
    const b = bench();
    b.enable(0x2f);
    b.selfIpi(0x60);
    expect(b.lapic.hasInterrupt()).toBe(true);
    b.wr(R.TPR, 0xf0); // raised between INTR and INTA
    expect(b.lapic.acknowledge()).toBe(0x2f);
    expect(b.vectors(R.ISR)).toEqual([]);
    expect(b.vectors(R.IRR)).toEqual([0x60]);
  });

  it('a software-disabled APIC holds IRR and interrupts nothing', () => {
    const b = bench();
    b.wr(R.SVR, 0xff);
    b.enable();
    b.selfIpi(0x80);
    b.wr(R.SVR, 0xff);
    expect(b.lapic.hasInterrupt()).toBe(false);
    expect(b.vectors(R.IRR)).toEqual([0x80]);
    b.enable();
    expect(b.lapic.acknowledge()).toBe(0x80);
  });

  it('APR follows the SDM arbitration priority', () => {
    const b = bench();
    b.enable();
    b.wr(R.TPR, 0x20);
    expect(b.rd(R.APR)).toBe(0x20);
    b.wr(R.TPR, 0xf0); // hold requests in IRR
    b.selfIpi(0x45);
    b.wr(R.TPR, 0x20);
    expect(b.rd(R.APR)).toBe(0x40);
  });
});

describe('local APIC IPIs, NMI and IA32_APIC_BASE', () => {
  it('ICR: self IPI, all-including-self, physical destination, NMI', () => {
    const b = bench();
    b.enable();
    b.wr(R.ICR_LO, 0x80000 | 0x51); // all including self
    b.wr(R.ICR_HI, 0x00000000);
    b.wr(R.ICR_LO, 0x0052); // physical destination 0 = us
    b.wr(R.ICR_HI, 0x07000000);
    b.wr(R.ICR_LO, 0x0053); // physical destination 7: nobody
    b.wr(R.ICR_LO, 0xc0000 | 0x54); // all excluding self: nobody
    expect(b.vectors(R.IRR)).toEqual([0x51, 0x52]);
    expect(b.rd(R.ICR_LO) & 0x1000).toBe(0); // delivery status idle
    b.wr(R.ICR_LO, 0x40000 | 0x400); // NMI to self
    expect(b.nmis.length).toBe(1);
    b.wr(R.ICR_LO, 0x80000 | 0x8500); // INIT level de-assert: only resyncs arbitration
    expect(b.vectors(R.IRR)).toEqual([0x51, 0x52]);
  });

  it('LINT1 in NMI mode forwards the NMI pin', () => {
    const b = bench();
    b.lapic.nmi();
    expect(b.nmis.length).toBe(0); // LINT1 masked after reset
    b.wr(R.LVT_LINT1, 0x400);
    b.lapic.nmi();
    expect(b.nmis.length).toBe(1);
  });

  it('hardware disable via the MSR resets the APIC; base relocation moves the page', () => {
    const b = bench();
    b.enable();
    b.wr(R.TPR, 0x30);
    b.lapic.writeBaseMsr(0xfee00000 | 0x100); // enable bit clear
    expect(b.lapic.readBaseMsr()).toBe(0xfee00100);
    expect(b.lapic.hardwareEnabled).toBe(false);
    expect(b.rd(R.TPR)).toBe(0);
    expect(b.rd(R.SVR)).toBe(0xff);
    b.selfIpi(0x40);
    expect(b.vectors(R.IRR)).toEqual([]); // a disabled APIC accepts nothing
    b.lapic.writeBaseMsr(0xfed00000 | 0x800);
    expect(b.lapic.readBaseMsr()).toBe(0xfed00900);
    expect(b.mem.read32(0xfed00000 + R.VER)).toBe(0x00050014);
    expect(b.mem.read32(0xfee00000 + R.VER)).toBe(0xffffffff); // nothing there now
  });

  it('logical destinations: flat and cluster models', () => {
    const b = bench();
    b.enable();
    b.wr(R.LDR, 0x04000000);
    b.route(1, 0x800 | 0x61, 0x04); // logical, dest 0x04
    b.ioapic.setIrq(1, true); b.ioapic.setIrq(1, false);
    b.route(1, 0x800 | 0x62, 0x03);
    b.ioapic.setIrq(1, true); b.ioapic.setIrq(1, false);
    expect(b.vectors(R.IRR)).toEqual([0x61]);
    b.wr(R.DFR, 0x0fffffff); // cluster: high nibble cluster, low nibble members
    b.wr(R.LDR, 0x21000000);
    b.route(1, 0x800 | 0x63, 0x21);
    b.ioapic.setIrq(1, true); b.ioapic.setIrq(1, false);
    b.route(1, 0x800 | 0x64, 0x11);
    b.ioapic.setIrq(1, true); b.ioapic.setIrq(1, false);
    expect(b.vectors(R.IRR)).toEqual([0x61, 0x63]);
  });
});
