import { describe, it, expect } from 'vitest';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { MemoryBus } from '../../src/memory/memory-bus.js';
import { IoBus } from '../../src/bus/io-bus.js';
import type { InterruptController } from '../../src/bus/irq.js';
import { Cpu } from '../../src/cpu/cpu.js';
import { MODELS } from '../../src/cpu/models.js';

/** Assemble a real-mode snippet at 0000:1000. */
function asm(src: string): Uint8Array {
  const dir = mkdtempSync(join(tmpdir(), 'cpu-snip-'));
  writeFileSync(join(dir, 's.asm'), `bits 16\norg 0x1000\n${src}\n`);
  execFileSync('nasm', ['-f', 'bin', '-o', join(dir, 's.bin'), join(dir, 's.asm')]);
  return new Uint8Array(readFileSync(join(dir, 's.bin')));
}

class FakePic implements InterruptController {
  pending: number[] = [];
  acks = 0;
  hasInterrupt(): boolean { return this.pending.length > 0; }
  acknowledge(): number { this.acks++; return this.pending.shift()!; }
}

function machine(code: Uint8Array, model = MODELS.pentium3!): { cpu: Cpu; mem: MemoryBus; out: number[] } {
  const mem = new MemoryBus(2 << 20, 1 << 16);
  mem.mapRam(0, 2 << 20);
  mem.mem.set(code, 0x1000);
  const io = new IoBus();
  const out: number[] = [];
  io.register(0xe9, 1, { ioRead: () => 0, ioWrite: (_p, _s, v) => { out.push(v); } }, 'con');
  const cpu = new Cpu(mem, io, model);
  for (let s = 0; s < 6; s++) cpu.setSegmentReal(s, 0);
  cpu.eip = 0x1000;
  cpu.esp = 0x8000;
  return { cpu, mem, out };
}

/** Point IVT vector `v` at 0000:off. */
function ivt(mem: MemoryBus, v: number, off: number): void {
  mem.mem[v * 4] = off & 0xff; mem.mem[v * 4 + 1] = off >> 8; mem.mem[v * 4 + 2] = 0; mem.mem[v * 4 + 3] = 0;
}

