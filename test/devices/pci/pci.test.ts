import { describe, expect, it } from 'vitest';
import { IoBus } from '../../../src/bus/io-bus.js';
import { IrqLine, type IrqSink } from '../../../src/bus/irq.js';
import { VirtualClock } from '../../../src/clock/virtual-clock.js';
import { MemoryBus } from '../../../src/memory/memory-bus.js';
import { PciBus, PciDevice, type PciIoHandler } from '../../../src/devices/pci/pci-bus.js';
import { I440fx } from '../../../src/devices/pci/i440fx.js';
import { Piix3 } from '../../../src/devices/pci/piix3.js';
import { Piix4Pm, PM_TIMER_HZ } from '../../../src/devices/pci/piix4-pm.js';

class Levels implements IrqSink {
  level = new Array<boolean>(16).fill(false);
  setIrq(n: number, l: boolean): void { this.level[n] = l; }
}

/** A test function with a 32-byte I/O BAR0, a 4 KiB memory BAR1 and an option ROM. */
class Dummy extends PciDevice implements PciIoHandler {
  regs = new Uint8Array(32);
  mem = new Uint8Array(4096);
  constructor(rom?: Uint8Array) {
    super({ name: 'dummy', vendorId: 0x1234, deviceId: 0x5678, revision: 1, classCode: 0xff0000, interruptPin: 1 });
    this.defineIoBar(0, 32, this);
    this.defineMemBar(1, 4096, {
      mmioRead: (o) => this.mem[o]!,
      mmioWrite: (o, _s, v) => { this.mem[o] = v; },
    });
    if (rom) this.setRom(rom);
  }
  barRead(_b: number, off: number): number { return this.regs[off]!; }
  barWrite(_b: number, off: number, _s: number, v: number): void { this.regs[off] = v; }
}

function cfgAddr(slot: number, fn: number, reg: number): number {
  return (0x80000000 | (slot << 11) | (fn << 8) | (reg & 0xfc)) >>> 0;
}

function machine() {
  const io = new IoBus();
  const mem = new MemoryBus(2 << 20);
  mem.mapRam(0, 2 << 20);
  const pci = new PciBus(io, mem);
  const isa = new Levels();
  const resets: boolean[] = [];
  const host = new I440fx(mem);
  const piix3 = new Piix3(isa, { onReset: (hard) => resets.push(hard) });
  pci.add(host, 0);
  pci.add(piix3, 1, 0);
  const rd = (slot: number, fn: number, reg: number, size: 1 | 2 | 4) => {
    io.write(0xcf8, 4, cfgAddr(slot, fn, reg));
    return io.read(0xcfc + (reg & 3), size);
  };
  const wr = (slot: number, fn: number, reg: number, size: 1 | 2 | 4, v: number) => {
    io.write(0xcf8, 4, cfgAddr(slot, fn, reg));
    io.write(0xcfc + (reg & 3), size, v);
  };
  return { io, mem, pci, isa, host, piix3, resets, rd, wr };
}

describe('PCI configuration mechanism #1', () => {
  it('reads IDs of present functions, all ones elsewhere', () => {
    const m = machine();
    expect(m.rd(0, 0, 0, 4)).toBe(0x12378086);
    expect(m.rd(0, 0, 8, 1)).toBe(0x02); // i440FX revision
    expect(m.rd(0, 0, 0x0a, 2)).toBe(0x0600);
    expect(m.rd(1, 0, 0, 4)).toBe(0x70008086);
    expect(m.rd(1, 0, 0x0e, 1)).toBe(0x80); // multi-function
    expect(m.rd(1, 0, 0x0a, 2)).toBe(0x0601);
    expect(m.rd(5, 0, 0, 4)).toBe(0xffffffff);
    expect(m.rd(5, 0, 0, 2)).toBe(0xffff);
    // Byte lanes: 0xCFE reads the device ID low byte.
    expect(m.rd(0, 0, 2, 1)).toBe(0x37);
    expect(m.rd(0, 0, 3, 1)).toBe(0x12);
    // Address register reads back; enable bit clear or bus != 0 = nothing.
    m.io.write(0xcf8, 4, 0x80000000);
    expect(m.io.read(0xcf8, 4)).toBe(0x80000000);
    m.io.write(0xcf8, 4, 0x00000000);
    expect(m.io.read(0xcfc, 4)).toBe(0xffffffff);
    m.io.write(0xcf8, 4, 0x80010000);
    expect(m.io.read(0xcfc, 4)).toBe(0xffffffff);
  });

  it('respects read-only bytes', () => {
    const m = machine();
    m.wr(0, 0, 0, 4, 0);
    expect(m.rd(0, 0, 0, 4)).toBe(0x12378086);
    m.wr(1, 0, 0x3c, 1, 0x0b);
    expect(m.rd(1, 0, 0x3c, 1)).toBe(0x0b);
  });
});

