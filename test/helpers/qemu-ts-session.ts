/**
 * The qemu-ts counterpart of SerialSession: builds a PC from a QEMU command
 * line (the CLI's Builder → validateMachine → PcMachine, as the front end
 * will) inside this process and connects every serial chardev to a console
 * the test reads and types into, with the same expect/send/waitExit calls.
 */
import { splitArgv } from '../../src/cli/argv.js';
import { Builder } from '../../src/cli/build.js';
import { firmwareSearchPath } from '../../src/cli/firmware.js';
import { validateMachine } from '../../src/cli/validate.js';
import { PcMachine } from '../../src/machine/pc.js';
import type { StopReason } from '../../src/machine/main-loop.js';
import type { CharBackend } from '../../src/chardev/types.js';

/** What both a real-QEMU SerialSession and a QemuTsSession offer a guest test. */
export interface GuestConsole {
  readonly output: string;
  expect(pattern: string | RegExp, timeoutMs: number): Promise<string>;
  send(text: string): void;
  waitExit(timeoutMs: number): Promise<number | null>;
  kill(): void;
}

class ConsoleChar implements CharBackend {
  private input: ((d: Uint8Array) => void) | null = null;
  constructor(private readonly sink: (s: string) => void) {}
  write(data: Uint8Array): void { this.sink(Buffer.from(data).toString('latin1')); }
  onInput(cb: (data: Uint8Array) => void): void { this.input = cb; }
  type(text: string): void { this.input?.(Buffer.from(text, 'latin1')); }
  async close(): Promise<void> {}
}

export class QemuTsSession implements GuestConsole {
  output = '';
  log = '';
  /** Guest instructions executed and wall-clock ms when the machine stopped. */
  instructions = 0;
  elapsedMs = 0;
  private cursor = 0;
  private waiters: (() => void)[] = [];
  private stopped: StopReason | null = null;
  private readonly t0 = Date.now();
  private readonly done: Promise<number | null>;
  private chr: ConsoleChar;

  private constructor(private readonly machine: PcMachine, chr: ConsoleChar) {
    this.chr = chr;
    this.done = machine.run().then(async (r) => {
      this.stopped = r;
      this.elapsedMs = Date.now() - this.t0;
      this.instructions = machine.loop.instructions;
      await machine.close();
      this.notify();
      return r.kind === 'quit' && r.code === -9 ? null : r.code;
    }, async (e: unknown) => {
      this.log += `machine failed: ${(e as Error).stack ?? String(e)}\n`;
      this.stopped = { kind: 'quit', code: 1 };
      await machine.close();
      this.notify();
      return 1;
    });
  }

  /** Start a machine from QEMU command-line arguments (as given to qemu-system-i386). */
  static async start(args: string[]): Promise<QemuTsSession> {
    const b = new Builder({ warn: () => {} });
    for (const a of splitArgv(args)) b.apply(a);
    const d = b.finish();
    if (d.firmware.searchPath.length === 0) d.firmware.searchPath = firmwareSearchPath([], process.env, process.cwd());
    let self: QemuTsSession | null = null;
    const early: string[] = [];
    const chr = new ConsoleChar((s) => { if (self) { self.output += s; self.notify(); } else early.push(s); });
    const logs: string[] = [];
    const m = await PcMachine.create(await validateMachine(d), { chardev: () => chr, log: (msg) => { if (self) self.log += msg + '\n'; else logs.push(msg); } });
    self = new QemuTsSession(m, chr);
    self.output = early.join('');
    self.log = logs.map((l) => l + '\n').join('');
    return self;
  }

  private notify(): void { const w = this.waiters; this.waiters = []; for (const f of w) f(); }

  async expect(pattern: string | RegExp, timeoutMs: number): Promise<string> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const rest = this.output.slice(this.cursor);
      let idx = -1, len = 0;
      if (typeof pattern === 'string') { idx = rest.indexOf(pattern); len = pattern.length; }
      else { const m = pattern.exec(rest); if (m) { idx = m.index; len = m[0].length; } }
      if (idx >= 0) {
        this.cursor += idx + len;
        return rest.slice(0, idx + len);
      }
      if (this.stopped !== null) {
        throw new Error(`qemu-ts machine stopped (${JSON.stringify(this.stopped)}) before ${String(pattern)} appeared; output tail:\n${this.output.slice(-2000)}\nlog:\n${this.log.slice(-2000)}`);
      }
      const left = deadline - Date.now();
      if (left <= 0) throw new Error(`qemu-ts: timed out after ${timeoutMs} ms waiting for ${String(pattern)}; output tail:\n${this.output.slice(-2000)}\nlog:\n${this.log.slice(-2000)}`);
      await new Promise<void>((resolve) => {
        const t = setTimeout(resolve, Math.min(left, 1000));
        this.waiters.push(() => { clearTimeout(t); resolve(); });
      });
    }
  }

  send(text: string): void { this.chr.type(text); }

  /** Wait for the machine to stop (power-off gives 0); stop it after the timeout (gives null). */
  async waitExit(timeoutMs: number): Promise<number | null> {
    const t = setTimeout(() => this.kill(), timeoutMs);
    const code = await this.done;
    clearTimeout(t);
    return code;
  }

  /** The reason the machine stopped, once it has. */
  get stopReason(): StopReason | null { return this.stopped; }

  kill(): void { if (this.stopped === null) this.machine.stop({ kind: 'quit', code: -9 }); }
}
