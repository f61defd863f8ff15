/**
 * The checks real QEMU makes before it starts, done on a parsed description: drive files open
 * (with format probing and QEMU's raw warning), image locks between drives, firmware found,
 * kernel and initrd readable. Fills in formats, sizes and firmware paths.
 */
import { accessSync, closeSync, constants, openSync, readSync, realpathSync, statSync } from 'node:fs';
import { dirname, isAbsolute, resolve } from 'node:path';
import { probeFile } from '../block/probe.js';
import { CliError } from './errors.js';
import { findFirmware, missingFirmwareError } from './firmware.js';
import type { DriveInfo, MachineDescription } from './machine-description.js';
import { PROGRAM } from './errors.js';

/** Print a warning as QEMU does: program-prefixed, except the block layer's WARNING lines. */
export function printWarning(msg: string): void {
  const bare = msg.startsWith('WARNING:') || msg.startsWith('Could not open option rom');
  process.stderr.write((bare ? msg : `${PROGRAM}: ${msg}`) + '\n');
}

export interface ValidateEnv {
  cwd?: string;
  warn?: (msg: string) => void;
}

function errnoText(e: unknown): string {
  const code = (e as NodeJS.ErrnoException).code;
  if (code === 'ENOENT') return 'No such file or directory';
  if (code === 'EACCES') return 'Permission denied';
  if (code === 'EISDIR') return 'Is a directory';
  return (e as Error).message;
}

function exists(p: string): boolean {
  try {
    statSync(p);
    return true;
  } catch {
    return false;
  }
}

/**
 * Old Windows launchers: names wrapped in literal quotes ("xp.img") and backslash paths
 * (images\xp.img). Returns the name to open, warning when it had to be rewritten.
 */
function legacyFileName(d: DriveInfo, cwd: string, warn: (m: string) => void): string {
  let f = d.file!;
  // The "file:" protocol prefix names the same file.
  if (f.startsWith('file:') && !exists(resolve(cwd, f))) f = f.slice(5);
  const q = /^"(.*)"$|^'(.*)'$/.exec(f);
  if (q) {
    const inner = q[1] ?? q[2]!;
    if (!exists(resolve(cwd, f))) {
      warn(`warning: ${d.origin}: the file name carries literal quotes (from a Windows .bat file?); using ${inner}`);
      f = inner;
    }
  }
  if (f.includes('\\') && !exists(resolve(cwd, f))) {
    const drive = /^[A-Za-z]:\\/.test(f);
    const alt = (drive ? f.slice(3) : f).replace(/\\/g, '/');
    if (!drive || process.platform !== 'win32') {
      if (exists(resolve(cwd, alt))) {
        warn(`warning: ${d.origin}: Windows path read as '${alt}'`);
        return alt;
      }
      if (drive) throw new CliError(`Could not open '${f}': a Windows drive path; on this system give the file's path here (e.g. ${alt})`, d.origin);
    }
  }
  return f;
}

/**
 * The largest initrd QEMU's PC kernel loader can place for this kernel, or null when it cannot
 * pass one at all: Linux boot protocol 2.00+ ("HdrS" at 0x202, version at 0x206; from 2.03 the
 * limit is initrd_addr_max at 0x22c, before that 0x37ffffff), clamped below the top of low RAM
 * minus QEMU's 160 KiB of ACPI tables. Multiboot images take the initrd as modules: no limit here.
 */
function initrdLimit(path: string, ramBytes: number): number | null {
  const head = Buffer.alloc(8192);
  const fd = openSync(path, 'r');
  let n: number;
  try {
    n = readSync(fd, head, 0, head.length, 0);
  } finally {
    closeSync(fd);
  }
  if (n >= 0x230 && head.toString('latin1', 0x202, 0x206) === 'HdrS') {
    const version = head.readUInt16LE(0x206);
    if (version < 0x200) return null;
    let max = version >= 0x203 ? head.readUInt32LE(0x22c) : 0x37ffffff;
    const below4g = ramBytes >= 0xe0000000 ? 0xc0000000 : ramBytes;
    const acpi = 0x28000;
    if (max >= below4g - acpi) max = below4g - acpi - 1;
    return max;
  }
  for (let off = 0; off + 12 <= n; off += 4) {
    if (head.readUInt32LE(off) === 0x1badb002 && ((head.readUInt32LE(off) + head.readUInt32LE(off + 4) + head.readUInt32LE(off + 8)) >>> 0) === 0) return Infinity;
  }
  return null;
}

