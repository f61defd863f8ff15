import { execFileSync, spawnSync } from 'node:child_process';
import { copyFileSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseCommandLineFull, validateMachine } from '../../../src/cli/index.js';
import { runMachine } from '../../../src/machine/run.js';

/*
 * End to end: the probe boot sectors (fixtures/*.asm, test/devices/pci/fixtures)
 * boot under SeaBIOS on the whole qemu-ts `pc` machine and on real QEMU with the
 * same images; the COM1 transcripts (IDE answers, DMA results, PCI config space
 * after SeaBIOS) and the images written must be identical. The probes end with
 * an ACPI S5 power-off, so both emulators exit by themselves.
 * Needs nasm, xorriso, qemu-system-x86_64 and SeaBIOS.
 */
const here = dirname(fileURLToPath(import.meta.url));
let dir = '';

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'qemu-ts-ide-e2e-'));
  mkdirSync(join(dir, 'root'));
  writeFileSync(join(dir, 'root', 'DATA.BIN'), new Uint8Array(7000).map((_, i) => (i * 3) & 0xff));
  execFileSync('xorriso', ['-as', 'mkisofs', '-quiet', '-V', 'E2E', '-o', join(dir, 'cd.iso'), join(dir, 'root')], { stdio: 'pipe' });
  const img = new Uint8Array(131072 * 512);
  for (let s = 0; s < 131072; s++) {
    if (s >= 300 && s <= 131000) continue;
    for (let i = 0; i < 512; i++) img[s * 512 + i] = (s * 31 + i * 7 + 1) & 0xff;
  }
  writeFileSync(join(dir, 'disk.img'), img);
});

afterAll(() => { if (dir) rmSync(dir, { recursive: true, force: true }); });

function floppy(asm: string): string {
  const bin = join(dir, 'probe.bin');
  execFileSync('nasm', ['-f', 'bin', '-o', bin, asm]);
  const fd = new Uint8Array(1474560);
  fd.set(readFileSync(bin));
  const out = join(dir, 'probe.fd');
  writeFileSync(out, fd);
  return out;
}

/** Boot `asm` on real QEMU and on qemu-ts; returns both serial transcripts. */
async function both(asm: string, drives: (disk: string) => string[], machine = ['-M', 'pc'], exitCode = 0):
  Promise<{ qemu: string; ours: string; qemuDisk: Buffer; ourDisk: Buffer }> {
  const fd = floppy(asm);
  const common = [...machine, '-nodefaults', '-display', 'none', '-no-reboot',
    '-drive', `file=${fd},format=raw,if=floppy`, '-boot', 'a'];
  copyFileSync(join(dir, 'disk.img'), join(dir, 'q.img'));
  copyFileSync(join(dir, 'disk.img'), join(dir, 'o.img'));
  const r = spawnSync('qemu-system-x86_64', [...common, ...drives(join(dir, 'q.img')), '-serial', `file:${join(dir, 'q.txt')}`], { timeout: 60_000 });
  if (r.status !== exitCode) throw new Error(`qemu failed (${r.status}): ${r.stderr}`);
  const p = parseCommandLineFull(['-L', '/usr/share/seabios', ...common, ...drives(join(dir, 'o.img')), '-serial', `file:${join(dir, 'o.txt')}`]);
  await validateMachine(p.desc);
  const code = await runMachine(p.desc);
  expect(code).toBe(exitCode);
  return {
    qemu: readFileSync(join(dir, 'q.txt'), 'latin1'), ours: readFileSync(join(dir, 'o.txt'), 'latin1'),
    qemuDisk: readFileSync(join(dir, 'q.img')), ourDisk: readFileSync(join(dir, 'o.img')),
  };
}

const ideDrives = (disk: string) => ['-drive', `file=${disk},format=raw,if=ide,index=0`];

