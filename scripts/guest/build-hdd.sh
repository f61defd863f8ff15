#!/usr/bin/env bash
# Builds a bootable hard disk with the Linux test guest, without loop mounts or root:
#   $CACHE/hdd/disk.img    32 MiB raw disk: MBR (GRUB boot.img + one active Linux
#                          partition at LBA 2048), GRUB core.img in the gap after the
#                          MBR, an ext2 filesystem (mkfs.ext2 -d) holding /boot/vmlinuz,
#                          /boot/initrd.gz, /boot/grub/grub.cfg and an empty /data
#   $CACHE/hdd/disk.qcow2  the same disk converted by qemu-img
# The initrd is busybox plus the modules that reach the disk (ata_piix, libata, scsi,
# sd_mod and dependencies) and ext4 (which serves ext2), taken from the Debian kernel
# package; /init insmods them in dependency order, mounts /dev/sda1 on /mnt and starts
# a shell on ttyS0. CACHE = ${QEMU_TS_CACHE:-~/.cache/qemu-ts}. Rebuilt only when this
# script (or the Linux guest) changes. Prints the output folder.
# Needs grub-pc-bin, grub-common, e2fsprogs, qemu-utils, binutils (strings).
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
CACHE="${QEMU_TS_CACHE:-$HOME/.cache/qemu-ts}"
out="$CACHE/hdd"
linux="$(bash "$here/build-linux-guest.sh" | tail -1)"
if [ -s "$out/disk.img" ] && [ -s "$out/disk.qcow2" ] && [ "$out/disk.img" -nt "$here/build-hdd.sh" ] && [ "$out/disk.img" -nt "$linux/initramfs.gz" ] && [ "$out/disk.img" -nt "$here/fast-append.txt" ]; then
  echo "$out"; exit 0
fi
for t in grub-mkimage mkfs.ext2 qemu-img strings; do
  command -v $t >/dev/null || { echo "build-hdd.sh: $t is missing (apt-get install grub-pc-bin grub-common e2fsprogs qemu-utils binutils)" >&2; exit 1; }
done
GRUBLIB=/usr/lib/grub/i386-pc
[ -f "$GRUBLIB/boot.img" ] || { echo "build-hdd.sh: $GRUBLIB/boot.img is missing (apt-get install grub-pc-bin)" >&2; exit 1; }
mkdir -p "$out"
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

