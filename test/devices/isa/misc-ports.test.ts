import { describe, expect, it } from 'vitest';
import { IoBus } from '../../../src/bus/io-bus.js';
import { MemoryChar } from '../../../src/chardev/types.js';
import { DebugCon } from '../../../src/devices/isa/debugcon.js';
import { DebugExit } from '../../../src/devices/isa/debug-exit.js';
import { Port92 } from '../../../src/devices/isa/port92.js';
import { PostPort } from '../../../src/devices/isa/post.js';

describe('port 0x92', () => {
  it('gates A20 with bit 1 and resets on a 0->1 edge of bit 0', () => {
    const io = new IoBus(); const p = new Port92(); p.attach(io);
    const a20: boolean[] = []; let resets = 0;
    p.onA20 = (e) => a20.push(e); p.onReset = () => resets++;
    io.write(0x92, 1, 0x02);
    expect(io.read(0x92, 1)).toBe(0x02);
    expect(p.a20).toBe(true);
    io.write(0x92, 1, 0x03);
    io.write(0x92, 1, 0x03);
    expect(resets).toBe(1);
    p.reset();
    expect(io.read(0x92, 1)).toBe(0x02);
    io.write(0x92, 1, 0x00);
    expect(a20).toEqual([true, false]);
  });
});

describe('POST port 0x80', () => {
  it('latches and reports codes, reads float', () => {
    const io = new IoBus(); const p = new PostPort(); p.attach(io);
    const codes: number[] = []; p.onCode = (c) => codes.push(c);
    io.write(0x80, 1, 0x12); io.write(0x80, 1, 0x34);
    expect(codes).toEqual([0x12, 0x34]);
    expect(p.last).toBe(0x34);
    expect(io.read(0x80, 1)).toBe(0xff);
  });
});

describe('isa-debugcon', () => {
  it('writes to its chardev and reads back 0xE9 at any iobase', () => {
    const io = new IoBus(); const chr = new MemoryChar();
    new DebugCon(chr).attach(io);
    new DebugCon(chr, 0x402).attach(io);
    for (const c of 'ok\n') io.write(0xe9, 1, c.charCodeAt(0));
    io.write(0x402, 1, 0x21);
    expect(chr.text()).toBe('ok\n!');
    expect(io.read(0xe9, 1)).toBe(0xe9);
    expect(io.read(0x402, 1)).toBe(0xe9);
  });
});

describe('isa-debug-exit', () => {
  it('exits with (v << 1) | 1 on a write of v, at its iobase/iosize', () => {
    const io = new IoBus(); const codes: number[] = [];
    new DebugExit((c) => codes.push(c), 0xf4, 4).attach(io);
    io.write(0xf4, 1, 0x10);
    io.write(0xf4, 4, 0);
    io.write(0xf6, 2, 1);
    expect(codes).toEqual([0x21, 1, 3]);
    expect(io.ownerName(0xf7)).toBe('isa-debug-exit');
    expect(io.ownerName(0xf8)).toBe('');
  });
});
