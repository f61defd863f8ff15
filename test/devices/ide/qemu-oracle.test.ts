import { execFileSync, spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync, mkdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { IoBus } from '../../../src/bus/io-bus.js';
import { openImage, closeChain } from '../../../src/block/index.js';
import { guessGeometry } from '../../../src/devices/ide/identify.js';
import { pcIde, settle } from './helpers.js';

/*
 * Oracle: fixtures/ide-probe.asm is a boot sector that sends IDENTIFY DEVICE,
 * IDENTIFY PACKET DEVICE and a list of ATAPI packets to real QEMU's IDE drives
 * (after SeaBIOS has initialised them) and prints every reply on COM1. The same
 * register sequence is replayed here against qemu-ts's PIIX3 IDE with the same
 * images, and the transcripts must match byte for byte.
 * Needs nasm, xorriso, qemu-system-x86_64 with SeaBIOS.
 */
const here = dirname(fileURLToPath(import.meta.url));
let dir = '';
let qemuLines: string[] = [];
let ataLines: string[] = [];
let dmaLines: string[] = [];
let cdLines: string[] = [];

/** Boot cd-probe with an empty CD drive and `change` a medium in through the monitor once it runs. */
async function runCdChange(): Promise<string[]> {
  const bin = join(dir, 'cd-probe.bin');
  execFileSync('nasm', ['-f', 'bin', '-o', bin, join(here, 'fixtures', 'cd-probe.asm')]);
  const floppy = new Uint8Array(1474560);
  floppy.set(readFileSync(bin));
  writeFileSync(join(dir, 'cd-probe.fd'), floppy);
  const serial = join(dir, 'cd-probe.txt');
  const q = spawn('qemu-system-x86_64', ['-M', 'pc', '-nodefaults', '-display', 'none', '-no-reboot',
    '-drive', `file=${join(dir, 'cd-probe.fd')},format=raw,if=floppy`, '-drive', 'if=ide,index=2,media=cdrom',
    '-boot', 'a', '-serial', `file:${serial}`, '-monitor', 'stdio'], { stdio: ['pipe', 'ignore', 'ignore'] });
  const exited = new Promise<void>((res) => q.on('exit', () => res()));
  for (let i = 0; i < 300 && !(existsSync(serial) && readFileSync(serial, 'latin1').includes('R')); i++) {
    await new Promise((r) => setTimeout(r, 50));
  }
  await new Promise((r) => setTimeout(r, 200));
  q.stdin!.write(`change ide1-cd0 ${join(dir, 'cd.iso')} raw\n`);
  const timer = setTimeout(() => q.kill(), 30_000);
  await exited;
  clearTimeout(timer);
  q.stdin!.destroy();
  return readFileSync(serial, 'latin1').split('\n').filter((l) => l !== '');
}

function runQemu(floppyAsm: string, drives: string[]): string[] {
  const bin = join(dir, `${floppyAsm}.bin`);
  execFileSync('nasm', ['-f', 'bin', '-o', bin, join(here, 'fixtures', `${floppyAsm}.asm`)]);
  const floppy = new Uint8Array(1474560);
  floppy.set(readFileSync(bin));
  writeFileSync(join(dir, `${floppyAsm}.fd`), floppy);
  const serial = join(dir, `${floppyAsm}.txt`);
  const r = spawnSync('qemu-system-x86_64', ['-M', 'pc', '-nodefaults', '-display', 'none', '-no-reboot',
    '-drive', `file=${join(dir, `${floppyAsm}.fd`)},format=raw,if=floppy`, ...drives,
    '-boot', 'a', '-serial', `file:${serial}`], { timeout: 60_000 });
  if (r.status !== 0) throw new Error(`qemu failed: ${r.stderr}`);
  return readFileSync(serial, 'latin1').split('\n').filter((l) => l !== '');
}

/** 64 MiB disk whose first 300 and last sectors hold a per-sector pattern. */
function patternDisk(file: string): void {
  const sectors = 131072;
  const img = new Uint8Array(sectors * 512);
  for (let s = 0; s < sectors; s++) {
    if (s >= 300 && s <= 131000) continue;
    for (let i = 0; i < 512; i++) img[s * 512 + i] = (s * 31 + i * 7 + 1) & 0xff;
  }
  writeFileSync(file, img);
}

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'qemu-ts-oracle-'));
  execFileSync('nasm', ['-f', 'bin', '-o', join(dir, 'probe.bin'), join(here, 'fixtures', 'ide-probe.asm')]);
  const floppy = new Uint8Array(1474560);
  floppy.set(readFileSync(join(dir, 'probe.bin')));
  writeFileSync(join(dir, 'fd.img'), floppy);
  mkdirSync(join(dir, 'root'));
  writeFileSync(join(dir, 'root', 'DATA.BIN'), new Uint8Array(7000).map((_, i) => (i * 5) & 0xff));
  execFileSync('xorriso', ['-as', 'mkisofs', '-quiet', '-V', 'ORACLE', '-o', join(dir, 'cd.iso'), join(dir, 'root')], { stdio: 'pipe' });
  execFileSync('qemu-img', ['create', '-q', '-f', 'raw', join(dir, 'hd.img'), '64M']);
  const r = spawnSync('qemu-system-x86_64', ['-M', 'pc', '-nodefaults', '-display', 'none', '-no-reboot',
    '-drive', `file=${join(dir, 'fd.img')},format=raw,if=floppy`,
    '-drive', `file=${join(dir, 'hd.img')},format=raw,if=ide,index=0`,
    '-drive', `file=${join(dir, 'cd.iso')},format=raw,if=ide,index=2,media=cdrom`,
    '-boot', 'a', '-serial', `file:${join(dir, 'serial.txt')}`], { timeout: 60_000 });
  if (r.status !== 0) throw new Error(`qemu failed: ${r.stderr}`);
  qemuLines = readFileSync(join(dir, 'serial.txt'), 'latin1').split('\n').filter((l) => l !== '');
  patternDisk(join(dir, 'pat.img'));
  execFileSync('cp', [join(dir, 'pat.img'), join(dir, 'pat-qemu.img')]);
  ataLines = runQemu('ata-probe', ['-drive', `file=${join(dir, 'pat-qemu.img')},format=raw,if=ide,index=0`]);
  execFileSync('cp', [join(dir, 'pat.img'), join(dir, 'dma.img')]);
  execFileSync('cp', [join(dir, 'pat.img'), join(dir, 'dma-qemu.img')]);
  dmaLines = runQemu('dma-probe', ['-drive', `file=${join(dir, 'dma-qemu.img')},format=raw,if=ide,index=0`]);
  cdLines = await runCdChange();
});

