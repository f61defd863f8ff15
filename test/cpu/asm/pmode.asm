; Protected mode: segmentation checks, privilege transitions (interrupt and
; call gates, IRET/RETF to outer levels), I/O permission bitmap, IOPL,
; task switches (CALL to a TSS, task gate, IRET with NT), exception vectors
; with their error codes and fault/trap EIPs.
%include "common.inc"

bits 16
start16:
  PRINT16 "real mode ok"
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
  PRINT "pm32 ok"

  ; ---- segment checks
  TEST "limit"
  RESUME_AT .l1
  mov ax, SEL_SMALL
  mov es, ax
  mov eax, [es:0xffe]        ; dword crosses the 0xFFF limit: #GP(0)
.l1:
  TEST "expdown"
  RESUME_AT .l2
  mov ax, SEL_EXPDOWN
  mov es, ax
  mov eax, [es:0x2000]       ; valid (above the limit)
  PRINT " ok"
  mov eax, [es:0x800]        ; below the limit: #GP(0)
.l2:
  TEST "rodata"
  RESUME_AT .l3
  mov ax, SEL_RODATA
  mov es, ax
  mov eax, [es:0x600]
  PRINT " read"
  mov [es:0x600], eax        ; #GP(0)
.l3:
  TEST "nullseg"
  RESUME_AT .l4
  xor eax, eax
  mov es, ax
  PRINT " loaded"
  mov eax, [es:0x600]        ; #GP(0)
.l4:
  TEST "notpresent"
  RESUME_AT .l5
  mov ax, SEL_NOTPRES
  mov es, ax                 ; #NP(0x70)
.l5:
  TEST "gdtlimit"
  RESUME_AT .l6
  mov ax, 0x1f8
  mov es, ax                 ; #GP(0x1f8)
.l6:
  TEST "csload"
  RESUME_AT .l7
  mov ax, SEL_CODE32
  mov ss, ax                 ; #GP(0x08): SS must be writable data
.l7:
  mov ax, SEL_DATA
  mov es, ax

  ; ---- exceptions: vector, error code, saved EIP
  TEST "de"
  RESUME_AT .e1
  xor ecx, ecx
  mov eax, 1
.de: div ecx
.e1:
  PHEX [LASTEIP]
  mov eax, .de
  PHEX eax
  TEST "int3"
  RESUME_AT .e2
  int3
.i3:
.e2:
  PHEX [LASTEIP]
  mov eax, .i3
  PHEX eax
  TEST "into"
  RESUME_AT .e3
  mov al, 0x7f
  add al, 1
  into
.e3:
  TEST "bound"
  RESUME_AT .e4
  mov dword [0x600], 10
  mov dword [0x604], 20
  mov eax, 30
  bound eax, [0x600]
.e4:
  TEST "ud2"
  RESUME_AT .e5
  ud2
.e5:
  TEST "lockmov"
  RESUME_AT .e6
  db 0xf0
  mov [0x600], eax          ; LOCK MOV: #UD
.e6:
  TEST "tf"
  RESUME_AT .e7
  pushfd
  or dword [esp], 0x100
  popfd
  nop                        ; the trap is taken after this instruction
.tf1:
  nop
.e7:
  PHEX [LASTEIP]
  mov eax, .tf1
  PHEX eax
  TEST "len15"
  RESUME_AT .e8
  db 0x66, 0x66, 0x66, 0x66, 0x66, 0x66, 0x66, 0x66, 0x66, 0x66, 0x66, 0x66, 0x66, 0x66
  mov eax, 1                 ; 15+ bytes: #GP(0)
.e8:

  ; ---- ring 3 via IRET, I/O bitmap, IOPL-sensitive instructions
  mov eax, int80
  mov ecx, 0x80
  mov edx, 0xEF              ; DPL3 trap gate
  call set_gate
  mov eax, int80
  mov ecx, 0x81
  mov edx, 0x8E              ; DPL0 interrupt gate
  call set_gate
  ; call gate at 0x50: DPL3, 32-bit, 1 dword parameter, target SEL_CODE32:cgate
  mov eax, cgate
  mov edx, eax
  and eax, 0xffff
  or eax, SEL_CODE32 << 16
  mov [GDT_RAM+0x50], eax
  and edx, 0xffff0000
  or edx, 0xEC01
  mov [GDT_RAM+0x54], edx

  TEST "toring3"
  push dword SEL_DATA3
  push dword STACK3
  push dword 0x002             ; IOPL 0, IF 0
  push dword SEL_CODE3
  push dword ring3
  iretd

