/**
 * x/i line splitting: instruction lengths against nasm (each instruction
 * assembled alone; the file size is the reference length), in 16- and
 * 32-bit code, including prefixes, ModRM/SIB/displacement forms and the 0F map.
 */
import { describe, it, expect } from 'vitest';
import { execFileSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { insnLength } from '../../src/monitor/insn-length.js';
import { TMP } from './helpers.js';

const COMMON = [
  'nop', 'mov eax, ecx', 'mov ax, 0x1234', 'mov eax, 0x12345678', 'mov al, 5', 'add byte [bx+si], 3', 'add dword [eax*4+ebx+0x100], 7',
  'add word [ebp-4], 0x1234', 'mov ecx, [0x12345678]', 'mov al, [0x1234]', 'mov [esp], eax', 'mov [esp+8], eax', 'lea eax, [ecx*8+0x10]',
  'test byte [di], 0x80', 'test dword [ebx], 0x10000', 'not dword [ebx]', 'imul eax, ecx, 100', 'imul eax, ecx, 10000', 'push 0x12', 'push 0x1234',
  'jmp short $+2', 'call $+0x105', 'jz near $+0x200', 'ret 8', 'enter 16, 0', 'int 0x10', 'in al, 0x60', 'rep movsd', 'lock xchg [eax], ecx',
  'mov cr0, eax', 'lgdt [0x1000]', 'shld eax, ecx, 3', 'bt dword [esi], 5', 'movzx eax, byte [esi+1]', 'cmovz eax, [ecx+edx*2+0x44]',
  'rdtsc', 'cpuid', 'bswap eax', 'fld qword [eax]', 'fadd st0, st3', 'fnstsw ax', 'jmp 0x1234:0x5678', 'mov es, [fs:bx+0x10]', 'cmpxchg8b [edi]',
  'xadd [eax+ecx], edx', 'setnz byte [ebp+0x12345678]', 'shr dword [eax], 4', 'out dx, al', 'iret',
];

describe('insnLength agrees with nasm', () => {
  for (const bits of [16, 32] as const) {
    it(`${bits}-bit code`, () => {
      const wrong: string[] = [];
      for (const insn of COMMON) {
        const src = join(TMP, 'one.asm'), bin = join(TMP, 'one.bin');
        writeFileSync(src, `bits ${bits}\n${insn}\n`);
        execFileSync('nasm', ['-f', 'bin', '-o', bin, src]);
        const code = new Uint8Array(readFileSync(bin));
        const padded = new Uint8Array(16); padded.set(code);
        const n = insnLength(padded, bits === 32);
        if (n !== code.length) wrong.push(`${insn}: ${n} vs ${code.length}`);
      }
      expect(wrong).toEqual([]);
    });
  }
  it('returns 0 when the bytes end inside an instruction', () => {
    expect(insnLength(new Uint8Array([0x66, 0xb8, 1, 2]), false)).toBe(0);
  });
});