describe('CPU core contract', () => {
  it('power-on state matches the SDM reset values', () => {
    const { cpu } = machine(new Uint8Array(0));
    cpu.reset();
    expect(cpu.segSel[1]).toBe(0xf000);
    expect(cpu.segBase[1]! >>> 0).toBe(0xffff0000);
    expect(cpu.eip).toBe(0xfff0);
    expect(cpu.edx).toBe(0x673); // family 6 model 7 stepping 3
    expect(cpu.cr0 >>> 0).toBe(0x60000010);
    expect(cpu.eflags).toBe(2);
    expect(cpu.pc).toBe(0xfffffff0);
  });

  it('CPUID reports the model and only implemented features', () => {
    const { cpu } = machine(asm('xor eax,eax\ncpuid\nmov [0x500],ebx\nmov [0x504],edx\nmov [0x508],ecx\nmov eax,1\ncpuid\nmov [0x510],eax\nmov [0x514],edx\nhlt'));
    const mem = cpu.mem.mem;
    cpu.run(100);
    expect(new TextDecoder().decode(mem.subarray(0x500, 0x50c))).toBe('GenuineIntel');
    const sig = mem[0x510]! | (mem[0x511]! << 8);
    expect(sig).toBe(0x673);
    const edx = (mem[0x514]! | (mem[0x515]! << 8) | (mem[0x516]! << 16) | (mem[0x517]! << 24)) >>> 0;
    expect(edx & 1).toBe(1); // FPU attached
    expect(edx & (1 << 15)).not.toBe(0); // CMOV
    expect(edx & (1 << 8)).not.toBe(0); // CX8
    expect(edx & ((1 << 23) | (1 << 25) | (1 << 26))).toBe(0); // no MMX/SSE/SSE2
    expect(edx & (1 << 9)).toBe(0); // no local APIC advertised
  });

  it('RDTSC reads the machine TSC source; WRMSR 0x10 rebases it', () => {
    const { cpu, mem } = machine(asm('rdtsc\nmov [0x500],eax\nmov [0x504],edx\nxor eax,eax\nmov edx,1\nmov ecx,0x10\nwrmsr\nrdtsc\nmov [0x508],eax\nmov [0x50c],edx\nhlt'));
    let t = 5_000_000_000;
    cpu.tscSource = () => t;
    cpu.reset(); for (let s = 0; s < 6; s++) cpu.setSegmentReal(s, 0); cpu.eip = 0x1000; cpu.esp = 0x8000;
    t += 1000;
    cpu.run(100);
    const rd = (a: number): number => (mem.mem[a]! | (mem.mem[a + 1]! << 8) | (mem.mem[a + 2]! << 16) | (mem.mem[a + 3]! << 24)) >>> 0;
    expect(rd(0x500) + rd(0x504) * 2 ** 32).toBe(1000);
    expect(rd(0x508)).toBe(0); expect(rd(0x50c)).toBe(1);
  });

  it('HLT gives the host its time back; an interrupt wakes it through the IVT', () => {
    const { cpu, mem, out } = machine(asm('sti\nhlt\nmov al,2\nout 0xe9,al\nhlt\ntimes 0x100-($-$$) nop\nhandler: mov al,1\nout 0xe9,al\niret'));
    const pic = new FakePic();
    cpu.intc = pic;
    ivt(mem, 0x20, 0x1100);
    const n = cpu.run(1000);
    expect(cpu.halted).toBe(true);
    expect(n).toBe(2);
    expect(cpu.run(1000)).toBe(0); // still halted, nothing pending
    pic.pending.push(0x20);
    cpu.run(1000);
    expect(out).toEqual([1, 2]);
    expect(pic.acks).toBe(1);
  });

  it('STI and MOV SS hold off interrupts for one instruction; CLI blocks them', () => {
    const { cpu, mem, out } = machine(asm('cli\nmov al,9\nout 0xe9,al\nsti\nmov al,3\nout 0xe9,al\ncli\nmov ss,ax\nsti\nmov ss,ax\nmov al,4\nout 0xe9,al\nhlt\ntimes 0x100-($-$$) nop\nhandler: out 0xe9,al\niret'));
    const pic = new FakePic();
    cpu.intc = pic;
    pic.pending.push(0x21);
    ivt(mem, 0x21, 0x1100);
    cpu.run(9);
    // not before STI (IF=0), not right after STI (shadow): after "mov al,3", so the handler outputs 3
    expect(out).toEqual([9, 3, 3]);
    pic.pending.push(0x21);
    cpu.run(1000);
    // STI's shadow then MOV SS's shadow: the interrupt is taken after "mov al,4"
    expect(out).toEqual([9, 3, 3, 4, 4]);
  });

  it('NMI is taken with IF=0 and blocked until IRET', () => {
    const { cpu, mem, out } = machine(asm('cli\nnop\nnop\nmov al,8\nout 0xe9,al\nhlt\ntimes 0x100-($-$$) nop\nnmi: mov al,7\nout 0xe9,al\nnop\niret'));
    ivt(mem, 2, 0x1100);
    cpu.run(1);
    cpu.nmi();
    cpu.run(2); // into the handler
    cpu.nmi(); // latched while the first NMI is in service
    cpu.run(2);
    expect(out).toEqual([7]);
    cpu.run(100);
    expect(out).toEqual([7, 7, 8]);
  });

  it('A20 gate: with A20 masked, 0x100000 aliases 0x000000', () => {
    const { cpu, mem } = machine(asm('mov ax,0xffff\nmov es,ax\nmov byte [es:0x10],0x5a\nhlt'));
    cpu.setA20(false);
    cpu.run(100);
    expect(mem.mem[0]).toBe(0x5a);
    expect(mem.mem[0x100000]).toBe(0);
    const b = machine(asm('mov ax,0xffff\nmov es,ax\nmov byte [es:0x10],0x5a\nhlt'));
    b.cpu.run(100);
    expect(b.mem.mem[0x100000]).toBe(0x5a);
  });

  it('self-modifying code: a store into the next instruction takes effect', () => {
    const { cpu, out } = machine(asm('mov byte [patch+1],0x42\npatch: mov al,0x11\nout 0xe9,al\nhlt'));
    cpu.run(100);
    expect(out).toEqual([0x42]);
  });

  it('DMA writes to code are executed', () => {
    const { cpu, mem, out } = machine(asm('l: mov al,0x11\nout 0xe9,al\ncmp al,0x11\nje l\nhlt'));
    cpu.run(3);
    mem.writeBytes(0x1001, new Uint8Array([0x22]));
    cpu.run(100);
    expect(out).toEqual([0x11, 0x22]);
  });

  it('SYSENTER/SYSEXIT switch to the flat ring-0 / ring-3 segments from the MSRs', () => {
    const { cpu } = machine(new Uint8Array(0));
    cpu.cr0 |= 1;
    cpu.setSegCache(1, 0x1b, 0x0000ffff, 0x00cffb00); cpu.cpl = 3; cpu.selectTlb(); cpu.modeChanged();
    cpu.setSegCache(2, 0x23, 0x0000ffff, 0x00cff300);
    cpu.sysenterCs = 0x10; cpu.sysenterEsp = 0x7000; cpu.sysenterEip = 0x3000;
    cpu.mem.mem.set([0x0f, 0x34], 0x1000); // sysenter
    cpu.mem.mem.set([0xb9, 0x00, 0x60, 0, 0, 0xba, 0x10, 0x10, 0, 0, 0x0f, 0x35], 0x3000); // mov ecx,0x6000; mov edx,0x1010; sysexit
    cpu.eip = 0x1000;
    cpu.run(1);
    expect([cpu.segSel[1], cpu.segSel[2], cpu.cpl, cpu.esp, cpu.eip]).toEqual([0x10, 0x18, 0, 0x7000, 0x3000]);
    cpu.run(3);
    expect([cpu.segSel[1], cpu.segSel[2], cpu.cpl, cpu.esp, cpu.eip]).toEqual([0x23, 0x2b, 3, 0x6000, 0x1010]);
  });

  it('triple fault reports a shutdown to the machine', () => {
    const { cpu } = machine(asm('lidt [idt]\nint3\nidt: dw 0\ndd 0'));
    let why = '';
    cpu.onShutdown = (r) => { why = r; };
    cpu.run(100);
    expect(why).toBe('triple-fault');
  });

  it('saveState/loadState round-trips through JSON', () => {
    const a = machine(asm('mov eax,0x12345678\nmov bx,0x2000\nmov ds,bx\nstd\nhlt'));
    a.cpu.run(100);
    const s = JSON.parse(JSON.stringify(a.cpu.saveState()));
    const b = machine(new Uint8Array(0));
    b.cpu.loadState(s);
    expect(b.cpu.eax).toBe(0x12345678);
    expect(b.cpu.segSel[3]).toBe(0x2000);
    expect(b.cpu.segBase[3]).toBe(0x20000);
    expect(b.cpu.eflags & 0x400).toBe(0x400);
    expect(b.cpu.halted).toBe(true);
    expect(JSON.stringify(b.cpu.saveState())).toBe(JSON.stringify(s));
  });

  it('x87 opcodes raise #NM with CR0.EM and #UD on a model without FPU', () => {
    const a = machine(asm('fninit\nhlt'), MODELS['i486-nofpu']);
    ivt(a.mem, 6, 0x2000); a.mem.mem[0x2000] = 0xf4;
    a.cpu.run(10);
    expect(a.cpu.lastVector).toBe(6);
    const b = machine(asm('mov eax,cr0\nor al,4\nmov cr0,eax\nfld1\nhlt'));
    ivt(b.mem, 7, 0x2000); b.mem.mem[0x2000] = 0xf4;
    b.cpu.run(20);
    expect(b.cpu.lastVector).toBe(7);
  });
});

