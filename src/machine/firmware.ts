/**
 * Placing the system BIOS in the physical address space, as QEMU's PC does:
 * the whole image ends at 4 GiB, and its last 128 KiB (or the whole image when
 * smaller) also appears just below 1 MiB (the "isa-bios" alias, where the
 * reset vector F000:FFF0 lands). On `pc` the alias below 1 MiB is the PCI side
 * of the i440FX PAM window; on `isapc` (no PCI, no PAM) both copies are RAM-like
 * and writable, as QEMU maps them, so SeaBIOS can shadow itself.
 */
import { readFileSync, statSync } from 'node:fs';
import type { MemoryBus } from '../memory/memory-bus.js';

export class FirmwareError extends Error {}

export interface LoadedBios {
  size: number;
  /** Offset in MemoryBus.mem of the image's first byte. */
  memOffset: number;
  /** Size of the alias below 1 MiB. */
  isaSize: number;
  /** Offset in MemoryBus.mem of the alias's first byte (the image's tail). */
  isaMemOffset: number;
}

export function readFirmwareFile(path: string, what: string): Uint8Array {
  let st;
  try { st = statSync(path); } catch { throw new FirmwareError(`could not load ${what} '${path}': no such file`); }
  if (!st.isFile()) throw new FirmwareError(`could not load ${what} '${path}': not a regular file`);
  return readFileSync(path);
}

/**
 * Map a BIOS image. With `isaAliasDirect` the alias below 1 MiB is mapped here
 * (isapc); otherwise the caller hands `isaMemOffset` to the PAM logic.
 */
export function loadBios(mem: MemoryBus, image: Uint8Array, path: string, opts: { writable: boolean; isaAliasDirect: boolean }): LoadedBios {
  const size = image.length;
  if (size === 0 || size % 65536 !== 0) {
    throw new FirmwareError(`could not load PC BIOS '${path}': size ${size} is not a non-zero multiple of 64 KiB`);
  }
  if (size > 16 << 20) throw new FirmwareError(`could not load PC BIOS '${path}': larger than 16 MiB`);
  const memOffset = mem.allocRom(size);
  mem.mem.set(image, memOffset);
  const base = 0x100000000 - size;
  mem.setAccess(base, size, memOffset, opts.writable ? memOffset : -1);
  const isaSize = Math.min(size, 128 * 1024);
  const isaMemOffset = memOffset + size - isaSize;
  if (opts.isaAliasDirect) mem.setAccess(0x100000 - isaSize, isaSize, isaMemOffset, opts.writable ? isaMemOffset : -1);
  return { size, memOffset, isaSize, isaMemOffset };
}
