// Debian's 686 kernel + busybox initramfs booted with -kernel on qemu-ts: the same
// sequence qemu-oracle.test.ts proves on real QEMU (boot to a shell on ttyS0, run a
// command, poweroff -f). Slow by nature (~6 G guest instructions): 15 minute budget.
import { describe, expect, it } from 'vitest';
import { linuxGuest } from '../helpers/guests.js';
import { QemuTsSession } from '../helpers/qemu-ts-session.js';
import { FAST_APPEND, LINUX_CPU } from '../helpers/guests-extra.js';

describe('Linux -kernel guest on qemu-ts', () => {
  it('boots to a shell on the serial console, runs a command, powers off with status 0', async () => {
    const g = linuxGuest();
    const s = await QemuTsSession.start(['-m', '128', ...LINUX_CPU, '-kernel', g.kernel, '-initrd', g.initrd,
      '-append', `console=ttyS0 ${FAST_APPEND}`, '-nographic', '-no-reboot']);
    try {
      await s.expect('qemu-ts guest: Linux', 14 * 60_000);
      await s.expect('/ # ', 60_000);
      s.send('echo hello-$((6*7))\n');
      await s.expect('hello-42', 60_000);
      s.send('poweroff -f\n');
      expect(await s.waitExit(120_000)).toBe(0);
      console.log(`qemu-ts Linux boot+poweroff: ${(s.elapsedMs / 1000).toFixed(1)} s, ${(s.instructions / 1e9).toFixed(2)} G instructions`);
    } finally { s.kill(); }
  }, 15 * 60_000);
});
