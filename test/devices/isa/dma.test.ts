import { describe, expect, it } from 'vitest';
import { IoBus } from '../../../src/bus/io-bus.js';
import { MemoryBus } from '../../../src/memory/memory-bus.js';
import { Dma8237 } from '../../../src/devices/isa/dma.js';

function setup() {
  const mem = new MemoryBus(1 << 20, 0);
  mem.mapRam(0, 1 << 20);
  const io = new IoBus();
  const dma = new Dma8237(mem);
  dma.attach(io);
  return { mem, io, dma };
}

/** Program an 8-bit channel the way a BIOS floppy driver does. */
function program(io: IoBus, ch: number, mode: number, phys: number, count: number) {
  io.write(0x0a, 1, 0x04 | ch);
  io.write(0x0c, 1, 0);
  io.write(0x0b, 1, mode | ch);
  const addrPort = ch * 2, cntPort = ch * 2 + 1;
  io.write(addrPort, 1, phys & 0xff); io.write(addrPort, 1, (phys >> 8) & 0xff);
  io.write([0x87, 0x83, 0x81, 0x82][ch]!, 1, phys >> 16);
  io.write(cntPort, 1, count & 0xff); io.write(cntPort, 1, count >> 8);
  io.write(0x0a, 1, ch);
}
const pattern = (n: number, seed = 1) => Uint8Array.from({ length: n }, (_, i) => (i * 7 + seed) & 0xff);

describe('8237A DMA', () => {
  it('channel 2 device-to-memory transfer ends at terminal count, masks itself and flags TC once', () => {
    const { mem, io, dma } = setup();
    const data = pattern(1024);
    let moved = -1;
    dma.registerChannel(2, () => { moved = dma.writeMemory(2, data); dma.release(2); });
    program(io, 2, 0x44, 0x21000, 511);
    expect(dma.transferType(2)).toBe('write');
    dma.hold(2);
    expect(moved).toBe(512);
    expect(mem.mem.subarray(0x21000, 0x21200)).toEqual(data.subarray(0, 512));
    expect(mem.mem[0x21200]).toBe(0);
    expect(io.read(0x08, 1) & 0x04).toBe(0x04);
    expect(io.read(0x08, 1) & 0x04).toBe(0);
    expect(io.read(0x0f, 1) & 0x04).toBe(0x04);
    io.write(0x0c, 1, 0);
    expect(io.read(0x04, 1) | (io.read(0x04, 1) << 8)).toBe(0x1200);
    expect(io.read(0x05, 1) | (io.read(0x05, 1) << 8)).toBe(0xffff);
  });

  it('waits for the mask to clear before serving DREQ', () => {
    const { io, dma } = setup();
    let calls = 0;
    dma.registerChannel(1, () => { calls++; dma.release(1); });
    io.write(0x0a, 1, 0x05);
    dma.hold(1);
    expect(calls).toBe(0);
    io.write(0x0a, 1, 0x01);
    expect(calls).toBe(1);
  });

  it('autoinit reloads base address and count at terminal count', () => {
    const { mem, io, dma } = setup();
    program(io, 1, 0x54, 0x3000, 3);
    dma.registerChannel(1, () => {});
    expect(dma.writeMemory(1, pattern(10))).toBe(4);
    expect(dma.isMasked(1)).toBe(false);
    expect(dma.writeMemory(1, pattern(4, 100))).toBe(4);
    expect(Array.from(mem.mem.subarray(0x3000, 0x3004))).toEqual(Array.from(pattern(4, 100)));
  });

  it('memory-to-device (read transfer), address wraps inside the 64K page, decrement mode', () => {
    const { mem, io, dma } = setup();
    mem.mem.set([1, 2, 3, 4], 0x5fffe);
    mem.mem.set([5, 6], 0x50000);
    program(io, 3, 0x48, 0x5fffe, 3);
    const buf = new Uint8Array(4);
    expect(dma.readMemory(3, buf)).toBe(4);
    expect(Array.from(buf)).toEqual([1, 2, 5, 6]);
    program(io, 0, 0x64, 0x40010, 2); // write, decrement
    dma.writeMemory(0, Uint8Array.of(0xa, 0xb, 0xc));
    expect(Array.from(mem.mem.subarray(0x4000e, 0x40011))).toEqual([0xc, 0xb, 0xa]);
  });

  it('16-bit channels count words and address (page & 0xFE) << 16 | addr << 1', () => {
    const { mem, io, dma } = setup();
    io.write(0xd4, 1, 0x05 | 0x04); // mask ch5
    io.write(0xd8, 1, 0);
    io.write(0xd6, 1, 0x44 | 1);
    io.write(0xc4, 1, 0x00); io.write(0xc4, 1, 0x08); // word address 0x0800 -> byte 0x1000
    io.write(0x8b, 1, 0x03); // page 3 -> 0x20000 (bit 0 ignored)
    io.write(0xc6, 1, 1); io.write(0xc6, 1, 0); // 2 words
    io.write(0xd4, 1, 0x01);
    expect(dma.writeMemory(5, pattern(8))).toBe(4);
    expect(Array.from(mem.mem.subarray(0x21000, 0x21004))).toEqual(Array.from(pattern(4)));
    expect(io.read(0xd0, 1) & 0x02).toBe(0x02);
  });

  it('master clear masks every channel; clear-mask and write-all-mask registers', () => {
    const { io } = setup();
    io.write(0x0e, 1, 0);
    expect(io.read(0x0f, 1) & 0x0f).toBe(0);
    io.write(0x0d, 1, 0);
    expect(io.read(0x0f, 1) & 0x0f).toBe(0x0f);
    io.write(0x0f, 1, 0x05);
    expect(io.read(0x0f, 1) & 0x0f).toBe(0x05);
  });

  it('page registers read back, high pages included; 0x80 stays free for POST', () => {
    const { io } = setup();
    io.write(0x81, 1, 0x12); io.write(0x481, 1, 0x34); io.write(0x8f, 1, 0x56);
    expect([io.read(0x81, 1), io.read(0x481, 1), io.read(0x8f, 1)]).toEqual([0x12, 0x34, 0x56]);
    expect(io.ownerName(0x80)).toBe('');
  });
});
