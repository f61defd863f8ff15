; More protected mode: LAR/LSL/VERR/VERW, ARPL, far transfers to bad targets,
; conforming code from ring 3, RETF/IRET to an outer level nulling data
; segments, trap vs interrupt gates (IF), 16-bit interrupt gate frames.
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
  PRINT "pm32 ok"

  TEST "lar"
  mov eax, 0xffffffff
  mov cx, SEL_DATA
  lar eax, cx
  PHEX eax
  pushfd
  pop eax
  and eax, 0x40
  PHEX eax
  mov cx, SEL_TSS0
  lar eax, cx
  PHEX eax
  mov cx, 0x1f8              ; beyond the GDT: ZF=0
  lar eax, cx
  pushfd
  pop eax
  and eax, 0x40
  PHEX eax
  TEST "lsl"
  mov cx, SEL_SMALL
  lsl eax, cx
  PHEX eax
  mov cx, SEL_CODE32
  lsl eax, cx
  PHEX eax
  mov cx, SEL_TSS0
  lsl eax, cx
  PHEX eax
  TEST "verr"
  mov cx, SEL_CODE32
  verr cx
  pushfd
  pop eax
  and eax, 0x40
  PHEX eax
  verw cx
  pushfd
  pop eax
  and eax, 0x40
  PHEX eax
  mov cx, SEL_DATA
  verw cx
  pushfd
  pop eax
  and eax, 0x40
  PHEX eax
  mov cx, SEL_RODATA
  verw cx
  pushfd
  pop eax
  and eax, 0x40
  PHEX eax
  TEST "arpl"
  mov ax, 0x10
  mov cx, 0x13
  arpl ax, cx
  PHEX eax
  pushfd
  pop eax
  and eax, 0x40
  PHEX eax

  TEST "enter"
  mov ebp, 0x8800
  mov dword [0x8800-4], 0x11111111
  mov dword [0x8800-8], 0x22222222
  mov esi, esp
  enter 0x10, 3
  mov eax, esi
  sub eax, esp
  PHEX eax                   ; bytes used: 4 (EBP) + 8 (2 outer frame pointers) + 4 (new frame) + 16
  PHEX ebp
  PHEX [esp+16]              ; copied frame pointers and the new one
  PHEX [esp+20]
  PHEX [esp+24]
  PHEX [esp+28]
  leave
  mov eax, esi
  sub eax, esp
  PHEX eax
  PHEX ebp
  o16 enter 4, 1             ; 16-bit frame on a 32-bit stack
  mov eax, esi
  sub eax, esp
  PHEX eax
  movzx eax, word [esp+4]
  PHEX eax
  o16 leave
  mov eax, esi
  sub eax, esp
  PHEX eax

  TEST "strings"
  mov edi, 0x3000
  mov ecx, 16
  mov eax, 0x01020304
  cld
  rep stosd
  mov esi, 0x3000
  mov edi, 0x3100
  mov ecx, 7
  rep movsw
  PHEX ecx
  PHEX esi
  PHEX edi
  mov edi, 0x3000
  mov ecx, 64
  mov al, 1
  repne scasb
  PHEX ecx
  PHEX edi
  mov esi, 0x3000
  mov edi, 0x3100
  mov ecx, 32
  repe cmpsb
  PHEX ecx
  pushfd
  pop eax
  and eax, 0x8d5
  PHEX eax
  std
  mov esi, 0x3003
  lodsb
  PHEX eax
  PHEX esi
  cld
  a16 mov si, 0x3000 & 0xffff
  mov ecx, 2
  a16 rep lodsw              ; 16-bit addressing: SI/CX
  PHEX esi
  PHEX ecx

  TEST "cx8"
  mov dword [0x3200], 0x11112222
  mov dword [0x3204], 0x33334444
  mov eax, 0x11112222
  mov edx, 0x33334444
  mov ebx, 0xaaaabbbb
  mov ecx, 0xccccdddd
  lock cmpxchg8b [0x3200]
  pushfd
  pop esi
  and esi, 0x40
  PHEX esi
  PHEX [0x3200]
  PHEX [0x3204]
  cmpxchg8b [0x3200]         ; now unequal: EDX:EAX loaded
  pushfd
  pop esi
  and esi, 0x40
  PHEX esi
  PHEX eax
  PHEX edx

  TEST "bitstr"
  mov dword [0x3300], 0
  mov dword [0x3304], 0
  mov dword [0x32fc], 0
  mov eax, 37
  bts [0x3300], eax          ; bit 37: dword at +4, bit 5
  mov eax, -3
  bts [0x3300], eax          ; bit -3: dword at -4, bit 29
  PHEX [0x3304]
  PHEX [0x32fc]
  mov eax, 37
  btr [0x3300], eax
  setc al
  movzx eax, al
  PHEX eax
  mov ax, -1
  bt word [0x3300], ax       ; 16-bit: word at -2, bit 15
  setc al
  movzx eax, al
  PHEX eax

  TEST "memrmw"
  mov dword [0x3400], 10
  mov eax, 5
  lock xadd [0x3400], eax
  PHEX eax
  PHEX [0x3400]
  mov dword [0x3404], 0x80000001
  mov cl, 4
  shld [0x3404], eax, cl
  PHEX [0x3404]
  mov ebx, 0x3410
  mov byte [0x3415], 0x77
  mov al, 5
  xlatb
  movzx eax, al
  PHEX eax
  mov dword [0x3420], 0x1234
  lock neg dword [0x3420]
  PHEX [0x3420]
  lock not word [0x3420]
  PHEX [0x3420]

  TEST "jmpdata"
  RESUME_AT .j1
  jmp SEL_DATA:0             ; #GP(0x10)
