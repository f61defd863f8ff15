import { describe, expect, it } from 'vitest';
import { IoBus } from '../../../src/bus/io-bus.js';
import { IrqLine } from '../../../src/bus/irq.js';
import { chsForSize, chsFromMbr } from '../../../src/devices/ide/identify.js';
import { IsaIde } from '../../../src/devices/ide/isa-ide.js';
import { ataString, fillPattern, Levels, MemDisk, pattern, pcIde, readWords, settle } from './helpers.js';

const MiB = 1 << 20;

function setup(sizeBytes = 64 * MiB) {
  const m = pcIde();
  const disk = new MemDisk(sizeBytes);
  m.ide.channels[0].attachDisk(0, disk.asNode());
  return { ...m, disk };
}

/** Issue an LBA28 command the way SeaBIOS's ata_cmd_data does. */
function lba28(io: IoBus, cmd: number, lba: number, count: number, dev = 0): void {
  io.write(0x1f6, 1, 0xe0 | (dev << 4) | ((lba >>> 24) & 0x0f));
  io.write(0x1f2, 1, count & 0xff);
  io.write(0x1f3, 1, lba & 0xff);
  io.write(0x1f4, 1, (lba >>> 8) & 0xff);
  io.write(0x1f5, 1, (lba >>> 16) & 0xff);
  io.write(0x1f7, 1, cmd);
}

describe('ATA register file and IDENTIFY', () => {
  it('answers the SeaBIOS presence test and IDENTIFY DEVICE like QEMU', async () => {
    const { io, pic, ide } = setup();
    // Power-on: not busy, device ready, diagnostic code 1, ATA signature.
    expect(io.read(0x1f7, 1)).toBe(0x50);
    expect(io.read(0x1f1, 1)).toBe(0x01);
    expect([io.read(0x1f2, 1), io.read(0x1f3, 1), io.read(0x1f4, 1), io.read(0x1f5, 1)]).toEqual([1, 1, 0, 0]);
    io.write(0x1f2, 1, 0x55);
    io.write(0x1f3, 1, 0xaa);
    expect(io.read(0x1f2, 1)).toBe(0x55);
    expect(io.read(0x1f3, 1)).toBe(0xaa);
    // Absent slave reads 0 everywhere.
    io.write(0x1f6, 1, 0xb0);
    expect(io.read(0x1f7, 1)).toBe(0);
    expect(io.read(0x3f6, 1)).toBe(0);
    io.write(0x1f7, 1, 0xec);
    expect(pic.level[14]).toBe(false);
    io.write(0x1f6, 1, 0xa0);
    expect(io.read(0x1f6, 1)).toBe(0xa0);
    io.write(0x1f7, 1, 0xec);
    await settle(ide);
    expect(pic.level[14]).toBe(true);
    expect(io.read(0x3f6, 1)).toBe(0x58);
    expect(pic.level[14]).toBe(true); // alternate status does not acknowledge
    expect(io.read(0x1f7, 1)).toBe(0x58);
    expect(pic.level[14]).toBe(false);
    const id = readWords(io, 0x1f0, 256);
    expect(io.read(0x1f7, 1)).toBe(0x50);
    const w = (i: number) => id[2 * i]! | (id[2 * i + 1]! << 8);
    expect(w(0)).toBe(0x0040);
    // QEMU's geometry for a 64 MiB unpartitioned image (`info qtree`: cyls 130, heads 16, secs 63).
    expect([w(1), w(3), w(6)]).toEqual([130, 16, 63]);
    expect(ataString(id, 10, 10)).toBe('QM00001'.padEnd(20));
    expect(ataString(id, 23, 4)).toBe('2.5+'.padEnd(8));
    expect(ataString(id, 27, 20)).toBe('QEMU HARDDISK'.padEnd(40));
    expect(w(47)).toBe(0x8010);
    expect(w(49)).toBe(0x0b00);
    expect(w(59)).toBe(0x0110); // QEMU resets multiple mode to 16 sectors
    expect(w(60) | (w(61) << 16)).toBe(131072);
    expect([w(100), w(101), w(102), w(103)]).toEqual([0, 2, 0, 0]);
    expect(w(57) | (w(58) << 16)).toBe(130 * 16 * 63);
    expect(w(83) & 0x0400).toBe(0x0400); // LBA48
    expect(w(88)).toBe(0x203f); // UDMA 0-5, mode 5 selected
  });

  it('reports QEMU capacities for big disks (LBA28 capped, LBA48 full)', async () => {
    const { io, ide } = setup(200 * 1024 * MiB);
    io.write(0x1f6, 1, 0xa0);
    io.write(0x1f7, 1, 0xec);
    await settle(ide);
    const id = readWords(io, 0x1f0, 256);
    const w = (i: number) => id[2 * i]! | (id[2 * i + 1]! << 8);
    expect(w(60) + w(61) * 65536).toBe(0x0fffffff);
    const n = 200 * 1024 * 2048;
    expect(w(100) + w(101) * 65536 + w(102) * 2 ** 32).toBe(n);
    expect([w(1), w(3), w(6)]).toEqual([16383, 16, 63]);
  });

  it('refuses a second drive on the same unit', () => {
    const { ide } = setup();
    expect(() => ide.channels[0].attachDisk(0, new MemDisk(MiB).asNode())).toThrow(/bus 0 unit 0 is already in use/);
    expect(() => ide.channels[0].attachCdrom(2 as 0, null)).toThrow(/unit 2 does not exist/);
  });

  it('guesses geometry like QEMU', () => {
    expect(chsForSize(1000)).toEqual({ cylinders: 2, heads: 16, sectors: 63 });
    const mbr = new Uint8Array(512);
    mbr[510] = 0x55; mbr[511] = 0xaa;
    // Partition 1 ends at head 15, sector 63, 20000 sectors long.
    mbr[0x1be + 5] = 15; mbr[0x1be + 6] = 63; mbr[0x1be + 12] = 0x20; mbr[0x1be + 13] = 0x4e;
    expect(chsFromMbr(mbr, 131072)).toEqual({ cylinders: 130, heads: 16, sectors: 63 });
    mbr[0x1be + 5] = 3; mbr[0x1be + 6] = 32;
    expect(chsFromMbr(mbr, 131072)).toEqual({ cylinders: 1024, heads: 4, sectors: 32 });
    mbr[510] = 0;
    expect(chsFromMbr(mbr, 131072)).toBeNull();
  });
});