describe('BARs', () => {
  it('sizes I/O and memory BARs and decodes them only when enabled', () => {
    const m = machine();
    const d = new Dummy();
    m.pci.add(d, 3);
    m.wr(3, 0, 0x10, 4, 0xffffffff);
    expect(m.rd(3, 0, 0x10, 4)).toBe(0xffffffe1);
    m.wr(3, 0, 0x14, 4, 0xffffffff);
    expect(m.rd(3, 0, 0x14, 4)).toBe(0xfffff000);
    m.wr(3, 0, 0x10, 4, 0xc000);
    m.wr(3, 0, 0x14, 4, 0xfebf0000);
    expect(m.io.read(0xc004, 1)).toBe(0xff); // decode off
    m.wr(3, 0, 0x04, 2, 0x0003);
    m.io.write(0xc004, 1, 0x5a);
    expect(d.regs[4]).toBe(0x5a);
    expect(m.io.ownerName(0xc01f)).toBe('dummy BAR0');
    m.mem.write8(0xfebf0010, 0x77);
    expect(d.mem[0x10]).toBe(0x77);
    expect(m.mem.read8(0xfebf0010)).toBe(0x77);
    // Move the I/O BAR: old ports float, new ones decode.
    m.wr(3, 0, 0x10, 4, 0xc100);
    expect(m.io.ownerName(0xc004)).toBe('');
    expect(m.io.read(0xc104, 1)).toBe(0x5a);
    // Memory decode off unmaps.
    m.wr(3, 0, 0x04, 2, 0x0001);
    expect(m.mem.read8(0xfebf0010)).toBe(0xff);
  });

  it('maps the expansion ROM read-only when enabled', () => {
    const m = machine();
    const rom = new Uint8Array(9000);
    rom[0] = 0x55; rom[1] = 0xaa; rom[2] = 18; rom[8999] = 0x42;
    const d = new Dummy(rom);
    m.pci.add(d, 4);
    m.wr(4, 0, 0x30, 4, 0xfffffffe);
    expect(m.rd(4, 0, 0x30, 4)).toBe(0xffffc000); // 16 KiB, enable bit writable
    m.wr(4, 0, 0x30, 4, 0xfeb00001);
    m.wr(4, 0, 0x04, 2, 0x0002);
    expect(m.mem.read16(0xfeb00000)).toBe(0xaa55);
    expect(m.mem.read8(0xfeb00000 + 8999)).toBe(0x42);
    m.mem.write8(0xfeb00000, 0);
    expect(m.mem.read8(0xfeb00000)).toBe(0x55);
    m.wr(4, 0, 0x30, 4, 0xfeb00000);
    expect(m.mem.read8(0xfeb00000)).toBe(0xff);
  });
});

