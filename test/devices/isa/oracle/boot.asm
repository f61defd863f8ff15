; Port I/O script interpreter for checking our ISA devices against QEMU.
; SeaBIOS boots this sector from the floppy; it loads 16 more sectors (the
; script) to 0x7E00 and runs it, logging every read to the debugcon port
; 0xE9, then exits through isa-debug-exit at 0xF4.
;
; Script ops (little-endian operands):
;   01 port8val: OUT8 port, val     02 port: IN8 port -> log
;   03 port val16: OUT16            04 port mask val: WAIT until (in & mask) == val -> log 1/0
;   05 addr len16: DUMP memory      06 port: IN16 -> log 2 bytes
;   07 port val32: OUT32            09 addr val8: POKE byte
;   00: END
%ifndef SECTORS
%define SECTORS 16          ; script sectors after the boot sector (nasm -DSECTORS=8 for 9-sector media)
%endif
bits 16
org 0x7c00
start:
    cli
    xor ax, ax
    mov ds, ax
    mov es, ax
    mov ss, ax
    mov sp, 0x7c00
    mov ax, 0x0200 | SECTORS ; read the script sectors
    mov cx, 0x0002          ; cylinder 0, sector 2
    xor dh, dh              ; head 0 (dl = boot drive from the BIOS)
    mov bx, 0x7e00
    int 0x13
    cli
    mov si, 0x7e00
next:
    lodsb
    cmp al, 1
    je op_out8
    cmp al, 2
    je op_in8
    cmp al, 3
    je op_out16
    cmp al, 4
    je op_wait
    cmp al, 5
    je op_dump
    cmp al, 6
    je op_in16
    cmp al, 7
    je op_out32
    cmp al, 9
    je op_poke
    xor al, al
    out 0xf4, al
.halt:
    hlt
    jmp .halt
op_out8:
    lodsw
    mov dx, ax
    lodsb
    out dx, al
    jmp next
op_in8:
    lodsw
    mov dx, ax
    in al, dx
    out 0xe9, al
    jmp next
op_out16:
    lodsw
    mov dx, ax
    lodsw
    out dx, ax
    jmp next
op_wait:
    lodsw
    mov dx, ax
    lodsw
    mov bx, ax              ; bl = mask, bh = value
    mov di, 64
.outer:
    mov cx, 0xffff
.inner:
    in al, dx
    and al, bl
    cmp al, bh
    je .ok
    loop .inner
    dec di
    jnz .outer
    xor al, al
    out 0xe9, al
    jmp next
.ok:
    mov al, 1
    out 0xe9, al
    jmp next
op_dump:
    lodsw
    mov bx, ax
    lodsw
    mov cx, ax
.d:
    mov al, [bx]
    out 0xe9, al
    inc bx
    loop .d
    jmp next
op_in16:
    lodsw
    mov dx, ax
    in ax, dx
    out 0xe9, al
    mov al, ah
    out 0xe9, al
    jmp next
op_out32:
    lodsw
    mov dx, ax
    lodsd
    out dx, eax
    jmp next
op_poke:
    lodsw
    mov bx, ax
    lodsb
    mov [bx], al
    jmp next
    times 510 - ($ - $$) db 0
    dw 0xaa55
