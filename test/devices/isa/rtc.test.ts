import { describe, expect, it } from 'vitest';
import { IoBus } from '../../../src/bus/io-bus.js';
import { IrqLine, IrqSink } from '../../../src/bus/irq.js';
import { VirtualClock } from '../../../src/clock/virtual-clock.js';
import { fillPcCmos, periodicNs, Rtc, rtcBaseMs } from '../../../src/devices/isa/rtc.js';

class Sink implements IrqSink {
  level = false; rises = 0;
  setIrq(_n: number, l: boolean) { if (l && !this.level) this.rises++; this.level = l; }
}

function setup(base = '2006-06-17T16:01:21') {
  const clock = new VirtualClock();
  const io = new IoBus();
  const sink = new Sink();
  const rtc = new Rtc(clock, new IrqLine(sink, 8), rtcBaseMs(base, 0));
  rtc.attach(io);
  const rd = (i: number) => { io.write(0x70, 1, i); return io.read(0x71, 1); };
  const wr = (i: number, v: number) => { io.write(0x70, 1, i); io.write(0x71, 1, v); };
  return { clock, io, rtc, sink, rd, wr };
}

describe('MC146818 RTC', () => {
  it('reads the base date in BCD 24h with reset register values', () => {
    const { rd } = setup();
    expect([0, 2, 4, 6, 7, 8, 9, 0x32].map(rd)).toEqual([0x21, 0x01, 0x16, 0x07, 0x17, 0x06, 0x06, 0x20]);
    expect(rd(10)).toBe(0x26);
    expect(rd(11)).toBe(0x02);
    expect(rd(13)).toBe(0x80);
  });

  it('advances with the virtual clock across minute and day boundaries', () => {
    const { clock, rd } = setup('1999-12-31T23:59:58');
    clock.advanceTo(2.5e9);
    expect([0, 2, 4, 7, 8, 9, 0x32].map(rd)).toEqual([0x00, 0x00, 0x00, 0x01, 0x01, 0x00, 0x20]);
    expect(rd(6)).toBe(0x07); // 2000-01-01 was a Saturday
  });

  it('binary and 12-hour modes', () => {
    const { rd, wr } = setup();
    wr(11, 0x04 | 0x02);
    expect(rd(0)).toBe(21);
    expect(rd(4)).toBe(16);
    wr(11, 0x00);
    expect(rd(4)).toBe(0x84); // 4 PM
    wr(11, 0x04);
    expect(rd(4)).toBe(0x84);
  });

  it('sets UIP during the 244 us before each update', () => {
    const { clock, rd } = setup();
    clock.advanceTo(0.5e9);
    expect(rd(10) & 0x80).toBe(0);
    clock.advanceTo(1e9 - 200_000);
    expect(rd(10) & 0x80).toBe(0x80);
    expect(rd(0)).toBe(0x21); // not yet updated
    clock.advanceTo(1e9);
    expect(rd(10) & 0x80).toBe(0);
    expect(rd(0)).toBe(0x22);
  });

  it('SET freezes the time; clearing it starts from the written registers', () => {
    const { clock, rd, wr } = setup();
    wr(11, 0x82);
    wr(0, 0x45); wr(2, 0x30); wr(4, 0x12); wr(7, 0x01); wr(8, 0x02); wr(9, 0x24);
    clock.advanceTo(5e9);
    expect(rd(0)).toBe(0x45);
    expect(rd(10) & 0x80).toBe(0);
    wr(11, 0x02);
    clock.advanceTo(5e9 + 3e9 + 1);
    expect([0, 2, 4, 7, 8, 9].map(rd)).toEqual([0x48, 0x30, 0x12, 0x01, 0x02, 0x24]);
  });

  it('divider reset: the first update comes 500 ms after restarting the chain', () => {
    const { clock, rd, wr } = setup();
    wr(10, 0x76);
    clock.advanceTo(3e9);
    expect(rd(0)).toBe(0x21);
    wr(10, 0x26);
    clock.advanceTo(3e9 + 499e6);
    expect(rd(0)).toBe(0x21);
    clock.advanceTo(3e9 + 501e6);
    expect(rd(0)).toBe(0x22);
  });

  it('periodic interrupt at the rate select frequency, cleared by reading C', () => {
    const { clock, sink, rd, wr } = setup();
    expect(periodicNs(6)).toBeCloseTo(976562.5, 3);
    expect(periodicNs(1)).toBeCloseTo(3906250, 3);
    expect(periodicNs(3)).toBeCloseTo(122070.3125, 3);
    wr(11, 0x42);
    let n = 0;
    for (let t = 0; t <= 100e6; t += 50_000) {
      clock.advanceTo(t);
      if (sink.level) { const c = rd(12); expect(c & 0xc0).toBe(0xc0); n++; expect(sink.level).toBe(false); }
    }
    expect(n).toBeGreaterThanOrEqual(101);
    expect(n).toBeLessThanOrEqual(103);
  });

  it('PF is set without PIE but does not interrupt', () => {
    const { clock, sink, rd } = setup();
    clock.advanceTo(2e6);
    expect(sink.level).toBe(false);
    expect(rd(12)).toBe(0x40);
    expect(rd(12)).toBe(0x00);
  });

  it('update-ended and alarm interrupts', () => {
    const { clock, sink, rd, wr } = setup();
    wr(11, 0x12); // UIE
    clock.advanceTo(0.9e9);
    expect(sink.level).toBe(false);
    clock.advanceTo(1e9);
    expect(sink.level).toBe(true);
    expect(rd(12) & 0x90).toBe(0x90);
    wr(11, 0x22); // AIE only
    wr(1, 0x25); wr(3, 0xc0); wr(5, 0xff); // at second 25 of any minute/hour
    clock.advanceTo(3.5e9);
    expect(sink.level).toBe(false);
    clock.advanceTo(4e9);
    expect(sink.level).toBe(true);
    expect(rd(12) & 0xa0).toBe(0xa0);
    expect(sink.level).toBe(false);
  });

  it('keeps the NMI mask bit of port 0x70 and plain CMOS bytes', () => {
    const { io, rtc, rd, wr } = setup();
    io.write(0x70, 1, 0x80 | 0x40);
    expect(rtc.nmiMasked).toBe(true);
    io.write(0x71, 1, 0x5a);
    io.write(0x70, 1, 0x40);
    expect(rtc.nmiMasked).toBe(false);
    expect(io.read(0x71, 1)).toBe(0x5a);
    wr(13, 0); expect(rd(13)).toBe(0x80);
  });

  it('parses -rtc base values', () => {
    expect(rtcBaseMs('utc', 1234)).toBe(1234);
    expect(rtcBaseMs('localtime', 0, -60)).toBe(3600_000);
    expect(rtcBaseMs('2006-06-17', 0)).toBe(Date.UTC(2006, 5, 17));
    expect(() => rtcBaseMs('yesterday', 0)).toThrow(/invalid datetime format/);
  });

  it('fills the PC CMOS layout as QEMU pc_cmos_init does', () => {
    const { rtc } = setup();
    fillPcCmos(rtc, { below4g: 128 << 20, floppyTypes: [4, 0], cpus: 2,
      hardDisks: [{ cylinders: 1024, heads: 16, sectors: 63, translation: 1 }] });
    const c = rtc.cmos;
    expect([c[0x15], c[0x16]]).toEqual([0x80, 0x02]);
    expect([c[0x17], c[0x18], c[0x30], c[0x31]]).toEqual([0xff, 0xff, 0xff, 0xff]);
    expect([c[0x34], c[0x35]]).toEqual([0x00, 0x07]);
    expect([c[0x5b], c[0x5c], c[0x5d], c[0x5f]]).toEqual([0, 0, 0, 1]);
    expect([c[0x3d], c[0x38]]).toEqual([0x12, 0x30]); // c, a, d: first two nibbles in 0x3d, third in 0x38 high
    expect([c[0x10], c[0x14]]).toEqual([0x40, 0x07]);
    expect([c[0x12], c[0x19], c[0x1b], c[0x1c], c[0x1d], c[0x20], c[0x23], c[0x39]]).toEqual([0xf0, 47, 0x00, 0x04, 16, 0xc8, 63, 1]);
    fillPcCmos(rtc, { below4g: 3 * 2 ** 30, above4g: 2 ** 30, bootOrder: 'n' });
    expect([c[0x5b], c[0x5c], c[0x5d]]).toEqual([0x00, 0x40, 0x00]);
    expect([c[0x34], c[0x35]]).toEqual([0x00, 0xbf]);
    expect(() => fillPcCmos(rtc, { below4g: 1 << 20, bootOrder: 'cadn' })).toThrow('Too many boot devices for PC');
    expect(() => fillPcCmos(rtc, { below4g: 1 << 20, bootOrder: 'z' })).toThrow("Invalid boot device for PC: 'z'");
  });

  it('saves and restores', () => {
    const { clock, rtc, rd } = setup();
    clock.advanceTo(2e9);
    const s = JSON.parse(JSON.stringify(rtc.saveState()));
    const r2 = new Rtc(clock, null);
    r2.loadState(s);
    const io = new IoBus(); r2.attach(io);
    io.write(0x70, 1, 0);
    expect(io.read(0x71, 1)).toBe(rd(0));
  });
});
