import { describe, expect, it } from 'vitest';
import { IoBus } from '../../../src/bus/io-bus.js';
import { IrqLine, IrqSink } from '../../../src/bus/irq.js';
import { VirtualClock } from '../../../src/clock/virtual-clock.js';
import { nsForTicks, Pit, Port61, ticksIn } from '../../../src/devices/isa/pit.js';

class Recorder implements IrqSink {
  edges: { level: boolean; t: number }[] = [];
  constructor(private clock: VirtualClock) {}
  setIrq(_n: number, level: boolean) { this.edges.push({ level, t: this.clock.now() }); }
  rises() { return this.edges.filter((e) => e.level).length; }
}

function setup() {
  const clock = new VirtualClock();
  const io = new IoBus();
  const rec = new Recorder(clock);
  const pit = new Pit(clock, new IrqLine(rec, 0));
  const p61 = new Port61(clock, pit);
  pit.attach(io); p61.attach(io);
  rec.edges.length = 0;
  return { clock, io, pit, rec };
}
const tick = (n: number) => nsForTicks(n);
const load16 = (io: IoBus, port: number, v: number) => { io.write(port, 1, v & 0xff); io.write(port, 1, v >> 8); };
const read16 = (io: IoBus, port: number) => io.read(port, 1) | (io.read(port, 1) << 8);

