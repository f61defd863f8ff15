#!/usr/bin/env node
// CPU core speed: millions of guest instructions per second (MIPS) on a
// CPU-bound loop and a memory-heavy loop, both 32-bit protected-mode flat code.
// Uses the compiled core in dist/ (runs `tsc` first when dist/ is missing).
import { existsSync } from 'node:fs';
import { execFileSync } from 'node:child_process';
import { cpus } from 'node:os';
import { fileURLToPath } from 'node:url';
import { dirname, join } from 'node:path';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
if (!existsSync(join(root, 'dist/cpu/cpu.js')) || process.argv.includes('--build')) {
  try { execFileSync('npx', ['tsc', '-p', 'tsconfig.json'], { cwd: root, stdio: 'ignore' }); } catch { /* emits despite errors elsewhere */ }
}
const { MemoryBus } = await import(join(root, 'dist/memory/memory-bus.js'));
const { IoBus } = await import(join(root, 'dist/bus/io-bus.js'));
const { Cpu } = await import(join(root, 'dist/cpu/cpu.js'));
const { MODELS } = await import(join(root, 'dist/cpu/models.js'));

const CODE = 0x10000;
const programs = {
  // add/xor/shl/adc/inc/dec/jnz: 7 instructions per iteration, registers only
  'cpu-bound': [0xb9, 0xff, 0xff, 0xff, 0x7f, 0x01, 0xd8, 0x31, 0xc2, 0xd1, 0xe3, 0x11, 0xfe, 0x47, 0x49, 0x75, 0xf4, 0xf4],
  // load/add/store/add/and/push/pop/dec/jnz over a 1 MiB buffer: 9 instructions per iteration
  'memory-heavy': [0xbe, 0x00, 0x00, 0x00, 0x00, 0xb9, 0xff, 0xff, 0xff, 0x7f,
    0x8b, 0x86, 0x00, 0x00, 0x10, 0x00, 0x01, 0xc8, 0x89, 0x86, 0x04, 0x00, 0x10, 0x00, 0x83, 0xc6, 0x04,
    0x81, 0xe6, 0xff, 0xff, 0x0f, 0x00, 0x50, 0x5a, 0x49, 0x75, 0xe4, 0xf4],
};

function setup(bytes) {
  const mem = new MemoryBus(4 << 20, 1 << 16);
  mem.mapRam(0, 4 << 20);
  mem.mem.set(bytes, CODE);
  const cpu = new Cpu(mem, new IoBus(), MODELS.pentium3);
  // flat 32-bit protected mode, CPL 0
  cpu.cr0 |= 1;
  const code = [0x0000ffff, 0x00cf9b00], data = [0x0000ffff, 0x00cf9300];
  cpu.setSegCache(1, 0x08, code[0], code[1]);
  for (const s of [0, 2, 3, 4, 5]) cpu.setSegCache(s, 0x10, data[0], data[1]);
  cpu.modeChanged();
  cpu.eip = CODE;
  cpu.esp = 0x80000;
  return cpu;
}

function bench(name, seconds) {
  const cpu = setup(programs[name]);
  // warm-up
  cpu.run(2_000_000);
  let n = 0;
  const t0 = process.hrtime.bigint();
  const c0 = process.cpuUsage();
  let el = 0;
  while (el < seconds) {
    n += cpu.run(1_000_000);
    el = Number(process.hrtime.bigint() - t0) / 1e9;
  }
  const c = process.cpuUsage(c0);
  const cpuSec = (c.user + c.system) / 1e6;
  // CPU-time based figure is robust against other processes sharing the cores
  return { wall: n / el / 1e6, cpu: n / cpuSec / 1e6 };
}

const secs = Number(process.env.BENCH_SECONDS ?? 3);
console.log(`machine: ${cpus().length} x ${cpus()[0]?.model ?? '?'}, node ${process.version}`);
const load = (await import('node:os')).loadavg()[0].toFixed(2);
console.log(`load average ${load} (wall-clock MIPS drop when other processes share the cores)`);
for (const name of Object.keys(programs)) {
  const r = bench(name, secs);
  console.log(`${name.padEnd(13)} ${r.cpu.toFixed(1)} MIPS per CPU-second (${r.wall.toFixed(1)} MIPS wall clock)`);
}