describe('EMMS', () => {
  it('tags every x87 register empty (tag word FFFFh), leaving TOP alone; #UD without an FPU', () => {
    const { cpu, mem } = machine(asm('fninit\nfld1\nfnstenv [0x3000]\nemms\nfnstenv [0x3020]\nhlt'));
    cpu.run(20);
    const tw = (a: number) => mem.mem[a + 4]! | (mem.mem[a + 5]! << 8);
    const top = (a: number) => ((mem.mem[a + 2]! | (mem.mem[a + 3]! << 8)) >> 11) & 7;
    expect(tw(0x3000)).toBe(0x3fff); // ST0 (physical 7) holds 1.0: valid
    expect(tw(0x3020)).toBe(0xffff);
    expect(top(0x3020)).toBe(top(0x3000));
    const n = machine(asm('emms\nhlt'), MODELS['i486-nofpu']);
    ivt(n.mem, 6, 0x2000); n.mem.mem[0x2000] = 0xf4;
    n.cpu.run(10);
    expect(n.cpu.lastVector).toBe(6);
  });
});

describe('x87 error reporting with CR0.NE = 0', () => {
  it('asserts FERR# (IRQ 13 path) at the next waiting instruction and drops it after FNCLEX', () => {
    const { cpu } = machine(asm('fninit\nfldcw [cw]\nfld1\nfldz\nfdivp st1,st0\nfld1\nfnclex\nfld1\nhlt\ncw: dw 0x037b'));
    cpu.cr0 &= ~0x20; // NE = 0
    const levels: boolean[] = [];
    cpu.onFerr = (l) => { levels.push(l); };
    cpu.run(100);
    expect(cpu.lastVector).toBe(-1); // no #MF
    expect(levels).toEqual([true, false]);
  });
});

