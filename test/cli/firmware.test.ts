/**
 * Firmware search order, as QEMU's qemu_find_file does it (strace of QEMU 7.2: the bare name in
 * the current directory, then each -L directory in order, then the data directories), plus
 * qemu-ts's QEMU_TS_FIRMWARE_PATH and standard places.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parseCommandLine, validateMachine } from '../../src/cli/index.js';
import { STANDARD_FIRMWARE_DIRS } from '../../src/cli/firmware.js';
import { scratch } from './helpers.js';

async function fw(args: string[], cwd: string, vars: Record<string, string> = {}) {
  const d = parseCommandLine(args, { cwd, vars, warn: () => {} });
  await validateMachine(d, { cwd, warn: () => {} });
  return d.firmware;
}

describe('firmware search', () => {
  const dir = scratch();
  for (const sub of ['l1', 'l2', 'envdir']) mkdirSync(join(dir, sub));
  writeFileSync(join(dir, 'l2', 'bios-256k.bin'), 'L2');
  writeFileSync(join(dir, 'envdir', 'bios-256k.bin'), 'ENV');
  writeFileSync(join(dir, 'envdir', 'vgabios-stdvga.bin'), 'ENV');

  it('-L directories in order, before QEMU_TS_FIRMWARE_PATH and the standard places', async () => {
    const f = await fw(['-L', 'l1', '-L', 'l2', '-nodefaults', '-vga', 'std'], dir, { QEMU_TS_FIRMWARE_PATH: join(dir, 'envdir') });
    expect(f.searchPath.slice(0, 3)).toEqual([join(dir, 'l1'), join(dir, 'l2'), join(dir, 'envdir')]);
    expect(f.searchPath.slice(-STANDARD_FIRMWARE_DIRS.length)).toEqual([...STANDARD_FIRMWARE_DIRS]);
    expect(f.biosPath).toBe(join(dir, 'l2', 'bios-256k.bin'));
    expect(f.vgaBiosPath).toBe(join(dir, 'envdir', 'vgabios-stdvga.bin'));
  });

  it('a file of that name in the current directory wins (QEMU checks it first)', async () => {
    const here = scratch();
    writeFileSync(join(here, 'bios-256k.bin'), 'CWD');
    expect((await fw(['-nodefaults'], here)).biosPath).toBe(join(here, 'bios-256k.bin'));
  });

  it('-bios with a path, and Debian\'s /usr/share/seabios as the fallback', async () => {
    expect((await fw(['-bios', join(dir, 'l2', 'bios-256k.bin'), '-nodefaults'], dir)).biosPath).toBe(join(dir, 'l2', 'bios-256k.bin'));
    const f = await fw(['-M', 'isapc', '-nodefaults'], scratch());
    expect(f.biosPath).toMatch(/\/bios\.bin$/);
  });
});
