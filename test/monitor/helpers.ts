/**
 * Monitor test helpers: the test guest (asm/prog.asm as a -bios image), a
 * qemu-ts PC with the monitor target in this process, and the same command
 * script run through real `qemu-system-i386 -monitor stdio`.
 */
import { execFileSync, spawn } from 'node:child_process';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { splitArgv } from '../../src/cli/argv.js';
import { Builder } from '../../src/cli/build.js';
import { firmwareSearchPath } from '../../src/cli/firmware.js';
import { validateMachine } from '../../src/cli/validate.js';
import { PcMachine } from '../../src/machine/pc.js';
import type { StopReason } from '../../src/machine/main-loop.js';
import { PcMonitorTarget, type PcMonitorOptions } from '../../src/machine/monitor-target.js';
import { HumanMonitor } from '../../src/monitor/hmp.js';
import { MemoryChar } from '../../src/chardev/types.js';

export const TMP = mkdtempSync(join(tmpdir(), 'monitor-test-'));

let progPath: string | null = null;
/** The test guest as a 64 KiB BIOS image (assembled once). */
export function testBios(): string {
  if (progPath === null) {
    progPath = join(TMP, 'prog.bin');
    execFileSync('nasm', ['-f', 'bin', '-o', progPath, join(import.meta.dirname, 'asm', 'prog.asm')]);
  }
  return progPath;
}

export interface OurMachine {
  m: PcMachine;
  target: PcMonitorTarget;
  hmp: HumanMonitor;
  chr: MemoryChar;
  done: Promise<StopReason>;
  stop(): Promise<void>;
}

/** A qemu-ts PC from QEMU arguments, with a monitor on an in-memory chardev; the machine runs in the background. */
export async function startMachine(args: string[], opts: Partial<PcMonitorOptions> = {}): Promise<OurMachine> {
  const b = new Builder({ warn: () => {} });
  for (const a of splitArgv(args)) b.apply(a);
  const d = b.finish();
  if (d.firmware.searchPath.length === 0) d.firmware.searchPath = firmwareSearchPath([], process.env, process.cwd());
  const desc = await validateMachine(d);
  const m = await PcMachine.create(desc, { chardev: () => null, log: () => {} });
  const target = new PcMonitorTarget(m, { quit: (r) => m.stop(r), ...opts });
  const chr = new MemoryChar();
  const hmp = new HumanMonitor(chr, target);
  const done = m.run().then(async (r) => { target.machineStopped(r); await m.close(); return r; });
  return {
    m, target, hmp, chr, done,
    async stop() { m.stop({ kind: 'quit', code: 0 }); await done; },
  };
}

/** Wait until `cond` holds (polling), or fail after `ms`. */
export async function waitFor(cond: () => boolean, ms = 20000, what = 'condition'): Promise<void> {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

/**
 * Run monitor commands on real QEMU; returns each command's output (\n line
 * ends). `settle` commands are sent first (e.g. "cont"), then a pause, then
 * the rest, one by one.
 */
export async function qemuMonitor(args: string[], settle: string[], commands: string[], settleMs = 700): Promise<string[]> {
  const p = spawn('qemu-system-i386', [...args, '-monitor', 'stdio', '-display', 'none'], { stdio: ['pipe', 'pipe', 'pipe'] });
  let raw = '';
  p.stdout.on('data', (d: Buffer) => { raw += d.toString('latin1'); });
  const exited = new Promise<void>((r) => p.on('exit', () => r()));
  const prompts = () => raw.split('(qemu) ').length - 1;
  const wait = async (n: number) => { const end = Date.now() + 10000; while (prompts() < n && Date.now() < end) await new Promise((r) => setTimeout(r, 5)); };
  await wait(1);
  let expected = 1;
  for (const c of settle) { p.stdin.write(c + '\n'); expected++; await wait(expected); }
  await new Promise((r) => setTimeout(r, settleMs));
  const start = expected;
  for (const c of commands) { p.stdin.write(c + '\n'); expected++; await wait(expected); }
  p.stdin.write('quit\n');
  await exited;
  const chunks = raw.split('(qemu) ');
  return chunks.slice(start, start + commands.length).map((ch) => {
    const i = ch.indexOf('\r\n');
    return (i < 0 ? '' : ch.slice(i + 2)).replace(/\r\n/g, '\n');
  });
}

export const read = (f: string): Buffer => readFileSync(f);