describe('tracing', () => {
  it('-d in_asm logs each executed instruction with its bytes, -d int in QEMU format', () => {
    const { cpu, mem } = machine(asm('mov ax,0x1234\njmp short next\nnop\nnext: int 0x30\nhlt'));
    ivt(mem, 0x30, 0x2000); mem.mem[0x2000] = 0xf4;
    const lines: string[] = [];
    cpu.trace = { inAsm: true, int: true, cpu: false, exec: false, log: (l) => lines.push(l) };
    cpu.run(10);
    expect(lines).toEqual([
      '0x00001000:  b8 34 12',
      '0x00001003:  eb 01',
      '     0: v=30 e=0000 i=1 cpl=0 IP=0000:00001008 pc=00001008 SP=0000:00008000 env->regs[R_EAX]=00001234',
      '0x00001006:  cd 30',
      '0x00002000:  f4',
    ]);
  });
});

describe('x87 integration', () => {
  function asm32(src: string): Uint8Array {
    const dir = mkdtempSync(join(tmpdir(), 'cpu-snip-'));
    writeFileSync(join(dir, 's.asm'), `bits 32\norg 0x1000\n${src}\n`);
    execFileSync('nasm', ['-f', 'bin', '-o', join(dir, 's.bin'), join(dir, 's.asm')]);
    return new Uint8Array(readFileSync(join(dir, 's.bin')));
  }
  const rd16 = (mem: MemoryBus, a: number): number => mem.mem[a]! | (mem.mem[a + 1]! << 8);
  const rd32 = (mem: MemoryBus, a: number): number => (rd16(mem, a) | (rd16(mem, a + 2) << 16)) >>> 0;

  it('FSTENV in protected mode stores the operand offset (not the linear address) as FDP', () => {
    const { cpu, mem } = machine(asm32('fninit\nfld dword [0x100]\nfnstenv [0x200]\nhlt'));
    cpu.cr0 |= 1;
    cpu.setSegCache(1, 0x08, 0x0000ffff, 0x00cf9b00); // flat 32-bit code
    for (const s of [0, 2, 4, 5]) cpu.setSegCache(s, 0x10, 0x0000ffff, 0x00cf9300);
    cpu.setSegCache(3, 0x18, 0x0000ffff, 0x00cf9301); // DS base 0x10000
    cpu.modeChanged();
    cpu.eip = 0x1000;
    cpu.run(10);
    expect(cpu.halted).toBe(true);
    const env = 0x10200;
    expect(rd32(mem, env + 12)).toBe(0x1002); // FIP: offset of FLD
    expect(rd16(mem, env + 16)).toBe(0x08); // FCS
    expect(rd32(mem, env + 20)).toBe(0x100); // FDP: offset within DS
    expect(rd16(mem, env + 24)).toBe(0x18); // FDS
  });

  it('FSTENV in V86 mode uses the real-mode layout (linear 20-bit pointers)', () => {
    const { cpu, mem } = machine(asm('fninit\nfld dword [0x100]\nfnstenv [0x200]\nhlt'));
    cpu.cr0 |= 1;
    cpu.setSegmentReal(3, 0x1234);
    cpu.eflags = 0x20002; // VM
    cpu.eip = 0x1000;
    cpu.run(3);
    const env = 0x12340 + 0x200;
    expect(rd16(mem, env + 6)).toBe(0x1002); // IP 15..0
    expect(rd16(mem, env + 8) & 0xf000).toBe(0); // IP 19..16
    expect(rd16(mem, env + 10)).toBe(0x2440); // DP 15..0 of linear 0x12440
    expect(rd16(mem, env + 12)).toBe(0x1000); // DP 19..16 << 12
  });

  it('reserved x87 encodings raise #UD', () => {
    // D9 /1 with a memory operand, DD /5 with a memory operand, D9 D1
    for (const code of ['db 0xd9, 0x0e, 0x00, 0x05', 'db 0xdd, 0x2e, 0x00, 0x05', 'db 0xd9, 0xd1']) {
      const { cpu, mem } = machine(asm(`fninit\n${code}\nhlt`));
      ivt(mem, 6, 0x2000); mem.mem[0x2000] = 0xf4;
      cpu.run(10);
      expect(cpu.lastVector).toBe(6);
      expect(cpu.eip).toBe(0x2001);
    }
    const ok = machine(asm('fninit\nfnop\nhlt'));
    ok.cpu.run(10);
    expect(ok.cpu.lastVector).toBe(-1);
  });
});

