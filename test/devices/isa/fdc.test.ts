import { describe, expect, it } from 'vitest';
import { IoBus } from '../../../src/bus/io-bus.js';
import { IrqLine, IrqSink } from '../../../src/bus/irq.js';
import { MemoryBus } from '../../../src/memory/memory-bus.js';
import { Dma8237 } from '../../../src/devices/isa/dma.js';
import { Fdc82077, FloppyBlock, floppyGeometry } from '../../../src/devices/isa/fdc.js';

class Sink implements IrqSink { level = false; setIrq(_n: number, l: boolean) { this.level = l; } }

/** An image whose I/O completes on a later macrotask, like a file. */
class Img implements FloppyBlock {
  reads = 0;
  constructor(readonly data: Uint8Array, readonly readOnly = false) {}
  size() { return this.data.length; }
  async read(off: number, buf: Uint8Array) { this.reads++; await new Promise((r) => setImmediate(r)); buf.set(this.data.subarray(off, off + buf.length)); }
  async write(off: number, buf: Uint8Array) { await new Promise((r) => setImmediate(r)); this.data.set(buf, off); }
}
/** Byte i of sector lba. */
const pat = (lba: number, i: number) => (lba * 31 + i * 7 + 1) & 0xff;
function image(size = 1474560) {
  const d = new Uint8Array(size);
  for (let lba = 0; lba < size / 512; lba++) for (let i = 0; i < 512; i++) d[lba * 512 + i] = pat(lba, i);
  return d;
}

function setup(img: Img | null = new Img(image())) {
  const mem = new MemoryBus(1 << 20, 0); mem.mapRam(0, 1 << 20);
  const io = new IoBus();
  const dma = new Dma8237(mem); dma.attach(io);
  const sink = new Sink();
  const fdc = new Fdc82077(new IrqLine(sink, 6), dma); fdc.attach(io);
  if (img) fdc.insert(0, img);
  const msr = () => io.read(0x3f4, 1);
  const send = (...b: number[]) => { for (const v of b) { expect(msr() & 0xc0).toBe(0x80); io.write(0x3f5, 1, v); } };
  const results = () => { const r: number[] = []; while ((msr() & 0xc0) === 0xc0) r.push(io.read(0x3f5, 1)); return r; };
  const waitIrq = async () => { for (let i = 0; i < 1000 && !sink.level; i++) await new Promise((r) => setImmediate(r)); expect(sink.level).toBe(true); };
  const dmaSetup = (mode: number, addr: number, bytes: number) => {
    io.write(0x0a, 1, 0x06); io.write(0x0c, 1, 0); io.write(0x0b, 1, mode);
    io.write(0x04, 1, addr & 0xff); io.write(0x04, 1, (addr >> 8) & 0xff); io.write(0x81, 1, addr >> 16);
    io.write(0x05, 1, (bytes - 1) & 0xff); io.write(0x05, 1, (bytes - 1) >> 8);
    io.write(0x0a, 1, 0x02);
  };
  // controller reset as a BIOS does it, then the 4 sense interrupts
  io.write(0x3f2, 1, 0x00); io.write(0x3f2, 1, 0x1c);
  io.write(0x3f7, 1, (img ? floppyGeometry(img.size()).rate : 0)); // the BIOS sets the medium's data rate
  return { mem, io, dma, sink, fdc, msr, send, results, waitIrq, dmaSetup, img };
}

