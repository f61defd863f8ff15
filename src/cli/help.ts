/** Help listings (`-M help`, `-cpu help`, ...) and the version text. */
import { readFileSync } from 'node:fs';
import { cpuHelp } from './cpu-models.js';
import { deviceHelp, devicePropsHelp, findDevice } from './device-models.js';
import { PROGRAM } from './errors.js';
import { machineHelp } from './machines.js';
import { netdevHelp } from './net.js';
import { helpText } from './options.js';

/** The QEMU release whose command line qemu-ts follows. */
export const QEMU_COMPAT_VERSION = '7.2.0';

function packageVersion(): string {
  try {
    const pkg = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version?: string };
    return pkg.version ?? '0.0.0';
  } catch {
    return '0.0.0';
  }
}

export function versionLine(): string {
  return `QEMU emulator version ${QEMU_COMPAT_VERSION} (qemu-ts ${packageVersion()})`;
}

export function versionText(): string {
  return `${versionLine()}\nqemu-ts: QEMU's PC emulator rebuilt in TypeScript; command line and behaviour follow QEMU ${QEMU_COMPAT_VERSION}\n`;
}

export function vgaHelp(): string {
  return [
    ['none', 'no graphic card'],
    ['std', 'standard VGA (default)'],
    ['cirrus', 'Cirrus VGA'],
  ].map(([n, d]) => `${n!.padEnd(20)} ${d}`).join('\n') + '\n';
}

export function displayHelp(): string {
  return 'Available display backend types:\nnone\ngtk\nsdl\ncurses\n';
}

/** Resolve a HelpRequest tag ('@cpu', '@device:isa-debugcon', or literal text). */
export function helpFor(tag: string): string {
  switch (tag) {
    case '@machine': return machineHelp();
    case '@cpu': return cpuHelp();
    case '@device': return deviceHelp();
    case '@vga': return vgaHelp();
    case '@display': return displayHelp();
    case '@netdev': return netdevHelp();
    case '@help': return helpText(PROGRAM, versionLine());
    case '@version': return versionText();
  }
  if (tag.startsWith('@device:')) return devicePropsHelp(findDevice(tag.slice(8))!);
  return tag;
}
