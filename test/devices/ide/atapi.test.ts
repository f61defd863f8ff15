import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, statSync, writeFileSync, mkdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { IoBus } from '../../../src/bus/io-bus.js';
import type { BlockNode } from '../../../src/block/types.js';
import { openImage, closeChain } from '../../../src/block/index.js';
import { ataString, pcIde, readWords, settle } from './helpers.js';

// Needs xorriso (Debian package `xorriso`) to build the test ISO.
let dir = '';
let isoPath = '';
let iso: BlockNode;
let isoSectors = 0;
const payload = new Uint8Array(5000).map((_, i) => (i * 11 + 3) & 0xff);

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'qemu-ts-atapi-'));
  mkdirSync(join(dir, 'root'));
  writeFileSync(join(dir, 'root', 'DATA.BIN'), payload);
  isoPath = join(dir, 't.iso');
  execFileSync('xorriso', ['-as', 'mkisofs', '-quiet', '-V', 'QEMUTS', '-o', isoPath, join(dir, 'root')], { stdio: 'pipe' });
  isoSectors = statSync(isoPath).size / 2048;
  iso = await openImage(isoPath, { readOnly: true, format: 'raw' });
});

afterAll(async () => {
  if (iso) await closeChain(iso);
  if (dir) rmSync(dir, { recursive: true, force: true });
});

function setup(withMedia = true) {
  const m = pcIde();
  const drive = m.ide.channels[1].attachCdrom(0, withMedia ? iso : null);
  return { ...m, drive };
}

/** Send a 12-byte packet on the secondary channel, master, PIO, as Linux/SeaBIOS do. */
function packet(io: IoBus, bytes: number[], limit = 0xfffe, dma = false): void {
  const p = new Uint8Array(12);
  p.set(bytes);
  io.write(0x176, 1, 0xa0);
  io.write(0x171, 1, dma ? 1 : 0);
  io.write(0x174, 1, limit & 0xff);
  io.write(0x175, 1, limit >> 8);
  io.write(0x177, 1, 0xa0);
  expect(io.read(0x376, 1) & 0x88).toBe(0x08); // DRQ for the packet, no BSY
  expect(io.read(0x172, 1) & 3).toBe(1); // CoD=1, IO=0
  for (let i = 0; i < 12; i += 2) io.write(0x170, 2, p[i]! | (p[i + 1]! << 8));
}

/** Collect the reply in DRQ blocks; returns the data and the block sizes. */
async function reply(io: IoBus, ide: { idle(): Promise<unknown> }): Promise<{ data: number[]; blocks: number[]; status: number; error: number }> {
  const data: number[] = [], blocks: number[] = [];
  for (;;) {
    await settle(ide);
    const st = io.read(0x177, 1);
    if ((st & 0x08) === 0) return { data, blocks, status: st, error: io.read(0x171, 1) };
    expect(io.read(0x172, 1) & 3).toBe(2); // IO=1, CoD=0: data to host
    const n = io.read(0x174, 1) | (io.read(0x175, 1) << 8);
    blocks.push(n);
    data.push(...readWords(io, 0x170, Math.ceil(n / 2)).subarray(0, n));
  }
}

const be32 = (d: number[], o: number) => ((d[o]! << 24) | (d[o + 1]! << 16) | (d[o + 2]! << 8) | d[o + 3]!) >>> 0;