describe('time inside a slice', () => {
  it('instructionsInSlice() counts the instructions completed before a port access, on the fast and the slow path', () => {
    const { cpu, mem } = machine(asm('nop\nnop\nnop\nin al,0x40\nnop\nout 0x40,al\nrdtsc\nmov [0x600],eax\nhlt'));
    const seen: number[] = [];
    const io = (cpu as unknown as { io: IoBus }).io;
    io.register(0x40, 1, { ioRead: () => { seen.push(cpu.instructionsInSlice()); return 0; }, ioWrite: () => { seen.push(cpu.instructionsInSlice()); } }, 'pit');
    expect(cpu.instructionsInSlice()).toBe(0);
    cpu.run(100);
    // IN is the 4th instruction (3 before it); OUT the 6th, run right after the I/O slow path
    expect(seen).toEqual([3, 5]);
    // default TSC = instructions retired: RDTSC is the 7th instruction of the first slice
    expect(mem.mem[0x600]).toBe(6);
    expect(cpu.instructionsInSlice()).toBe(0);
    // a second slice starts counting at 0 again
    cpu.halted = false; cpu.eip = 0x1000; seen.length = 0;
    cpu.run(100);
    expect(seen).toEqual([3, 5]);
  });
});

describe('decoder fast path', () => {
  it('32-bit ModRM/SIB/disp32 decode gives the same result wherever the instruction sits relative to a page end', () => {
    // mov eax,[ebx+esi*4+0x100] ; mov [edi+0x200],eax ; hlt  placed at every offset around a page boundary
    const insn = [0x8b, 0x84, 0xb3, 0x00, 0x01, 0x00, 0x00, 0x89, 0x87, 0x00, 0x02, 0x00, 0x00, 0xf4];
    for (let start = 0x1ff0; start <= 0x2000; start++) {
      const { cpu, mem } = machine(new Uint8Array(0));
      mem.mem.set(insn, start);
      cpu.cr0 |= 1;
      cpu.setSegCache(1, 0x08, 0x0000ffff, 0x00cf9b00);
      for (const s of [0, 2, 3, 4, 5]) cpu.setSegCache(s, 0x10, 0x0000ffff, 0x00cf9300);
      cpu.modeChanged();
      cpu.eip = start;
      cpu.ebx = 0x30000; cpu.esi = 3; cpu.edi = 0x40000;
      mem.mem.set([0x78, 0x56, 0x34, 0x12], 0x30000 + 12 + 0x100);
      cpu.run(10);
      expect(cpu.halted).toBe(true);
      expect(cpu.eip).toBe(start + insn.length);
      expect(cpu.eax).toBe(0x12345678);
      expect(mem.mem[0x40200]).toBe(0x78);
      expect(mem.mem[0x40203]).toBe(0x12);
    }
  });
});

