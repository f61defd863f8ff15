import { describe, expect, it } from 'vitest';
import { IoBus } from '../../../src/bus/io-bus.js';
import { IrqLine, IrqSink } from '../../../src/bus/irq.js';
import { VirtualClock } from '../../../src/clock/virtual-clock.js';
import { MemoryChar } from '../../../src/chardev/types.js';
import { Serial16550 } from '../../../src/devices/isa/serial.js';

class Sink implements IrqSink { level = false; rises = 0; setIrq(_n: number, l: boolean) { if (l && !this.level) this.rises++; this.level = l; } }
const B = 0x3f8;

function setup(baudTiming = false) {
  const clock = new VirtualClock();
  const io = new IoBus();
  const sink = new Sink();
  const chr = new MemoryChar();
  const uart = new Serial16550(clock, new IrqLine(sink, 4), chr, { baudTiming });
  uart.attach(io, B);
  const r = (o: number) => io.read(B + o, 1);
  const w = (o: number, v: number) => io.write(B + o, 1, v);
  return { clock, io, sink, chr, uart, r, w };
}

describe('16550A UART', () => {
  it('resets to the datasheet values', () => {
    const { r } = setup();
    expect([r(1), r(2), r(3), r(4), r(5), r(6) & 0xf0]).toEqual([0x00, 0x01, 0x00, 0x00, 0x60, 0xb0]);
  });

  it('transmits to the chardev and keeps the scratch register', () => {
    const { r, w, chr } = setup();
    for (const c of 'Hi!') w(0, c.charCodeAt(0));
    expect(chr.text()).toBe('Hi!');
    expect(r(5) & 0x60).toBe(0x60);
    w(7, 0xa5); expect(r(7)).toBe(0xa5);
  });

  it('gives the divisor latch at 0/1 while DLAB is set', () => {
    const { r, w, uart } = setup();
    w(3, 0x83); w(0, 0x01); w(1, 0x00); w(3, 0x03);
    expect(uart.divisor).toBe(1);
    expect(uart.charNs()).toBeCloseTo(10 * 16 * 1e9 / 1843200, 3); // 115200 8N1
    w(3, 0x80); expect([r(0), r(1)]).toEqual([1, 0]);
  });

  it('raises THRE when enabled with an empty transmitter, clears it on IIR read, re-raises after a write', () => {
    const { r, w, sink } = setup();
    w(1, 0x02);
    expect(sink.level).toBe(true);
    expect(r(2)).toBe(0x02);
    expect(sink.level).toBe(false);
    expect(r(2)).toBe(0x01);
    w(0, 0x41);
    expect(sink.level).toBe(true);
    expect(r(2)).toBe(0x02);
  });

  it('with FIFO on, interrupts at the trigger level, then on character timeout', () => {
    const { r, w, chr, sink, clock, uart } = setup();
    w(2, 0x47); // FIFO on, clear, trigger 4
    w(1, 0x01);
    expect(r(2)).toBe(0xc1);
    chr.feed('abc');
    expect(sink.level).toBe(false);
    clock.advanceBy(4 * uart.charNs() + 1);
    expect(r(2)).toBe(0xcc);
    chr.feed('defgh');
    expect(r(2)).toBe(0xc4);
    let s = '';
    while (r(5) & 1) s += String.fromCharCode(r(0));
    expect(s).toBe('abcdefgh');
    expect(r(2)).toBe(0xc1);
    expect(sink.level).toBe(false);
  });

  it('holds host input beyond the FIFO until the guest reads (no loss)', () => {
    const { r, w, chr } = setup();
    w(2, 0x01);
    const text = 'x'.repeat(40) + 'END';
    chr.feed(text);
    let s = '';
    while (r(5) & 1) s += String.fromCharCode(r(0));
    expect(s).toBe(text);
  });

  it('without FIFO the RBR holds one byte at a time', () => {
    const { r, chr } = setup();
    chr.feed('xy');
    expect(r(5) & 1).toBe(1);
    expect(r(0)).toBe(0x78);
    expect(r(0)).toBe(0x79);
    expect(r(5) & 1).toBe(0);
  });

  it('loopback: transmitter feeds the receiver, modem outputs show in MSR', () => {
    const { r, w, chr } = setup();
    w(4, 0x10);
    w(0, 0x55);
    expect(chr.text()).toBe('');
    expect(r(5) & 1).toBe(1);
    expect(r(0)).toBe(0x55);
    w(4, 0x1f);
    const msr = r(6);
    expect(msr & 0xf0).toBe(0xf0);
    w(4, 0x10 | 0x01); // drop RTS, OUT1, OUT2
    const m2 = r(6);
    expect(m2 & 0xf0).toBe(0x20);
    expect(m2 & 0x0f).toBe(0x01 | 0x04 | 0x08); // DCTS, TERI, DDCD
    expect(r(6) & 0x0f).toBe(0);
  });

  it('overrun sets OE, raises the line status interrupt with top priority, cleared by reading LSR', () => {
    const { r, w, sink } = setup();
    w(1, 0x07); // RLS, THRE, RDA
    w(4, 0x10);
    w(0, 1); w(0, 2); // second byte overruns the 1-byte RBR
    expect(sink.level).toBe(true);
    expect(r(2)).toBe(0x06);
    expect(r(5) & 0x03).toBe(0x03);
    expect(r(5) & 0x02).toBe(0);
    expect(r(2)).toBe(0x04);
  });

  it('modem status interrupt from the outside lines', () => {
    const { r, w, uart, sink } = setup();
    w(1, 0x08);
    expect(sink.level).toBe(false);
    uart.setModemInputs(0x30); // DCD drops
    expect(r(2)).toBe(0x00);
    expect(r(6)).toBe(0x38);
    expect(sink.level).toBe(false);
  });

  it('with baudTiming the FIFO drains one character time at a time', () => {
    const { r, w, chr, clock, uart, sink } = setup(true);
    w(3, 0x03); w(2, 0x07); w(1, 0x02); r(2);
    const t = uart.charNs(); // 9600 8N1: ~1.0417 ms
    expect(t).toBeCloseTo(1041666.67, 0);
    w(0, 0x61); w(0, 0x62); w(0, 0x63);
    expect(chr.text()).toBe('a');
    expect(r(5) & 0x60).toBe(0x00);
    clock.advanceBy(t + 1);
    expect(chr.text()).toBe('ab');
    expect(r(5) & 0x60).toBe(0x00);
    expect(sink.level).toBe(false);
    clock.advanceBy(t);
    expect(chr.text()).toBe('abc');
    expect(r(5) & 0x60).toBe(0x20); // FIFO empty, shift register busy
    expect(sink.level).toBe(true);
    clock.advanceBy(t);
    expect(r(5) & 0x60).toBe(0x60);
  });

  it('saves and restores', () => {
    const { w, uart, clock } = setup();
    w(3, 0x1b); w(7, 9);
    const s = JSON.parse(JSON.stringify(uart.saveState()));
    const u2 = new Serial16550(clock, null, null);
    u2.loadState(s);
    expect(u2.lcr).toBe(0x1b);
    expect(u2.scr).toBe(9);
  });
});