describe('PIO data commands', () => {
  it('READ SECTORS: one interrupt and DRQ block per sector, registers advance', async () => {
    const { io, pic, ide, disk } = setup();
    fillPattern(disk, 20, 100);
    lba28(io, 0x20, 100, 3);
    expect(io.read(0x3f6, 1) & 0x80).toBe(0x80); // BSY while the medium is read
    const got: number[] = [];
    for (let s = 0; s < 3; s++) {
      await settle(ide);
      expect(pic.level[14]).toBe(true);
      expect(io.read(0x1f7, 1)).toBe(0x58);
      const data = readWords(io, 0x1f0, 256);
      got.push(...data);
    }
    await settle(ide);
    expect(io.read(0x1f7, 1)).toBe(0x50);
    expect(got).toEqual(Array.from({ length: 1536 }, (_, i) => pattern(100 * 512 + i)));
    expect(pic.edges[14]).toBe(3);
    expect(io.read(0x1f2, 1)).toBe(0);
    expect(io.read(0x1f3, 1)).toBe(103);
  });

  it('reads ahead for the whole command and queues writes behind (one media request per command)', async () => {
    const { io, pic, ide, disk } = setup();
    fillPattern(disk, 16, 200);
    lba28(io, 0x20, 200, 16);
    await settle(ide);
    const data: number[] = [];
    for (let s = 0; s < 16; s++) {
      expect(io.read(0x3f6, 1)).toBe(0x58); // next block ready at once, no BSY gap
      expect(pic.level[14]).toBe(true);
      io.read(0x1f7, 1);
      data.push(...readWords(io, 0x1f0, 256));
    }
    expect(io.read(0x1f7, 1)).toBe(0x50);
    expect(disk.reads).toBe(1);
    expect(data).toEqual(Array.from({ length: 16 * 512 }, (_, i) => pattern(200 * 512 + i)));
    // PIO write of 4 sectors: DRQ for each block immediately, completion after the data is stored.
    lba28(io, 0x30, 600, 4);
    for (let s = 0; s < 4; s++) {
      expect(io.read(0x3f6, 1)).toBe(0x58);
      for (let i = 0; i < 256; i++) io.write(0x1f0, 2, 0x0101 * (s + 1));
    }
    expect(io.read(0x3f6, 1) & 0x80).toBe(0x80); // last block: busy until written
    await settle(ide);
    expect(io.read(0x1f7, 1)).toBe(0x50);
    expect([disk.peek(600 * 512, 1)[0], disk.peek(603 * 512 + 511, 1)[0]]).toEqual([1, 4]);
  });

  it('32-bit data port accesses transfer two words', async () => {
    const { io, ide, disk } = setup();
    fillPattern(disk, 1, 7);
    lba28(io, 0x20, 7, 1);
    await settle(ide);
    const v = io.read(0x1f0, 4);
    expect(v).toBe((pattern(7 * 512) | (pattern(7 * 512 + 1) << 8) | (pattern(7 * 512 + 2) << 16) | (pattern(7 * 512 + 3) << 24)) >>> 0);
  });

  it('addresses CHS with the default translation and after INITIALIZE DEVICE PARAMETERS', async () => {
    const { io, ide, disk } = setup();
    // C/H/S = 1/2/5 -> LBA (1*16 + 2)*63 + 4 = 1138
    fillPattern(disk, 1, 1138);
    io.write(0x1f6, 1, 0xa2);
    io.write(0x1f2, 1, 1); io.write(0x1f3, 1, 5); io.write(0x1f4, 1, 1); io.write(0x1f5, 1, 0);
    io.write(0x1f7, 1, 0x20);
    await settle(ide);
    expect(readWords(io, 0x1f0, 1)[0]).toBe(pattern(1138 * 512));
    readWords(io, 0x1f0, 255);
    await settle(ide);
    // INITIALIZE DEVICE PARAMETERS: 4 heads (head field 3), 17 sectors/track.
    io.write(0x1f6, 1, 0xa3); io.write(0x1f2, 1, 17); io.write(0x1f7, 1, 0x91);
    expect(io.read(0x1f7, 1)).toBe(0x50);
    // C/H/S = 2/1/3 -> (2*4 + 1)*17 + 2 = 155
    fillPattern(disk, 1, 155);
    io.write(0x1f6, 1, 0xa1);
    io.write(0x1f2, 1, 1); io.write(0x1f3, 1, 3); io.write(0x1f4, 1, 2); io.write(0x1f5, 1, 0);
    io.write(0x1f7, 1, 0x20);
    await settle(ide);
    expect(readWords(io, 0x1f0, 1)[0]).toBe(pattern(155 * 512));
  });

  it('READ/WRITE MULTIPLE move SET MULTIPLE MODE blocks per interrupt', async () => {
    const { io, pic, ide, disk } = setup();
    io.write(0x1f6, 1, 0xe0);
    io.write(0x1f2, 1, 3); io.write(0x1f7, 1, 0xc6); // not a power of two
    expect(io.read(0x1f7, 1)).toBe(0x41);
    expect(io.read(0x1f1, 1)).toBe(0x04);
    io.write(0x1f2, 1, 4); io.write(0x1f7, 1, 0xc6);
    expect(io.read(0x1f7, 1)).toBe(0x50);
    // WRITE MULTIPLE of 6 sectors: blocks of 4 then 2.
    const edges0 = pic.edges[14]!;
    lba28(io, 0xc5, 50, 6);
    expect(io.read(0x3f6, 1)).toBe(0x58); // DRQ at once, no interrupt for the first block
    expect(pic.edges[14]).toBe(edges0);
    for (let i = 0; i < 4 * 256; i++) io.write(0x1f0, 2, 0x1111 * ((i >> 8) + 1));
    await settle(ide);
    expect(pic.edges[14]).toBe(edges0 + 1);
    expect(io.read(0x1f7, 1)).toBe(0x58);
    for (let i = 0; i < 2 * 256; i++) io.write(0x1f0, 2, 0xabcd);
    await settle(ide);
    expect(io.read(0x1f7, 1)).toBe(0x50);
    expect(pic.edges[14]).toBe(edges0 + 2);
    expect(disk.peek(50 * 512, 2)).toEqual(new Uint8Array([0x11, 0x11]));
    expect(disk.peek(53 * 512, 2)).toEqual(new Uint8Array([0x44, 0x44]));
    expect(disk.peek(55 * 512 + 510, 2)).toEqual(new Uint8Array([0xcd, 0xab]));
    expect(disk.writes).toBe(2);
    // READ MULTIPLE back: 2 interrupts.
    lba28(io, 0xc4, 50, 6);
    await settle(ide);
    const first = readWords(io, 0x1f0, 4 * 256);
    expect(first[3 * 512]).toBe(0x44);
    await settle(ide);
    const second = readWords(io, 0x1f0, 2 * 256);
    expect(second[1023]).toBe(0xab);
    expect(io.read(0x1f7, 1)).toBe(0x50);
  });

  it('READ SECTORS EXT reaches beyond 2^28 sectors', async () => {
    const { io, ide, disk } = setup(200 * 1024 * MiB);
    const lba = 0x10345678; // > 28 bits
    fillPattern(disk, 2, lba);
    io.write(0x1f6, 1, 0x40);
    io.write(0x1f2, 1, 0); io.write(0x1f2, 1, 2); // count high, low
    io.write(0x1f3, 1, (lba / 2 ** 24) & 0xff); io.write(0x1f3, 1, lba & 0xff);
    io.write(0x1f4, 1, 0); io.write(0x1f4, 1, (lba >> 8) & 0xff);
    io.write(0x1f5, 1, 0); io.write(0x1f5, 1, (lba >> 16) & 0xff);
    io.write(0x1f7, 1, 0x24);
    await settle(ide);
    expect(readWords(io, 0x1f0, 1)[0]).toBe(pattern(lba * 512));
    readWords(io, 0x1f0, 255);
    await settle(ide);
    readWords(io, 0x1f0, 256);
    await settle(ide);
    expect(io.read(0x1f7, 1)).toBe(0x50);
    // Registers hold LBA + 2; HOB shows the high bytes.
    expect(io.read(0x1f3, 1)).toBe((lba + 2) & 0xff);
    io.write(0x3f6, 1, 0x80);
    expect(io.read(0x1f3, 1)).toBe(Math.floor((lba + 2) / 2 ** 24) & 0xff);
    io.write(0x3f6, 1, 0x00);
  });

  it('aborts out-of-range and failed requests', async () => {
    const { io, pic, ide, disk } = setup(1 * MiB);
    lba28(io, 0x20, 2048, 1);
    expect(io.read(0x1f7, 1)).toBe(0x41);
    expect(io.read(0x1f1, 1)).toBe(0x04);
    // As QEMU checks per DRQ block: the last sector is delivered, the next block aborts.
    lba28(io, 0x20, 2047, 2);
    await settle(ide);
    expect(io.read(0x1f7, 1)).toBe(0x58);
    readWords(io, 0x1f0, 256);
    expect(io.read(0x1f7, 1)).toBe(0x41);
    disk.failNext = true;
    lba28(io, 0x20, 0, 1);
    await settle(ide);
    expect(pic.level[14]).toBe(true);
    expect(io.read(0x1f7, 1)).toBe(0x41);
    io.write(0x1f7, 1, 0x00); // NOP aborts
    expect(io.read(0x1f7, 1)).toBe(0x41);
  });

  it('handles READ VERIFY, FLUSH, power, SET FEATURES and NATIVE MAX', async () => {
    const { io, ide, disk } = setup(1 * MiB);
    lba28(io, 0x40, 10, 5);
    expect(io.read(0x1f7, 1)).toBe(0x50);
    expect(io.read(0x1f3, 1)).toBe(10); // QEMU leaves the task file alone
    expect(io.read(0x1f2, 1)).toBe(5);
    io.write(0x1f7, 1, 0xe7);
    expect(io.read(0x3f6, 1) & 0x80).toBe(0x80);
    await settle(ide);
    expect(disk.flushes).toBe(1);
    expect(io.read(0x1f7, 1)).toBe(0x50);
    io.write(0x1f2, 1, 0); io.write(0x1f7, 1, 0xe5);
    expect(io.read(0x1f2, 1)).toBe(0xff);
    io.write(0x1f7, 1, 0xe0);
    expect(io.read(0x1f7, 1)).toBe(0x50);
    // SET FEATURES: UDMA mode 2, then read IDENTIFY word 88.
    io.write(0x1f1, 1, 0x03); io.write(0x1f2, 1, 0x42); io.write(0x1f7, 1, 0xef);
    expect(io.read(0x1f7, 1)).toBe(0x50);
    io.write(0x1f1, 1, 0x03); io.write(0x1f2, 1, 0x22); io.write(0x1f7, 1, 0xef); // MDMA 2 selects nothing in UDMA
    io.write(0x1f1, 1, 0x03); io.write(0x1f2, 1, 0x42); io.write(0x1f7, 1, 0xef);
    io.write(0x1f1, 1, 0x82); io.write(0x1f7, 1, 0xef); // write cache off
    io.write(0x1f7, 1, 0xec);
    await settle(ide);
    const id = readWords(io, 0x1f0, 256);
    expect(id[88 * 2]! | (id[88 * 2 + 1]! << 8)).toBe(0x043f);
    expect(id[63 * 2 + 1]).toBe(0);
    expect((id[85 * 2]! & 0x20)).toBe(0);
    io.write(0x1f1, 1, 0x77); io.write(0x1f7, 1, 0xef);
    expect(io.read(0x1f7, 1)).toBe(0x41);
    io.write(0x1f6, 1, 0xe0); io.write(0x1f7, 1, 0xf8);
    expect(io.read(0x1f7, 1)).toBe(0x50);
    expect([io.read(0x1f3, 1), io.read(0x1f4, 1), io.read(0x1f5, 1), io.read(0x1f6, 1) & 0x0f]).toEqual([0xff, 0x07, 0, 0]);
  });
});

describe('reset, nIEN, diagnostics', () => {
  it('software reset restores the signature and multiple mode; nIEN masks INTRQ', async () => {
    const { io, pic, ide } = setup();
    io.write(0x1f6, 1, 0xe0); io.write(0x1f2, 1, 2); io.write(0x1f7, 1, 0xc6);
    lba28(io, 0x20, 5, 2);
    io.write(0x3f6, 1, 0x06); // SRST + nIEN while the read is in flight
    expect(io.read(0x3f6, 1) & 0x80).toBe(0x80);
    await settle(ide);
    io.write(0x3f6, 1, 0x02);
    expect(io.read(0x1f7, 1)).toBe(0x50);
    expect(io.read(0x1f1, 1)).toBe(0x01);
    expect([io.read(0x1f2, 1), io.read(0x1f3, 1), io.read(0x1f4, 1), io.read(0x1f5, 1)]).toEqual([1, 1, 0, 0]);
    expect(pic.level[14]).toBe(false);
    // With nIEN set, a command completes without asserting IRQ 14.
    io.write(0x1f6, 1, 0xa0); io.write(0x1f7, 1, 0xec);
    await settle(ide);
    expect(pic.level[14]).toBe(false);
    io.write(0x3f6, 1, 0x00);
    expect(pic.level[14]).toBe(true); // pending interrupt shows once enabled
    const id = readWords(io, 0x1f0, 256);
    expect(id[59 * 2]).toBe(16); // multiple mode back to QEMU's default
    io.write(0x1f7, 1, 0x90);
    expect(io.read(0x1f7, 1)).toBe(0x50);
    expect(io.read(0x1f1, 1)).toBe(0x01);
  });
});

