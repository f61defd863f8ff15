#!/usr/bin/env bash
# Builds a bootable CD-ROM with the Linux test guest (Debian 686 kernel + busybox
# initramfs from build-linux-guest.sh) and GRUB (grub-mkrescue, El Torito, BIOS only):
#   $CACHE/iso/linux.iso        boots menu entry 0 at once (for pc)
#   $CACHE/iso/linux-isapc.iso  the same disc, boots entry 1 at once (for isapc)
# CACHE = ${QEMU_TS_CACHE:-~/.cache/qemu-ts}. GRUB's menu is on the serial console; entries:
#   0 linux        console=ttyS0 + the fast-boot arguments (fast-append.txt)
#   1 linux-noapic the same with noapic: isapc has no IO-APIC, and without noapic
#                  Debian's kernel oopses in setup_IO_APIC there (seen on real QEMU)
# Rebuilt only when this script (or the Linux guest) changes. Prints the output folder.
# Needs grub-pc-bin, grub-common, xorriso, mtools.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
CACHE="${QEMU_TS_CACHE:-$HOME/.cache/qemu-ts}"
out="$CACHE/iso"
linux="$(bash "$here/build-linux-guest.sh" | tail -1)"
if [ -s "$out/linux-isapc.iso" ] && [ -s "$out/linux.iso" ] && [ "$out/linux.iso" -nt "$here/build-iso.sh" ] && [ "$out/linux.iso" -nt "$linux/initramfs.gz" ] && [ "$out/linux.iso" -nt "$here/fast-append.txt" ]; then echo "$out"; exit 0; fi
for t in grub-mkrescue xorriso mformat; do
  command -v $t >/dev/null || { echo "build-iso.sh: $t is missing (apt-get install grub-pc-bin grub-common xorriso mtools)" >&2; exit 1; }
done
[ -d /usr/lib/grub/i386-pc ] || { echo "build-iso.sh: /usr/lib/grub/i386-pc is missing (apt-get install grub-pc-bin)" >&2; exit 1; }
mkdir -p "$out"
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
mkdir -p "$work/iso/boot/grub"
cp "$linux/vmlinuz" "$linux/initramfs.gz" "$work/iso/boot/"
FAST="$(cat "$here/fast-append.txt")"
cat > "$work/iso/boot/grub/grub.cfg" <<CFG
serial --unit=0 --speed=115200
terminal_input serial
terminal_output serial
set timeout=0
set default=@DEFAULT@
menuentry 'linux' {
  echo 'qemu-ts iso: GRUB loading linux'
  linux /boot/vmlinuz console=ttyS0 $FAST
  initrd /boot/initramfs.gz
}
menuentry 'linux-noapic' {
  echo 'qemu-ts iso: GRUB loading linux (noapic)'
  linux /boot/vmlinuz console=ttyS0 noapic $FAST
  initrd /boot/initramfs.gz
}
CFG
cp "$work/iso/boot/grub/grub.cfg" "$work/grub.cfg.in"
# No fonts/themes/locales: a small image that loads fast.
for v in linux:0 linux-isapc:1; do
  sed "s/@DEFAULT@/${v#*:}/" "$work/grub.cfg.in" > "$work/iso/boot/grub/grub.cfg"
  grub-mkrescue -o "$work/${v%:*}.iso" -d /usr/lib/grub/i386-pc \
    --modules="serial terminal" --fonts= --locales= --themes= \
    "$work/iso" >&2 2>"$work/log" || { cat "$work/log" >&2; exit 1; }
done
mv "$work/linux.iso" "$work/linux-isapc.iso" "$out/"
echo "$out"
