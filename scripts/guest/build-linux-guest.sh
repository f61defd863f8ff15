#!/usr/bin/env bash
# Builds the Linux test guest from Debian packages and caches it outside the checkout:
#   $CACHE/linux/vmlinuz        Debian's i386 686 kernel (linux-image-686)
#   $CACHE/linux/initramfs.gz   busybox (i386, static) with an /init that starts a shell on the console
# CACHE defaults to ~/.cache/qemu-ts (override with QEMU_TS_CACHE). Prints the output folder.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
CACHE="${QEMU_TS_CACHE:-$HOME/.cache/qemu-ts}"
out="$CACHE/linux"
if [ -s "$out/vmlinuz" ] && [ -s "$out/initramfs.gz" ] && [ "$out/initramfs.gz" -nt "$here/build-linux-guest.sh" ]; then
  echo "$out"; exit 0
fi
mkdir -p "$CACHE/debs" "$out"
SUDO=""; [ "$(id -u)" -eq 0 ] || SUDO="sudo"
if ! dpkg --print-foreign-architectures | grep -qx i386; then
  $SUDO dpkg --add-architecture i386
  $SUDO apt-get update -qq >&2 || true
fi
kpkg=$(apt-cache depends linux-image-686:i386 2>/dev/null | awk '/Depends: linux-image-/{print $2; exit}')
if [ -z "$kpkg" ]; then
  $SUDO apt-get update -qq >&2 || true
  kpkg=$(apt-cache depends linux-image-686:i386 | awk '/Depends: linux-image-/{print $2; exit}')
fi
kpkg="${kpkg%:i386}"
cd "$CACHE/debs"
[ -n "$(ls ${kpkg}_*_i386.deb 2>/dev/null)" ] || apt-get download "$kpkg:i386" >&2 2>/dev/null || apt-get download "$kpkg:i386" >&2
[ -n "$(ls busybox-static_*_i386.deb 2>/dev/null)" ] || apt-get download busybox-static:i386 >&2
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
dpkg-deb -x "$(ls ${kpkg}_*_i386.deb | head -1)" "$work/k"
dpkg-deb -x "$(ls busybox-static_*_i386.deb | head -1)" "$work/bb"
cp "$(ls "$work"/k/boot/vmlinuz-* | head -1)" "$out/vmlinuz"

cat > "$work/init" <<'INIT'
#!/bin/busybox sh
/bin/busybox --install -s /bin
mount -t proc proc /proc
mount -t sysfs sysfs /sys
mount -t devtmpfs devtmpfs /dev 2>/dev/null
echo "qemu-ts guest: $(uname -sr) up"
for a in $(cat /proc/cmdline); do
  case "$a" in qemu_ts_run=*) eval "$(echo "${a#qemu_ts_run=}" | tr '+' ' ')";; esac
done
while true; do setsid cttyhack sh; done
INIT
node "$here/mkinitramfs.mjs" "$out/initramfs.gz" \
  dir:bin:755 dir:sbin:755 dir:usr:755 dir:usr/bin:755 dir:usr/sbin:755 dir:proc:755 dir:sys:755 dir:dev:755 dir:etc:755 dir:tmp:1777 dir:root:700 dir:mnt:755 \
  cdev:dev/console:600:5:1 cdev:dev/ttyS0:660:4:64 cdev:dev/null:666:1:3 \
  "file:bin/busybox:755:$work/bb/bin/busybox" symlink:bin/sh:busybox \
  "file:init:755:$work/init"
echo "$out"