export async function validateMachine(desc: MachineDescription, env: ValidateEnv = {}): Promise<MachineDescription> {
  const cwd = env.cwd ?? process.cwd();
  const warn = (m: string) => {
    desc.warnings.push(m);
    (env.warn ?? printWarning)(m);
  };
  const locks = new Map<string, { rw: boolean; name: string }[]>();
  for (const d of desc.drives) {
    if (d.file === null) continue;
    const proto = /^(nbd|https?|ftps?|iscsi|ssh|gluster|rbd|sheepdog|fat|vvfat|json|host_device|host_cdrom|nvme|null-co|blkdebug):/.exec(d.file);
    if (proto && !exists(resolve(cwd, d.file))) {
      throw new CliError(`block protocol '${proto[1]}' is not supported by qemu-ts (use an image file)`, d.origin);
    }
    const name = legacyFileName(d, cwd, warn);
    d.file = name;
    const path = isAbsolute(name) ? name : resolve(cwd, name);
    let st;
    try {
      st = statSync(path);
    } catch (e) {
      throw new CliError(`Could not open '${name}': ${errnoText(e)}`, d.origin);
    }
    if (st.isDirectory()) throw new CliError(`'file' driver requires '${name}' to be a regular file`, d.origin);
    const rw = !d.readonly && !d.snapshot;
    try {
      accessSync(path, rw ? constants.R_OK | constants.W_OK : constants.R_OK);
    } catch (e) {
      throw new CliError(`Could not open '${name}': ${errnoText(e)}`, d.origin);
    }
    d.sizeBytes = st.isFile() ? st.size : null;
    const probed = await probeFile(path).catch((e: unknown) => {
      throw new CliError(`Could not open '${name}': ${errnoText(e)}`, d.origin);
    });
    if (d.format === null) {
      d.format = probed;
      d.formatProbed = true;
      if (probed === 'raw' && rw) {
        warn(`WARNING: Image format was not specified for '${name}' and probing guessed raw.\n` +
          '         Automatically detecting the format is dangerous for raw images, write operations on block 0 will be restricted.\n' +
          "         Specify the 'raw' format explicitly to remove the restrictions.");
      }
    } else if (d.format !== 'raw' && d.format !== probed) {
      throw new CliError(`Image is not in ${d.format} format`, d.origin);
    }
    // Image locking: one writer excludes every other user of the same file.
    let key = path;
    try {
      key = realpathSync(path);
    } catch {
      /* keep path */
    }
    const users = locks.get(key) ?? [];
    if (users.length > 0 && (rw || users.some((u) => u.rw))) {
      throw CliError.bare(rw ? 'Failed to get "write" lock' : 'Failed to get shared "write" lock', `Is another process using the image [${name}]?`);
    }
    users.push({ rw, name });
    locks.set(key, users);
  }
  if (desc.drives.some((d) => d.file === null && d.device === 'ide-hd')) throw CliError.bare('Device needs media, but drive is empty');

  // Firmware.
  const fw = desc.firmware;
  fw.biosPath = findFirmware(fw.bios, fw.searchPath, cwd);
  if (!fw.biosPath) throw missingFirmwareError('PC BIOS', fw.bios, fw.searchPath, cwd);
  if (fw.vgaBios) {
    fw.vgaBiosPath = findFirmware(fw.vgaBios, fw.searchPath, cwd);
    if (!fw.vgaBiosPath) throw missingFirmwareError('VGA BIOS', fw.vgaBios, fw.searchPath, cwd);
  }
  for (const r of fw.optionRoms) {
    r.path = findFirmware(r.file, fw.searchPath, cwd);
    if (!r.path) warn(`Could not open option rom '${r.file}': No such file or directory`);
  }
  for (const n of desc.nics) {
    if (n.romfile && !findFirmware(n.romfile, fw.searchPath, cwd)) {
      warn(`warning: PXE option ROM '${n.romfile}' for ${n.model} not found (network boot unavailable; Debian: apt-get install ipxe-qemu)`);
    }
  }
  const mustRead = (file: string | null, msg: string) => {
    if (file === null) return;
    try {
      accessSync(resolve(cwd, file), constants.R_OK);
      if (statSync(resolve(cwd, file)).isDirectory()) throw Object.assign(new Error('dir'), { code: 'EISDIR' });
    } catch (e) {
      throw CliError.bare(`${msg} '${file}': ${errnoText(e)}`);
    }
  };
  const parentWritable = (file: string | null, msg: (why: string) => string) => {
    if (file === null) return;
    try {
      accessSync(dirname(resolve(cwd, file)), constants.W_OK);
    } catch (e) {
      throw CliError.bare(msg(errnoText(e)));
    }
  };
  parentWritable(desc.pidfile, (why) => `cannot create PID file: Could not create '${desc.pidfile}': ${why}`);
  parentWritable(desc.logging.file, (why) => `Error opening logfile ${desc.logging.file}: ${why}`);
  mustRead(desc.kernel, 'could not open kernel file');
  mustRead(desc.initrd, 'could not load initial ram disk');
  if (desc.kernel !== null && desc.initrd !== null) {
    const max = initrdLimit(resolve(cwd, desc.kernel), desc.memory.sizeBytes);
    if (max === null) throw CliError.bare('linux kernel too old to load a ram disk');
    const need = statSync(resolve(cwd, desc.initrd)).size;
    if (need > max) throw CliError.bare(`initrd is too large, cannot support.(max: ${max}, need ${need})`);
  }
  if (desc.boot.splash) mustRead(desc.boot.splash, 'could not open splash file');
  return desc;
}
