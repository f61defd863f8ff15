// The boot floppy (scripts/guest/build-floppy.sh): SeaBIOS boots its sector from the FDC,
// the program prints on COM1, reads sector 2 through INT 13h and powers off by ACPI (pc)
// or halts (isapc, no ACPI). Proven on real QEMU first, then the same on qemu-ts.
import { describe, expect, it } from 'vitest';
import { existsSync } from 'node:fs';
import { SerialSession } from '../helpers/serial-session.js';
import { QemuTsSession, type GuestConsole } from '../helpers/qemu-ts-session.js';
import { floppyGuest } from '../helpers/guests-extra.js';

const QEMU = '/usr/bin/qemu-system-i386';
const args = (machine: string, img: string) => ['-M', machine, ...(machine === 'isapc' ? ['-cpu', 'pentium3'] : []), '-m', '32',
  '-drive', `file=${img},format=raw,if=floppy,readonly=on`, '-boot', 'a', '-net', 'none', '-nographic', '-no-reboot'];

async function sequence(s: GuestConsole, machine: string, t: number): Promise<void> {
  await s.expect('qemu-ts floppy: boot sector running, BIOS boot drive 00\r\n', t);
  await s.expect('qemu-ts floppy: sector 2 read through INT 13h\r\n', t);
  if (machine === 'pc') {
    // Exiting with status 0 is the proof of the ACPI power-off (a halted guest never exits).
    // Real QEMU acts on the power-off request asynchronously, so the program may print its
    // "halted" line before QEMU stops: the text itself is not checked.
    expect(await s.waitExit(t)).toBe(0);
  } else {
    await s.expect('no ACPI power-off, halted', t);
  }
}

describe.skipIf(!existsSync(QEMU))('boot floppy on real QEMU (oracle)', () => {
  for (const machine of ['pc', 'isapc']) {
    // Oracle side only: one retry, because once in a loaded CI run real QEMU's isapc floppy boot
    // printed nothing within 20 s (seen once in ~10 runs; under investigation, see docs/guests.md).
    it(`${machine}: boots, reads sector 2, powers off or halts`, { retry: 1, timeout: 120_000 }, async () => {
      const s = SerialSession.spawn(QEMU, args(machine, floppyGuest()));
      try { await sequence(s, machine, 45_000); } finally { s.kill(); }
    });
  }
});

describe('boot floppy on qemu-ts', () => {
  for (const machine of ['pc', 'isapc']) {
    it(`${machine}: boots, reads sector 2, powers off or halts`, async () => {
      const s = await QemuTsSession.start(args(machine, floppyGuest()));
      try {
        await sequence(s, machine, 120_000);
        console.log(`qemu-ts floppy (${machine}): ${s.output.length} bytes of serial output`);
      } finally { s.kill(); await s.waitExit(10_000); }
    }, 180_000);
  }
});
