; APIC oracle program: programs the local APIC and the IO-APIC the way an OS
; does and prints what it sees on port 0xE9, so the same image can run on
; qemu-system-i386 (-bios) and on qemu-ts. Every line is deterministic: it
; depends on priorities, masks and register contents, never on exact timing.
%include "common.inc"

%define LAPIC   0xFEE00000
%define IOAPIC  0xFEC00000
%define LOG     0x0600          ; byte log of handled vectors
%define LOGLEN  0x05F0          ; dword: bytes in the log
%define SCRATCH 0x05E0          ; dwords written by handlers

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
  ; 8259s quiet: all inputs masked (the PIT already runs after reset)
  mov al, 0xff
  out 0x21, al
  out 0xa1, al
  mov dword [LOGLEN], 0
  ; handlers
  mov edx, 0x8E
  mov ecx, 0x20
  mov eax, h_pic0
  call set_gate
  %macro GATE 1
    mov ecx, %1
    mov eax, h_%1
    call set_gate
  %endmacro
  GATE 0x31
  GATE 0x32
  GATE 0x40
  GATE 0x41
  GATE 0x45
  GATE 0x51
  GATE 0x62
  GATE 0xff

  ; ---- reset state
  TEST "lapic"
  PRINT " ver="
  PHEX [LAPIC+0x30]
  PRINT " id="
  PHEX [LAPIC+0x20]
  PRINT " svr="
  PHEX [LAPIC+0xf0]
  PRINT " dfr="
  PHEX [LAPIC+0xe0]
  PRINT " lint0="
  PHEX [LAPIC+0x350]
  PRINT " lint1="
  PHEX [LAPIC+0x360]
  PRINT " timer="
  PHEX [LAPIC+0x320]
  PRINT " div="
  PHEX [LAPIC+0x3e0]
  TEST "ioapic"
  PRINT " ver="
  mov dword [IOAPIC], 1
  PHEX [IOAPIC+0x10]
  PRINT " rte2="
  mov dword [IOAPIC], 0x14
  PHEX [IOAPIC+0x10]
  mov dword [IOAPIC], 0x15
  PHEX [IOAPIC+0x10]
%ifdef WITH_MSR                          ; needs the CPU's MSR 0x1B hook
  TEST "msr"
  mov ecx, 0x1b
  rdmsr
  call hex32
%endif

  ; ---- priorities: TPR 0x50 holds back classes 4 and 5
  TEST "tpr"
  mov dword [LAPIC+0xf0], 0x1ff          ; software enable, spurious 0xFF
  mov dword [LAPIC+0x80], 0x50
  mov dword [LAPIC+0x300], 0x40045       ; self IPIs
  mov dword [LAPIC+0x300], 0x40062
  mov dword [LAPIC+0x300], 0x40051
  sti
  nop
  nop
  cli
  call showlog
  PRINT " irr2="
  PHEX [LAPIC+0x220]
  PRINT " ppr="
  PHEX [LAPIC+0xa0]
  mov dword [LAPIC+0x80], 0
  sti
  nop
  nop
  cli
  call showlog

  ; ---- timer one-shot, divide by 1
  TEST "oneshot"
  mov dword [LAPIC+0x3e0], 0xb
  mov dword [LAPIC+0x320], 0x40
  mov dword [LAPIC+0x380], 200000        ; 200 us
  sti
  hlt
  cli
  call showlog
  PRINT " cur="
  PHEX [LAPIC+0x390]
  PRINT " init="
  PHEX [LAPIC+0x380]

  ; ---- timer periodic, divide by 16: five interrupts
  TEST "periodic"
  mov dword [LAPIC+0x3e0], 0x3
  mov dword [LAPIC+0x320], 0x20041
  mov dword [LAPIC+0x380], 10000         ; 160 us
  sti
