/** Shared helpers for the CLI tests: a scratch folder with image files, and a parse+validate run. */
import { mkdtempSync, rmSync, truncateSync, writeFileSync } from 'node:fs';
import { afterAll } from 'vitest';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CliError, CliExit } from '../../src/cli/errors.js';
import { parseCommandLine, validateMachine, type MachineDescription } from '../../src/cli/index.js';

const made: string[] = [];
// Registered in the root suite of each test file that imports this module.
afterAll(() => {
  for (const d of made.splice(0)) rmSync(d, { recursive: true, force: true });
});

/** A scratch folder of (sparse) image files; removed when the test process exits. */
export function scratch(): string {
  const dir = mkdtempSync(join(tmpdir(), 'qemu-ts-cli-'));
  made.push(dir);
  const zero = (name: string, size: number) => {
    writeFileSync(join(dir, name), '');
    truncateSync(join(dir, name), size);
  };
  zero('xp.img', 4 << 20);
  zero('xp.iso', 2 << 20);
  zero('disk.img', 4 << 20);
  zero('disk2.img', 1 << 20);
  zero('floppy.img', 1474560);
  zero('bzImage', 4096);
  zero('initrd.img', 4096);
  zero('a,b.img', 65536);
  // A qcow2 v3 header is enough for format probing.
  const q = Buffer.alloc(512);
  q.write('QFI\xfb', 0, 'latin1');
  q.writeUInt32BE(3, 4);
  writeFileSync(join(dir, 'disk.qcow2'), q);
  writeFileSync(join(dir, 'out.txt'), '');
  // Linux boot-protocol headers: 2.15 with initrd_addr_max 0x7fffffff, and 2.15 with 0 (no room).
  const hdr = (max: number) => {
    const k = Buffer.alloc(4096);
    k.write('HdrS', 0x202, 'latin1');
    k.writeUInt16LE(0x20f, 0x206);
    k.writeUInt32LE(max, 0x22c);
    return k;
  };
  writeFileSync(join(dir, 'linux.bin'), hdr(0x7fffffff));
  writeFileSync(join(dir, 'linux-nomax.bin'), hdr(0));
  return dir;
}

export interface Run {
  desc: MachineDescription;
  warnings: string[];
}

/** Parse and validate like `qemu-ts-system-x86_64 ARGS -dump-machine` run in `cwd`. */
export async function run(args: string[], cwd: string): Promise<Run> {
  const warnings: string[] = [];
  const warn = (m: string) => warnings.push(m);
  const desc = parseCommandLine(args, { cwd, warn, vars: {} });
  await validateMachine(desc, { cwd, warn });
  return { desc, warnings };
}

/** The error text (as printed, program name stripped) a line gives, or null if it is accepted. */
export async function errorOf(args: string[], cwd: string): Promise<string | null> {
  try {
    await run(args, cwd);
    return null;
  } catch (e) {
    if (e instanceof CliError) return e.format('PROG').replace(/^PROG: /, '');
    if (e instanceof CliExit) return `exit ${e.code}`;
    throw e;
  }
}
