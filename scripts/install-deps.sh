#!/usr/bin/env bash
# Installs the Debian packages the tests and demos use as oracles and guest material.
# Safe to run repeatedly: only missing packages are installed.
set -euo pipefail
PKGS=(qemu-utils qemu-system-x86 seabios nasm acpica-tools xorriso vncsnapshot libjpeg-turbo-progs gvncviewer grub-pc-bin grub-common mtools e2fsprogs binutils gdb python3 gcc libc6-dev)
missing=()
for p in "${PKGS[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  SUDO=""; [ "$(id -u)" -eq 0 ] || SUDO="sudo"
  echo "installing Debian packages: ${missing[*]}"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi
