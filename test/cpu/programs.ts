/**
 * Minimal machine for the nasm test programs: RAM, the 64 KiB program as a
 * BIOS ROM at 0xFFFF0000 and 0xF0000, an isa-debugcon at port 0xE9 and an
 * isa-debug-exit at 0xF4. Also runs the same image on QEMU when installed.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, existsSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { MemoryBus } from '../../src/memory/memory-bus.js';
import { IoBus, type IoDevice } from '../../src/bus/io-bus.js';
import { Cpu } from '../../src/cpu/cpu.js';
import { MODELS } from '../../src/cpu/models.js';

export const ASM_DIR = join(import.meta.dirname, 'asm');

export function assemble(name: string, defines: string[] = []): Uint8Array {
  const dir = mkdtempSync(join(tmpdir(), 'cpu-asm-'));
  const out = join(dir, `${name}.bin`);
  execFileSync('nasm', ['-f', 'bin', ...defines, '-I', ASM_DIR + '/', '-o', out, join(ASM_DIR, `${name}.asm`)]);
  return new Uint8Array(readFileSync(out));
}

export interface RunResult { output: string; exited: boolean; instructions: number; tripleFault: boolean }

export function runOnCore(image: Uint8Array, maxInstructions = 20_000_000, setup?: (cpu: Cpu) => void): RunResult {
  const mem = new MemoryBus(32 << 20, 1 << 20);
  mem.mapRam(0, 32 << 20);
  const off = mem.addRom(0x100000000 - image.length, image);
  const low = Math.min(image.length, 128 << 10);
  mem.setAccess(0x100000 - low, low, off + image.length - low, -1);
  const io = new IoBus();
  let output = '';
  let exited = false;
  const cpu = new Cpu(mem, io, MODELS.pentium3!);
  const con: IoDevice = { ioRead: () => 0xe9, ioWrite: (_p, _s, v) => { output += String.fromCharCode(v & 0xff); } };
  const exit: IoDevice = { ioRead: () => 0xff, ioWrite: () => { exited = true; cpu.requestStop(); } };
  io.register(0xe9, 1, con, 'debugcon');
  io.register(0xf4, 1, exit, 'debug-exit');
  let tripleFault = false;
  cpu.onShutdown = () => { tripleFault = true; };
  setup?.(cpu);
  let n = 0;
  while (!exited && !tripleFault && n < maxInstructions) {
    const ran = cpu.run(Math.min(1_000_000, maxInstructions - n));
    n += ran;
    if (cpu.halted && !exited) break;
  }
  return { output, exited, instructions: n, tripleFault };
}

export function qemuAvailable(): boolean {
  return spawnSync('qemu-system-i386', ['--version']).status === 0;
}

export function runOnQemu(image: Uint8Array): string {
  const dir = mkdtempSync(join(tmpdir(), 'cpu-qemu-'));
  const bin = join(dir, 'prog.bin'), out = join(dir, 'out.txt');
  writeFileSync(bin, image);
  spawnSync('qemu-system-i386', ['-bios', bin, '-display', 'none', '-nographic', '-no-reboot', '-monitor', 'none', '-serial', 'none',
    '-debugcon', `file:${out}`, '-device', 'isa-debug-exit,iobase=0xf4,iosize=1'], { timeout: 20_000 });
  return existsSync(out) ? readFileSync(out, 'latin1') : '';
}