describe('8254 PIT', () => {
  it('converts between ns and 1.193182 MHz ticks exactly', () => {
    expect(ticksIn(1e9)).toBe(1193182);
    expect(ticksIn(nsForTicks(12345))).toBe(12345);
    expect(ticksIn(nsForTicks(12345) - 1)).toBe(12344);
    expect(ticksIn(86400e9 * 30 + 1e9)).toBe(1193182 * (86400 * 30 + 1));
  });

  it('mode 2 on channel 0 gives one IRQ0 rising edge per period (1 kHz like Linux HZ=1000)', () => {
    const { clock, io, rec } = setup();
    io.write(0x43, 1, 0x34); load16(io, 0x40, 1193);
    clock.advanceTo(10_000_000 + 1000);
    expect(rec.rises()).toBe(10);
    // the rising edge comes exactly when the period elapses
    const firstRise = rec.edges.find((e) => e.level)!;
    expect(firstRise.t).toBe(tick(1193));
  });

  it('counts down in mode 2 and reloads', () => {
    const { clock, io } = setup();
    io.write(0x43, 1, 0x34); load16(io, 0x40, 1000);
    clock.advanceTo(tick(300));
    expect(read16(io, 0x40)).toBe(700);
    clock.advanceTo(tick(1250));
    expect(read16(io, 0x40)).toBe(750);
  });

  it('mode 3 is a square wave: high for the first half, counts by two', () => {
    const { clock, io, pit } = setup();
    io.write(0x43, 1, 0x36); load16(io, 0x40, 100);
    clock.advanceTo(tick(10));
    expect(pit.out(0)).toBe(true);
    expect(read16(io, 0x40)).toBe(80);
    clock.advanceTo(tick(60));
    expect(pit.out(0)).toBe(false);
    clock.advanceTo(tick(100));
    expect(pit.out(0)).toBe(true);
  });

  it('mode 0 raises OUT once at terminal count and keeps counting down through zero', () => {
    const { clock, io, pit, rec } = setup();
    io.write(0x43, 1, 0x30);
    expect(pit.out(0)).toBe(false);
    load16(io, 0x40, 100);
    clock.advanceTo(tick(99));
    expect(pit.out(0)).toBe(false);
    clock.advanceTo(tick(100));
    expect(pit.out(0)).toBe(true);
    clock.advanceTo(tick(5000));
    expect(rec.rises()).toBe(1);
    expect(read16(io, 0x40)).toBe((100 - 5000) & 0xffff);
  });

  it('mode 4 pulses OUT low for one clock at terminal count', () => {
    const { clock, io, rec } = setup();
    io.write(0x43, 1, 0x38); load16(io, 0x40, 50);
    clock.advanceTo(tick(49));
    expect(rec.edges).toEqual([]);
    clock.advanceTo(tick(52));
    expect(rec.edges.map((e) => e.level)).toEqual([false, true]);
    expect(rec.edges[0]!.t).toBe(tick(50));
    expect(rec.edges[1]!.t).toBe(tick(51));
  });

  it('counter latch freezes the value read while time moves on', () => {
    const { clock, io } = setup();
    io.write(0x43, 1, 0x34); load16(io, 0x40, 40000);
    clock.advanceTo(tick(1000));
    io.write(0x43, 1, 0x00);
    clock.advanceTo(tick(2000));
    expect(io.read(0x40, 1)).toBe(39000 & 0xff);
    clock.advanceTo(tick(3000));
    expect(io.read(0x40, 1)).toBe(39000 >> 8);
    expect(read16(io, 0x40)).toBe(37000);
  });

  it('LSB-only and MSB-only access modes', () => {
    const { clock, io } = setup();
    io.write(0x43, 1, 0x54); // ch1, LSB only, mode 2
    io.write(0x41, 1, 200);
    clock.advanceTo(tick(50));
    expect(io.read(0x41, 1)).toBe(150);
    io.write(0x43, 1, 0x64); // ch1, MSB only
    io.write(0x41, 1, 0x02); // 512
    clock.advanceTo(tick(50) + tick(12));
    expect(io.read(0x41, 1)).toBe(0x01); // 500 = 0x1f4
  });

  it('read-back returns status (OUT, null count, RW, mode, BCD) then the count', () => {
    const { clock, io } = setup();
    io.write(0x43, 1, 0xb0); // ch2, lsb/msb, mode 0
    io.write(0x43, 1, 0xe8); // read-back status only, ch2
    expect(io.read(0x42, 1)).toBe(0x70); // OUT low, null count, rw=3, mode 0
    io.write(0x61, 1, 0x01); // gate on
    load16(io, 0x42, 300);
    io.write(0x43, 1, 0xc8); // latch count and status of ch2
    expect(io.read(0x42, 1)).toBe(0x30);
    expect(read16(io, 0x42)).toBe(300);
    clock.advanceTo(tick(400));
    io.write(0x43, 1, 0xe8);
    expect(io.read(0x42, 1)).toBe(0xb0);
  });

  it('counts in BCD', () => {
    const { clock, io } = setup();
    io.write(0x43, 1, 0x31); // ch0 mode 0 BCD
    load16(io, 0x40, 0x1000); // 1000 decimal
    clock.advanceTo(tick(100));
    expect(read16(io, 0x40)).toBe(0x0900);
    clock.advanceTo(tick(1234));
    expect(read16(io, 0x40)).toBe(0x9766); // 1000-1234 mod 10000
  });

  it('channel 2 gate via port 0x61 holds the count, OUT2 shows in bit 5 (Linux PIT calibration)', () => {
    const { clock, io } = setup();
    io.write(0x61, 1, 0x00);
    io.write(0x43, 1, 0xb0); load16(io, 0x42, 0xffff);
    clock.advanceTo(tick(500));
    expect(read16(io, 0x42)).toBe(0xffff); // gate low: not counting
    io.write(0x61, 1, 0x01);
    const t0 = clock.now();
    clock.advanceTo(t0 + tick(1000) + 1);
    expect(read16(io, 0x42)).toBe(0xffff - 1000);
    expect(io.read(0x61, 1) & 0x20).toBe(0);
    clock.advanceTo(t0 + tick(0xffff) + 1);
    expect(io.read(0x61, 1) & 0x20).toBe(0x20);
    expect(io.read(0x61, 1) & 0x0f).toBe(0x01);
  });

  it('mode 1 on channel 2 waits for a gate rising edge, OUT low during the count', () => {
    const { clock, io, pit } = setup();
    io.write(0x43, 1, 0xb2); load16(io, 0x42, 100);
    clock.advanceTo(tick(500));
    expect(pit.out(2)).toBe(true);
    io.write(0x61, 1, 0x01);
    const t0 = clock.now();
    clock.advanceTo(t0 + tick(50));
    expect(pit.out(2)).toBe(false);
    expect(read16(io, 0x42)).toBe(50);
    clock.advanceTo(t0 + tick(100));
    expect(pit.out(2)).toBe(true);
  });

  it('port 0x61 bit 4 toggles with the 15 us refresh cycle', () => {
    const { clock, io } = setup();
    const seen = new Set<number>();
    let toggles = 0, last = io.read(0x61, 1) & 0x10;
    for (let t = 0; t < 1_000_000; t += 1000) {
      clock.advanceTo(t);
      const b = io.read(0x61, 1) & 0x10;
      seen.add(b);
      if (b !== last) { toggles++; last = b; }
    }
    expect(seen).toEqual(new Set([0, 0x10]));
    expect(toggles).toBeGreaterThan(60);
    expect(toggles).toBeLessThan(70); // 1 ms / 15.085 us = 66
  });

  it('saves and restores', () => {
    const { clock, io, pit } = setup();
    io.write(0x43, 1, 0x34); load16(io, 0x40, 1000);
    clock.advanceTo(tick(100));
    const s = JSON.parse(JSON.stringify(pit.saveState()));
    const pit2 = new Pit(clock, null);
    pit2.loadState(s);
    const io2 = new IoBus(); pit2.attach(io2);
    expect(read16(io2, 0x40)).toBe(900);
  });
});
