/**
 * Oracle: asm/apic.asm programs the local APIC timer, TPR, self IPIs, the
 * IO-APIC (edge and level pins fed by the PIT) and the 8259 through LINT0,
 * and prints what it observes on port 0xE9. The same 64 KiB image runs as
 * the BIOS of qemu-system-i386 and on our CPU core wired to our chips (the
 * pc machine's APIC wiring in miniature); outputs must match byte for byte.
 * asm/apic.expected is QEMU 7.2's output, so the check also runs without QEMU.
 */
import { describe, expect, it } from 'vitest';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { VirtualClock } from '../../../src/clock/virtual-clock.js';
import { MemoryBus } from '../../../src/memory/memory-bus.js';
import { IoBus, type IoDevice } from '../../../src/bus/io-bus.js';
import { IrqFanout, IrqLine } from '../../../src/bus/irq.js';
import { Cpu } from '../../../src/cpu/cpu.js';
import { MODELS } from '../../../src/cpu/models.js';
import { PicPair } from '../../../src/devices/isa/pic.js';
import { Pit } from '../../../src/devices/isa/pit.js';
import { ApicBus } from '../../../src/devices/apic/apic-bus.js';
import { Lapic } from '../../../src/devices/apic/lapic.js';
import { IoApic } from '../../../src/devices/apic/ioapic.js';
import { qemuAvailable, runOnQemu } from '../../cpu/programs.js';

const HERE = import.meta.dirname;

function assemble(): Uint8Array {
  const dir = mkdtempSync(join(tmpdir(), 'apic-asm-'));
  const out = join(dir, 'apic.bin');
  execFileSync('nasm', ['-f', 'bin', '-I', join(HERE, '../../cpu/asm') + '/', '-o', out, join(HERE, 'asm/apic.asm')]);
  return new Uint8Array(readFileSync(out));
}

/** Run a BIOS image on our core with PIC, PIT, IO-APIC and local APIC wired as the pc machine should. */
function runOnQemuTs(image: Uint8Array, maxInstructions = 5_000_000): string {
  const clock = new VirtualClock();
  const mem = new MemoryBus(32 << 20, 1 << 20);
  mem.mapRam(0, 32 << 20);
  const off = mem.addRom(0x100000000 - image.length, image);
  mem.setAccess(0x100000 - image.length, image.length, off, -1);
  const io = new IoBus();
  const cpu = new Cpu(mem, io, MODELS.pentium3!);
  cpu.tscSource = () => clock.now();
  const pic = new PicPair();
  pic.attach(io);
  const bus = new ApicBus();
  const lapic = new Lapic(clock, { bus, id: 0 });
  lapic.attach(mem);
  lapic.connectPic(pic);
  const ioapic = new IoApic(bus);
  ioapic.attach(mem);
  const isa = new IrqFanout([pic, ioapic.isa]);
  new Pit(clock, new IrqLine(isa, 0)).attach(io);
  cpu.intc = lapic;
  lapic.onIntrChange = (level) => { if (level) cpu.checkIrq = true; };
  lapic.onNmi = () => cpu.nmi();
  let output = '', exited = false;
  const con: IoDevice = { ioRead: () => 0xe9, ioWrite: (_p, _s, v) => { output += String.fromCharCode(v & 0xff); } };
  const exit: IoDevice = { ioRead: () => 0xff, ioWrite: () => { exited = true; cpu.requestStop(); } };
  io.register(0xe9, 1, con, 'debugcon');
  io.register(0xf4, 1, exit, 'debug-exit');
  cpu.reset();
  let n = 0;
  const NS_PER_INSN = 10;
  while (!exited && n < maxInstructions) {
    if (cpu.halted && !lapic.hasInterrupt()) {
      const d = clock.nextDeadline();
      if (d === Infinity) break;
      clock.advanceTo(d);
      cpu.checkIrq = true;
    }
    const ran = cpu.run(Math.min(1000, maxInstructions - n));
    n += ran;
    clock.advanceBy(ran * NS_PER_INSN);
  }
  return output;
}

describe('APIC oracle program', () => {
  const image = assemble();
  const expected = readFileSync(join(HERE, 'asm/apic.expected'), 'latin1');

  it('qemu-ts prints what QEMU 7.2 printed', () => {
    expect(runOnQemuTs(image)).toBe(expected);
  });

  it.skipIf(!qemuAvailable())('the recorded output is still what qemu-system-i386 prints', () => {
    expect(runOnQemu(image)).toBe(expected);
  });
});
