/**
 * Which VGA BIOS image each display model needs, by QEMU's file names.
 * The images come from SeaBIOS (Debian package `seabios`, /usr/share/seabios).
 *
 * - std (PCI, `-vga std` on pc): vgabios-stdvga.bin, exposed as the device's
 *   PCI ROM BAR; SeaBIOS copies it to 0xC0000 and runs it.
 * - isa-vga (`-vga std` on isapc): vgabios.bin (Debian: a link to
 *   vgabios-isavga.bin), mapped by the machine at 0xC0000 as an option ROM.
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';

export type VgaModel = 'std' | 'isa-vga' | 'none';

export const VGA_BIOS_DIRS = ['/usr/share/seabios', '/usr/share/qemu', '/usr/lib/ipxe/qemu'];

/** The ROM file name QEMU looks up for a model, or null when it needs none. */
export function vgaBiosFileFor(model: VgaModel): string | null {
  switch (model) {
    case 'std': return 'vgabios-stdvga.bin';
    case 'isa-vga': return 'vgabios.bin';
    default: return null;
  }
}

/** Find the model's BIOS in `dirs` (the -L directories first); a clear error when missing. */
export function findVgaBios(model: VgaModel, dirs: readonly string[] = VGA_BIOS_DIRS): string | null {
  const name = vgaBiosFileFor(model);
  if (name === null) return null;
  const alt = model === 'isa-vga' ? ['vgabios.bin', 'vgabios-isavga.bin'] : [name];
  for (const d of dirs) for (const n of alt) { const p = join(d, n); if (existsSync(p)) return p; }
  throw new Error(`could not load VGA BIOS '${name}' (looked in ${dirs.join(', ')}; install the seabios package)`);
}

/** Physical address where the VGA BIOS runs. */
export const VGA_BIOS_BASE = 0xc0000;
