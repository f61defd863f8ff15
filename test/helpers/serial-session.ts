/**
 * Drives a program's console like a person at a terminal: wait for text, type,
 * wait for the answer. Used to talk to guests over -nographic serial consoles,
 * on real QEMU and on qemu-ts alike.
 */
import { spawn, type ChildProcess } from 'node:child_process';

export class SerialSession {
  output = '';
  private cursor = 0;
  private waiters: (() => void)[] = [];
  readonly exited: Promise<number | null>;
  private exitCode: number | null | undefined = undefined;

  private constructor(readonly proc: ChildProcess) {
    const onData = (d: Buffer) => { this.output += d.toString('latin1'); this.notify(); };
    proc.stdout!.on('data', onData);
    proc.stderr!.on('data', (d: Buffer) => { this.stderr += d.toString(); });
    this.exited = new Promise((resolve) => proc.on('exit', (code, signal) => {
      this.exitCode = code ?? (signal ? null : 0);
      this.notify();
      resolve(this.exitCode);
    }));
  }

  stderr = '';

  static spawn(cmd: string, args: string[], env?: NodeJS.ProcessEnv): SerialSession {
    return new SerialSession(spawn(cmd, args, { stdio: ['pipe', 'pipe', 'pipe'], env: env ?? process.env }));
  }

  private notify(): void { const w = this.waiters; this.waiters = []; for (const f of w) f(); }

  /** Wait until `pattern` appears in output after the last match; returns the text up to and including it. */
  async expect(pattern: string | RegExp, timeoutMs: number): Promise<string> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const rest = this.output.slice(this.cursor);
      let idx = -1, len = 0;
      if (typeof pattern === 'string') { idx = rest.indexOf(pattern); len = pattern.length; }
      else { const m = pattern.exec(rest); if (m) { idx = m.index; len = m[0].length; } }
      if (idx >= 0) {
        const text = rest.slice(0, idx + len);
        this.cursor += idx + len;
        return text;
      }
      if (this.exitCode !== undefined) {
        throw new Error(`process exited (${this.exitCode}) before ${String(pattern)} appeared; output tail:\n${this.output.slice(-2000)}\nstderr:\n${this.stderr.slice(-2000)}`);
      }
      const left = deadline - Date.now();
      if (left <= 0) throw new Error(`timed out after ${timeoutMs} ms waiting for ${String(pattern)}; output tail:\n${this.output.slice(-2000)}\nstderr:\n${this.stderr.slice(-2000)}`);
      await new Promise<void>((resolve) => {
        const t = setTimeout(resolve, Math.min(left, 1000));
        this.waiters.push(() => { clearTimeout(t); resolve(); });
      });
    }
  }

  send(text: string): void { this.proc.stdin!.write(text); }

  /** Wait for exit; kill after the timeout. Returns the exit code (null if killed). */
  async waitExit(timeoutMs: number): Promise<number | null> {
    const t = setTimeout(() => this.proc.kill('SIGKILL'), timeoutMs);
    const code = await this.exited;
    clearTimeout(t);
    return code;
  }

  kill(): void { if (this.exitCode === undefined) this.proc.kill('SIGKILL'); }
}
