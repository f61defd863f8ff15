/**
 * Firmware file search: like QEMU's qemu_find_file, a bare name is looked up in the current
 * directory first, then in each -L directory (in order), then in the standard places.
 */
import { accessSync, constants, statSync } from 'node:fs';
import { dirname, isAbsolute, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { CliError } from './errors.js';

/** Directories QEMU and distributions install x86 firmware into. */
export const STANDARD_FIRMWARE_DIRS: readonly string[] = [
  '/usr/share/qemu',
  '/usr/share/seabios',
  '/usr/lib/ipxe/qemu',
  '/usr/share/ipxe/qemu',
  '/usr/local/share/qemu',
  '/usr/share/qemu-firmware',
  '/opt/homebrew/share/qemu',
  '/usr/local/opt/qemu/share/qemu',
];

/** The package's own firmware folder (<package>/firmware), if the code runs from src/ or dist/. */
function packageFirmwareDir(): string {
  const here = dirname(fileURLToPath(import.meta.url));
  return resolve(here, '..', '..', 'firmware');
}

/**
 * Search path: -L dirs, then $QEMU_TS_FIRMWARE_PATH (':'-separated), then the package's
 * firmware folder, then the standard directories. Relative -L dirs are resolved against cwd.
 */
export function firmwareSearchPath(lDirs: readonly string[], env: Record<string, string | undefined>, cwd: string): string[] {
  const out: string[] = [];
  const add = (d: string) => {
    const abs = isAbsolute(d) ? d : resolve(cwd, d);
    if (!out.includes(abs)) out.push(abs);
  };
  for (const d of lDirs) add(d);
  for (const d of (env.QEMU_TS_FIRMWARE_PATH ?? '').split(':')) if (d) add(d);
  add(packageFirmwareDir());
  for (const d of STANDARD_FIRMWARE_DIRS) add(d);
  return out;
}

function readable(p: string): boolean {
  try {
    accessSync(p, constants.R_OK);
    return statSync(p).isFile();
  } catch {
    return false;
  }
}

/** Find `name`: as given (absolute, or relative to cwd), then in each search dir. */
export function findFirmware(name: string, searchPath: readonly string[], cwd: string): string | null {
  const direct = isAbsolute(name) ? name : resolve(cwd, name);
  if (readable(direct)) return direct;
  if (isAbsolute(name)) return null;
  for (const d of searchPath) {
    const p = join(d, name);
    if (readable(p)) return p;
  }
  return null;
}

/** The error for a firmware file that is nowhere: where we looked and how to get it. */
export function missingFirmwareError(what: string, name: string, searchPath: readonly string[], cwd: string): CliError {
  const looked = isAbsolute(name) ? [name] : [resolve(cwd, name), ...searchPath.map((d) => join(d, name))];
  return CliError.bare(
    `could not load ${what} '${name}'`,
    'Looked in:\n' + looked.map((p) => `  ${p}`).join('\n') +
      '\nInstall SeaBIOS and the QEMU firmware (Debian/Ubuntu: apt-get install seabios ipxe-qemu qemu-system-data;' +
      ' Fedora: dnf install seabios-bin; macOS: brew install qemu), or point -L or QEMU_TS_FIRMWARE_PATH at a folder holding it.',
  );
}
