; Real mode: IVT interrupts, 32-bit operands and addressing in 16-bit code,
; far calls/returns, unreal mode (segment limits kept after leaving
; protected mode), a big (B=1) real-mode stack, the offset-FFFFh limit fault.
%include "common.inc"

bits 16
start16:
  xor ax, ax
  mov ds, ax
  mov es, ax
  mov ss, ax
  mov sp, 0x7000
  PRINT16 "real"
  ; IVT: vector 0x60 -> handler60, vector 13 -> gp16
  mov word [0x60*4], handler60
  mov word [0x60*4+2], 0xf000
  mov word [13*4], gp16
  mov word [13*4+2], 0xf000
  mov word [12*4], ss16
  mov word [12*4+2], 0xf000
  call nl16
  PRINT16 "int:"
  mov ax, 0x1234
  int 0x60
  call hex16
  call nl16
  PRINT16 "op32:"
  mov eax, 0x89abcdef
  mov ebx, 0x10000
  add eax, ebx
  rol eax, 8
  call hex32r
  mov ecx, 3
  mov dword [0x500], 0
  mov dword [0x504], 0x55667788
  mov eax, [ecx*2 + 0x4fe]   ; 32-bit addressing in real mode
  call hex32r
  movzx eax, byte [0x506]
  call hex32r
  call nl16
  PRINT16 "farcall:"
  call 0xf000:farproc
  call hex16
  o32 call dword 0xf000:farproc32
  call hex32r
  call nl16
  PRINT16 "limit:"
  mov word [0x510], .after
  mov bx, 0xffff
  mov ax, [bx]               ; word at offset FFFFh: #GP(0)
.after:
  call nl16
  PRINT16 "unreal:"
  cli
  mov si, gdt_rom
  mov di, GDT_RAM
  mov cx, gdt_rom_end - gdt_rom
  cs rep movsb
  cs lgdt [gdtr]
  mov eax, cr0
  or al, 1
  mov cr0, eax
  jmp SEL_CODE16:.pm16
.pm16:
  mov ax, SEL_DATA
  mov ds, ax
  mov ss, ax                 ; B=1, 4 GiB
  mov eax, cr0
  and al, ~1
  mov cr0, eax
  jmp 0xf000:.rm
.rm:
  xor ax, ax
  mov ds, ax
  mov ss, ax
  mov dword [dword 0x200000], 0xdeadbeef ; beyond 64 KiB through the 4 GiB limit kept in DS
  mov eax, [dword 0x200000]
  call hex32r
  ; the stack is 32-bit now: PUSH uses ESP
  mov esp, 0x7000
  push dword 0x11223344
  mov eax, esp
  call hex32r
  pop eax
  call hex32r
  call nl16
  PRINT16 "done"
  call nl16
  mov al, 0
  out 0xf4, al
  hlt

handler60:
  add ax, 1
  iret

farproc:
  mov ax, 0xf00d
  retf
farproc32:
  mov eax, 0xcafe1234
  o32 retf

gp16:
  PRINT16 " #GP"
  push bp
  mov bp, sp
  mov ax, [0x510]
  mov [bp+2], ax             ; resume
  pop bp
  iret
ss16:
  PRINT16 " #SS"
  push bp
  mov bp, sp
  mov ax, [0x510]
  mov [bp+2], ax
  pop bp
  iret

nl16:
  push ax
  mov al, 10
  out 0xe9, al
  pop ax
  ret
; AX as 4 hex digits
hex16:
  push eax
  shl eax, 16
  push cx
  mov cx, 4
  jmp hexr.l
; EAX as 8 hex digits (16-bit code)
hex32r:
  push eax
  push cx
  mov cx, 8
hexr.l:
  rol eax, 4
  push ax
  and al, 15
  add al, '0'
  cmp al, '9'
  jbe .d
  add al, 'a' - '0' - 10
.d: out 0xe9, al
  pop ax
  loop hexr.l
  pop cx
  pop eax
  ret

%include "footer.inc"