describe('82077AA floppy controller', () => {
  it('picks geometry from the image size', () => {
    // drive types and data rates as QEMU 7.2 reports them (CMOS 0x10, READ ID at each CCR rate)
    expect(floppyGeometry(1474560)).toEqual({ tracks: 80, heads: 2, sectors: 18, driveType: 4, rate: 0 });
    expect(floppyGeometry(2949120)).toEqual({ tracks: 80, heads: 2, sectors: 36, driveType: 5, rate: 3 });
    expect(floppyGeometry(737280)).toEqual({ tracks: 80, heads: 2, sectors: 9, driveType: 4, rate: 2 });
    expect(floppyGeometry(1228800)).toEqual({ tracks: 80, heads: 2, sectors: 15, driveType: 2, rate: 0 });
    expect(floppyGeometry(368640)).toEqual({ tracks: 40, heads: 2, sectors: 9, driveType: 2, rate: 1 });
    expect(floppyGeometry(327680)).toEqual({ tracks: 40, heads: 2, sectors: 8, driveType: 2, rate: 2 });
    expect(floppyGeometry(1720320)).toEqual({ tracks: 80, heads: 2, sectors: 21, driveType: 4, rate: 0 });
    expect(floppyGeometry(1000000).sectors).toBe(15);
  });

  it('after reset interrupts and answers four polling sense interrupts (ST0 0xC0-0xC3)', () => {
    const { sink, send, results } = setup();
    expect(sink.level).toBe(true);
    for (let i = 0; i < 4; i++) { send(0x08); expect(results()).toEqual([0xc0 | i, 0]); }
    expect(sink.level).toBe(false);
    send(0x08); expect(results()).toEqual([0x80]);
  });

  it('VERSION, LOCK/UNLOCK, PART ID invalid, DUMPREG after SPECIFY and CONFIGURE', () => {
    const { send, results } = setup();
    send(0x10); expect(results()).toEqual([0x90]);
    send(0x14); expect(results()).toEqual([0x00]);
    send(0x94); expect(results()).toEqual([0x10]);
    send(0x18); expect(results()).toEqual([0x80]);
    send(0x03, 0xaf, 0x02);
    send(0x13, 0x00, 0x57, 0x05);
    send(0x0e);
    expect(results()).toEqual([0, 0, 0, 0, 0xaf, 0x02, 18, 0x80, 0x57, 0x05]);
  });

  it('RECALIBRATE and SEEK interrupt; SENSE INTERRUPT gives ST0 with SE and the cylinder', () => {
    const { send, results, sink, io } = setup();
    for (let i = 0; i < 4; i++) { send(0x08); results(); }
    send(0x0f, 0x04, 10);
    expect(sink.level).toBe(true);
    send(0x08); expect(results()).toEqual([0x20, 10]); // no head bit in the sense-interrupt ST0
    expect(sink.level).toBe(false);
    send(0x04, 0x00); expect(results()).toEqual([0x28]);
    send(0x07, 0x00);
    send(0x08); expect(results()).toEqual([0x20, 0]);
    send(0x04, 0x00); expect(results()).toEqual([0x38]);
    send(0x07, 0x02); // no drive 2
    send(0x08); expect(results()).toEqual([0x72, 0]);
    void io;
  });

  it('disk change line in DIR is set at insertion and cleared by a seek with media', () => {
    const { io, send, results } = setup();
    expect(io.read(0x3f7, 1) & 0x80).toBe(0x80);
    send(0x0f, 0x00, 1); send(0x08); results();
    expect(io.read(0x3f7, 1) & 0x80).toBe(0);
  });

  it('READ DATA by DMA: IRQ only after the asynchronous read, stops at terminal count', async () => {
    const { send, results, sink, mem, dmaSetup, waitIrq, img } = setup();
    for (let i = 0; i < 4; i++) { send(0x08); results(); }
    dmaSetup(0x46, 0x10000, 1024);
    send(0xe6, 0x00, 0, 0, 1, 2, 18, 0x1b, 0xff);
    expect(sink.level).toBe(false);
    await waitIrq();
    expect(img.reads).toBe(2);
    for (let i = 0; i < 1024; i++) if (mem.mem[0x10000 + i] !== pat(i >> 9, i & 511)) throw new Error(`byte ${i}`);
    expect(mem.mem[0x10400]).toBe(0);
    expect(results()).toEqual([0x00, 0, 0, 0, 0, 3, 2]);
    expect(sink.level).toBe(false);
  });

  it('multi-track READ continues on head 1 after EOT on head 0', async () => {
    const { send, results, mem, dmaSetup, waitIrq } = setup();
    for (let i = 0; i < 4; i++) { send(0x08); results(); }
    send(0x0f, 0x00, 1); send(0x08); results();
    dmaSetup(0x46, 0x20000, 1024);
    send(0xe6, 0x00, 1, 0, 18, 2, 18, 0x1b, 0xff);
    await waitIrq();
    const lba1 = (1 * 2 + 0) * 18 + 17, lba2 = (1 * 2 + 1) * 18;
    expect(mem.mem[0x20000]).toBe(pat(lba1, 0));
    expect(mem.mem[0x20200 + 5]).toBe(pat(lba2, 5));
    expect(results()).toEqual([0x04, 0, 0, 1, 1, 2, 2]);
  });

  it('without TC, reading to EOT ends abnormally with EN and the next cylinder in the result', async () => {
    const { send, results, dmaSetup, waitIrq } = setup();
    for (let i = 0; i < 4; i++) { send(0x08); results(); }
    dmaSetup(0x46, 0x10000, 4096);
    send(0x46, 0x00, 0, 0, 17, 2, 18, 0x1b, 0xff);
    await waitIrq();
    expect(results()).toEqual([0x40, 0x80, 0, 1, 0, 1, 2]);
  });

  it('WRITE DATA by DMA from memory to the image', async () => {
    const { send, results, mem, dmaSetup, waitIrq, img } = setup();
    for (let i = 0; i < 4; i++) { send(0x08); results(); }
    for (let i = 0; i < 512; i++) mem.mem[0x30000 + i] = 0xa5 ^ i;
    dmaSetup(0x4a, 0x30000, 512);
    send(0xc5, 0x00, 0, 0, 5, 2, 18, 0x1b, 0xff);
    await waitIrq();
    expect(results()).toEqual([0, 0, 0, 0, 0, 6, 2]);
    expect(img.data[4 * 512 + 3]).toBe((0xa5 ^ 3) & 0xff);
    expect(img.data[4 * 512 + 511]).toBe((0xa5 ^ 511) & 0xff);
  });

  it('errors: sector beyond the track (ND), wrong cylinder without implied seek (ND+WC), write protect (NW), no media (MA)', async () => {
    let t = setup();
    for (let i = 0; i < 4; i++) { t.send(0x08); t.results(); }
    t.dmaSetup(0x46, 0x10000, 512);
    t.send(0x46, 0x00, 0, 0, 19, 2, 19, 0x1b, 0xff);
    await t.waitIrq();
    expect(t.results()).toEqual([0x40, 0x04, 0, 0, 0, 19, 2]);
    t.send(0x46, 0x00, 5, 0, 1, 2, 18, 0x1b, 0xff);
    await t.waitIrq();
    expect(t.results()).toEqual([0x40, 0x04, 0x10, 5, 0, 1, 2]);
    t.send(0x13, 0x00, 0x40 | 0x10, 0); // EIS
    t.dmaSetup(0x46, 0x10000, 512);
    t.send(0x46, 0x00, 5, 0, 1, 2, 18, 0x1b, 0xff);
    await t.waitIrq();
    expect(t.results()).toEqual([0x00, 0, 0, 5, 0, 2, 2]);
    expect(t.mem.mem[0x10000]).toBe(pat(5 * 36, 0));

    t = setup(new Img(image(), true));
    for (let i = 0; i < 4; i++) { t.send(0x08); t.results(); }
    t.send(0x45, 0x00, 0, 0, 1, 2, 18, 0x1b, 0xff);
    expect(t.results()).toEqual([0x40, 0x02, 0, 0, 0, 1, 2]);

    t = setup(null);
    for (let i = 0; i < 4; i++) { t.send(0x08); t.results(); }
    t.send(0x46, 0x00, 0, 0, 1, 2, 18, 0x1b, 0xff);
    expect(t.results()[0]! & 0xc0).toBe(0x40);
  });

  it('READ ID reports the current cylinder; FORMAT TRACK fills the listed sectors', async () => {
    const { send, results, mem, dmaSetup, waitIrq, img } = setup();
    for (let i = 0; i < 4; i++) { send(0x08); results(); }
    send(0x0f, 0x04, 3); send(0x08); results();
    send(0x4a, 0x04);
    expect(results()).toEqual([0x04, 0, 0, 3, 1, 1, 2]);
    for (let s = 0; s < 18; s++) mem.mem.set([3, 1, s + 1, 2], 0x40000 + 4 * s);
    dmaSetup(0x4a, 0x40000, 72);
    send(0x4d, 0x04, 2, 18, 0x54, 0xf6);
    await waitIrq();
    expect(results().slice(0, 3)).toEqual([0x04, 0, 0]);
    const first = ((3 * 2 + 1) * 18) * 512, last = first + 18 * 512;
    expect(img.data.subarray(first, last).every((b) => b === 0xf6)).toBe(true);
    expect(img.data[first - 1]).toBe(pat((3 * 2 + 1) * 18 - 1, 511));
    expect(img.data[last]).toBe(pat((3 * 2 + 2) * 18, 0));
  });

  it('non-DMA mode (SPECIFY ND=1): sectors go through the FIFO with an interrupt each', async () => {
    const { send, results, msr, io, sink, waitIrq, img } = setup();
    for (let i = 0; i < 4; i++) { send(0x08); results(); }
    send(0x03, 0xaf, 0x03);
    send(0x46, 0x00, 0, 0, 1, 2, 2, 0x1b, 0xff);
    for (let sec = 0; sec < 2; sec++) {
      await waitIrq();
      expect(msr()).toBe(0xf0);
      for (let i = 0; i < 512; i++) expect(io.read(0x3f5, 1)).toBe(pat(sec, i));
      if (sec === 0) expect(sink.level).toBe(false); // until the next sector is in
    }
    expect(sink.level).toBe(true); // result phase after the last sector
    expect(results()).toEqual([0x40, 0x80, 0, 1, 0, 1, 2]); // EN at EOT: no TC without DMA
    send(0x45, 0x00, 0, 0, 3, 2, 3, 0x1b, 0xff);
    await waitIrq();
    expect(msr()).toBe(0xb0);
    for (let i = 0; i < 512; i++) io.write(0x3f5, 1, 0x5a);
    await waitIrq();
    expect(results()).toEqual([0x40, 0x80, 0, 1, 0, 1, 2]);
    expect(img.data.subarray(2 * 512, 3 * 512).every((b) => b === 0x5a)).toBe(true);
  });

  it('fails READ ID and READ DATA with MA when the data rate does not suit the medium (720K needs 250 kbit/s)', async () => {
    const { send, results, io, waitIrq, dmaSetup, mem } = setup(new Img(image(737280)));
    for (let i = 0; i < 4; i++) { send(0x08); results(); }
    io.write(0x3f7, 1, 0); // 500 kbit/s
    send(0x4a, 0x00); expect(results().slice(0, 3)).toEqual([0x40, 0x01, 0]);
    send(0x46, 0x00, 0, 0, 1, 2, 9, 0x1b, 0xff); expect(results().slice(0, 3)).toEqual([0x40, 0x01, 0]);
    io.write(0x3f4, 1, 0x02); // DSR: 250 kbit/s
    send(0x4a, 0x00); expect(results().slice(0, 3)).toEqual([0, 0, 0]);
    dmaSetup(0x46, 0x10000, 512);
    send(0x46, 0x04, 0, 1, 9, 2, 9, 0x1b, 0xff); // last sector of head 1: TC and EOT together
    await waitIrq();
    expect(results()).toEqual([0x04, 0, 0, 1, 1, 1, 2]);
    expect(mem.mem[0x10000 + 7]).toBe(pat(17, 7));
  });

  it('IRQ6 is gated by the DMA/IRQ enable bit of the DOR', () => {
    const { io, sink } = setup();
    expect(sink.level).toBe(true);
    io.write(0x3f2, 1, 0x14);
    expect(sink.level).toBe(false);
    io.write(0x3f2, 1, 0x1c);
    expect(sink.level).toBe(true);
  });

  it('MSR phases: idle 0x80, result 0xD0; commands are ignored while in reset', () => {
    const { io, msr, send } = setup();
    expect(msr()).toBe(0x80);
    send(0x10);
    expect(msr()).toBe(0xd0);
    io.read(0x3f5, 1);
    expect(msr()).toBe(0x80);
    io.write(0x3f2, 1, 0x18);
    expect(msr()).toBe(0);
  });
});
