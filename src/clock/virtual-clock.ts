/**
 * The machine's one virtual clock, in nanoseconds, with a timer queue.
 *
 * Devices never look at host time: they read {@link VirtualClock.now} and arm
 * {@link Timer}s. The machine's main loop moves the clock forward (from host
 * time, or from the instruction count with -icount) with {@link advanceTo},
 * which fires due timers in deadline order. Tests drive devices with the same
 * class, advancing it by hand.
 *
 * Times are JavaScript numbers: integer nanoseconds stay exact for 104 days.
 */

export class Timer {
  /** Absolute deadline in ns, or -1 when not armed. */
  deadline = -1;
  constructor(private readonly clock: VirtualClock, readonly callback: (now: number) => void, readonly name: string) {}
  /** Arm (or re-arm) for absolute time `ns`. */
  mod(ns: number): void { this.clock.arm(this, ns); }
  /** Arm for `delta` ns from now. */
  modIn(delta: number): void { this.clock.arm(this, this.clock.now() + delta); }
  del(): void { this.clock.disarm(this); }
  get pending(): boolean { return this.deadline >= 0; }
}

export class VirtualClock {
  private ns = 0;
  /** Armed timers, kept sorted by deadline (there are few: a linear insert beats a heap). */
  private queue: Timer[] = [];
  /** Called whenever the earliest deadline may have moved earlier, so a sleeping main loop can wake. */
  onDeadlineChange: (() => void) | null = null;

  /**
   * Optional precise source used while the CPU runs a slice: the main loop
   * installs one that derives the time from the instructions executed so far,
   * so a device read in the middle of a slice sees time move (a guest timing
   * the PIT against the TSC needs that). Never earlier than the last advance.
   */
  private live: (() => number) | null = null;

  now(): number {
    const l = this.live;
    if (l !== null) { const t = l(); if (t > this.ns) return t; }
    return this.ns;
  }

  setLiveSource(source: (() => number) | null): void { this.live = source; }

  newTimer(callback: (now: number) => void, name = 'timer'): Timer {
    return new Timer(this, callback, name);
  }

  /** Earliest armed deadline, or Infinity. */
  nextDeadline(): number { return this.queue.length > 0 ? this.queue[0]!.deadline : Infinity; }

  /**
   * Move time forward to `t` (never backwards), firing every timer whose
   * deadline is <= t, each with the clock set to its own deadline.
   */
  advanceTo(t: number): void {
    while (this.queue.length > 0 && this.queue[0]!.deadline <= t) {
      const timer = this.queue.shift()!;
      if (timer.deadline > this.ns) this.ns = timer.deadline;
      timer.deadline = -1;
      timer.callback(this.ns);
    }
    if (t > this.ns) this.ns = t;
  }

  advanceBy(delta: number): void { this.advanceTo(this.ns + delta); }

  /** @internal */
  arm(timer: Timer, deadline: number): void {
    if (timer.deadline >= 0) this.remove(timer);
    timer.deadline = deadline;
    const q = this.queue;
    let i = q.length;
    while (i > 0 && q[i - 1]!.deadline > deadline) i--;
    q.splice(i, 0, timer);
    if (i === 0 && this.onDeadlineChange !== null) this.onDeadlineChange();
  }

  /** @internal */
  disarm(timer: Timer): void {
    if (timer.deadline < 0) return;
    this.remove(timer);
    timer.deadline = -1;
  }

  private remove(timer: Timer): void {
    const i = this.queue.indexOf(timer);
    if (i >= 0) this.queue.splice(i, 1);
  }
}
