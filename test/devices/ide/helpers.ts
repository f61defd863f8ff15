import type { BlockNode } from '../../../src/block/types.js';
import { IoBus } from '../../../src/bus/io-bus.js';
import { IrqLine, type IrqSink } from '../../../src/bus/irq.js';
import { MemoryBus } from '../../../src/memory/memory-bus.js';
import { PciBus } from '../../../src/devices/pci/pci-bus.js';
import { Piix3Ide } from '../../../src/devices/pci/piix3-ide.js';

/** Sparse in-memory disk with asynchronous I/O (resolves on a later macrotask, like a file). */
export class MemDisk {
  readonly chunks = new Map<number, Uint8Array>();
  readonly filename = 'mem';
  reads = 0;
  writes = 0;
  flushes = 0;
  failNext = false;
  constructor(private readonly bytes: number, readonly readOnly = false) {}
  size(): number { return this.bytes; }
  private chunk(i: number, create: boolean): Uint8Array | undefined {
    let c = this.chunks.get(i);
    if (c === undefined && create) { c = new Uint8Array(4096); this.chunks.set(i, c); }
    return c;
  }
  peek(off: number, len: number): Uint8Array {
    const out = new Uint8Array(len);
    for (let i = 0; i < len; i++) { const c = this.chunk(Math.floor((off + i) / 4096), false); out[i] = c ? c[(off + i) % 4096]! : 0; }
    return out;
  }
  poke(off: number, data: Uint8Array): void {
    for (let i = 0; i < data.length; i++) this.chunk(Math.floor((off + i) / 4096), true)![(off + i) % 4096] = data[i]!;
  }
  async read(off: number, buf: Uint8Array): Promise<void> {
    await new Promise((r) => setImmediate(r));
    this.reads++;
    if (this.failNext) { this.failNext = false; throw new Error('EIO'); }
    if (off + buf.length > this.bytes) throw new Error('read past end');
    buf.set(this.peek(off, buf.length));
  }
  async write(off: number, buf: Uint8Array): Promise<void> {
    await new Promise((r) => setImmediate(r));
    this.writes++;
    if (this.readOnly) throw new Error('read-only');
    this.poke(off, buf);
  }
  async flush(): Promise<void> { await new Promise((r) => setImmediate(r)); this.flushes++; }
  asNode(): BlockNode { return this as unknown as BlockNode; }
}

/** Pattern byte for disk offset `o`: differs per sector and per byte. */
export function pattern(o: number): number { return (Math.floor(o / 512) * 31 + (o % 512) * 7 + 1) & 0xff; }

export function fillPattern(d: MemDisk, sectors: number, first = 0): void {
  const buf = new Uint8Array(sectors * 512);
  for (let i = 0; i < buf.length; i++) buf[i] = pattern(first * 512 + i);
  d.poke(first * 512, buf);
}

export class Levels implements IrqSink {
  level = new Array<boolean>(16).fill(false);
  edges = new Array<number>(16).fill(0);
  setIrq(n: number, l: boolean): void { if (l && !this.level[n]) this.edges[n]!++; this.level[n] = l; }
}

/** A PC-like setup: I/O bus, 2 MiB of RAM, PCI bus with the PIIX3 IDE at 01.1, IRQ 14/15. */
export function pcIde() {
  const io = new IoBus();
  const mem = new MemoryBus(2 << 20);
  mem.mapRam(0, 2 << 20);
  const pci = new PciBus(io, mem);
  const pic = new Levels();
  const ide = new Piix3Ide(io, mem, [new IrqLine(pic, 14), new IrqLine(pic, 15)]);
  pci.add(ide, 1, 1);
  // What SeaBIOS does: BAR4 = 0xc000, I/O + bus master enable.
  ide.writeConfig(0x20, 4, 0xc000);
  ide.writeConfig(0x04, 2, 0x0005);
  return { io, mem, pci, pic, ide };
}

/** Wait (like a driver polling status) until the channel has no media request in flight. */
export async function settle(ide: { idle(): Promise<unknown> }): Promise<void> {
  await ide.idle();
  await new Promise((r) => setImmediate(r));
}

export function readWords(io: IoBus, port: number, n: number): Uint8Array {
  const out = new Uint8Array(n * 2);
  for (let i = 0; i < n; i++) { const w = io.read(port, 2); out[2 * i] = w & 0xff; out[2 * i + 1] = w >> 8; }
  return out;
}

export function ataString(b: Uint8Array, word: number, nwords: number): string {
  let s = '';
  for (let i = 0; i < nwords; i++) s += String.fromCharCode(b[2 * (word + i) + 1]!, b[2 * (word + i)]!);
  return s;
}