afterAll(() => { if (dir) rmSync(dir, { recursive: true, force: true }); });

const hex = (b: number) => b.toString(16).toUpperCase().padStart(2, '0');

/** The boot sector's routines, as register accesses. */
class Probe {
  out = '';
  constructor(private readonly io: IoBus, private readonly ide: { idle(): Promise<unknown> }) {}
  private async waitnb(base: number): Promise<number> {
    for (;;) {
      const st = this.io.read(base + 7, 1);
      if ((st & 0x80) === 0) return st;
      await settle(this.ide);
    }
  }
  private readdata(base: number, n: number): void {
    for (let i = 0; i < (n + 1) >> 1; i++) {
      const w = this.io.read(base, 2);
      this.out += hex(w & 0xff) + hex(w >> 8);
    }
  }
  private finish(base: number): void {
    this.out += `S${hex(this.io.read(base + 7, 1))}E${hex(this.io.read(base + 1, 1))}\n`;
  }
  async identify(base: number, cmd: number): Promise<void> {
    await this.waitnb(base);
    this.io.write(base + 6, 1, 0xa0);
    this.io.write(base + 7, 1, cmd);
    const st = await this.waitnb(base);
    if ((st & 8) !== 0) this.readdata(base, 512);
    this.finish(base);
  }
  /** TEST UNIT READY without output; returns status | error << 8. */
  async tur(): Promise<number> {
    await this.waitnb(0x170);
    this.io.write(0x176, 1, 0xa0);
    this.io.write(0x177, 1, 0xa0);
    await this.waitnb(0x170);
    for (let i = 0; i < 6; i++) this.io.write(0x170, 2, 0);
    const st = await this.waitnb(0x170);
    return st | (this.io.read(0x171, 1) << 8);
  }
  async packet(p: number[], limit: number): Promise<void> {
    await this.waitnb(0x170);
    this.io.write(0x176, 1, 0xa0);
    this.io.write(0x171, 1, 0);
    this.io.write(0x174, 1, limit & 0xff);
    this.io.write(0x175, 1, limit >> 8);
    this.io.write(0x177, 1, 0xa0);
    await this.waitnb(0x170);
    for (let i = 0; i < 12; i += 2) this.io.write(0x170, 2, (p[i] ?? 0) | ((p[i + 1] ?? 0) << 8));
    for (;;) {
      const st = await this.waitnb(0x170);
      if ((st & 8) === 0) { this.finish(0x170); return; }
      const n = this.io.read(0x174, 1) | (this.io.read(0x175, 1) << 8);
      this.out += '[';
      this.readdata(0x170, n);
    }
  }
}