.per:
  hlt
  cmp dword [LOGLEN], 5
  jb .per
  cli
  mov dword [LAPIC+0x320], 0x10041       ; masked
  call showlog
  PRINT " lvt="
  PHEX [LAPIC+0x320]

  ; ---- IO-APIC: PIT (ISA IRQ0) arrives on pin 2, edge
  TEST "ioapic-edge"
  mov al, 0x34                           ; PIT channel 0, mode 2, 1 ms
  out 0x43, al
  mov al, 0xa9
  out 0x40, al
  mov al, 0x04
  out 0x40, al
  mov dword [IOAPIC], 0x15
  mov dword [IOAPIC+0x10], 0             ; destination APIC 0
  mov dword [IOAPIC], 0x14
  mov dword [IOAPIC+0x10], 0x31          ; unmasked, edge, fixed
  sti
  hlt
  cli
  mov dword [IOAPIC+0x10], 0x10031       ; mask again
  call showlog
  PRINT " tmr1="
  PHEX [LAPIC+0x190]

  ; ---- IO-APIC level pin: Remote IRR while in service, cleared by the EOI
  TEST "ioapic-level"
  mov dword [IOAPIC], 0x14
  mov dword [IOAPIC+0x10], 0x8032        ; level, unmasked
  sti
  hlt
  cli
  call showlog
  PRINT " in-service="
  PHEX [SCRATCH]
  PRINT " tmr1="
  PHEX [SCRATCH+4]
  PRINT " after-eoi="
  PHEX [SCRATCH+8]
  PRINT " isr1="
  PHEX [LAPIC+0x110]

  ; ---- 8259 through LINT0 (ExtINT ignores the TPR); LINT0 masked cuts it off
  TEST "extint"
  mov al, 0x11                           ; ICW1..4: master at vector 0x20
  out 0x20, al
  mov al, 0x20
  out 0x21, al
  mov al, 0x04
  out 0x21, al
  mov al, 0x01
  out 0x21, al
  mov al, 0xfe                           ; only IRQ0
  out 0x21, al
  mov dword [LAPIC+0x350], 0x700         ; LINT0: ExtINT, unmasked (as firmware does)
  mov dword [LAPIC+0x80], 0xf0
  sti
  hlt
  cli
  mov dword [LAPIC+0x80], 0
  mov dword [LAPIC+0x350], 0x10700       ; LINT0 masked
  mov dword [LAPIC+0x3e0], 0xb
  mov dword [LAPIC+0x320], 0x40
  mov dword [LAPIC+0x380], 5000000       ; 5 ms: the PIT (1 ms) would have fired
  sti
  hlt
  cli
  mov dword [LAPIC+0x350], 0x700         ; unmasked again: the latched IRQ0 comes in
  sti
  nop
  nop
  cli
  call showlog
  PRINT " lint0="
  PHEX [LAPIC+0x350]
  call newline
  jmp exit

; print and clear the log of handled vectors
showlog:
  push eax
  push ecx
  PRINT " log="
  xor ecx, ecx
.l:
  cmp ecx, [LOGLEN]
  jae .e
  mov al, [LOG+ecx]
  call hex8
  mov al, ' '
  out 0xe9, al
  inc ecx
  jmp .l
.e:
  mov dword [LOGLEN], 0
  pop ecx
  pop eax
  ret

%macro LOGVEC 1
  push eax
  mov eax, [LOGLEN]
  mov byte [LOG+eax], %1
  inc dword [LOGLEN]
  pop eax
%endmacro

%macro HANDLER 1
h_%1:
  LOGVEC %1
  mov dword [LAPIC+0xb0], 0
  iretd
%endmacro
HANDLER 0x31
HANDLER 0x40
HANDLER 0x41
HANDLER 0x45
HANDLER 0x51
HANDLER 0x62

h_0xff:                                  ; spurious: no EOI
  LOGVEC 0xff
  iretd

h_0x32:
  LOGVEC 0x32
  push eax
  mov dword [IOAPIC], 0x14
  mov eax, [IOAPIC+0x10]
  mov [SCRATCH], eax
  mov eax, [LAPIC+0x190]
  mov [SCRATCH+4], eax
  mov dword [IOAPIC+0x10], 0x18032       ; mask before the EOI
  mov dword [LAPIC+0xb0], 0
  mov eax, [IOAPIC+0x10]
  mov [SCRATCH+8], eax
  pop eax
  iretd

h_pic0:
  LOGVEC 0x20
  push eax
  mov al, 0x20
  out 0x20, al
  pop eax
  iretd
%include "footer.inc"
