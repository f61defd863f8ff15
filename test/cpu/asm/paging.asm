; Paging: 2-level 4 KiB pages, PSE 4 MiB pages, PAE with 2 MiB pages,
; #PF error codes and CR2, CR0.WP, accessed/dirty bits, INVLPG and CR3 flush,
; user/supervisor checks from ring 3.
%include "common.inc"

%define PD   0x20000
%define PT0  0x21000
%define PT3  0x23000
%define PDPT 0x24000
%define PAEPD 0x25000
%define PAEPT 0x26000

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
  ; int 0x80 (DPL3): return to ring 0 at the address in EBX
  mov eax, back0
  mov ecx, 0x80
  mov edx, 0xEE
  call set_gate

  ; ---- page tables: identity map 0-4 MiB (user, RW)
  mov edi, PD
  mov ecx, 0x4000/4
  xor eax, eax
  rep stosd
  mov edi, PT0
  mov eax, 0x007
  mov ecx, 1024
.pt: stosd
  add eax, 0x1000
  loop .pt
  mov dword [PD], PT0 | 7
  mov dword [PD+3*4], PT3 | 7          ; present PDE, PTEs all not present
  mov dword [PT0+0x300*4], 0           ; 0x300000 not present
  mov dword [PT0+0x301*4], 0x301000 | 5 ; read-only user
  mov dword [PT0+0x302*4], 0x302000 | 3 ; supervisor RW
  mov dword [PT0+0x303*4], 0x303000 | 7 ; user RW (A/D test)
  mov dword [0x304000], 0x44444444
  mov dword [0x305000], 0x55555555
  mov eax, PD
  mov cr3, eax
  mov eax, cr0
  or eax, 0x80000000
  mov cr0, eax
  PRINT "paging on"

  TEST "np_read"
  RESUME_AT .a1
  mov eax, [0x300000]
.a1:
  TEST "np_write"
  RESUME_AT .a2
  mov dword [0x300004], 1
.a2:
  TEST "pde_np"
  RESUME_AT .a3
  mov eax, [0x800000]
.a3:
  TEST "pde_a"
  RESUME_AT .a4
  mov eax, [0xC00000]
.a4:
  mov eax, [PD+3*4]
  and eax, 0x20
  PHEX eax
  TEST "fetch"
  RESUME_AT .a5
  mov eax, 0x300000 - ROM
  call eax
.a5:
  TEST "ro_wp0"
  RESUME_AT .a6
  mov dword [0x301000], 0x11
  PRINT " ok"
.a6:
  TEST "ro_wp1"
  RESUME_AT .a7
  mov eax, cr0
  or eax, 0x10000
  mov cr0, eax
  mov dword [0x301000], 0x22
.a7:
  mov eax, [0x301000]
  PHEX eax
  TEST "ad"
  mov eax, [PT0+0x303*4]
  and eax, 0x60
  PHEX eax
  mov eax, [0x303000]
  mov eax, [PT0+0x303*4]
  and eax, 0x60
  PHEX eax
  mov dword [0x303000], 7
  mov eax, [PT0+0x303*4]
  and eax, 0x60
  PHEX eax
  TEST "invlpg"
  mov dword [PT0+0x303*4], 0x304000 | 7
  invlpg [0x303000]
  mov eax, [0x303000]
  PHEX eax
  TEST "cr3flush"
  mov dword [PT0+0x303*4], 0x305000 | 7
  mov eax, cr3
  mov cr3, eax
  mov eax, [0x303000]
  PHEX eax
  TEST "pse"
  mov eax, cr4
  or eax, 0x10
  mov cr4, eax
  mov dword [PD+1*4], 0x000000 | 0x87  ; 4 MiB page: linear 0x400000 -> physical 0
  mov dword [0x600], 0xfeedf00d
  mov eax, [0x400600]
  PHEX eax
  mov dword [0x400604], 0xcafe
  mov eax, [0x604]
  PHEX eax
  mov eax, [PD+1*4]
  and eax, 0x60
  PHEX eax

  ; ---- ring 3 checks
  TEST "ring3"
  push dword SEL_DATA3
  push dword STACK3
  push dword 0x002
  push dword SEL_CODE3
  push dword r3
  iretd
r3:
  mov ax, SEL_DATA3
  mov ds, ax
  mov es, ax
  PRINT " cpl3"
  TEST "u_sup_read"
  mov dword [RESUME], .b1
  mov eax, [0x302000]
.b1:
  TEST "u_ro_write"
  mov dword [RESUME], .b2
  mov dword [0x301000], 1
.b2:
  TEST "u_np_read"
  mov dword [RESUME], .b3
  mov eax, [0x300000]
.b3:
  TEST "u_ok"
  mov eax, [0x301000]
  PHEX eax
  mov ebx, pae
  int 0x80

back0:
  mov ax, SEL_DATA
  mov ds, ax
  mov es, ax
  mov esp, STACK0
  jmp ebx

pae:
  ; ---- PAE: PDPT -> PD -> PT, 2 MiB large page
  TEST "pae"
  mov eax, cr0
  and eax, 0x7fffffff
  mov cr0, eax
  mov edi, PDPT
  mov ecx, 0x3000/4
  xor eax, eax
  rep stosd
  mov dword [PDPT], PAEPD | 1
  mov dword [PAEPD], PAEPT | 7
  mov dword [PAEPD+8], 0x000000 | 0x87  ; 2 MiB page: linear 0x200000 -> physical 0
  mov edi, PAEPT
  mov eax, 7
  mov ecx, 512
.p: mov [edi], eax
  mov dword [edi+4], 0
  add edi, 8
  add eax, 0x1000
  loop .p
  mov eax, cr4
  or eax, 0x20
  mov cr4, eax
  mov eax, PDPT
  mov cr3, eax
  mov eax, cr0
  or eax, 0x80000000
  mov cr0, eax
  PRINT " on"
  mov dword [0x608], 0x12345678
  mov eax, [0x200608]
  PHEX eax
  TEST "pae_np"
  RESUME_AT .c1
  mov eax, [0x400000]
.c1:
  TEST "pae_wp"
  mov dword [PAEPT+0x100*8], 0x100000 | 5   ; read-only 0x100000
  invlpg [0x100000]
  RESUME_AT .c2
  mov dword [0x100000], 1
.c2:
  TEST "pae_ad"
  mov eax, [PAEPD+8]
  and eax, 0x60
  PHEX eax
  TEST "done"
  call newline
  jmp exit

%include "footer.inc"