describe('capabilities', () => {
  it('links capabilities from 0x34 and sets the status bit', () => {
    const m = machine();
    const d = new Dummy();
    d.addCapability(0x50, 0x05, 8);
    d.addCapability(0x60, 0x01, 8);
    m.pci.add(d, 5);
    expect(m.rd(5, 0, 0x06, 2) & 0x10).toBe(0x10);
    expect(m.rd(5, 0, 0x34, 1)).toBe(0x60);
    expect([m.rd(5, 0, 0x60, 1), m.rd(5, 0, 0x61, 1)]).toEqual([0x01, 0x50]);
    expect([m.rd(5, 0, 0x50, 1), m.rd(5, 0, 0x51, 1)]).toEqual([0x05, 0x00]);
    expect(() => d.addCapability(0x20, 1, 4)).toThrow(/capability/);
  });
});

describe('INTx routing through PIIX3 PIRQ registers', () => {
  it('applies the (slot + pin) swizzle and the PIRQ routing', () => {
    const m = machine();
    const d = new Dummy();
    m.pci.add(d, 3); // INTA of slot 3 -> PIRQD
    expect(m.rd(1, 0, 0x60, 4)).toBe(0x80808080);
    d.setIntx(true);
    expect(m.isa.level.some((x) => x)).toBe(false); // not routed yet
    expect(m.rd(3, 0, 0x06, 2) & 0x08).toBe(0x08); // interrupt status
    m.wr(1, 0, 0x63, 1, 11);
    expect(m.isa.level[11]).toBe(true);
    // INTx disable in the command register masks it.
    m.wr(3, 0, 0x04, 2, 0x0400);
    expect(m.isa.level[11]).toBe(false);
    m.wr(3, 0, 0x04, 2, 0);
    expect(m.isa.level[11]).toBe(true);
    // Re-route to IRQ 10 while asserted.
    m.wr(1, 0, 0x63, 1, 10);
    expect(m.isa.level[11]).toBe(false);
    expect(m.isa.level[10]).toBe(true);
    d.setIntx(false);
    expect(m.isa.level[10]).toBe(false);
    // Two functions on PIRQs routed to the same IRQ share it (wired OR).
    const e = new Dummy();
    m.pci.add(e, 4); // INTA slot 4 -> PIRQA
    m.wr(1, 0, 0x60, 1, 10);
    d.setIntx(true); e.setIntx(true); d.setIntx(false);
    expect(m.isa.level[10]).toBe(true);
    e.setIntx(false);
    expect(m.isa.level[10]).toBe(false);
  });

  it('resets through 0xCF9', () => {
    const m = machine();
    m.io.write(0xcf9, 1, 0x02);
    expect(m.io.read(0xcf9, 1)).toBe(0x02);
    expect(m.resets).toEqual([]);
    m.io.write(0xcf9, 1, 0x06);
    expect(m.resets).toEqual([true]);
    m.io.write(0xcf9, 1, 0x04);
    expect(m.resets).toEqual([true, false]);
  });
});