bits 32
ring3:
  mov ax, SEL_DATA3
  mov ds, ax
  mov es, ax
  mov ax, cs
  and eax, 3
  PHEX eax
  mov dword [RESUME], .r1
  TEST "r3io"
  mov al, 'k'
  out 0xe9, al               ; allowed by the bitmap
  in al, 0x80                ; denied: #GP(0)
.r1:
  TEST "r3cli"
  mov dword [RESUME], .r2
  cli
.r2:
  TEST "r3hlt"
  mov dword [RESUME], .r3
  hlt
.r3:
  TEST "r3int80"
  mov ebx, 0x1234
  int 0x80                   ; DPL3 gate: ring-0 handler, stack switch
  TEST "r3int81"
  mov dword [RESUME], .r4
  int 0x81                   ; DPL0 gate: #GP(0x81*8+2)
.r4:
  TEST "r3callgate"
  push dword 0xabcd
  call SEL_CALLGATE:0
  PHEX esp
  TEST "r3ret"
  mov ax, cs
  PHEX eax
  ; back to ring 0 through the call gate without returning
  push dword 0
  call SEL_CALLGATE:0

int80:
  ; ring-0 handler: print CPL, interrupted CS/SS/ESP and EBX
  push eax
  mov ax, cs
  and eax, 3
  PHEX eax
  PHEX [esp+8]               ; old CS
  PHEX [esp+20]              ; old SS
  PHEX [esp+16]              ; old ESP
  PHEX ebx
  mov ax, ss
  PHEX eax
  pop eax
  iretd

cgate:
  mov ax, cs
  and eax, 3
  PHEX eax
  PHEX [esp+4]               ; caller CS
  PHEX [esp+8]               ; the copied parameter
  PHEX [esp+16]              ; caller SS
  cmp dword [esp+8], 0
  je ring0_again
  retf 4

ring0_again:
  mov ax, SEL_DATA
  mov ds, ax
  mov es, ax
  mov esp, STACK0
  ; ---- task switches
  TEST "task"
  ; TSS1: a task that prints, IRETs back, and loops
  mov edi, TSS1
  mov ecx, 0x68/4
  xor eax, eax
  rep stosd
  mov dword [TSS1+0x20], task1       ; EIP
  mov dword [TSS1+0x24], 0x2         ; EFLAGS
  mov dword [TSS1+0x38], 0x7000      ; ESP
  mov word [TSS1+0x4c], SEL_CODE32   ; CS
  mov word [TSS1+0x50], SEL_DATA     ; SS
  mov word [TSS1+0x54], SEL_DATA     ; DS
  mov word [TSS1+0x48], SEL_DATA     ; ES
  mov eax, cr3
  mov [TSS1+0x1c], eax
  mov ebx, 0x5555
  call SEL_TSS1:0
  PRINT " back"
  str ax
  PHEX eax
  PHEX ebx
  ; busy bit of TSS1 is clear again, TSS0 busy
  mov al, [GDT_RAM+SEL_TSS1+5]
  call hex8
  mov al, [GDT_RAM+SEL_TSS0+5]
  call hex8
  TEST "taskgate"
  ; IDT vector 0x82: task gate to TSS1
  mov dword [IDT_RAM+0x82*8], SEL_TSS1 << 16
  mov dword [IDT_RAM+0x82*8+4], 0x8500
  int 0x82
  PRINT " back"
  TEST "tsbusy"
  RESUME_AT .t1
  jmp SEL_TSS0:0             ; own TSS is busy: #GP(0x40)
.t1:
  TEST "done"
  call newline
  jmp exit

task1:
  PRINT " in-task"
  str ax
  PHEX eax
  movzx eax, word [TSS1]     ; back link
  PHEX eax
  pushfd
  pop eax
  and eax, 0x4000            ; NT
  PHEX eax
  PHEX ebx                   ; EBX of this task (0)
  mov ebx, 0x7777
  iretd
  jmp task1

%include "footer.inc"