/** The packet table of ide-probe.asm. */
const PACKETS: [number[], number][] = [
  [[0x12, 0, 0, 0, 36], 0xfffe],
  [[0x25], 0xfffe],
  [[0x43, 0, 0, 0, 0, 0, 0, 0x03, 0x24], 0xfffe],
  [[0x43, 2, 0, 0, 0, 0, 0, 0x03, 0x24], 0xfffe],
  [[0x43, 0, 0, 0, 0, 0, 0, 0, 12, 0x40], 0xfffe],
  [[0x43, 2, 0, 0, 0, 0, 0, 0x03, 0x24, 0x80], 0xfffe],
  [[0x5a, 0, 0x2a, 0, 0, 0, 0, 0, 0xff], 0xfffe],
  [[0x5a, 0, 0x01, 0, 0, 0, 0, 0, 0xff], 0xfffe],
  [[0x46, 0, 0, 0, 0, 0, 0, 0, 0xff], 0xfffe],
  [[0x4a, 1, 0, 0, 0x10, 0, 0, 0, 8], 0xfffe],
  [[0x51, 0, 0, 0, 0, 0, 0, 0, 34], 0xfffe],
  [[0xbd, 0, 0, 0, 0, 0, 0, 0, 0, 8], 0xfffe],
  [[0x28, 0, 0, 0, 0, 16, 0, 0, 1], 1000],
  [[0x03, 0, 0, 0, 18], 0xfffe],
  [[0xbe, 0, 0, 0, 0, 16, 0, 0, 1, 0x10], 0xfffe],
  [[0xa9], 0xfffe],
  [[0x03, 0, 0, 0, 18], 0xfffe],
];

/** The task-file table of ata-probe.asm: features, count, LBA low/mid/high, device, command, flags. */
const TASKS: number[][] = [
  [0, 0, 0, 0, 0, 0xa0, 0xec, 0], [0, 3, 0, 0, 0, 0xe0, 0xc6, 0], [0, 4, 0, 0, 0, 0xe0, 0xc6, 0],
  [0, 6, 5, 0, 0, 0xe0, 0xc4, 0], [0, 2, 0xff, 0xff, 1, 0xe0, 0x20, 0], [0, 1, 0, 0, 2, 0xe0, 0x20, 0],
  [0, 5, 100, 0, 0, 0xe0, 0x40, 0], [0, 0, 0, 0, 0, 0xe0, 0xe5, 0], [0, 0, 0, 0, 0, 0xe0, 0xf8, 0],
  [0, 1, 5, 1, 0, 0xa2, 0x20, 0], [0, 17, 0, 0, 0, 0xa3, 0x91, 0], [0, 1, 3, 2, 0, 0xa1, 0x20, 0],
  [3, 0x42, 0, 0, 0, 0xa0, 0xef, 0], [0, 0, 0, 0, 0, 0xa0, 0xec, 0], [0, 1, 9, 0, 0, 0xe0, 0x30, 1],
  [0, 1, 9, 0, 0, 0xe0, 0x20, 0], [0, 0, 0, 0, 0, 0xa0, 0x00, 0], [0, 0, 0, 0, 0, 0xa0, 0x08, 0],
  [0, 0, 0, 0, 0, 0xa0, 0x10, 0], [0, 0, 0, 0, 0, 0xa0, 0x90, 0], [0, 0, 0, 0, 0, 0xa0, 0x00, 2],
  [0xda, 0, 0, 0x4f, 0xc2, 0xa0, 0xb0, 0], [0xd0, 0, 0, 0x4f, 0xc2, 0xa0, 0xb0, 0], [0xd1, 0, 0, 0x4f, 0xc2, 0xa0, 0xb0, 0],
  [0xd0, 0, 0, 0, 0, 0xa0, 0xb0, 0], [0xd9, 0, 0, 0x4f, 0xc2, 0xa0, 0xb0, 0], [0xda, 0, 0, 0x4f, 0xc2, 0xa0, 0xb0, 0],
  [0xd8, 0, 0, 0x4f, 0xc2, 0xa0, 0xb0, 0], [0xd2, 0xf1, 0, 0x4f, 0xc2, 0xa0, 0xb0, 0], [0xd4, 0, 0, 0x4f, 0xc2, 0xa0, 0xb0, 0],
  [0xd0, 0, 0, 0x4f, 0xc2, 0xa0, 0xb0, 0], [0x55, 0, 0, 0x4f, 0xc2, 0xa0, 0xb0, 0],
];

