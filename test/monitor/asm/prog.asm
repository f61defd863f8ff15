; Test guest for the monitor and gdb tests: a 64 KiB BIOS image.
; Real mode: fills 0x500.. with known values, counts ECX to 1000, halts.
bits 16
org 0
times 0x100 db 0
start:
  cli
  xor ax, ax
  mov ds, ax
  mov ss, ax
  mov sp, 0x7000
  mov dword [0x500], 0x12345678
  mov dword [0x504], 0xdeadbeef
  mov dword [0x508], 0x6c6c6548     ; "Hell"
  mov dword [0x50c], 0x0a0d276f     ; "o'\r\n"
  mov eax, 0x11111111
  mov ebx, 0x22222222
  mov ecx, 0
loop1:
  inc ecx
  mov [0x510], ecx
  cmp ecx, 1000
  jne loop1
done:
  mov edx, 0x33333333
  mov esi, 0xfffffffe
  hlt
  jmp done
times 0xfff0 - ($-$$) db 0
  jmp 0xf000:start
times 0x10000 - ($-$$) db 0
