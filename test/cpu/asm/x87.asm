; x87 through the integer core: results stored to memory, status word,
; #NM for CR0.TS/EM, #MF with CR0.NE=1 on the next waiting instruction,
; FSTENV instruction/operand pointers, FCOMI/FCMOV with EFLAGS.
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
  mov eax, cr0
  and eax, ~(4 | 8)          ; EM=0 TS=0
  or eax, 0x22               ; MP, NE
  mov cr0, eax
  PRINT "pm32 ok"

  TEST "arith"
  finit
  fld1
  fldpi
  faddp st1, st0
  fstp dword [0x600]
  PHEX [0x600]
  mov dword [0x604], 7
  fild dword [0x604]
  fmul st0, st0
  fsqrt
  fistp dword [0x608]
  PHEX [0x608]
  fld qword [dbl + ROM]
  fld qword [dbl + ROM + 8]
  fdivp st1, st0
  fstp qword [0x610]
  PHEX [0x614]
  PHEX [0x610]
  fnstsw ax
  movzx eax, ax
  PHEX eax

  TEST "bcd"
  mov dword [0x620], 123456
  fild dword [0x620]
  fbstp [0x630]
  PHEX [0x630]
  PHEX [0x634]

  TEST "zdiv_masked"
  fld1
  fldz
  fdivp st1, st0
  fstp dword [0x600]
  PHEX [0x600]
  fnstsw ax
  and eax, 0x3f
  PHEX eax
  fnclex

  TEST "fcomi"
  fld1
  fldz
  fcomi st0, st1             ; 0 < 1: CF=1
  pushfd
  pop eax
  and eax, 0x45
  PHEX eax
  mov eax, 1
  mov ecx, 2
  fcmovb st0, st1            ; CF=1: st0 = 1
  fstp dword [0x600]
  PHEX [0x600]
  fstp st0

  TEST "nm_ts"
  RESUME_AT .n1
  mov eax, cr0
  or eax, 8
  mov cr0, eax
  fld1                       ; #NM
.n1:
  TEST "wait_ts"
  RESUME_AT .n2
  fwait                      ; MP=1 and TS=1: #NM
.n2:
  clts
  TEST "nm_em"
  RESUME_AT .n3
  mov eax, cr0
  or eax, 4
  mov cr0, eax
  fldz                       ; #NM
.n3:
  mov eax, cr0
  and eax, ~4
  mov cr0, eax

  TEST "mf"
  RESUME_AT .m1
  finit
  fldcw [cw_zm + ROM]        ; unmask zero-divide
  fld1
  fldz
  fdivp st1, st0             ; sets ES, no exception yet
  PRINT " pending"
.mfi:
  fld1                       ; waiting instruction: #MF here
.m1:
  PHEX [LASTEIP]
  mov eax, .mfi
  PHEX eax
  fnstsw ax
  and eax, 0x80bf
  PHEX eax
  fnclex
  fninit

  TEST "fstenv"
  fld1
.fi:
  fadd dword [0x600]
  fnstenv [0x700]
  mov eax, [0x700+12]        ; FIP
  PHEX eax
  mov eax, .fi
  PHEX eax
  movzx eax, word [0x700+18] ; FOP
  and eax, 0x7ff
  PHEX eax
  mov eax, [0x700+20]        ; FDP
  PHEX eax
  TEST "done"
  call newline
  jmp exit

dbl: dq 10.0, 4.0
cw_zm: dw 0x037b

%include "footer.inc"
