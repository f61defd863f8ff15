/**
 * Test bench for the APIC chips: a real memory bus with the local APIC at
 * 0xFEE00000 and the IO-APIC at 0xFEC00000, a virtual clock and an optional
 * 8259 pair behind LINT0. Tests touch the chips only through 32-bit MMIO, as
 * Linux does.
 */
import { VirtualClock } from '../../../src/clock/virtual-clock.js';
import { MemoryBus } from '../../../src/memory/memory-bus.js';
import { IoBus } from '../../../src/bus/io-bus.js';
import { PicPair } from '../../../src/devices/isa/pic.js';
import { ApicBus } from '../../../src/devices/apic/apic-bus.js';
import { Lapic } from '../../../src/devices/apic/lapic.js';
import { IoApic } from '../../../src/devices/apic/ioapic.js';

export const LAPIC = 0xfee00000;
export const IOAPIC = 0xfec00000;

export const R = {
  ID: 0x20, VER: 0x30, TPR: 0x80, APR: 0x90, PPR: 0xa0, EOI: 0xb0, LDR: 0xd0, DFR: 0xe0, SVR: 0xf0,
  ISR: 0x100, TMR: 0x180, IRR: 0x200, ESR: 0x280, ICR_LO: 0x300, ICR_HI: 0x310,
  LVT_TIMER: 0x320, LVT_THERMAL: 0x330, LVT_PERF: 0x340, LVT_LINT0: 0x350, LVT_LINT1: 0x360, LVT_ERROR: 0x370,
  TIMER_INIT: 0x380, TIMER_CUR: 0x390, TIMER_DIV: 0x3e0,
} as const;

export function bench(opts: { pic?: boolean } = {}) {
  const clock = new VirtualClock();
  const mem = new MemoryBus(1 << 20, 0);
  mem.mapRam(0, 1 << 20);
  const bus = new ApicBus();
  const lapic = new Lapic(clock, { bus, id: 0 });
  lapic.attach(mem);
  const ioapic = new IoApic(bus);
  ioapic.attach(mem);
  const intr: boolean[] = [];
  lapic.onIntrChange = (l) => intr.push(l);
  const nmis: number[] = [];
  lapic.onNmi = () => nmis.push(clock.now());
  const io = new IoBus();
  let pic: PicPair | null = null;
  if (opts.pic) {
    pic = new PicPair();
    pic.attach(io);
    lapic.connectPic(pic);
  }
  const rd = (off: number) => mem.read32(LAPIC + off);
  const wr = (off: number, v: number) => mem.write32(LAPIC + off, v);
  const ioRd = (index: number) => { mem.write32(IOAPIC, index); return mem.read32(IOAPIC + 0x10); };
  const ioWr = (index: number, v: number) => { mem.write32(IOAPIC, index); mem.write32(IOAPIC + 0x10, v); };
  /** Program redirection entry `pin`. */
  const route = (pin: number, lo: number, dest = 0) => { ioWr(0x11 + 2 * pin, dest << 24); ioWr(0x10 + 2 * pin, lo); };
  /** The 256-bit register at `off` (ISR/TMR/IRR) as a list of set vectors. */
  const vectors = (off: number) => {
    const out: number[] = [];
    for (let i = 0; i < 8; i++) { const w = rd(off + i * 0x10); for (let b = 0; b < 32; b++) if ((w >>> b) & 1) out.push(i * 32 + b); }
    return out;
  };
  /** Enable the APIC in software as Linux does (SVR bit 8, spurious vector 0xFF). */
  const enable = (spurious = 0xff) => wr(R.SVR, 0x100 | spurious);
  const selfIpi = (vector: number) => wr(R.ICR_LO, 0x40000 | vector);
  return { clock, mem, bus, lapic, ioapic, intr, nmis, io, pic, rd, wr, ioRd, ioWr, route, vectors, enable, selfIpi };
}

/** Program an 8259 pair as a PC BIOS does (vectors 0x08 and 0x70), all unmasked. */
export function initPic(io: IoBus, master = 0x08, slave = 0x70): void {
  io.write(0x20, 1, 0x11); io.write(0x21, 1, master); io.write(0x21, 1, 0x04); io.write(0x21, 1, 0x01);
  io.write(0xa0, 1, 0x11); io.write(0xa1, 1, slave); io.write(0xa1, 1, 0x02); io.write(0xa1, 1, 0x01);
  io.write(0x21, 1, 0x00); io.write(0xa1, 1, 0x00);
}
