/** Locates (building and caching when needed) the guest images the tests boot. */
import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..');

export interface LinuxGuest { kernel: string; initrd: string }

/** Debian's i386 686 kernel + busybox initramfs (scripts/guest/build-linux-guest.sh). */
export function linuxGuest(): LinuxGuest {
  const dir = execFileSync('bash', [join(root, 'scripts/guest/build-linux-guest.sh')], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'] }).trim().split('\n').pop()!;
  const g = { kernel: join(dir, 'vmlinuz'), initrd: join(dir, 'initramfs.gz') };
  if (!existsSync(g.kernel) || !existsSync(g.initrd)) throw new Error(`guest build did not produce ${dir}/vmlinuz and initramfs.gz`);
  return g;
}

export const projectRoot = root;