async function ataProbe(io: IoBus, ide: { idle(): Promise<unknown> }): Promise<string[]> {
  let out = '';
  const waitnb = async () => {
    for (;;) {
      const st = io.read(0x1f7, 1);
      if ((st & 0x80) === 0) return st;
      await settle(ide);
    }
  };
  for (const t of TASKS) {
    await waitnb();
    if ((t[7]! & 2) !== 0) {
      io.write(0x3f6, 1, 4); io.write(0x3f6, 1, 0);
      await waitnb();
    } else {
      io.write(0x1f6, 1, t[5]!);
      for (let r = 0; r < 5; r++) io.write(0x1f1 + r, 1, t[r]!);
      io.write(0x1f7, 1, t[6]!);
      for (;;) {
        const st = await waitnb();
        if ((st & 8) === 0) break;
        out += '[';
        for (let w = 0; w < 256; w++) {
          if ((t[7]! & 1) !== 0) { io.write(0x1f0, 2, 0x5a5a); continue; }
          const v = io.read(0x1f0, 2);
          if (t[6] === 0xec || t[6] === 0xb0 || w < 4) out += hex(v & 0xff) + hex(v >> 8);
        }
      }
    }
    for (let r = 1; r <= 7; r++) out += hex(io.read(0x1f0 + r, 1));
    out += '\n';
  }
  return out.split('\n').filter((l) => l !== '');
}

/** dma-probe.asm's cases: buffer, PRD byte count (0 = 64 KiB), sector count, LBA, command, BM command. */
const DMA_CASES: number[][] = [
  [0x2000, 4096, 8, 1, 0xc8, 0x09], [0x3000, 512, 2, 3, 0xc8, 0x09], [0x4000, 4096, 1, 5, 0xc8, 0x09],
  [0x5000, 512, 1, 20, 0xca, 0x01], [0x6000, 512, 1, 20, 0xc8, 0x09], [0x7000, 0, 0, 0, 0xc8, 0x09],
];

/** cd-probe.asm's packets after the medium arrives. */
const CD_PACKETS: number[][] = [
  [0x00], [0x4a, 1, 0, 0, 0x10, 0, 0, 0, 8], [0x25], [0x03, 0, 0, 0, 18], [0x25], [0x12, 0, 0, 0, 8], [0x25],
  [0x03, 0, 0, 0, 18], [0x25], [0x4a, 1, 0, 0, 0x10, 0, 0, 0, 8], [0x1a, 0, 0x2a, 0, 0xff],
];

