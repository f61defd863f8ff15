#!/usr/bin/env bash
# Builds a 1.44 MB boot floppy that proves the floppy boot path (SeaBIOS -> FDC -> boot
# sector -> our code) on its own: the boot sector (nasm) sets up COM1 by port I/O, prints
# the boot drive the BIOS passed in DL, reads sector 2 with INT 13h and prints the line
# stored there, then powers off through ACPI (PIIX4 PM1a_CNT at 0x604, SeaBIOS's
# choice on pc) or halts where there is no ACPI (isapc).
#   $CACHE/floppy/floppy.img      CACHE = ${QEMU_TS_CACHE:-~/.cache/qemu-ts}
# Rebuilt only when this script changes. Prints the output folder. Needs nasm.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
CACHE="${QEMU_TS_CACHE:-$HOME/.cache/qemu-ts}"
out="$CACHE/floppy"
if [ -s "$out/floppy.img" ] && [ "$out/floppy.img" -nt "$here/build-floppy.sh" ]; then echo "$out"; exit 0; fi
command -v nasm >/dev/null || { echo "build-floppy.sh: nasm is needed (apt-get install nasm)" >&2; exit 1; }
mkdir -p "$out"
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
cat > "$work/boot.asm" <<'ASM'
bits 16
org 0x7c00
COM1 equ 0x3f8
start:
  cli
  xor ax, ax
  mov ds, ax
  mov es, ax
  mov ss, ax
  mov sp, 0x7c00
  sti
  mov [drive], dl
  ; 16550: 115200 8N1, FIFO on
  mov dx, COM1 + 1
  xor al, al
  out dx, al
  mov dx, COM1 + 3
  mov al, 0x80
  out dx, al
  mov dx, COM1
  mov al, 1
  out dx, al
  mov dx, COM1 + 1
  xor al, al
  out dx, al
  mov dx, COM1 + 3
  mov al, 3
  out dx, al
  mov dx, COM1 + 2
  mov al, 0xc7
  out dx, al
  mov si, hello
  call puts
  mov al, [drive]
  call puthex
  mov si, crlf
  call puts
  ; read sector 2 (CHS 0/0/2) to 0x8000 through the BIOS and the FDC
  mov bp, 3
.retry:
  mov ax, 0x0201
  mov bx, 0x8000
  mov cx, 0x0002
  xor dh, dh
  mov dl, [drive]
  int 0x13
  jnc .ok
  xor ax, ax
  int 0x13
  dec bp
  jnz .retry
  mov si, readerr
  call puts
  jmp off
.ok:
  mov si, 0x8000
  call puts
off:
  mov dx, 0x604           ; PM1a_CNT: SLP_TYP=0 (S5 in QEMU's DSDT) | SLP_EN
  mov ax, 0x2000
  out dx, ax
  mov si, halted
  call puts
.h:
  cli
  hlt
  jmp .h

puts:                     ; print the NUL-terminated string at ds:si
  lodsb
  test al, al
  jz .done
  call putc
  jmp puts
.done:
  ret
putc:                     ; wait for THR empty, send al
  push dx
  push ax
  mov dx, COM1 + 5
.w:
  in al, dx
  test al, 0x20
  jz .w
  pop ax
  mov dx, COM1
  out dx, al
  pop dx
  ret
puthex:                   ; al as two hex digits
  push ax
  shr al, 4
  call nib
  pop ax
  and al, 15
nib:
  add al, '0'
  cmp al, '9'
  jbe .p
  add al, 7
.p:
  jmp putc

hello: db 'qemu-ts floppy: boot sector running, BIOS boot drive ', 0
crlf: db 13, 10, 0
readerr: db 'qemu-ts floppy: INT 13h read of sector 2 failed', 13, 10, 0
halted: db 'qemu-ts floppy: no ACPI power-off, halted', 13, 10, 0
drive: db 0
times 510 - ($ - $$) db 0
dw 0xaa55
; sector 2: read by the boot sector through INT 13h
db 'qemu-ts floppy: sector 2 read through INT 13h', 13, 10, 0
times 1474560 - ($ - $$) db 0
ASM
nasm -f bin -o "$work/floppy.img" "$work/boot.asm"
mv "$work/floppy.img" "$out/floppy.img"
echo "$out"