describe('bus-master DMA (PIIX3)', () => {
  function prd(mem: { write32(a: number, v: number): void }, at: number, entries: [number, number, boolean][]): void {
    entries.forEach(([addr, len, eot], i) => {
      mem.write32(at + 8 * i, addr);
      mem.write32(at + 8 * i + 4, (len & 0xffff) | (eot ? 0x80000000 : 0));
    });
  }

  it('READ DMA scatters through a PRD table and signals completion as SeaBIOS expects', async () => {
    const { io, mem, pic, ide, disk } = setup();
    fillPattern(disk, 8, 300);
    prd(mem, 0x1000, [[0x20000, 1024, false], [0x30000, 3072, true]]);
    io.write(0xc004, 4, 0x1000);
    expect(io.read(0xc004, 4)).toBe(0x1000);
    io.write(0xc000, 1, 0x08); // direction: to memory
    lba28(io, 0xc8, 300, 8);
    expect(io.read(0x3f6, 1)).toBe(0x58); // waiting for the engine
    io.write(0xc000, 1, 0x09); // start
    expect(io.read(0xc002, 1) & 1).toBe(1);
    await settle(ide);
    expect(pic.level[14]).toBe(true);
    expect(io.read(0xc002, 1)).toBe(0x04); // interrupt, no longer active
    io.write(0xc000, 1, 0x00);
    io.write(0xc002, 1, 0x04);
    expect(io.read(0xc002, 1)).toBe(0x00);
    expect(io.read(0x1f7, 1)).toBe(0x50);
    const a = new Uint8Array(1024), b = new Uint8Array(3072);
    mem.readBytes(0x20000, a); mem.readBytes(0x30000, b);
    expect(Array.from(a)).toEqual(Array.from({ length: 1024 }, (_, i) => pattern(300 * 512 + i)));
    expect(Array.from(b)).toEqual(Array.from({ length: 3072 }, (_, i) => pattern(302 * 512 + i)));
    expect(io.read(0x1f3, 1)).toBe((308) & 0xff);
  });

  it('WRITE DMA EXT gathers from memory; engine may be started before the command', async () => {
    const { io, mem, pic, ide, disk } = setup();
    const src = new Uint8Array(2048).map((_, i) => (i * 13) & 0xff);
    mem.writeBytes(0x40000, src);
    prd(mem, 0x2000, [[0x40000, 0x0800, true]]);
    io.write(0xc004, 4, 0x2000);
    io.write(0xc000, 1, 0x01); // start first (write to disk)
    io.write(0x1f6, 1, 0x40);
    io.write(0x1f2, 1, 0); io.write(0x1f2, 1, 4);
    io.write(0x1f3, 1, 0); io.write(0x1f3, 1, 9);
    io.write(0x1f4, 1, 0); io.write(0x1f4, 1, 0);
    io.write(0x1f5, 1, 0); io.write(0x1f5, 1, 0);
    io.write(0x1f7, 1, 0x35);
    await settle(ide);
    expect(pic.level[14]).toBe(true);
    expect(io.read(0xc002, 1)).toBe(0x04);
    expect(Array.from(disk.peek(9 * 512, 2048))).toEqual(Array.from(src));
  });

  it('stops without an interrupt when the PRDs are too short, stays active when too long', async () => {
    const { io, mem, pic, ide, disk } = setup();
    fillPattern(disk, 4);
    prd(mem, 0x1000, [[0x20000, 512, true]]);
    io.write(0xc004, 4, 0x1000);
    lba28(io, 0xc8, 0, 2);
    io.write(0xc000, 1, 0x09);
    await settle(ide);
    expect(pic.level[14]).toBe(false);
    expect(io.read(0xc002, 1)).toBe(0x00);
    expect(mem.read8(0x20000)).toBe(0); // nothing transferred, as QEMU
    expect(io.read(0x1f3, 1)).toBe(0);
    io.write(0xc000, 1, 0x00);
    // A table longer than the transfer: Active stays set alongside Interrupt.
    io.write(0x3f6, 1, 0x04); io.write(0x3f6, 1, 0x00);
    prd(mem, 0x1000, [[0x20000, 4096, true]]);
    lba28(io, 0xc8, 0, 2);
    io.write(0xc000, 1, 0x09);
    await settle(ide);
    expect(pic.level[14]).toBe(true);
    expect(io.read(0xc002, 1)).toBe(0x05);
    io.write(0xc000, 1, 0x08);
    expect(io.read(0xc002, 1) & 1).toBe(0);
  });

  it('discards TRIM ranges sent with DATA SET MANAGEMENT', async () => {
    const { io, mem, pic, ide, disk } = setup();
    fillPattern(disk, 64);
    const zeroed: [number, number, boolean][] = [];
    (disk as unknown as { writeZeroes: (o: number, l: number, u: boolean) => Promise<void> }).writeZeroes = async (o, l, u) => {
      zeroed.push([o, l, u]);
      disk.poke(o, new Uint8Array(l));
    };
    const ranges = new Uint8Array(512);
    ranges.set([10, 0, 0, 0, 0, 0, 4, 0], 0); // LBA 10, 4 sectors
    ranges.set([40, 0, 0, 0, 0, 0, 1, 0], 8); // LBA 40, 1 sector
    mem.writeBytes(0x70000, ranges);
    mem.write32(0x1000, 0x70000); mem.write32(0x1004, 0x80000200);
    io.write(0xc004, 4, 0x1000);
    io.write(0x1f6, 1, 0x40); io.write(0x1f1, 1, 0); io.write(0x1f1, 1, 1);
    io.write(0x1f2, 1, 0); io.write(0x1f2, 1, 1);
    io.write(0x1f7, 1, 0x06);
    io.write(0xc000, 1, 0x01);
    await settle(ide);
    expect(pic.level[14]).toBe(true);
    expect(io.read(0x1f7, 1)).toBe(0x50);
    expect(zeroed).toEqual([[10 * 512, 4 * 512, true], [40 * 512, 512, true]]);
    expect(disk.peek(10 * 512, 1)[0]).toBe(0);
    expect(disk.peek(14 * 512, 1)[0]).toBe(pattern(14 * 512));
  });

  it('keeps the secondary channel on IRQ 15 with its own engine at BAR4+8', async () => {
    const { io, mem, pic, ide } = setup();
    const disk2 = new MemDisk(4 * MiB);
    fillPattern(disk2, 2, 0);
    ide.channels[1].attachDisk(0, disk2.asNode());
    prd(mem, 0x3000, [[0x50000, 512, true]]);
    io.write(0xc00c, 4, 0x3000);
    io.write(0x176, 1, 0xe0); io.write(0x172, 1, 1); io.write(0x173, 1, 1); io.write(0x174, 1, 0); io.write(0x175, 1, 0);
    io.write(0x177, 1, 0xc8);
    io.write(0xc008, 1, 0x09);
    await settle(ide);
    expect(pic.level[15]).toBe(true);
    expect(pic.level[14]).toBe(false);
    expect(io.read(0xc00a, 1)).toBe(0x04);
    expect(mem.read8(0x50000)).toBe(pattern(512));
    io.write(0x176, 1, 0xe0); io.write(0x177, 1, 0xec);
    await settle(ide);
    const id = readWords(io, 0x170, 256);
    expect(ataString(id, 10, 10).trim()).toBe('QM00003');
  });
});

describe('ISA IDE (isapc)', () => {
  it('serves PIO on the legacy ports with IRQ 14', async () => {
    const io = new IoBus();
    const pic = new Levels();
    const ide = new IsaIde(io, [new IrqLine(pic, 14), new IrqLine(pic, 15)]);
    const disk = new MemDisk(MiB);
    fillPattern(disk, 1, 3);
    ide.channels[0].attachDisk(1, disk.asNode());
    expect(io.ownerName(0x3f7)).toBe(''); // left to the floppy controller
    lba28(io, 0x20, 3, 1, 1);
    await settle(ide);
    expect(pic.level[14]).toBe(true);
    expect(readWords(io, 0x1f0, 1)[0]).toBe(pattern(3 * 512));
    // Saved state round-trips through JSON.
    const s = JSON.parse(JSON.stringify(ide.saveState())) as Record<string, unknown>;
    ide.reset();
    ide.loadState(s);
    expect(io.read(0x1f6, 1) & 0x10).toBe(0x10);
  });
});
