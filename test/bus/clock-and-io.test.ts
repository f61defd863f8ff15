import { describe, expect, it } from 'vitest';
import { VirtualClock } from '../../src/clock/virtual-clock.js';
import { ByteIoDevice, IoBus } from '../../src/bus/io-bus.js';
import { MemoryBus } from '../../src/memory/memory-bus.js';

describe('VirtualClock', () => {
  it('fires timers in deadline order with the clock at each deadline', () => {
    const c = new VirtualClock();
    const seen: string[] = [];
    const a = c.newTimer((t) => seen.push(`a@${t}`));
    const b = c.newTimer((t) => { seen.push(`b@${t}`); if (t < 300) b.mod(t + 200); });
    a.mod(150); b.mod(100);
    c.advanceTo(450);
    expect(seen).toEqual(['b@100', 'a@150', 'b@300']);
    expect(c.now()).toBe(450);
    expect(c.nextDeadline()).toBe(Infinity);
  });
});

class Latch extends ByteIoDevice {
  v = new Uint8Array(4);
  readByte(p: number) { return this.v[p & 3]!; }
  writeByte(p: number, x: number) { this.v[p & 3] = x; }
}

describe('IoBus', () => {
  it('splits wide accesses for byte devices and floats unassigned ports', () => {
    const bus = new IoBus();
    const d = new Latch();
    bus.register(0x80, 4, d, 'latch');
    bus.write(0x80, 4, 0x11223344);
    expect(d.v).toEqual(new Uint8Array([0x44, 0x33, 0x22, 0x11]));
    expect(bus.read(0x82, 2)).toBe(0x1122);
    expect(bus.read(0x300, 1)).toBe(0xff);
    expect(bus.read(0x300, 4)).toBe(0xffffffff);
    expect(() => bus.register(0x83, 1, new Latch(), 'other')).toThrow(/already used by latch/);
  });
});

describe('MemoryBus', () => {
  it('maps RAM, read-only ROM and MMIO, and splits page-crossing accesses', () => {
    const m = new MemoryBus(64 * 1024);
    m.mapRam(0, 64 * 1024);
    const rom = new Uint8Array(4096).fill(0xaa);
    m.addRom(0xf0000, rom);
    const log: string[] = [];
    m.mapMmio(0xa0000, 4096, {
      mmioRead: (o, s) => { log.push(`r${o}/${s}`); return 0x1234; },
      mmioWrite: (o, s, v) => { log.push(`w${o}/${s}=${v.toString(16)}`); },
    }, 'dev');
    m.write32(0xffe, 0xdeadbeef);
    expect(m.read32(0xffe)).toBe(0xdeadbeef);
    expect(m.read8(0xf0010)).toBe(0xaa);
    m.write8(0xf0010, 0x55);
    expect(m.read8(0xf0010)).toBe(0xaa);
    expect(m.read16(0xa0002)).toBe(0x1234);
    m.write16(0xa0004, 0xbeef);
    expect(log).toEqual(['r2/2', 'w4/2=beef']);
    expect(m.read8(0x200000)).toBe(0xff);
  });
});