# --- kernel modules: the disk path and the filesystem, dependencies first ---
kdeb=$(ls "$CACHE"/debs/linux-image-*-686_*_i386.deb | grep -v -- '-dbg' | head -1)
bdeb=$(ls "$CACHE"/debs/busybox-static_*_i386.deb | head -1)
dpkg-deb -x "$kdeb" "$work/k"
dpkg-deb -x "$bdeb" "$work/bb"
moddir=$(ls -d "$work"/k/lib/modules/*)
declare -A path=()
while IFS= read -r f; do
  n=$(basename "$f"); n=${n%%.ko*}; path[${n//-/_}]=$f
done < <(find "$moddir/kernel" -name '*.ko*')
order=()
declare -A seen=()
modfile() { # the module as a plain .ko (decompressed if the package compresses them)
  case "$1" in
    *.ko) cat "$1" ;;
    *.ko.xz) xz -dc "$1" ;;
    *.ko.zst) zstd -dc "$1" ;;
    *.ko.gz) gzip -dc "$1" ;;
    *) echo "build-hdd.sh: unknown module file $1" >&2; exit 1 ;;
  esac
}
add() {
  local n=${1//-/_} d
  [ -n "${seen[$n]:-}" ] && return
  seen[$n]=1
  [ -n "${path[$n]:-}" ] || { echo "build-hdd.sh: module $n not in $kdeb" >&2; exit 1; }
  for d in $(modfile "${path[$n]}" | strings -a | sed -n 's/^depends=//p' | tr ',' ' '); do add "$d"; done
  order+=("$n")
}
# crct10dif_generic and crc32c_generic: crc-t10dif (for sd_mod's t10-pi) and ext4 find
# them through the crypto API, which would need modprobe; loading them first is enough.
for m in crct10dif_generic crc32c_generic ata_piix sd_mod ext4; do add "$m"; done
mkdir -p "$work/mods"
entries=(dir:lib:755 dir:lib/modules:755)
for n in "${order[@]}"; do
  modfile "${path[$n]}" > "$work/mods/$n.ko"
  entries+=("file:lib/modules/$n.ko:644:$work/mods/$n.ko")
done
echo "${order[*]}" > "$work/modules-order"

cat > "$work/init" <<'INIT'
#!/bin/busybox sh
/bin/busybox --install -s /bin
mount -t proc proc /proc
mount -t sysfs sysfs /sys
mount -t devtmpfs devtmpfs /dev 2>/dev/null
for m in $(cat /etc/modules-order); do insmod /lib/modules/$m.ko || echo "qemu-ts hdd: insmod $m failed"; done
n=0
while [ ! -b /dev/sda1 ] && [ $n -lt 100 ]; do sleep 0.1; n=$((n+1)); done
if mount -t ext2 /dev/sda1 /mnt; then echo "qemu-ts hdd: /dev/sda1 mounted on /mnt"; else echo "qemu-ts hdd: mounting /dev/sda1 failed"; fi
echo "qemu-ts guest: $(uname -sr) up"
while true; do setsid cttyhack sh; done
INIT
node "$here/mkinitramfs.mjs" "$work/initrd.gz" \
  dir:bin:755 dir:sbin:755 dir:usr:755 dir:usr/bin:755 dir:usr/sbin:755 dir:proc:755 dir:sys:755 dir:dev:755 dir:etc:755 dir:tmp:1777 dir:root:700 dir:mnt:755 \
  cdev:dev/console:600:5:1 cdev:dev/ttyS0:660:4:64 cdev:dev/null:666:1:3 \
  "file:bin/busybox:755:$work/bb/bin/busybox" symlink:bin/sh:busybox \
  "file:etc/modules-order:644:$work/modules-order" "${entries[@]}" \
  "file:init:755:$work/init"

# --- the filesystem ---
mkdir -p "$work/fs/boot/grub" "$work/fs/data"
cp "$linux/vmlinuz" "$work/fs/boot/vmlinuz"
cp "$work/initrd.gz" "$work/fs/boot/initrd.gz"
FAST="$(cat "$here/fast-append.txt")"
cat > "$work/fs/boot/grub/grub.cfg" <<CFG
serial --unit=0 --speed=115200
terminal_input serial
terminal_output serial
set timeout=0
menuentry 'linux' {
  echo 'qemu-ts hdd: GRUB loading linux'
  linux /boot/vmlinuz console=ttyS0 $FAST
  initrd /boot/initrd.gz
}
CFG
SIZE_MB=32
START=2048
sectors=$((SIZE_MB * 2048 - START))
mkfs.ext2 -q -F -L qemu-ts -b 1024 -d "$work/fs" "$work/part.img" $((sectors / 2)) >&2

# --- GRUB: core.img with everything it needs built in (no module directory) ---
grub-mkimage -O i386-pc -o "$work/core.img" -p '(hd0,msdos1)/boot/grub' \
  biosdisk part_msdos ext2 normal linux serial terminal echo configfile test boot
core_sectors=$(( ($(stat -c %s "$work/core.img") + 511) / 512 ))
[ $core_sectors -lt $START ] || { echo "build-hdd.sh: core.img ($core_sectors sectors) does not fit before LBA $START" >&2; exit 1; }

# --- the disk: MBR code from boot.img, one partition, core.img at LBA 1 (boot.img's
# default kernel sector; grub-mkimage already wrote core's length into its first sector) ---
truncate -s ${SIZE_MB}M "$work/disk.img"
dd if="$GRUBLIB/boot.img" of="$work/disk.img" bs=446 count=1 conv=notrunc status=none
le32() { printf "\\x$(printf %02x $(($1 & 255)))\\x$(printf %02x $((($1 >> 8) & 255)))\\x$(printf %02x $((($1 >> 16) & 255)))\\x$(printf %02x $((($1 >> 24) & 255)))"; }
# status 0x80 (active), CHS start/end saturated (LBA addressing), type 0x83
{ printf '\x80\xfe\xff\xff\x83\xfe\xff\xff'; le32 $START; le32 $sectors; } | dd of="$work/disk.img" bs=1 seek=446 conv=notrunc status=none
printf '\x55\xaa' | dd of="$work/disk.img" bs=1 seek=510 conv=notrunc status=none
dd if="$work/core.img" of="$work/disk.img" bs=512 seek=1 conv=notrunc status=none
dd if="$work/part.img" of="$work/disk.img" bs=512 seek=$START conv=notrunc status=none
qemu-img convert -f raw -O qcow2 "$work/disk.img" "$work/disk.qcow2"
mv "$work/disk.img" "$work/disk.qcow2" "$out/"
echo "$out"
