#!/usr/bin/env bash
# The main job: boot Linux (Debian's i386 686 kernel + a busybox initramfs, both from Debian packages)
# on qemu-ts, with its serial console on this terminal. Ctrl-A x quits; `poweroff -f` in the guest ends it.
# First run installs SeaBIOS/QEMU firmware packages (sudo/root) and downloads the guest (~50 MB, cached).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install-deps.sh
[ -f dist/system/main.js ] || npm run build >/dev/null
guest=$(bash scripts/guest/build-linux-guest.sh)
echo "Booting Linux on qemu-ts (this takes a few minutes: the kernel first decompresses itself silently)." >&2
exec node bin/qemu-ts-system-x86_64.js -m 256 -cpu pentium3 \
  -kernel "$guest/vmlinuz" -initrd "$guest/initramfs.gz" \
  -append "console=ttyS0" -nographic "$@"