describe('Jcc after CMP', () => {
  it('every condition taken/not taken as SETcc computes it (short and near forms, 8/16/32-bit compares)', () => {
    const vals = [0, 1, 2, 0x7f, 0x80, 0x81, 0xff, 0x7fff, 0x8000, 0xffff, 0x10000, 0x7fffffff, 0x80000000, 0x80000001, 0xfffffffe, 0xffffffff, 0x12345678, 0x9abcdef0];
    const cmps = [[0x38, 0xd8], [0x66, 0x39, 0xd8], [0x39, 0xd8], [0x83, 0xf8, 0x80], [0x3d, 0x00, 0x80, 0x00, 0x00]]; // cmp al,bl / ax,bx / eax,ebx / eax,-128 / eax,0x8000
    let checked = 0;
    for (const cmp of cmps) {
      for (let cc = 0; cc < 16; cc++) {
        for (const near of [false, true]) {
          const jcc = near ? [0x0f, 0x80 | cc, 0x03, 0x00, 0x00, 0x00] : [0x70 | cc, 0x03];
          // cmp ; setcc dl ; jcc +3 ; mov cl,0 ; hlt ; mov cl,1 ; hlt
          const code = [...cmp, 0x0f, 0x90 | cc, 0xc2, ...jcc, 0xb1, 0x00, 0xf4, 0xb1, 0x01, 0xf4];
          const { cpu, mem } = machine(new Uint8Array(0));
          mem.mem.set(code, 0x3000);
          cpu.cr0 |= 1;
          cpu.setSegCache(1, 0x08, 0x0000ffff, 0x00cf9b00);
          for (const s of [0, 2, 3, 4, 5]) cpu.setSegCache(s, 0x10, 0x0000ffff, 0x00cf9300);
          cpu.modeChanged();
          for (const a of vals) {
            for (const b of vals) {
              cpu.halted = false; cpu.eip = 0x3000; cpu.eax = a; cpu.ebx = b; cpu.ecx = 0xff; cpu.edx = 0xff;
              cpu.run(10);
              expect(cpu.ecx & 0xff, `cc=${cc} a=${a.toString(16)} b=${b.toString(16)} cmp=${cmp}`).toBe(cpu.edx & 0xff);
              checked++;
            }
          }
        }
      }
    }
    expect(checked).toBe(5 * 16 * 2 * vals.length * vals.length);
  });
});
