// The GRUB CD-ROM (scripts/guest/build-iso.sh): SeaBIOS boots El Torito from the IDE CD,
// GRUB reads its menu and the kernel from ISO 9660 and starts Linux, which must reach
// the busybox shell on ttyS0. Proven on real QEMU (pc and isapc), then pc on qemu-ts.
import { describe, expect, it } from 'vitest';
import { existsSync } from 'node:fs';
import { join, dirname } from 'node:path';
import { SerialSession } from '../helpers/serial-session.js';
import { QemuTsSession, type GuestConsole } from '../helpers/qemu-ts-session.js';
import { isoGuest, LINUX_CPU } from '../helpers/guests-extra.js';

const QEMU = '/usr/bin/qemu-system-i386';
function args(machine: string): string[] {
  const iso = isoGuest();
  const disc = machine === 'isapc' ? join(dirname(iso), 'linux-isapc.iso') : iso;
  return ['-M', machine, ...LINUX_CPU, '-m', '128',
    '-cdrom', disc, '-boot', 'd', '-net', 'none', '-nographic', '-no-reboot'];
}

/** GRUB's message, the shell, a command; then power-off (pc: ACPI ends the machine). */
async function sequence(s: GuestConsole, machine: string, bootMs: number): Promise<void> {
  await s.expect(machine === 'isapc' ? 'qemu-ts iso: GRUB loading linux (noapic)' : 'qemu-ts iso: GRUB loading linux', bootMs);
  await s.expect('qemu-ts guest: Linux', bootMs);
  await s.expect('/ # ', 60_000);
  s.send('echo cd-$((6*7)); cat /proc/cmdline\n');
  const text = await s.expect(/cd-42[\s\S]*console=ttyS0[^\n]*\n/, 60_000);
  expect(text).toContain('quiet');
  s.send('poweroff -f\n');
  if (machine === 'pc') expect(await s.waitExit(120_000)).toBe(0);
  else await s.expect(/reboot: (Power down|System halted)/, 60_000);
}

describe.skipIf(!existsSync(QEMU))('GRUB CD-ROM on real QEMU (oracle)', () => {
  for (const machine of ['pc', 'isapc']) {
    it(`${machine}: GRUB boots Linux from the CD to a shell`, async () => {
      const s = SerialSession.spawn(QEMU, args(machine));
      try { await sequence(s, machine, 90_000); } finally { s.kill(); }
    }, 180_000);
  }
});

describe('GRUB CD-ROM on qemu-ts', () => {
  it('pc: GRUB boots Linux from the CD to a shell, poweroff ends the machine', async () => {
    const s = await QemuTsSession.start(args('pc'));
    try {
      await sequence(s, 'pc', 14 * 60_000);
      console.log(`qemu-ts ISO boot (pc) to poweroff: ${(s.elapsedMs / 1000).toFixed(1)} s, ${(s.instructions / 1e9).toFixed(2)} G instructions`);
    } finally { s.kill(); }
  }, 15 * 60_000);
});