describe('IDE and PCI under SeaBIOS on the whole machine, against real QEMU', () => {
  it('IDENTIFY and ATAPI packets (ide-probe)', async () => {
    const r = await both(join(here, 'fixtures', 'ide-probe.asm'),
      (disk) => [...ideDrives(disk), '-drive', `file=${join(dir, 'cd.iso')},format=raw,if=ide,index=2,media=cdrom`]);
    expect(r.ours.split('\n')).toEqual(r.qemu.split('\n'));
  });

  it('isapc: the same probe on the ISA IDE controller', async () => {
    const r = await both(join(here, 'fixtures', 'ide-probe.asm'),
      (disk) => [...ideDrives(disk), '-drive', `file=${join(dir, 'cd.iso')},format=raw,if=ide,index=2,media=cdrom`],
      ['-M', 'isapc', '-device', 'isa-debug-exit,iobase=0xf4,iosize=1'], 1);
    expect(r.qemu.split('\n').length).toBe(20);
    expect(r.ours.split('\n')).toEqual(r.qemu.split('\n'));
  });

  it('ATAPI byte count limits and packet DMA (atapi-probe)', async () => {
    const r = await both(join(here, 'fixtures', 'atapi-probe.asm'),
      () => ['-drive', `file=${join(dir, 'cd.iso')},format=raw,if=ide,index=2,media=cdrom`]);
    expect(r.qemu.split('\n').length).toBe(8);
    expect(r.ours.split('\n')).toEqual(r.qemu.split('\n'));
  });

  it('ATA task files (ata-probe) and the data they write', async () => {
    const r = await both(join(here, 'fixtures', 'ata-probe.asm'), ideDrives);
    expect(r.ours.split('\n')).toEqual(r.qemu.split('\n'));
    expect(r.ourDisk.equals(r.qemuDisk)).toBe(true);
  });

  it('bus-master DMA (dma-probe) and the data it writes', async () => {
    const r = await both(join(here, 'fixtures', 'dma-probe.asm'), ideDrives);
    expect(r.ours.split('\n')).toEqual(r.qemu.split('\n'));
    expect(r.ourDisk.equals(r.qemuDisk)).toBe(true);
  });

  it('boots the probe from the hard disk and from an El Torito CD', async () => {
    const bin = join(dir, 'probe.bin');
    execFileSync('nasm', ['-f', 'bin', '-o', bin, join(here, 'fixtures', 'ide-probe.asm')]);
    const sector = readFileSync(bin);
    // Hard disk: the probe as MBR of the 64 MiB disk.
    const disk = readFileSync(join(dir, 'disk.img'));
    sector.copy(disk, 0);
    writeFileSync(join(dir, 'boot.img'), disk);
    // CD: no-emulation boot image of 4 sectors.
    mkdirSync(join(dir, 'cdroot'), { recursive: true });
    const img = new Uint8Array(2048);
    img.set(sector);
    writeFileSync(join(dir, 'cdroot', 'boot.bin'), img);
    execFileSync('xorriso', ['-as', 'mkisofs', '-quiet', '-V', 'BOOT', '-b', 'boot.bin', '-no-emul-boot', '-boot-load-size', '4',
      '-o', join(dir, 'boot.iso'), join(dir, 'cdroot')], { stdio: 'pipe' });
    for (const [bootFrom, drives] of [
      ['c', ['-drive', `file=${join(dir, 'boot.img')},format=raw,if=ide,index=0,snapshot=on`,
        '-drive', `file=${join(dir, 'cd.iso')},format=raw,if=ide,index=2,media=cdrom`]],
      ['d', ['-drive', `file=${join(dir, 'disk.img')},format=raw,if=ide,index=0,snapshot=on`,
        '-drive', `file=${join(dir, 'boot.iso')},format=raw,if=ide,index=2,media=cdrom`]],
    ] as [string, string[]][]) {
      const common = ['-M', 'pc', '-nodefaults', '-display', 'none', '-no-reboot', ...drives, '-boot', bootFrom];
      const r = spawnSync('qemu-system-x86_64', [...common, '-serial', `file:${join(dir, 'q.txt')}`], { timeout: 60_000 });
      if (r.status !== 0) throw new Error(`qemu failed: ${r.stderr}`);
      const p = parseCommandLineFull(['-L', '/usr/share/seabios', ...common, '-serial', `file:${join(dir, 'o.txt')}`]);
      await validateMachine(p.desc);
      expect(await runMachine(p.desc)).toBe(0);
      const q = readFileSync(join(dir, 'q.txt'), 'latin1');
      expect(q.split('\n').length).toBeGreaterThan(10);
      expect({ bootFrom, lines: readFileSync(join(dir, 'o.txt'), 'latin1').split('\n') }).toEqual({ bootFrom, lines: q.split('\n') });
    }
  });

  it('PCI configuration space after SeaBIOS (pci-probe)', async () => {
    const r = await both(join(here, '..', 'pci', 'fixtures', 'pci-probe.asm'), () => []);
    const q = r.qemu.split('\n'), o = r.ours.split('\n');
    expect(o.length).toBe(q.length);
    // 00.0 register 0x72 (SMRAM): QEMU's SeaBIOS sets G_SMRAME because QEMU emulates SMM; qemu-ts has no SMM.
    const smram = 2 * 0x72;
    expect(o[0]!.slice(smram, smram + 2)).toBe('02');
    expect(q[0]!.slice(smram, smram + 2)).toBe('0A');
    o[0] = o[0]!.slice(0, smram) + '0A' + o[0]!.slice(smram + 2);
    expect(o).toEqual(q);
  });
});
