/**
 * The machine's main loop: CPU slices interleaved with device time.
 *
 * Virtual time advances with executed instructions (ns per instruction is
 * adapted so that virtual time tracks host time, like QEMU's -icount
 * shift=auto), which makes time consistent inside a slice: a device read in
 * the middle of a slice sees the exact time of that instruction (via the
 * clock's live source), and a timer fires at the instruction boundary where
 * its deadline falls, because a slice never runs past the next deadline.
 *
 * When the CPU halts, virtual time jumps to the next timer deadline, but never
 * ahead of host time: the loop sleeps until then, giving the host its time
 * back. Every few milliseconds of host time the loop yields to Node's event
 * loop so that chardevs, VNC and the monitor stay responsive.
 *
 * With a fixed `nsPerInstruction` (-icount shift=N) time is purely
 * instruction-driven and never waits for the host: deterministic runs.
 */
import type { VirtualClock } from '../clock/virtual-clock.js';

export interface RunnableCpu {
  /** Execute up to n instructions; returns how many ran (stops early on HLT or requestStop). */
  run(n: number): number;
  halted: boolean;
  requestStop(): void;
}

export interface MainLoopOptions {
  /** Fixed ns per instruction (-icount shift=N gives 2^N); undefined = adaptive, paced to host time. */
  nsPerInstruction?: number;
  /** Largest slice in instructions. */
  maxSlice?: number;
  /** Host ms between yields to the event loop. */
  yieldMs?: number;
}

export type StopReason = { kind: 'shutdown' | 'reset' | 'quit' | 'exit' | 'error'; code: number; message?: string };

const DEBUG = process.env['QEMU_TS_DEBUG_LOOP'] !== undefined;
const hostNs = (): number => Number(process.hrtime.bigint());

export class MainLoop {
  private nsPerInsn: number;
  private readonly adaptive: boolean;
  private readonly maxSlice: number;
  private readonly yieldNs: number;
  /** Current virtual ns per instruction (for status lines). */
  get nsPerInstruction(): number { return this.nsPerInsn; }
  /** Instructions executed since the machine started. */
  instructions = 0;
  private paused = true;
  private stopReason: StopReason | null = null;
  private wake: (() => void) | null = null;
  private hostBase = 0;
  private sliceStart = 0;
  private sliceInsnBase = 0;
  /** Progress hook, called about once a second of host time while running. */
  onHeartbeat: ((instructions: number, virtualNs: number) => void) | null = null;
  /** Hooks run on each pass (poll device queues etc.). */
  private readonly pollers: (() => void)[] = [];

  constructor(private readonly cpu: RunnableCpu & { instructionsInSlice?: () => number },
    private readonly clock: VirtualClock, opts: MainLoopOptions = {}) {
    this.adaptive = opts.nsPerInstruction === undefined;
    this.nsPerInsn = opts.nsPerInstruction ?? 10;
    this.maxSlice = opts.maxSlice ?? 200_000;
    this.yieldNs = (opts.yieldMs ?? 10) * 1e6;
    clock.onDeadlineChange = () => { this.kick(); };
  }

  addPoller(fn: () => void): void { this.pollers.push(fn); }

  get isRunning(): boolean { return !this.paused; }

  /** Stop the loop for good; run() resolves with this reason. */
  stop(reason: StopReason): void {
    if (this.stopReason === null) this.stopReason = reason;
    this.cpu.requestStop();
    this.kick();
  }

  pause(): void { this.paused = true; this.cpu.requestStop(); }
  resume(): void { if (this.paused) { this.paused = false; this.hostBase = hostNs() - this.clock.now(); this.kick(); } }

  /** Wake a sleeping loop (an interrupt arrived, a timer was armed earlier, input came in). */
  kick(): void {
    const w = this.wake;
    if (w !== null) { this.wake = null; w(); }
  }

  private sleep(ns: number): Promise<void> {
    return new Promise((resolve) => {
      const t = setTimeout(() => { this.wake = null; resolve(); }, Math.max(0, Math.min(ns / 1e6, 50)));
      this.wake = () => { clearTimeout(t); resolve(); };
    });
  }

  private yieldToHost(): Promise<void> { return new Promise((r) => setImmediate(r)); }

