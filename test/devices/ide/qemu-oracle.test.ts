import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync, mkdirSync } from 'node:fs';
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

beforeAll(() => {
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

describe('IDE against real QEMU (boot-sector probe)', () => {
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