describe('i440FX PAM and SMRAM', () => {
  it('shadows the BIOS as SeaBIOS does', () => {
    const m = machine();
    const bios = new Uint8Array(0x20000);
    for (let i = 0; i < bios.length; i++) bios[i] = (i * 7) & 0xff;
    const off = m.mem.allocRom(bios.length);
    m.mem.mem.set(bios, off);
    m.host.setRomSide(0xe0000, 0x20000, off);
    // Reset state: reads hit ROM, writes are dropped.
    expect(m.mem.read8(0xffff0)).toBe((0x1fff0 * 7) & 0xff);
    m.mem.write8(0xffff0, 0x99);
    expect(m.mem.read8(0xffff0)).toBe((0x1fff0 * 7) & 0xff);
    // PAM0 = 0x30: F0000-FFFFF reads and writes DRAM.
    expect(m.rd(0, 0, 0x59, 1)).toBe(0);
    m.wr(0, 0, 0x59, 1, 0x30);
    expect(m.rd(0, 0, 0x59, 1)).toBe(0x30);
    m.mem.write8(0xffff0, 0x99);
    expect(m.mem.read8(0xffff0)).toBe(0x99);
    // Write-only DRAM (0x20): reads see ROM again, writes still land in DRAM.
    m.wr(0, 0, 0x59, 1, 0x20);
    expect(m.mem.read8(0xffff0)).toBe((0x1fff0 * 7) & 0xff);
    m.mem.write8(0xffff1, 0x11);
    m.wr(0, 0, 0x59, 1, 0x10); // read-only DRAM
    expect(m.mem.read8(0xffff1)).toBe(0x11);
    m.mem.write8(0xffff1, 0x22);
    expect(m.mem.read8(0xffff1)).toBe(0x11);
    // 16 KiB segments: 0x5F high nibble = 0xEC000-0xEFFFF only (low nibble 0xE8000).
    m.wr(0, 0, 0x5f, 1, 0x30);
    m.mem.write8(0xec000, 0xab);
    m.mem.write8(0xe8000, 0xab);
    expect(m.mem.read8(0xec000)).toBe(0xab);
    expect(m.mem.read8(0xe8000)).toBe((0x8000 * 7) & 0xff);
    // PAM0's low nibble is reserved.
    m.wr(0, 0, 0x59, 1, 0xff);
    expect(m.rd(0, 0, 0x59, 1)).toBe(0x33);
  });

  it('opens SMRAM over the VGA window and honours D_LCK', () => {
    let vga = 0;
    const io = new IoBus();
    const mem = new MemoryBus(2 << 20);
    mem.mapRam(0, 2 << 20);
    const pci = new PciBus(io, mem);
    const host = new I440fx(mem, { onVgaWindow: () => { vga++; mem.unmap(0xa0000, 0x20000); } });
    pci.add(host, 0);
    mem.unmap(0xa0000, 0x20000);
    expect(host.config[0x72]).toBe(0x02);
    host.writeConfig(0x72, 1, 0x48);
    mem.write8(0xa8000, 0x5a);
    expect(mem.read8(0xa8000)).toBe(0x5a);
    host.writeConfig(0x72, 1, 0x08);
    expect(vga).toBe(1);
    expect(mem.read8(0xa8000)).toBe(0xff);
    host.writeConfig(0x72, 1, 0x18); // lock
    host.writeConfig(0x72, 1, 0x4a);
    expect(host.config[0x72]).toBe(0x1a);
    expect(mem.read8(0xa8000)).toBe(0xff);
    host.reset();
    expect(host.config[0x72]).toBe(0x02);
  });
});

