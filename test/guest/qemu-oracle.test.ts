// The guest material itself, checked on real QEMU: if this fails, the guest build is broken,
// not our emulator. The same sequence runs on qemu-ts in linux-boot.test.ts.
import { describe, expect, it } from 'vitest';
import { existsSync } from 'node:fs';
import { SerialSession } from '../helpers/serial-session.js';
import { linuxGuest } from '../helpers/guests.js';

const QEMU = '/usr/bin/qemu-system-i386';

describe.skipIf(!existsSync(QEMU))('Linux test guest on real QEMU (oracle)', () => {
  it('boots to a shell on the serial console, runs a command, powers off with status 0', async () => {
    const g = linuxGuest();
    const s = SerialSession.spawn(QEMU, ['-m', '256', '-kernel', g.kernel, '-initrd', g.initrd,
      '-append', 'console=ttyS0 quiet', '-nographic', '-no-reboot']);
    try {
      await s.expect('/ # ', 60_000);
      s.send('echo hello-$((6*7))\n');
      await s.expect('hello-42', 10_000);
      s.send('poweroff -f\n');
      expect(await s.waitExit(20_000)).toBe(0);
    } finally { s.kill(); }
  }, 120_000);
});