describe('IDE against real QEMU (boot-sector probe)', () => {
  it('reports a CD media change (monitor `change`) as QEMU does', async () => {
    const cd = await openImage(join(dir, 'cd.iso'), { readOnly: true, format: 'raw' });
    const m = pcIde();
    m.ide.channels[1].attachCdrom(0, null);
    const probe = new Probe(m.io, m.ide);
    probe.out = 'R\n';
    let last = 0;
    for (let i = 0; ; i++) {
      if (i === 5) m.ide.channels[1].insertMedia(0, cd);
      const r = await probe.tur();
      if (r !== last) { last = r; probe.out += `T${hex(r & 0xff)}${hex(r >> 8)}\n`; }
      if ((r & 1) === 0) break;
      if (((r >> 8) & 0xf0) === 0x60) await probe.packet([0x03, 0, 0, 0, 18], 0xfffe);
      expect(i).toBeLessThan(50);
    }
    for (const p of CD_PACKETS) await probe.packet(p, 0xfffe);
    await closeChain(cd);
    expect(probe.out.split('\n').filter((l) => l !== '')).toEqual(cdLines);
  });

  it('does bus-master DMA with the same results as QEMU (exact, short and long PRDs, write)', async () => {
    const node = await openImage(join(dir, 'dma.img'), { readOnly: false, format: 'raw' });
    const m = pcIde();
    m.ide.channels[0].attachDisk(0, node, { chs: await guessGeometry(node) });
    m.ide.writeConfig(0x04, 2, 0x0107);
    for (let i = 0; i < 256; i++) m.mem.write16(0x5000 + 2 * i, 0xa55a);
    const io = m.io;
    const out: string[] = [];
    for (const [buf, bytes, count, lba, cmd, bm] of DMA_CASES as [number, number, number, number, number, number][]) {
      m.mem.write32(0x1000, buf); m.mem.write32(0x1004, 0x80000000 | bytes);
      io.write(0xc004, 4, 0x1000);
      io.write(0xc002, 1, 6);
      io.write(0x1f6, 1, 0xe0); io.write(0x1f2, 1, count); io.write(0x1f3, 1, lba);
      io.write(0x1f4, 1, 0); io.write(0x1f5, 1, 0);
      io.write(0x1f7, 1, cmd);
      io.write(0xc000, 1, bm);
      for (let k = 0; k < 1000; k++) {
        const st = io.read(0xc002, 1);
        if ((st & 4) !== 0 || (st & 1) === 0) break;
        await settle(m.ide);
      }
      while ((io.read(0x1f7, 1) & 0x80) !== 0) await settle(m.ide);
      let line = hex(io.read(0xc002, 1)) + hex(io.read(0x1f7, 1)) + hex(io.read(0x1f1, 1)) + hex(io.read(0x1f3, 1)) + ':';
      for (let i = 0; i < 8; i++) line += hex(m.mem.read8(buf + i));
      io.write(0xc000, 1, 0);
      line += hex(io.read(0xc002, 1));
      out.push(line);
    }
    await closeChain(node);
    expect(out).toEqual(dmaLines);
    expect(readFileSync(join(dir, 'dma.img')).equals(readFileSync(join(dir, 'dma-qemu.img')))).toBe(true);
  });

  it('runs ATA commands with the same data, registers and errors as QEMU', async () => {
    const node = await openImage(join(dir, 'pat.img'), { readOnly: false, format: 'raw' });
    const m = pcIde();
    m.ide.channels[0].attachDisk(0, node, { chs: await guessGeometry(node) });
    const ours = await ataProbe(m.io, m.ide);
    await closeChain(node);
    expect(ours.length).toBe(ataLines.length);
    for (let i = 0; i < ours.length; i++) expect({ line: i + 1, text: ours[i] }).toEqual({ line: i + 1, text: ataLines[i] });
    expect(readFileSync(join(dir, 'pat.img')).equals(readFileSync(join(dir, 'pat-qemu.img')))).toBe(true);
  });

  it('answers IDENTIFY and ATAPI packets exactly as QEMU does', async () => {
    const hd = await openImage(join(dir, 'hd.img'), { readOnly: true, format: 'raw' });
    const cd = await openImage(join(dir, 'cd.iso'), { readOnly: true, format: 'raw' });
    const m = pcIde();
    m.ide.channels[0].attachDisk(0, hd, { chs: await guessGeometry(hd) });
    m.ide.channels[1].attachCdrom(0, cd);
    const probe = new Probe(m.io, m.ide);
    await probe.identify(0x1f0, 0xec);
    await probe.identify(0x170, 0xa1);
    for (const [p, limit] of PACKETS) await probe.packet(p, limit);
    await closeChain(hd);
    await closeChain(cd);
    const ours = probe.out.split('\n').filter((l) => l !== '');
    expect(ours.length).toBe(qemuLines.length);
    for (let i = 0; i < ours.length; i++) expect({ line: i + 1, text: ours[i] }).toEqual({ line: i + 1, text: qemuLines[i] });
  });
});
