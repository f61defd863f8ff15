/** Locates (building and caching when needed) the ISO, hard disk and floppy guests (scripts/guest/build-*.sh). */
import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { projectRoot } from './guests.js';

/**
 * Kernel arguments that make a Linux boot cheaper on a slow emulator
 * (scripts/guest/fast-append.txt, shared with the ISO/HDD GRUB menus and bench-boot):
 * no boot messages, no delay-loop calibration, no TSC or soft-lockup watchdogs, no
 * crypto self-tests, and the costliest initcalls a test guest does not need skipped.
 */
export const FAST_APPEND = readFileSync(join(projectRoot, 'scripts/guest/fast-append.txt'), 'utf8').trim();

/**
 * The CPU the Linux guests run on, on both emulators. qemu-ts's default (qemu64) is an
 * AuthenticAMD part without MMX; Linux's AMD FXSAVE-leak workaround executes EMMS on
 * every FPU restore, which qemu-ts does not implement yet (#UD, oops, reset at the exec
 * of /init). pentium3 is GenuineIntel and is what QEMU's isapc tests use as well.
 */
export const LINUX_CPU = ['-cpu', 'pentium3'];

function build(script: string, files: string[]): string[] {
  const out = execFileSync('bash', [join(projectRoot, 'scripts/guest', script)], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'] }).trim().split('\n').pop()!;
  const paths = files.map((f) => join(out, f));
  for (const p of paths) if (!existsSync(p)) throw new Error(`${script} did not produce ${p}`);
  return paths;
}

/** Bootable GRUB CD-ROM with the Linux test guest (menu on serial, boots at once). */
export function isoGuest(): string { return build('build-iso.sh', ['linux.iso'])[0]!; }

/** Bootable raw hard disk (MBR, GRUB, ext2 partition) and the same disk as qcow2. */
export function hddGuest(): { raw: string; qcow2: string } {
  const [raw, qcow2] = build('build-hdd.sh', ['disk.img', 'disk.qcow2']);
  return { raw: raw!, qcow2: qcow2! };
}

/** 1.44 MB floppy whose boot sector prints on COM1 and powers off. */
export function floppyGuest(): string { return build('build-floppy.sh', ['floppy.img'])[0]!; }
