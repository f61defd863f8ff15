/** `qemu-ts-img --version` text (kept apart from help.ts so it loads no dependency). */
export const QEMU_IMG_COMPAT = '7.2.0';
export const COPYRIGHT = 'Copyright (c) 2003-2022 Fabrice Bellard and the QEMU Project developers';

export function versionText(): string {
  // "qemu-img version X" first, as scripts parse the third word of this line.
  return `qemu-img version ${QEMU_IMG_COMPAT} (qemu-ts-img 0.1.0)\n${COPYRIGHT}\n`;
}