describe('PIIX4 PM', () => {
  function pm() {
    const m = machine();
    const clock = new VirtualClock();
    const sci = new Levels();
    const ev: string[] = [];
    const dev = new Piix4Pm(m.io, clock, new IrqLine(sci, 9), {
      onPowerOff: () => ev.push('off'), onSuspend: () => ev.push('s3'), onSmi: () => ev.push('smi'),
    });
    m.pci.add(dev, 1, 3);
    // SeaBIOS piix4_pm_setup: PMBASE = 0x600 | 1, PMREGMISC = 1, SMBus at 0x700, SMBHSTCFG = 9.
    m.wr(1, 3, 0x40, 4, 0x601);
    m.wr(1, 3, 0x80, 1, 0x01);
    m.wr(1, 3, 0x90, 4, 0x701);
    m.wr(1, 3, 0xd2, 1, 0x09);
    return { ...m, clock, sci, ev, dev };
  }

  it('has QEMU identity and PM base', () => {
    const m = pm();
    expect(m.rd(1, 3, 0, 4)).toBe(0x71138086);
    expect(m.rd(1, 3, 8, 4)).toBe(0x06800003);
    expect(m.rd(1, 3, 0x3d, 1)).toBe(1);
    expect(m.rd(1, 3, 0x40, 4)).toBe(0x601);
    expect(m.dev.pmIoBase).toBe(0x600);
    expect(m.dev.smbusBase).toBe(0x700);
    expect(m.io.ownerName(0x608)).toBe('acpi-pm');
    m.wr(1, 3, 0x80, 1, 0);
    expect(m.io.ownerName(0x608)).toBe('');
  });

  it('counts the PM timer at 3.579545 MHz, 24 bits', () => {
    const m = pm();
    const t0 = m.io.read(0x608, 4);
    m.clock.advanceBy(1e9);
    expect((m.io.read(0x608, 4) - t0) & 0xffffff).toBe(PM_TIMER_HZ & 0xffffff);
    m.clock.advanceBy(1_000_000); // 1 ms = 3579.545 ticks
    const t1 = m.io.read(0x608, 4);
    expect(t1).toBe(Math.floor(1.001 * PM_TIMER_HZ) & 0xffffff);
    expect(t1).toBeLessThan(1 << 24);
  });

  it('sets TMR_STS at bit-23 transitions and raises SCI when enabled', () => {
    const m = pm();
    expect(m.io.read(0x600, 2) & 1).toBe(1); // as QEMU: reported at the first read after reset
    m.io.write(0x600, 2, 1);
    expect(m.io.read(0x600, 2) & 1).toBe(0);
    m.io.write(0x602, 2, 1); // TMR_EN
    const ns = Math.ceil((0x800000 / PM_TIMER_HZ) * 1e9);
    m.clock.advanceTo(ns - 1000);
    expect(m.sci.level[9]).toBe(false);
    m.clock.advanceTo(ns + 1000);
    expect(m.sci.level[9]).toBe(true);
    expect(m.io.read(0x600, 2) & 1).toBe(1);
    m.io.write(0x600, 2, 1); // W1C
    expect(m.sci.level[9]).toBe(false);
  });

  it('enables ACPI via the SMI command port and powers off on S5', () => {
    const m = pm();
    expect(m.io.read(0x604, 2) & 1).toBe(0);
    m.io.write(0xb2, 1, 0xf1);
    expect(m.io.read(0x604, 2) & 1).toBe(1);
    m.io.write(0xb2, 1, 0xf0);
    expect(m.io.read(0x604, 2) & 1).toBe(0);
    // APMC_EN preset (no SMM): other commands raise SMI.
    m.io.write(0xb2, 1, 0x00);
    expect(m.ev).toEqual(['smi']);
    m.io.write(0x604, 2, (1 << 10) | (1 << 13)); // S3
    m.io.write(0x604, 2, (0 << 10) | (1 << 13)); // S5
    expect(m.ev).toEqual(['smi', 's3', 'off']);
    expect(m.io.read(0x604, 2) & (1 << 13)).toBe(0); // SLP_EN reads 0
  });

  it('signals the power button and GPEs', () => {
    const m = pm();
    m.dev.powerButton();
    expect(m.sci.level[9]).toBe(false);
    m.io.write(0x602, 2, 0x100);
    expect(m.sci.level[9]).toBe(true);
    expect(m.io.read(0x600, 2) & 0x100).toBe(0x100);
    m.io.write(0x600, 2, 0x100);
    expect(m.sci.level[9]).toBe(false);
    m.dev.gpeEvent(1);
    m.io.write(0xafe2, 1, 0x02);
    expect(m.sci.level[9]).toBe(true);
    m.io.write(0xafe0, 1, 0x02);
    expect(m.sci.level[9]).toBe(false);
  });

  it('reports DEV_ERR on SMBus transactions (no devices)', () => {
    const m = pm();
    m.io.write(0x704, 1, 0xa1);
    m.io.write(0x702, 1, 0x48);
    expect(m.io.read(0x700, 1) & 0x04).toBe(0x04);
    m.io.write(0x700, 1, 0x04);
    expect(m.io.read(0x700, 1) & 0x04).toBe(0);
  });

  it('saves and restores state', () => {
    const m = pm();
    m.io.write(0xb2, 1, 0xf1);
    const s = JSON.parse(JSON.stringify(m.dev.saveState())) as Record<string, unknown>;
    m.dev.reset();
    expect(m.dev.pmIoBase).toBe(-1);
    m.dev.loadState(s);
    expect(m.dev.pmIoBase).toBe(0x600);
    expect(m.io.read(0x604, 2) & 1).toBe(1);
  });
});