  /** Run until stop(); `startPaused` models -S. */
  async run(startPaused = false): Promise<StopReason> {
    this.paused = startPaused;
    this.hostBase = hostNs() - this.clock.now();
    const clock = this.clock, cpu = this.cpu;
    let lastYield = hostNs();
    let lastBeat = lastYield;
    clock.setLiveSource(() => this.sliceStart + (this.executedInSlice() * this.nsPerInsn));
    try {
      while (this.stopReason === null) {
        if (this.paused) { await this.sleep(50e6); lastYield = hostNs(); continue; }
        for (let i = 0; i < this.pollers.length; i++) this.pollers[i]!();
        if (cpu.halted) {
          // A halted CPU wakes only through run(), which accepts a pending interrupt.
          this.instructions += cpu.run(1);
          if (cpu.halted) {
            this.dbgHalted++;
            const now = clock.now();
            const deadline = clock.nextDeadline();
            if (!this.adaptive) {
              // Deterministic time: jump straight to the next event.
              if (deadline === Infinity) { await this.sleep(10e6); lastYield = hostNs(); continue; }
              clock.advanceTo(deadline);
            } else {
              const hostVirtual = hostNs() - this.hostBase;
              if (deadline <= hostVirtual) clock.advanceTo(deadline);
              else {
                // Nothing due yet: give the host its time back until the deadline (or a kick).
                clock.advanceTo(Math.max(now, hostVirtual));
                await this.sleep(deadline === Infinity ? 10e6 : deadline - hostVirtual);
                lastYield = hostNs();
                clock.advanceTo(Math.min(deadline, Math.max(clock.now(), hostNs() - this.hostBase)));
              }
            }
            if (hostNs() - lastYield > this.yieldNs) { await this.yieldToHost(); lastYield = hostNs(); }
            continue;
          }
        }
        const now = clock.now();
        // Slice: up to the next deadline.
        const deadline = clock.nextDeadline();
        let budget = this.maxSlice;
        if (deadline !== Infinity) {
          const n = Math.ceil((deadline - now) / this.nsPerInsn);
          budget = Math.max(1, Math.min(budget, n));
        }
        this.sliceStart = now;
        this.sliceInsnBase = this.instructions;
        this.inSlice = true;
        const h0 = hostNs();
        const ran = cpu.run(budget);
        const h1 = hostNs();
        this.inSlice = false;
        this.instructions += ran;
        this.dbgSlices++; this.dbgRan += ran;
        clock.advanceTo(now + ran * this.nsPerInsn);
        if (this.adaptive) {
          // Track host speed over enough work to be meaningful (slices can be tiny when
          // timers are frequent), and pull virtual time toward host time.
          this.accHost += h1 - h0; this.accInsns += ran;
          if (this.accInsns >= 50_000 || this.accHost >= 5e6) {
            const measured = this.accHost / Math.max(1, this.accInsns);
            this.accHost = 0; this.accInsns = 0;
            const drift = (h1 - this.hostBase) - clock.now();
            const factor = Math.max(0.25, Math.min(4, 1 + drift / 50e6));
            const target = Math.max(0.05, Math.min(10_000, measured * factor));
            this.nsPerInsn = this.nsPerInsn * 0.5 + target * 0.5;
          }
        }
        if (h1 - lastYield > this.yieldNs) {
          await this.yieldToHost();
          lastYield = hostNs();
          if (this.onHeartbeat !== null && lastYield - lastBeat > 1e9) {
            lastBeat = lastYield;
            this.onHeartbeat(this.instructions, clock.now());
            if (DEBUG) process.stderr.write(`[loop] nsPerInsn=${this.nsPerInsn.toFixed(2)} slices=${this.dbgSlices} avgRan=${(this.dbgRan / Math.max(1, this.dbgSlices)).toFixed(0)} haltedPasses=${this.dbgHalted} virt-host=${((clock.now() - (hostNs() - this.hostBase)) / 1e6).toFixed(1)}ms\n`);
            this.dbgSlices = this.dbgRan = this.dbgHalted = 0;
          }
        }
      }
    } finally {
      clock.setLiveSource(null);
    }
    return this.stopReason!;
  }

  private inSlice = false;
  private accHost = 0;
  private accInsns = 0;
  private dbgSlices = 0;
  private dbgRan = 0;
  private dbgHalted = 0;
  private executedInSlice(): number {
    if (!this.inSlice) return 0;
    const f = this.cpu.instructionsInSlice;
    return f === undefined ? 0 : f.call(this.cpu);
  }
}
