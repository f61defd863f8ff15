/**
 * Debugger execution control without touching the guest's memory or debug
 * registers: breakpoints are checked against the linear PC before each
 * instruction, write watchpoints by comparing the watched bytes after each
 * instruction, single-step by running exactly one instruction.
 *
 * The hook: while any of these is active, the CPU instance's `run(n)` is
 * shadowed by an own property that executes instruction by instruction
 * (`Cpu.prototype.run.call(cpu, 1)`) and checks between instructions. With no
 * breakpoints, watchpoints or step pending, the shadow is removed and the
 * CPU's fast path runs untouched. Limits (documented in docs/monitor.md): an
 * interrupt delivered by run(1) executes the handler's first instruction
 * before the next check; read/access watchpoints need a hook in the MMU.
 */
import type { MemoryBus } from '../memory/memory-bus.js';
import { readLinear, type PagingState } from './page-walk.js';

export interface ControlledCpu extends PagingState {
  run(n: number): number;
  readonly pc: number;
  halted: boolean;
}

export type StopKind = { kind: 'breakpoint' } | { kind: 'step' } | { kind: 'watch'; addr: number };

interface Watch { addr: number; len: number; last: Uint8Array | null }

export class ExecControl {
  private readonly sw = new Set<number>();
  private readonly hw = new Set<number>();
  private readonly watches: Watch[] = [];
  private stepping = false;
  /** Resume from a breakpoint stop: the breakpoint at this PC is passed once. */
  private skipPc = -1;
  private readonly protoRun: (n: number) => number;
  private installed = false;
  /** Called when execution stops for the debugger (the caller pauses the machine). */
  onStop: ((why: StopKind) => void) | null = null;

  constructor(private readonly cpu: ControlledCpu, private readonly mem: MemoryBus) {
    this.protoRun = (Object.getPrototypeOf(cpu) as { run: (n: number) => number }).run;
  }

  addBreakpoint(addr: number, hw: boolean): void { (hw ? this.hw : this.sw).add(addr >>> 0); this.update(); }
  removeBreakpoint(addr: number, hw: boolean): boolean { const r = (hw ? this.hw : this.sw).delete(addr >>> 0); this.update(); return r; }

  addWatch(addr: number, len: number): void {
    this.watches.push({ addr: addr >>> 0, len, last: readLinear(this.cpu, this.mem, addr, len) });
    this.update();
  }
  removeWatch(addr: number, len: number): boolean {
    const i = this.watches.findIndex((w) => w.addr === addr >>> 0 && w.len === len);
    if (i >= 0) this.watches.splice(i, 1);
    this.update();
    return i >= 0;
  }

  clearAll(): void { this.sw.clear(); this.hw.clear(); this.watches.length = 0; this.stepping = false; this.update(); }

  /** Arm a single step: the next instruction executed stops the machine. */
  step(): void { this.stepping = true; this.prepareResume(); this.update(); }
  /** Prepare to continue (passes a breakpoint at the current PC once). */
  cont(): void { this.stepping = false; this.prepareResume(); this.update(); }

  private prepareResume(): void {
    const pc = this.cpu.pc;
    this.skipPc = this.sw.has(pc) || this.hw.has(pc) ? pc : -1;
    for (const w of this.watches) w.last = readLinear(this.cpu, this.mem, w.addr, w.len);
  }

  get active(): boolean { return this.stepping || this.sw.size > 0 || this.hw.size > 0 || this.watches.length > 0; }

  private update(): void {
    const want = this.active;
    if (want === this.installed) return;
    this.installed = want;
    const c = this.cpu as unknown as { run?: unknown };
    if (want) c.run = (n: number) => this.run(n);
    else delete c.run;
  }

  private run(n: number): number {
    const cpu = this.cpu;
    let done = 0;
    while (done < n) {
      const pc = cpu.pc;
      if (pc !== this.skipPc && (this.sw.has(pc) || this.hw.has(pc))) { this.stop({ kind: 'breakpoint' }); break; }
      this.skipPc = -1;
      const r = this.protoRun.call(cpu, 1);
      done += r;
      if (r === 0) break;
      if (this.stepping) { this.stepping = false; this.update(); this.stop({ kind: 'step' }); break; }
      const hit = this.checkWatches();
      if (hit !== null) { this.stop({ kind: 'watch', addr: hit }); break; }
      if (cpu.halted) break;
    }
    return done;
  }

  private checkWatches(): number | null {
    for (const w of this.watches) {
      const now = readLinear(this.cpu, this.mem, w.addr, w.len);
      const changed = now === null || w.last === null ? now !== w.last : now.some((b, i) => b !== w.last![i]);
      w.last = now;
      if (changed) return w.addr;
    }
    return null;
  }

  private stop(why: StopKind): void { if (this.onStop !== null) this.onStop(why); }
}
