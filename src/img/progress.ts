/**
 * `-p` progress. Off a terminal (or with QEMU_TS_PLAIN_PROGRESS set) it prints
 * qemu-img's own text on stdout: `    (12.34/100%)\r` whenever at least 1 % more
 * is done, then the last value again and a newline at the end. On a terminal
 * an ora spinner shows the percentage and the throughput instead.
 */
import type { IO } from './common.js';
import { formatFixed } from '../util/size.js';

interface Spinner { text: string; start(): Spinner; stop(): Spinner; succeed(text?: string): Spinner }

export class Progress {
  private last = 0;
  private current = 0;
  private spinner: Spinner | null = null;
  private started = 0;
  private bytes = 0;

  private constructor(private readonly io: IO, private readonly enabled: boolean, private readonly label: string,
    private readonly minSkip: number) {}

  /** `minSkip`: percentage points between two printed updates (qemu-img: 1 for convert/commit/amend, 2 for compare/rebase). */
  static async start(io: IO, enabled: boolean, label = 'working', minSkip = 1): Promise<Progress> {
    const p = new Progress(io, enabled, label, minSkip);
    p.started = Date.now();
    if (!enabled) return p;
    // a spinner needs a real terminal with a known width (ora redraws by counting lines)
    const cols = process.stdout.columns ?? 0;
    if (io.stdoutTTY && cols >= 40 && !process.env['QEMU_TS_PLAIN_PROGRESS']) {
      try {
        const { default: ora } = await import('ora');
        p.spinner = (ora({ text: `${label} 0.00%`, stream: process.stdout, discardStdin: false }) as unknown as Spinner).start();
        return p;
      } catch {
        // no spinner available: plain text
      }
    }
    p.print();
    return p;
  }

  private print(): void {
    this.io.out(`    (${formatFixed(this.current, 2)}/100%)\r`);
  }

  /** Set the completed percentage (0..100); `bytes` feeds the throughput display. */
  update(pct: number, bytes?: number): void {
    if (!this.enabled) return;
    if (bytes !== undefined) this.bytes = bytes;
    this.current = Math.min(100, Math.max(this.current, pct));
    if (this.spinner) {
      const secs = (Date.now() - this.started) / 1000;
      const rate = secs > 0 ? this.bytes / secs / (1 << 20) : 0;
      this.spinner.text = `${this.label} ${formatFixed(this.current, 2)}%  ${formatFixed(rate, 1)} MiB/s`;
      return;
    }
    if (this.current >= this.last + this.minSkip || (this.current === 100 && this.last < 100)) {
      this.last = this.current;
      this.print();
    }
  }

  /** Remove a terminal spinner without a final line (plain text output is left as is). */
  stop(): void {
    if (this.spinner) { this.spinner.stop(); this.spinner = null; }
  }

  end(): void {
    if (!this.enabled) return;
    if (this.spinner) {
      this.spinner.succeed(`${this.label} ${formatFixed(this.current, 2)}%`);
      return;
    }
    this.print();
    this.io.out('\n');
  }
}