describe('ATAPI CD-ROM', () => {
  it('has the packet signature and IDENTIFY PACKET DEVICE data', async () => {
    const { io, ide } = setup();
    io.write(0x176, 1, 0xa0);
    expect(io.read(0x177, 1)).toBe(0x00); // packet devices do not set DRDY after reset
    expect([io.read(0x174, 1), io.read(0x175, 1)]).toEqual([0x14, 0xeb]);
    io.write(0x177, 1, 0xec); // IDENTIFY DEVICE aborts, signature stays
    expect(io.read(0x177, 1)).toBe(0x41);
    expect([io.read(0x174, 1), io.read(0x175, 1)]).toEqual([0x14, 0xeb]);
    io.write(0x177, 1, 0xa1);
    await settle(ide);
    const id = readWords(io, 0x170, 256);
    expect(id[0]! | (id[1]! << 8)).toBe(0x85c0);
    expect(ataString(id, 27, 20).trim()).toBe('QEMU DVD-ROM');
    expect(ataString(id, 10, 10).trim()).toBe('QM00003');
    expect(ataString(id, 23, 4).trim()).toBe('2.5+');
  });

  it('reports UNIT ATTENTION after a media change, then works', async () => {
    const { io, ide } = setup(false);
    packet(io, [0x00]);
    let r = await reply(io, ide.channels[1]);
    expect(r.status & 1).toBe(1);
    expect(r.error >> 4).toBe(2); // NOT READY
    packet(io, [0x03, 0, 0, 0, 18]);
    r = await reply(io, ide.channels[1]);
    expect(r.data[2]).toBe(2);
    expect(r.data[12]).toBe(0x3a); // MEDIUM NOT PRESENT
    ide.channels[1].insertMedia(0, iso);
    packet(io, [0x00]);
    r = await reply(io, ide.channels[1]);
    expect(r.error >> 4).toBe(6);
    packet(io, [0x03, 0, 0, 0, 18]);
    r = await reply(io, ide.channels[1]);
    expect(r.data.slice(0, 3)).toEqual([0xf0, 0, 6]);
    expect(r.data[12]).toBe(0x28);
    packet(io, [0x03, 0, 0, 0, 18]);
    r = await reply(io, ide.channels[1]);
    expect([r.data[2], r.data[12]]).toEqual([0, 0x28]); // QEMU clears the key, keeps the ASC
    packet(io, [0x00]);
    r = await reply(io, ide.channels[1]);
    expect(r.status).toBe(0x50);
    expect(io.read(0x172, 1) & 3).toBe(3); // command complete: IO=1, CoD=1
  });

  it('answers INQUIRY and READ CAPACITY for the ISO', async () => {
    const { io, ide } = setup();
    packet(io, [0x12, 0, 0, 0, 36]);
    let r = await reply(io, ide.channels[1]);
    expect(r.data.slice(0, 5)).toEqual([0x05, 0x80, 0x00, 0x21, 31]);
    expect(String.fromCharCode(...r.data.slice(8, 36))).toBe('QEMU    QEMU DVD-ROM    2.5+');
    packet(io, [0x25]);
    r = await reply(io, ide.channels[1]);
    expect(be32(r.data, 0)).toBe(isoSectors - 1);
    expect(be32(r.data, 4)).toBe(2048);
  });

  it('reads the ISO volume descriptor and a file with READ(10)/READ(12)', async () => {
    const { io, ide } = setup();
    packet(io, [0x28, 0, 0, 0, 0, 16, 0, 0, 1]);
    let r = await reply(io, ide.channels[1]);
    expect(r.data.length).toBe(2048);
    expect(String.fromCharCode(...r.data.slice(0, 6))).toBe('\x01CD001');
    expect(String.fromCharCode(...r.data.slice(40, 46))).toBe('QEMUTS');
    // Find DATA.BIN in the root directory (extent at PVD offset 156+2).
    const rootLba = r.data[158]! | (r.data[159]! << 8) | (r.data[160]! << 16) | (r.data[161]! << 24);
    packet(io, [0xa8, 0, (rootLba >> 24) & 0xff, (rootLba >> 16) & 0xff, (rootLba >> 8) & 0xff, rootLba & 0xff, 0, 0, 0, 1]);
    r = await reply(io, ide.channels[1]);
    const dirData = r.data;
    let at = 0, fileLba = -1, fileLen = 0;
    while (at < dirData.length && dirData[at]! > 0) {
      const len = dirData[at]!;
      const name = String.fromCharCode(...dirData.slice(at + 33, at + 33 + dirData[at + 32]!));
      if (name.startsWith('DATA.BIN')) {
        fileLba = dirData[at + 2]! | (dirData[at + 3]! << 8) | (dirData[at + 4]! << 16);
        fileLen = dirData[at + 10]! | (dirData[at + 11]! << 8);
      }
      at += len;
    }
    expect(fileLen).toBe(5000);
    // READ(10) of 3 sectors with a byte count limit of 1000: DRQ blocks of 1000 and a 144-byte tail.
    packet(io, [0x28, 0, 0, 0, (fileLba >> 8) & 0xff, fileLba & 0xff, 0, 0, 3], 1000);
    r = await reply(io, ide.channels[1]);
    expect(r.blocks).toEqual([1000, 1000, 1000, 1000, 1000, 1000, 144]);
    expect(r.data.slice(0, 5000)).toEqual(Array.from(payload));
    expect(r.status).toBe(0x50);
    // Out of range.
    packet(io, [0x28, 0, 0, 0, 0x7f, 0xff, 0, 0, 1]);
    r = await reply(io, ide.channels[1]);
    expect(r.error >> 4).toBe(5);
    packet(io, [0x03, 0, 0, 0, 18]);
    expect((await reply(io, ide.channels[1])).data[12]).toBe(0x21);
  });

  it('reads the TOC in formats 0, 1 and 2, LBA and MSF', async () => {
    const { io, ide } = setup();
    packet(io, [0x43, 0, 0, 0, 0, 0, 0, 0x03, 0x24, 0]);
    let r = await reply(io, ide.channels[1]);
    expect(r.data).toEqual([0, 18, 1, 1, 0, 0x14, 1, 0, 0, 0, 0, 0, 0, 0x16, 0xaa, 0,
      (isoSectors >>> 24) & 0xff, (isoSectors >>> 16) & 0xff, (isoSectors >>> 8) & 0xff, isoSectors & 0xff]);
    packet(io, [0x43, 2, 0, 0, 0, 0, 0, 0x03, 0x24, 0]);
    r = await reply(io, ide.channels[1]);
    const end = isoSectors + 150;
    expect(r.data.slice(4, 12)).toEqual([0, 0x14, 1, 0, 0, 0, 2, 0]);
    expect(r.data.slice(12, 20)).toEqual([0, 0x16, 0xaa, 0, 0, Math.floor(end / 75 / 60), Math.floor(end / 75) % 60, end % 75]);
    // Format 1 in the SFF-8020 place (byte 9 bits 7:6).
    packet(io, [0x43, 0, 0, 0, 0, 0, 0, 0, 12, 0x40]);
    r = await reply(io, ide.channels[1]);
    expect(r.data.slice(0, 4)).toEqual([0, 10, 1, 1]);
    // Format 2 (raw TOC): four 11-byte descriptors A0, A1, A2, track 1.
    packet(io, [0x43, 0, 2, 0, 0, 0, 0, 0x03, 0x24, 0]);
    r = await reply(io, ide.channels[1]);
    expect(r.data.length).toBe(4 + 44);
    expect([r.data[7], r.data[18], r.data[29], r.data[40]]).toEqual([0xa0, 0xa1, 0xa2, 1]);
    expect(be32(r.data, 26 + 7)).toBe(isoSectors); // A2 (lead-out) descriptor at 26
    // Start track 2 does not exist.
    packet(io, [0x43, 0, 0, 0, 0, 0, 2, 0x03, 0x24, 0]);
    r = await reply(io, ide.channels[1]);
    expect(r.error >> 4).toBe(5);
  });

  it('answers MODE SENSE(10), GET CONFIGURATION, GESN, disc info, mechanism status', async () => {
    const { io, ide } = setup();
    packet(io, [0x5a, 0, 0x2a, 0, 0, 0, 0, 0, 0xff]);
    let r = await reply(io, ide.channels[1]);
    expect(r.data.length).toBe(30);
    expect(r.data[8]).toBe(0x2a);
    expect((r.data[16]! << 8) | r.data[17]!).toBe(704);
    packet(io, [0x5a, 0, 0x3f, 0, 0, 0, 0, 0, 0xff]);
    r = await reply(io, ide.channels[1]);
    expect(r.error >> 4).toBe(5);
    packet(io, [0x46, 0, 0, 0, 0, 0, 0, 0, 0xff]);
    r = await reply(io, ide.channels[1]);
    expect((r.data[6]! << 8) | r.data[7]!).toBe(0x0008); // current profile CD-ROM
    packet(io, [0x4a, 1, 0, 0, 0x10, 0, 0, 0, 8]);
    r = await reply(io, ide.channels[1]);
    expect(r.data).toEqual([0, 4, 4, 0x10, 0, 2, 0, 0]); // media present, no event
    packet(io, [0x51, 0, 0, 0, 0, 0, 0, 0, 34]);
    r = await reply(io, ide.channels[1]);
    expect(r.data.slice(0, 8)).toEqual([0, 32, 0x0e, 1, 1, 1, 1, 0x20]);
    packet(io, [0xbd, 0, 0, 0, 0, 0, 0, 0, 8]);
    r = await reply(io, ide.channels[1]);
    expect(r.data).toEqual([0, 0, 0, 0, 0, 1, 0, 0]);
    packet(io, [0xbb, 0, 0xff, 0xff]);
    expect((await reply(io, ide.channels[1])).status).toBe(0x50);
    packet(io, [0xff]);
    r = await reply(io, ide.channels[1]);
    expect(r.error >> 4).toBe(5);
  });

  it('locks the tray and ejects through START STOP UNIT', async () => {
    const { io, ide, drive } = setup();
    packet(io, [0x1e, 0, 0, 0, 1]);
    await reply(io, ide.channels[1]);
    expect(ide.channels[1].eject(0)).toBe(false);
    packet(io, [0x1b, 0, 0, 0, 2]);
    let r = await reply(io, ide.channels[1]);
    expect(r.error >> 4).toBe(2);
    packet(io, [0x03, 0, 0, 0, 18]);
    expect((await reply(io, ide.channels[1])).data[12]).toBe(0x53);
    packet(io, [0x4a, 1, 0, 0, 0x10, 0, 0, 0, 8]);
    r = await reply(io, ide.channels[1]);
    expect(r.data[4]).toBe(1); // eject request event
    packet(io, [0x1e, 0, 0, 0, 0]);
    await reply(io, ide.channels[1]);
    packet(io, [0x1b, 0, 0, 0, 2]);
    r = await reply(io, ide.channels[1]);
    expect(r.status).toBe(0x50);
    expect(drive.cd!.trayOpen).toBe(true);
    packet(io, [0x25]);
    r = await reply(io, ide.channels[1]);
    expect(r.error >> 4).toBe(2);
  });

  it('transfers packet data by bus-master DMA', async () => {
    const { io, mem, ide, pic } = setup();
    mem.write32(0x1000, 0x60000);
    mem.write32(0x1004, 0x80000000 | 4096);
    io.write(0xc00c, 4, 0x1000);
    packet(io, [0x28, 0, 0, 0, 0, 16, 0, 0, 2], 0xfffe, true);
    expect(io.read(0x376, 1) & 0x08).toBe(0x08);
    io.write(0xc008, 1, 0x09);
    await settle(ide);
    expect(pic.level[15]).toBe(true);
    expect(io.read(0xc00a, 1)).toBe(0x04);
    expect(io.read(0x177, 1)).toBe(0x50);
    expect(io.read(0x172, 1) & 3).toBe(3);
    const b = new Uint8Array(6);
    mem.readBytes(0x60000, b);
    expect(String.fromCharCode(...b)).toBe('\x01CD001');
  });
});