.j1:
  TEST "jmpnp"
  RESUME_AT .j2
  ; not-present code segment at 0x70: reuse the not-present data descriptor as code
  mov dword [GDT_RAM+0x70+4], 0x00CF1B0F
  jmp 0x70:0                 ; #NP(0x70)
.j2:
  TEST "jmpnull"
  RESUME_AT .j3
  jmp 0:0                    ; #GP(0)
.j3:
  TEST "gates"
  ; vector 0x40 trap gate (IF stays), 0x41 interrupt gate (IF cleared)
  mov eax, show_if
  mov ecx, 0x40
  mov edx, 0x8F
  call set_gate
  mov ecx, 0x41
  mov edx, 0x8E
  call set_gate
  ; 0x42: 16-bit interrupt gate to a 16-bit handler (frame of words)
  mov eax, h16
  mov ecx, 0x42
  mov edx, 0x86
  call set_gate
  mov word [IDT_RAM+0x42*8+2], SEL_CODE16
  mov word [IDT_RAM+0x42*8+6], 0
  sti
  int 0x40
  int 0x41
  cli
  mov dword [0x680], 0
  mov ebx, esp
  int 0x42
  PHEX [0x680]
  sub ebx, esp
  PHEX ebx

  TEST "conforming"
  mov eax, int80
  mov ecx, 0x80
  mov edx, 0xEE
  call set_gate
  mov eax, finish
  mov ecx, 0x81
  call set_gate
  push dword SEL_DATA3
  push dword STACK3
  push dword 0x002
  push dword SEL_CODE3
  push dword r3
  iretd

show_if:
  pushfd
  pop eax
  and eax, 0x200
  PHEX eax
  iretd

bits 16
h16:
  ; 16-bit handler: IP, CS, FLAGS words on the stack
  push bp
  mov bp, sp
  mov ax, [bp+4]
  mov [0x680], ax            ; CS pushed as a word
  pop bp
  iret
bits 32

r3:
  mov ax, SEL_DATA3
  mov ds, ax
  ; far call to the ring-0 conforming segment: runs at CPL 3
  call SEL_CONFORM:conf
  TEST "retf_outer"
  ; ring 0 loads DS with a DPL0 selector, then IRETs to ring 3: DS must be nulled
  int 0x80
  xor ebx, ebx
  mov bx, ds                 ; read before reloading: null after the return to ring 3
  mov ax, SEL_DATA3
  mov ds, ax
  PHEX ebx
  int 0x81                   ; back to ring 0 to finish

conf:
  mov ax, cs
  PHEX eax                   ; selector 0x68 | RPL... CPL stays 3
  mov ax, ss
  PHEX eax
  retf

int80:
  mov ax, SEL_DATA
  mov ds, ax
  iretd

finish:
  mov ax, SEL_DATA
  mov ds, ax
  TEST "done"
  call newline
  jmp exit

%include "footer.inc"
