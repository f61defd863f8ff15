; Virtual-8086 mode: entry through IRET, IOPL-sensitive instructions trapping
; to a #GP monitor, the TSS I/O permission bitmap, INT n through a DPL3 gate
; with the V86 frame (ES/DS/FS/GS pushed and cleared), V86 segment limits.
%include "common.inc"

bits 16
start16:
  ENTER_PM pm32

bits 32
pm32:
  mov ax, SEL_DATA
  mov ds, ax
  mov es, ax
  mov ss, ax
  mov esp, STACK0
  call setup_idt
  call setup_tss0
  mov eax, gp_monitor
  mov ecx, 13
  mov edx, 0x8E
  call set_gate
  mov eax, int31
  mov ecx, 0x31
  mov edx, 0xEE              ; DPL3 interrupt gate
  call set_gate
  PRINT "pm32 ok"

  TEST "v86a"
  mov ebx, 0x00000002        ; IOPL 0
  mov ecx, v86a
  jmp enter_v86
after_a:
  TEST "v86b"
  mov ebx, 0x00003202        ; IOPL 3, IF
  mov ecx, v86b
  jmp enter_v86
after_b:
  TEST "done"
  call newline
  jmp exit

; EBX = EFLAGS (without VM), ECX = IP in segment F000
enter_v86:
  push dword 0x4444          ; GS
  push dword 0x3333          ; FS
  push dword 0x2222          ; DS
  push dword 0x1111          ; ES
  push dword 0               ; SS
  push dword 0x7000          ; SP
  or ebx, 0x20000
  push ebx                   ; EFLAGS with VM
  push dword 0xF000          ; CS
  push ecx                   ; IP
  iretd

; #GP monitor: emulate/skip the faulting V86 instruction, or leave V86 on HLT
gp_monitor:
  push eax
  push ebx
  push ds
  mov ax, SEL_DATA
  mov ds, ax
  test dword [esp+24], 0x20000
  jz .notvm
  PRINT " gp"
  mov eax, [esp+12]
  call hex8
  movzx eax, word [esp+20]
  shl eax, 4
  movzx ebx, word [esp+16]
  add eax, ebx
  movzx ebx, byte [eax]
  PRINT "/"
  mov al, bl
  call hex8
  mov eax, 1
  cmp bl, 0xf4
  je .leave
  cmp bl, 0xcd
  je .two
  cmp bl, 0xe4
  je .two
  cmp bl, 0xa1
  je .three
  jmp .skip
.three: inc eax
.two: inc eax
.skip:
  add [esp+16], ax
  pop ds
  pop ebx
  pop eax
  add esp, 4
  iretd
.leave:
  ; back to ring-0 flat code: which test continues is in the V86 stack? use the IP
  mov esp, STACK0
  mov ax, SEL_DATA
  mov es, ax
  mov fs, ax
  mov gs, ax
  cmp dword [VARS+40], 0
  jne .b
  mov dword [VARS+40], 1
  jmp after_a
.b: jmp after_b
.notvm:
  PRINT " gp outside v86"
  jmp exit

; INT 0x31 from V86 (IOPL 3): print the frame and the data segment registers
int31:
  push eax
  mov ax, ds
  mov [ss:VARS+44], ax       ; DS is null here (cleared on entry from V86)
  mov ax, SEL_DATA
  mov ds, ax
  PRINT " int31"
  movzx eax, word [VARS+44]
  PHEX eax                   ; DS inside the handler (0)
  PHEX [esp+4]               ; IP
  PHEX [esp+8]               ; CS
  mov eax, [esp+12]
  and eax, 0x23202           ; VM, IOPL, IF
  PHEX eax
  PHEX [esp+16]              ; SP
  PHEX [esp+20]              ; SS
  PHEX [esp+24]              ; ES
  PHEX [esp+28]              ; DS
  PHEX [esp+32]              ; FS
  PHEX [esp+36]              ; GS
  pop eax
  iretd

bits 16
v86a:
  mov al, '['
  out 0xe9, al               ; allowed by the I/O bitmap
  in al, 0x80                ; denied by the bitmap: #GP(0)
  int 0x21                   ; IOPL < 3: #GP(0)
  cli                        ; #GP(0)
  pushf                      ; #GP(0)
  mov ax, 0x2000
  mov ds, ax
  mov word [0x10], 0xbeef    ; linear 0x20010
  mov al, ']'
  out 0xe9, al
  hlt                        ; #GP(0): monitor leaves V86

v86b:
  cli                        ; IOPL 3: allowed
  sti
  pushf
  pop ax
  mov ax, 0x2000
  mov ds, ax
  mov ax, [0x10]
  cmp ax, 0xbeef
  jne .bad
  mov al, '+'
  out 0xe9, al
.bad:
  int 0x31                   ; through the DPL3 gate into ring 0
  mov al, '<'
  out 0xe9, al
  int 0x32                   ; empty IDT entry: #GP(0x32*8+2)
  mov ax, [0xffff]           ; word at offset FFFFh beyond the V86 limit: #GP(0)
  mov al, '>'
  out 0xe9, al
  hlt

%include "footer.inc"
