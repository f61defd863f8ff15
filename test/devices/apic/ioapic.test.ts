/**
 * 82093AA IO-APIC through IOREGSEL/IOWIN (datasheet register map), delivering
 * to a local APIC over the APIC bus, and the 8259 pair behind LINT0.
 */
import { describe, expect, it } from 'vitest';
import { bench, initPic, IOAPIC, R } from './harness.js';
import { IrqFanout, IrqLine } from '../../../src/bus/irq.js';
import { IoApic } from '../../../src/devices/apic/ioapic.js';
import { ApicBus } from '../../../src/devices/apic/apic-bus.js';

const LEVEL = 1 << 15, MASKED = 1 << 16, REMOTE_IRR = 1 << 14;

describe('IO-APIC registers', () => {
  it('ID, version 0x00170020 (24 entries, version 0x20 as QEMU 7.2), masked entries after reset', () => {
    const b = bench();
    expect(b.ioRd(0x01)).toBe(0x00170020);
    expect(b.ioRd(0x00)).toBe(0);
    b.ioWr(0x00, 0xffffffff);
    expect(b.ioRd(0x00)).toBe(0x0f000000); // 4-bit ID in bits 24-27
    expect(b.ioRd(0x02)).toBe(0x0f000000); // arbitration ID follows the ID
    for (let pin = 0; pin < 24; pin++) {
      expect(b.ioRd(0x10 + 2 * pin)).toBe(MASKED);
      expect(b.ioRd(0x11 + 2 * pin)).toBe(0);
    }
    expect(b.ioRd(0x10 + 2 * 24)).toBe(0); // no 25th entry
    b.mem.write32(IOAPIC, 0x12);
    expect(b.mem.read32(IOAPIC)).toBe(0x12); // IOREGSEL reads back
  });

  it('delivery status and Remote IRR are read-only; destination is bits 56-63', () => {
    const b = bench();
    b.ioWr(0x10, 0xffffffff);
    expect(b.ioRd(0x10)).toBe(0x0001afff);
    b.ioWr(0x11, 0xffffffff);
    expect(b.ioRd(0x11) >>> 0).toBe(0xff000000);
  });
});

