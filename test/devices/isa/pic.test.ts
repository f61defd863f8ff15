import { describe, expect, it } from 'vitest';
import { IoBus } from '../../../src/bus/io-bus.js';
import { PicPair } from '../../../src/devices/isa/pic.js';

/** Program both chips the way a PC BIOS does (vectors 0x08 and 0x70). */
function setup(master = 0x08, slave = 0x70, icw4 = 0x01) {
  const io = new IoBus();
  const pic = new PicPair();
  const intr: boolean[] = [];
  pic.onIntrChange = (l) => intr.push(l);
  pic.attach(io);
  io.write(0x20, 1, 0x11); io.write(0x21, 1, master); io.write(0x21, 1, 0x04); io.write(0x21, 1, icw4);
  io.write(0xa0, 1, 0x11); io.write(0xa1, 1, slave); io.write(0xa1, 1, 0x02); io.write(0xa1, 1, icw4);
  io.write(0x21, 1, 0x00); io.write(0xa1, 1, 0x00);
  return { io, pic, intr };
}
const eoi = (io: IoBus, port = 0x20) => io.write(port, 1, 0x20);

describe('8259A PIC pair', () => {
  it('initialises with ICW1-4 and clears IMR on ICW1', () => {
    const { io } = setup();
    io.write(0x21, 1, 0xfb);
    expect(io.read(0x21, 1)).toBe(0xfb);
    io.write(0x20, 1, 0x11);
    expect(io.read(0x21, 1)).toBe(0x00);
  });

  it('delivers an edge IRQ once with the programmed vector and tracks IRR/ISR', () => {
    const { io, pic, intr } = setup();
    pic.setIrq(0, true);
    expect(pic.hasInterrupt()).toBe(true);
    expect(intr).toEqual([true]);
    io.write(0x20, 1, 0x0a); // OCW3 read IRR
    expect(io.read(0x20, 1)).toBe(0x01);
    expect(pic.acknowledge()).toBe(0x08);
    expect(pic.hasInterrupt()).toBe(false);
    io.write(0x20, 1, 0x0b); // read ISR
    expect(io.read(0x20, 1)).toBe(0x01);
    // level still high: no new edge, nothing pending after EOI
    eoi(io);
    expect(io.read(0x20, 1)).toBe(0x00);
    expect(pic.hasInterrupt()).toBe(false);
    pic.setIrq(0, false); pic.setIrq(0, true);
    expect(pic.acknowledge()).toBe(0x08);
  });

  it('latches a pulse (raise then lower) on an edge input', () => {
    const { pic } = setup();
    pic.setIrq(1, true); pic.setIrq(1, false);
    expect(pic.acknowledge()).toBe(0x09);
  });

  it('prioritises lower IRQs and nests higher ones over an in-service lower one', () => {
    const { io, pic } = setup();
    pic.setIrq(4, true); pic.setIrq(3, true);
    expect(pic.acknowledge()).toBe(0x0b); // IRQ3 first
    expect(pic.hasInterrupt()).toBe(false); // IRQ4 is lower than in-service IRQ3
    pic.setIrq(1, true);
    expect(pic.acknowledge()).toBe(0x09); // IRQ1 nests
    eoi(io); // clears IRQ1 (highest in service)
    io.write(0x20, 1, 0x0b);
    expect(io.read(0x20, 1)).toBe(0x08);
    eoi(io);
    expect(pic.acknowledge()).toBe(0x0c);
  });

  it('cascades the slave through IRQ2 and needs EOI on both', () => {
    const { io, pic } = setup();
    pic.setIrq(8, true); pic.setIrq(8, false);
    expect(pic.pendingIrq()).toBe(8);
    expect(pic.acknowledge()).toBe(0x70);
    io.write(0xa0, 1, 0x0b);
    expect(io.read(0xa0, 1)).toBe(0x01);
    io.write(0x20, 1, 0x0b);
    expect(io.read(0x20, 1)).toBe(0x04);
    pic.setIrq(14, true);
    expect(pic.hasInterrupt()).toBe(false); // master IR2 still in service
    eoi(io, 0xa0); eoi(io, 0x20);
    expect(pic.acknowledge()).toBe(0x76);
  });

  it('masks through IMR and honours OCW1 on the slave', () => {
    const { io, pic } = setup();
    io.write(0xa1, 1, 0x01);
    pic.setIrq(8, true);
    expect(pic.hasInterrupt()).toBe(false);
    io.write(0xa1, 1, 0x00);
    expect(pic.acknowledge()).toBe(0x70);
  });

  it('gives spurious IRQ7 without setting ISR when the request vanished (level input)', () => {
    const { io, pic } = setup();
    io.write(0x4d0, 1, 0x08); // IRQ3 level triggered
    pic.setIrq(3, true);
    expect(pic.hasInterrupt()).toBe(true);
    pic.setIrq(3, false);
    expect(pic.hasInterrupt()).toBe(false);
    expect(pic.acknowledge()).toBe(0x0f);
    io.write(0x20, 1, 0x0b);
    expect(io.read(0x20, 1)).toBe(0x00);
  });

  it('gives spurious IRQ15 when the slave request vanished after the master latched IR2', () => {
    const { io, pic } = setup();
    io.write(0x4d1, 1, 0x08); // IRQ11 level
    pic.setIrq(11, true);
    pic.setIrq(11, false); // master IR2 edge stays latched
    expect(pic.acknowledge()).toBe(0x77);
    io.write(0xa0, 1, 0x0b);
    expect(io.read(0xa0, 1)).toBe(0x00);
  });

  it('keeps a level-triggered IRQ asserted after EOI while the line is high', () => {
    const { io, pic } = setup();
    io.write(0x4d1, 1, 0x0e); // IRQ9,10,11 level
    expect(io.read(0x4d1, 1)).toBe(0x0e);
    pic.setIrq(10, true);
    expect(pic.acknowledge()).toBe(0x72);
    eoi(io, 0xa0); eoi(io, 0x20);
    expect(pic.acknowledge()).toBe(0x72);
  });

  it('masks ELCR bits the PIIX hardwires to edge (IRQ0,1,2,8,13)', () => {
    const { io } = setup();
    io.write(0x4d0, 1, 0xff); io.write(0x4d1, 1, 0xff);
    expect(io.read(0x4d0, 1)).toBe(0xf8);
    expect(io.read(0x4d1, 1)).toBe(0xde);
  });

  it('auto-EOI mode leaves ISR clear', () => {
    const { io, pic } = setup(0x08, 0x70, 0x03);
    pic.setIrq(5, true);
    expect(pic.acknowledge()).toBe(0x0d);
    io.write(0x20, 1, 0x0b);
    expect(io.read(0x20, 1)).toBe(0x00);
  });

  it('specific EOI clears only the named level', () => {
    const { io, pic } = setup();
    pic.setIrq(5, true); pic.acknowledge();
    pic.setIrq(1, true); pic.acknowledge();
    io.write(0x20, 1, 0x65); // specific EOI IR5
    io.write(0x20, 1, 0x0b);
    expect(io.read(0x20, 1)).toBe(0x02);
  });

  it('rotates priority on rotate-on-non-specific-EOI and set-priority', () => {
    const { io, pic } = setup();
    pic.setIrq(3, true); pic.acknowledge();
    io.write(0x20, 1, 0xa0); // rotate on non-specific EOI: IR3 becomes lowest, IR4 highest
    pic.setIrq(2, true); pic.setIrq(5, true);
    expect(pic.acknowledge()).toBe(0x0d); // IR5 beats IR2 now
    io.write(0x20, 1, 0x20);
    io.write(0x20, 1, 0xc1); // set priority: IR1 lowest -> IR2 highest
    pic.setIrq(6, true);
    // IR2 (cascade) with no slave request gives spurious IRQ15
    expect(pic.acknowledge()).toBe(0x77);
  });

  it('answers the poll command with 0x80|level and acknowledges it', () => {
    const { io, pic } = setup();
    pic.setIrq(6, true);
    io.write(0x20, 1, 0x0c);
    expect(io.read(0x20, 1)).toBe(0x86);
    io.write(0x20, 1, 0x0b);
    expect(io.read(0x20, 1)).toBe(0x40);
    io.write(0x20, 1, 0x0c);
    expect(io.read(0x20, 1)).toBe(0x00);
    expect(pic.hasInterrupt()).toBe(false);
  });

  it('special mask mode lets lower priorities through while a higher one is in service', () => {
    const { io, pic } = setup();
    pic.setIrq(2 + 1, true); pic.acknowledge(); // IR3 in service
    io.write(0x21, 1, 0x08); // mask IR3
    io.write(0x20, 1, 0x68); // set special mask
    pic.setIrq(6, true);
    expect(pic.acknowledge()).toBe(0x0e);
    io.write(0x20, 1, 0x48); // reset special mask
    pic.setIrq(7, true);
    expect(pic.hasInterrupt()).toBe(false);
  });

  it('saves and restores state', () => {
    const { pic } = setup();
    pic.setIrq(4, true);
    const s = JSON.parse(JSON.stringify(pic.saveState()));
    const p2 = new PicPair();
    p2.loadState(s);
    expect(p2.acknowledge()).toBe(0x0c);
  });
});
