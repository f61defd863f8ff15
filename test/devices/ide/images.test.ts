import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, openSync, writeSync, closeSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openImage, closeChain } from '../../../src/block/index.js';
import { guessGeometry } from '../../../src/devices/ide/identify.js';
import { pcIde, readWords, settle } from './helpers.js';

// Real images made by qemu-img / qemu-io; geometry checked against qemu-system-x86_64 `info qtree`.
let dir = '';
beforeAll(() => { dir = mkdtempSync(join(tmpdir(), 'qemu-ts-ide-')); });
afterAll(() => { if (dir) rmSync(dir, { recursive: true, force: true }); });

/** cyls/heads/secs QEMU assigns to an IDE disk image. */
function qemuGeometry(file: string): { cylinders: number; heads: number; sectors: number } {
  const r = spawnSync('qemu-system-x86_64', ['-M', 'pc', '-nodefaults', '-S', '-display', 'none', '-monitor', 'stdio',
    '-drive', `file=${file},format=raw,if=ide`], { input: 'info qtree\nquit\n', encoding: 'utf8', timeout: 30_000 });
  const out = r.stdout;
  const num = (k: string) => Number(/\s(\d+) \(0x/.exec(out.slice(out.indexOf(`${k} = `)))![1]);
  return { cylinders: num('cyls'), heads: num('heads'), sectors: num('secs') };
}

function writeMbr(file: string, endHead: number, endSector: number, nrSects: number): void {
  const mbr = new Uint8Array(512);
  const p = 0x1be;
  mbr[p] = 0x80; mbr[p + 1] = 1; mbr[p + 2] = 1; mbr[p + 4] = 0x83;
  mbr[p + 5] = endHead; mbr[p + 6] = endSector; mbr[p + 7] = 0xff;
  mbr[p + 8] = 63;
  new DataView(mbr.buffer).setUint32(p + 12, nrSects, true);
  mbr[510] = 0x55; mbr[511] = 0xaa;
  const fd = openSync(file, 'r+');
  writeSync(fd, mbr, 0, 512, 0);
  closeSync(fd);
}

describe('IDE on real images', () => {
  it('reads with PIO and writes with DMA through a qcow2 image', async () => {
    const img = join(dir, 'd.qcow2');
    execFileSync('qemu-img', ['create', '-q', '-f', 'qcow2', img, '16M']);
    execFileSync('qemu-io', ['-f', 'qcow2', '-c', 'write -P 0x5a 1M 64k', img], { stdio: 'pipe' });
    const node = await openImage(img, { readOnly: false });
    const { io, mem, ide } = pcIde();
    ide.channels[0].attachDisk(0, node);
    // PIO READ SECTORS at LBA 2048 (1 MiB) and 2047 (unallocated: zeros).
    io.write(0x1f6, 1, 0xe0); io.write(0x1f2, 1, 2);
    io.write(0x1f3, 1, 0xff); io.write(0x1f4, 1, 0x07); io.write(0x1f5, 1, 0);
    io.write(0x1f7, 1, 0x20);
    await settle(ide);
    expect(new Set(readWords(io, 0x1f0, 256))).toEqual(new Set([0]));
    await settle(ide);
    expect(new Set(readWords(io, 0x1f0, 256))).toEqual(new Set([0x5a]));
    await settle(ide);
    expect(io.read(0x1f7, 1)).toBe(0x50);
    // DMA WRITE of 8 sectors at LBA 4096 (2 MiB), then FLUSH CACHE.
    mem.writeBytes(0x80000, new Uint8Array(4096).fill(0xa5));
    mem.write32(0x1000, 0x80000); mem.write32(0x1004, 0x80001000);
    io.write(0xc004, 4, 0x1000);
    io.write(0x1f6, 1, 0xe0); io.write(0x1f2, 1, 8);
    io.write(0x1f3, 1, 0); io.write(0x1f4, 1, 0x10); io.write(0x1f5, 1, 0);
    io.write(0x1f7, 1, 0xca);
    io.write(0xc000, 1, 0x01);
    await settle(ide);
    expect(io.read(0x1f7, 1)).toBe(0x50);
    expect(io.read(0xc002, 1)).toBe(0x04);
    io.write(0x1f7, 1, 0xe7);
    await settle(ide);
    expect(io.read(0x1f7, 1)).toBe(0x50);
    await closeChain(node);
    const check = spawnSync('qemu-io', ['-f', 'qcow2', '-c', 'read -P 0xa5 2M 4k', '-c', 'read -P 0x5a 1M 64k', img], { encoding: 'utf8' });
    expect(check.stdout).not.toMatch(/verification failed/i);
    expect(check.stdout).toMatch(/read 4096\/4096 bytes/);
    execFileSync('qemu-img', ['check', '-q', img]);
  });

  it('guesses the CHS geometry QEMU gives raw images', async () => {
    const cases: [string, number, (f: string) => void][] = [
      ['blank', 40, () => {}],
      ['mbr-16h', 40, (f) => writeMbr(f, 15, 63, 50000)],
      ['mbr-4h', 40, (f) => writeMbr(f, 3, 32, 50000)],
      ['mbr-255h', 200, (f) => writeMbr(f, 254, 63, 300000)],
    ];
    for (const [name, mib, prep] of cases) {
      const img = join(dir, `${name}.img`);
      execFileSync('qemu-img', ['create', '-q', '-f', 'raw', img, `${mib}M`]);
      prep(img);
      const node = await openImage(img, { readOnly: true, format: 'raw' });
      const ours = await guessGeometry(node);
      await closeChain(node);
      expect({ name, ...ours }).toEqual({ name, ...qemuGeometry(img) });
    }
  });
});
