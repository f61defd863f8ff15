/**
 * Interrupt request lines.
 *
 * A device holds an {@link IrqLine} and sets its level; the line forwards level
 * changes to the controller it is wired to (the 8259 PIC, the IO-APIC, or a
 * combiner for shared PCI lines). Edge-triggered inputs see a rising edge when
 * the level goes from low to high, so an edge device raises then lowers.
 */

export interface IrqSink {
  /** Input `n` of this controller is now at `level`. */
  setIrq(n: number, level: boolean): void;
}

export class IrqLine {
  private level = false;
  constructor(private readonly sink: IrqSink, readonly n: number) {}
  set(level: boolean): void {
    if (level === this.level) return;
    this.level = level;
    this.sink.setIrq(this.n, level);
  }
  raise(): void { this.set(true); }
  lower(): void { this.set(false); }
  /** Rising edge then back low: for edge-triggered sources. */
  pulse(): void { this.set(true); this.set(false); }
  get isHigh(): boolean { return this.level; }
}

/**
 * Several sources wired-OR onto one input (PCI INTx sharing, ISA lines fanned
 * out to both the PIC and the IO-APIC use {@link IrqFanout} instead).
 */
export class IrqOr implements IrqSink {
  private mask = 0;
  private readonly out: IrqLine;
  constructor(sink: IrqSink, n: number) { this.out = new IrqLine(sink, n); }
  /** A line for source number `i` (0..31). */
  source(i: number): IrqLine { return new IrqLine(this, i); }
  setIrq(i: number, level: boolean): void {
    if (level) this.mask |= 1 << i; else this.mask &= ~(1 << i);
    this.out.set(this.mask !== 0);
  }
}

/** One input delivered to several controllers (ISA IRQs go to both the PIC and the IO-APIC). */
export class IrqFanout implements IrqSink {
  constructor(private readonly sinks: IrqSink[]) {}
  setIrq(n: number, level: boolean): void {
    for (let i = 0; i < this.sinks.length; i++) this.sinks[i]!.setIrq(n, level);
  }
}

/**
 * What the CPU sees of its interrupt controller: the INTR pin and the
 * acknowledge cycle that returns the vector.
 */
export interface InterruptController {
  /** True while an unmasked interrupt is pending (the INTR pin). */
  hasInterrupt(): boolean;
  /** Interrupt acknowledge cycle: returns the vector (0..255) and marks it in service. */
  acknowledge(): number;
}