describe('IO-APIC delivery', () => {
  it('edge pin: one interrupt per rising edge; ISA IRQ0 arrives on pin 2', () => {
    const b = bench();
    b.enable();
    b.route(2, 0x30);
    const irq0 = new IrqLine(b.ioapic.isa, 0);
    irq0.pulse();
    expect(b.lapic.hasInterrupt()).toBe(true);
    expect(b.lapic.acknowledge()).toBe(0x30);
    expect(b.vectors(R.TMR)).toEqual([]);
    irq0.raise(); // still high: no second edge
    irq0.raise();
    b.wr(R.EOI, 0);
    expect(b.lapic.hasInterrupt()).toBe(true); // the raise() after pulse() was an edge
    expect(b.lapic.acknowledge()).toBe(0x30);
    b.wr(R.EOI, 0);
    expect(b.lapic.hasInterrupt()).toBe(false);
    // pin 0 itself is not what ISA IRQ0 drives
    b.route(0, 0x3f);
    irq0.lower(); irq0.pulse();
    expect(b.vectors(R.IRR)).toEqual([0x30]);
  });

  it('level pin: Remote IRR holds it until the LAPIC EOI broadcast; re-delivers while asserted', () => {
    const b = bench();
    b.enable();
    b.route(10, LEVEL | 0x41);
    b.ioapic.setIrq(10, true);
    expect(b.ioRd(0x10 + 20) & REMOTE_IRR).toBe(REMOTE_IRR);
    expect(b.vectors(R.TMR)).toEqual([0x41]);
    expect(b.lapic.acknowledge()).toBe(0x41);
    expect(b.lapic.hasInterrupt()).toBe(false);
    b.wr(R.EOI, 0); // line still high: delivered again
    expect(b.ioRd(0x10 + 20) & REMOTE_IRR).toBe(REMOTE_IRR);
    expect(b.lapic.acknowledge()).toBe(0x41);
    b.ioapic.setIrq(10, false); // device handled
    b.wr(R.EOI, 0);
    expect(b.ioRd(0x10 + 20) & REMOTE_IRR).toBe(0);
    expect(b.lapic.hasInterrupt()).toBe(false);
    expect(b.vectors(R.ISR)).toEqual([]);
  });

  it('an edge EOI does not touch Remote IRR of a level pin sharing nothing', () => {
    const b = bench();
    b.enable();
    b.route(10, LEVEL | 0x41);
    b.route(4, 0x42);
    b.ioapic.setIrq(10, true);
    b.ioapic.setIrq(4, true);
    expect(b.lapic.acknowledge()).toBe(0x42);
    b.wr(R.EOI, 0); // 0x42 is edge (TMR clear): no broadcast
    expect(b.ioRd(0x10 + 20) & REMOTE_IRR).toBe(REMOTE_IRR);
  });

  it('masking: a level input is delivered on unmask; switching to edge clears Remote IRR', () => {
    const b = bench();
    b.enable();
    b.route(11, MASKED | LEVEL | 0x51);
    b.ioapic.setIrq(11, true);
    expect(b.lapic.hasInterrupt()).toBe(false);
    b.ioWr(0x10 + 22, LEVEL | 0x51);
    expect(b.lapic.acknowledge()).toBe(0x51);
    expect(b.ioRd(0x10 + 22) & REMOTE_IRR).toBe(REMOTE_IRR);
    b.ioWr(0x10 + 22, MASKED | 0x51); // edge + masked (Linux's trick to unstick a level pin)
    expect(b.ioRd(0x10 + 22) & REMOTE_IRR).toBe(0);
  });

  it('version 0x20 EOI register clears Remote IRR; a version 0x11 chip has none', () => {
    const b = bench();
    b.route(9, LEVEL | MASKED | 0x49);
    b.ioapic.setIrq(9, true);
    b.ioWr(0x10 + 18, LEVEL | 0x49); // unmasked: delivered, Remote IRR set
    expect(b.ioRd(0x10 + 18) & REMOTE_IRR).toBe(REMOTE_IRR);
    b.ioapic.setIrq(9, false);
    b.mem.write32(IOAPIC + 0x40, 0x48); // another vector: no effect
    expect(b.ioRd(0x10 + 18) & REMOTE_IRR).toBe(REMOTE_IRR);
    b.mem.write32(IOAPIC + 0x40, 0x49);
    expect(b.ioRd(0x10 + 18) & REMOTE_IRR).toBe(0);

    const old = new IoApic(new ApicBus(), 0, 0x11);
    const rd = (i: number) => { old.mmioWrite(0, 4, i); return old.mmioRead(0x10, 4); };
    expect(rd(1)).toBe(0x00170011);
    old.mmioWrite(0, 4, 0x10 + 18); old.mmioWrite(0x10, 4, LEVEL | 0x49);
    old.setIrq(9, true);
    expect(rd(0x10 + 18) & REMOTE_IRR).toBe(REMOTE_IRR);
    old.mmioWrite(0x40, 4, 0x49);
    expect(rd(0x10 + 18) & REMOTE_IRR).toBe(REMOTE_IRR);
  });

  it('an edge that arrives while the pin is masked is delivered on unmask (as QEMU)', () => {
    const b = bench();
    b.enable();
    b.route(4, MASKED | 0x44);
    b.ioapic.setIrq(4, true); b.ioapic.setIrq(4, false);
    expect(b.lapic.hasInterrupt()).toBe(false);
    b.ioWr(0x10 + 8, 0x44);
    expect(b.lapic.acknowledge()).toBe(0x44);
    b.wr(R.EOI, 0);
    b.ioWr(0x10 + 8, MASKED | 0x44); b.ioWr(0x10 + 8, 0x44); // nothing latched any more
    expect(b.lapic.hasInterrupt()).toBe(false);
  });

  it('saveState/loadState keeps redirection entries, latches and Remote IRR', () => {
    const b = bench();
    b.enable();
    b.route(10, LEVEL | 0x41, 0);
    b.ioapic.setIrq(10, true);
    const copy = bench();
    copy.ioapic.loadState(JSON.parse(JSON.stringify(b.ioapic.saveState())));
    copy.lapic.loadState(JSON.parse(JSON.stringify(b.lapic.saveState())));
    expect(copy.ioRd(0x10 + 20)).toBe(b.ioRd(0x10 + 20));
    expect(copy.lapic.acknowledge()).toBe(0x41);
    copy.ioapic.setIrq(10, false);
    copy.wr(R.EOI, 0);
    expect(copy.ioRd(0x10 + 20) & REMOTE_IRR).toBe(0);
  });

  it('NMI and INIT delivery modes, and a masked LAPIC LVT does not matter to them', () => {
    const b = bench();
    b.route(5, 0x400);
    b.ioapic.setIrq(5, true);
    expect(b.nmis.length).toBe(1);
    let inits = 0;
    b.lapic.onInit = () => { inits++; };
    b.route(6, 0x500);
    b.ioapic.setIrq(6, true);
    expect(inits).toBe(1);
  });

  it('fixed delivery to an absent physical destination goes nowhere', () => {
    const b = bench();
    b.enable();
    b.route(7, 0x70, 3);
    b.ioapic.setIrq(7, true);
    expect(b.vectors(R.IRR)).toEqual([]);
  });
});

describe('8259 behind LINT0 (ExtINT)', () => {
  it('a guest that never enabled the APIC sees the PIC alone (LINT0 still masked)', () => {
    const b = bench({ pic: true });
    initPic(b.io);
    expect(b.rd(R.LVT_LINT0)).toBe(0x10000);
    b.pic!.setIrq(1, true);
    expect(b.intr).toEqual([true]);
    expect(b.lapic.hasInterrupt()).toBe(true);
    expect(b.lapic.acknowledge()).toBe(0x09);
    expect(b.lapic.hasInterrupt()).toBe(false);
    expect(b.intr).toEqual([true, false]);
  });

  it('SeaBIOS setup (SVR on, LINT0 = 0x8700): ExtINT ignores the TPR; masking LINT0 cuts the PIC off', () => {
    const b = bench({ pic: true });
    initPic(b.io);
    b.enable();
    b.wr(R.LVT_LINT0, 0x8700);
    b.wr(R.TPR, 0xf0);
    b.pic!.setIrq(12, true);
    expect(b.lapic.acknowledge()).toBe(0x74);
    b.io.write(0xa0, 1, 0x20); b.io.write(0x20, 1, 0x20);
    b.pic!.setIrq(12, false);
    b.wr(R.LVT_LINT0, 0x18700); // masked
    b.pic!.setIrq(3, true);
    expect(b.lapic.hasInterrupt()).toBe(false);
    b.wr(R.LVT_LINT0, 0x8700); // unmasked: the pending request shows up
    expect(b.lapic.hasInterrupt()).toBe(true);
    expect(b.lapic.acknowledge()).toBe(0x0b);
  });

  it('a hardware-disabled APIC hands INTR/INTA to the PIC, including its spurious IRQ7', () => {
    const b = bench({ pic: true });
    initPic(b.io);
    b.enable();
    b.wr(R.LVT_LINT0, 0x10700);
    b.pic!.setIrq(4, true);
    expect(b.lapic.hasInterrupt()).toBe(false); // enabled APIC, LINT0 masked: blocked
    b.lapic.writeBaseMsr(0xfee00000);
    expect(b.lapic.hasInterrupt()).toBe(true);
    b.pic!.setIrq(4, false); // edge latched in the PIC's IRR: still delivered
    expect(b.lapic.acknowledge()).toBe(0x0c);
    expect(b.lapic.acknowledge()).toBe(0x0f); // nothing left: the 8259 answers IRQ7
  });

  it('an IO-APIC ExtINT entry (pin 0) takes the vector from the PIC at INTA', () => {
    const b = bench({ pic: true });
    initPic(b.io);
    b.enable();
    b.wr(R.LVT_LINT0, 0x10700); // Linux masks LINT0 when the IO-APIC routes the 8259
    b.route(0, 0x700);
    const isa = new IrqFanout([b.pic!, b.ioapic.isa]);
    isa.setIrq(3, true); // the PIC's INTR is what pin 0 sees on a PC
    b.ioapic.setIrq(0, true);
    expect(b.lapic.hasInterrupt()).toBe(true);
    expect(b.lapic.acknowledge()).toBe(0x0b);
    expect(b.lapic.hasInterrupt()).toBe(false);
  });

  it('LINT0 in fixed level mode turns the PIC output into an APIC vector', () => {
    const b = bench({ pic: true });
    initPic(b.io);
    b.enable();
    b.wr(R.LVT_LINT0, 0x8000 | 0x39);
    b.pic!.setIrq(5, true);
    expect(b.vectors(R.IRR)).toEqual([0x39]);
    expect(b.vectors(R.TMR)).toEqual([0x39]);
    expect(b.lapic.acknowledge()).toBe(0x39);
  });
});
