; Debug features and exception escalation: single-step over MOV SS (interrupt
; shadow), DR0-DR7 instruction and data breakpoints with DR6 status, double
; fault from a not-present #GP gate, and finally a triple fault (shutdown).
%include "common.inc"

%define VAR 0x700

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
  PRINT "pm32 ok"

  TEST "tf_movss"
  RESUME_AT .a1
  mov ax, ss
  pushfd
  or dword [esp], 0x100
  popfd                      ; TF=1 from the next instruction on
  mov ss, ax                 ; no trap after it: MOV SS shadows the next instruction
.s1:
  nop                        ; the trap is taken after this one
.s2:
  nop
.a1:
  PHEX [LASTEIP]
  mov eax, .s2
  PHEX eax

%ifndef NO_EXEC_BP
  TEST "dr0_exec"
  RESUME_AT .b1
  mov eax, .bp + ROM
  mov dr0, eax
  mov eax, 0x00000001        ; L0, R/W0 = 00 (execute), LEN0 = 00
  mov dr7, eax
  nop
.bp:
  nop
.b1:
  PHEX [LASTEIP]
  mov eax, .bp
  PHEX eax
  mov eax, dr6
  and eax, 0x400f
  PHEX eax
  xor eax, eax
  mov dr7, eax
  mov dr6, eax
%endif

  TEST "dr1_write"
  RESUME_AT .c1
  mov eax, VAR
  mov dr1, eax
  mov eax, 0x00d00004        ; L1, R/W1 = 01 (write), LEN1 = 11 (4 bytes)
  mov dr7, eax
  mov eax, [VAR]             ; read: no hit
  mov dword [VAR], 5         ; write: trap after the instruction
.c0:
  nop
.c1:
  PHEX [LASTEIP]
  mov eax, .c0
  PHEX eax
  mov eax, dr6
  and eax, 0x400f
  PHEX eax
  PHEX [VAR]
  xor eax, eax
  mov dr7, eax
  mov dr6, eax

  TEST "dr2_rw"
  RESUME_AT .d1
  mov eax, VAR + 2
  mov dr2, eax
  mov eax, 0x03000010        ; L2, R/W2 = 11 (read/write), LEN2 = 00 (1 byte)
  mov dr7, eax
  mov al, [VAR+1]            ; no hit
  mov ax, [VAR+1]            ; word covers VAR+2: hit
.d0:
  nop
.d1:
  PHEX [LASTEIP]
  mov eax, .d0
  PHEX eax
  mov eax, dr6
  and eax, 0x400f
  PHEX eax
  xor eax, eax
  mov dr7, eax
  mov dr6, eax

  TEST "double"
  RESUME_AT .e1
  and byte [IDT_RAM + 13*8 + 5], 0x7f   ; #GP gate not present
  mov ax, 0x1f8
  mov es, ax                 ; #GP(0x1f8) -> #NP(0x6b) while delivering -> #DF(0)
.e1:
  or byte [IDT_RAM + 13*8 + 5], 0x80
  mov ax, SEL_DATA
  mov es, ax

  TEST "pf_in_gp"
  RESUME_AT .f1
  ; #PF while delivering #PF -> #DF
  mov dword [0x20000], 0x21007         ; PDE 0 -> page table at 0x21000
  mov edi, 0x21000
  mov eax, 7
  mov ecx, 1024
.pt: stosd
  add eax, 0x1000
  loop .pt
  mov dword [0x21000 + 0x300*4], 0     ; 0x300000 not present
  mov eax, 0x20000
  mov cr3, eax
  mov eax, cr0
  or eax, 0x80000000
  mov cr0, eax
  mov eax, [0x300000]        ; plain #PF
.f1:
  TEST "df_task"
  ; #DF through a task gate (as Linux and Windows do): the handler task fixes
  ; the cause, points the interrupted task past the faulting instruction, IRETs back
  call setup_tss0
  mov edi, TSS1
  mov ecx, 0x68/4
  xor eax, eax
  rep stosd
  mov dword [TSS1+0x20], df_task
  mov dword [TSS1+0x24], 0x2
  mov dword [TSS1+0x38], 0x7000
  mov word [TSS1+0x4c], SEL_CODE32
  mov word [TSS1+0x50], SEL_DATA
  mov word [TSS1+0x54], SEL_DATA
  mov word [TSS1+0x48], SEL_DATA
  mov eax, cr3
  mov [TSS1+0x1c], eax
  mov [TSS0+0x1c], eax       ; CR3 is not saved on a task switch: the way back needs it
  mov dword [IDT_RAM+8*8], SEL_TSS1 << 16
  mov dword [IDT_RAM+8*8+4], 0x8500
  and byte [IDT_RAM + 13*8 + 5], 0x7f   ; #GP gate not present again
  mov ax, 0x1f8
  mov es, ax                 ; #GP -> #NP -> #DF through the task gate
.g1:
  PRINT " resumed"
  str ax
  PHEX eax
  mov ax, SEL_DATA
  mov es, ax
  call setup_idt

  TEST "triple"
  call newline
  ; #GP and #DF gates not present: #GP -> #NP -> #DF -> #NP -> shutdown
  and byte [IDT_RAM + 13*8 + 5], 0x7f
  and byte [IDT_RAM + 8*8 + 5], 0x7f
  and byte [IDT_RAM + 11*8 + 5], 0x7f
  mov ax, 0x1f8
  mov es, ax
  PRINT "not reached"
  jmp exit

df_task:
  PRINT " dftask"
  pop eax                    ; the #DF error code, pushed on the handler task's stack
  PHEX eax
  movzx eax, word [TSS1]     ; back link to the interrupted task
  PHEX eax
  or byte [IDT_RAM + 13*8 + 5], 0x80
  mov dword [TSS0+0x20], pm32.g1
  iretd
  jmp df_task

%include "footer.inc"
