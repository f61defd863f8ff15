; gdb stub test guest: a 64 KiB BIOS image that enters flat 32-bit protected
; mode, so that gdb's $pc (EIP) is the linear address.
; Fixed addresses: counter loop at 0xf0100, BP_HERE at 0xf0200, done at 0xf0300.
BASE equ 0xf0000
bits 16
org 0
gdt:  dq 0
      dq 0x00cf9a000000ffff        ; 0x08: flat code
      dq 0x00cf92000000ffff        ; 0x10: flat data
gdtr: dw 23
      dd BASE + gdt
entry16:
  cli
  o32 lgdt [cs:gdtr]
  mov eax, cr0
  or al, 1
  mov cr0, eax
  jmp dword 0x08:(BASE + pm32)
bits 32
pm32:
  mov ax, 0x10
  mov ds, ax
  mov es, ax
  mov ss, ax
  mov esp, 0x7000
  mov dword [0x500], 0x12345678
  mov dword [0x504], 0xdeadbeef
  mov ecx, 0
  jmp loop1
times 0x100 - ($-$$) db 0
loop1:                             ; 0xf0100
  inc ecx
  mov [0x510], ecx
  cmp ecx, 1000
  jne loop1
  jmp bp_here
times 0x200 - ($-$$) db 0
bp_here:                           ; 0xf0200
  mov edx, 0x33333333
  mov ebx, 0x44444444
  nop
  mov dword [0x520], 0xcafe
  mov esi, 0x55555555
  jmp done
times 0x300 - ($-$$) db 0
done:                              ; 0xf0300
  hlt
  jmp done
times 0xfff0 - ($-$$) db 0
bits 16
  jmp 0xf000:entry16
times 0x10000 - ($-$$) db 0
