import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { IoBus } from '../../../src/bus/io-bus.js';
import { IrqLine, type IrqSink } from '../../../src/bus/irq.js';
import { VirtualClock } from '../../../src/clock/virtual-clock.js';
import { MemoryBus } from '../../../src/memory/memory-bus.js';
import { PciBus, type PciDevice } from '../../../src/devices/pci/pci-bus.js';
import { I440fx } from '../../../src/devices/pci/i440fx.js';
import { Piix3 } from '../../../src/devices/pci/piix3.js';
import { Piix3Ide } from '../../../src/devices/pci/piix3-ide.js';
import { Piix4Pm } from '../../../src/devices/pci/piix4-pm.js';

/*
 * Oracle: fixtures/pci-probe.asm boots under real QEMU `pc` (after SeaBIOS) and
 * dumps the configuration space of 00.0, 01.0, 01.1 and 01.3. Every byte the
 * firmware does not program must equal qemu-ts's power-on value.
 * Needs nasm and qemu-system-x86_64 with SeaBIOS.
 */
const here = dirname(fileURLToPath(import.meta.url));
let dir = '';
let dumps: Uint8Array[] = [];

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'qemu-ts-pci-oracle-'));
  execFileSync('nasm', ['-f', 'bin', '-o', join(dir, 'probe.bin'), join(here, 'fixtures', 'pci-probe.asm')]);
  const floppy = new Uint8Array(1474560);
  floppy.set(readFileSync(join(dir, 'probe.bin')));
  writeFileSync(join(dir, 'fd.img'), floppy);
  const r = spawnSync('qemu-system-x86_64', ['-M', 'pc', '-nodefaults', '-display', 'none', '-no-reboot',
    '-drive', `file=${join(dir, 'fd.img')},format=raw,if=floppy`, '-boot', 'a',
    '-serial', `file:${join(dir, 'serial.txt')}`], { timeout: 60_000 });
  if (r.status !== 0) throw new Error(`qemu failed: ${r.stderr}`);
  dumps = readFileSync(join(dir, 'serial.txt'), 'latin1').split('\n').filter((l) => l !== '')
    .map((l) => Uint8Array.from(l.match(/../g)!.map((h) => parseInt(h, 16))));
});

afterAll(() => { if (dir) rmSync(dir, { recursive: true, force: true }); });

class Sink implements IrqSink { setIrq(): void {} }

/** Byte ranges SeaBIOS programs (command, BARs, interrupt line, device-specific setup). */
const FIRMWARE: Record<string, [number, number][]> = {
  common: [[0x04, 0x05], [0x10, 0x27], [0x30, 0x33], [0x3c, 0x3c]],
  'i440FX': [[0x50, 0x56], [0x58, 0x5f], [0x72, 0x72]],
  'PIIX3': [[0x60, 0x63]],
  'PIIX3 IDE': [[0x40, 0x43]],
  'PIIX4_PM': [[0x40, 0x43], [0x58, 0x5b], [0x80, 0x80], [0x90, 0x93], [0xd2, 0xd2]],
};

describe('PCI configuration space against real QEMU', () => {
  it('matches QEMU for every byte the firmware leaves alone', () => {
    expect(dumps.length).toBe(5);
    const io = new IoBus();
    const mem = new MemoryBus(128 << 20, 1 << 20); // QEMU's default -m 128
    const pci = new PciBus(io, mem);
    const sink = new Sink();
    const devs: PciDevice[] = [
      new I440fx(mem), new Piix3(sink),
      new Piix3Ide(io, mem, [new IrqLine(sink, 14), new IrqLine(sink, 15)]),
      new Piix4Pm(io, new VirtualClock(), new IrqLine(sink, 9)),
    ];
    pci.add(devs[0]!, 0, 0); pci.add(devs[1]!, 1, 0); pci.add(devs[2]!, 1, 1); pci.add(devs[3]!, 1, 3);
    devs.forEach((d, i) => {
      const skip = [...FIRMWARE['common']!, ...(FIRMWARE[d.name] ?? [])];
      const ours: string[] = [], qemu: string[] = [];
      for (let off = 0; off < 256; off++) {
        if (skip.some(([a, b]) => off >= a && off <= b)) continue;
        ours.push(`${d.name}[${off.toString(16)}]=${d.config[off]!.toString(16)}`);
        qemu.push(`${d.name}[${off.toString(16)}]=${dumps[i]![off]!.toString(16)}`);
      }
      expect(ours).toEqual(qemu);
    });
    // The firmware-set bytes we can check: PM base 0x601 and the IDE BAR4 I/O indicator.
    expect(dumps[3]![0x40]).toBe(0x01);
    expect(dumps[3]![0x41]).toBe(0x06);
    expect(dumps[2]![0x20]! & 1).toBe(1);
  });
});
