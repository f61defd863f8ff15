/**
 * Intel 8259A programmable interrupt controller, as the PC wires it: a master
 * at 0x20/0x21 and a slave at 0xA0/0xA1 whose INT output drives master input 2,
 * plus the PIIX edge/level control registers (ELCR) at 0x4D0/0x4D1.
 *
 * Priority is kept as a rotating offset (`prio` = the IR number that has the
 * highest priority), so rotate commands are one assignment.
 */
import { IoBus, IoDevice } from '../../bus/io-bus.js';
import { InterruptController, IrqSink } from '../../bus/irq.js';

class Chip {
  irr = 0; imr = 0; isr = 0;
  /** Inputs seen high at the last change (edge detector). */
  lastLevel = 0;
  /** IR with the highest priority. */
  prio = 0;
  base = 0;
  readIsr = false; poll = false; specialMask = false;
  /** 0 = operational, 1..3 = waiting for ICW2..ICW4. */
  initState = 0;
  icw4Needed = false; single = false; ltim = false;
  autoEoi = false; rotateAutoEoi = false; sfnm = false;
  elcr = 0;
  constructor(readonly elcrMask: number, readonly isMaster: boolean) {}

  reset(): void {
    this.irr = this.imr = this.isr = this.lastLevel = this.prio = this.base = 0;
    this.readIsr = this.poll = this.specialMask = false;
    this.initState = 0;
    this.icw4Needed = this.single = this.ltim = this.autoEoi = this.rotateAutoEoi = this.sfnm = false;
    this.elcr = 0;
  }

  private levelMask(): number { return this.ltim ? 0xff : this.elcr; }

  setInput(n: number, level: boolean): void {
    const m = 1 << n;
    if (this.levelMask() & m) {
      if (level) this.irr |= m; else this.irr &= ~m;
    } else if (level && !(this.lastLevel & m)) {
      this.irr |= m;
    }
    if (level) this.lastLevel |= m; else this.lastLevel &= ~m;
  }

  /** Priority rank (0 = highest) of the best bit in `mask`, 8 if none. */
  private rank(mask: number): number {
    if (mask === 0) return 8;
    let r = 0;
    while (!(mask & (1 << ((r + this.prio) & 7)))) r++;
    return r;
  }

  /** The IR that would be delivered now, or -1. */
  pending(): number {
    const r = this.rank(this.irr & ~this.imr);
    if (r === 8) return -1;
    let inService = this.isr;
    if (this.specialMask) inService &= ~this.imr;
    // In special fully nested mode the master lets a higher slave request through its own cascade input.
    if (this.sfnm && this.isMaster) inService &= ~4;
    return r < this.rank(inService) ? (r + this.prio) & 7 : -1;
  }

  /** Acknowledge cycle for IR `n`. */
  ack(n: number): void {
    const m = 1 << n;
    if (this.autoEoi) { if (this.rotateAutoEoi) this.prio = (n + 1) & 7; } else this.isr |= m;
    if (!(this.levelMask() & m)) this.irr &= ~m;
  }

  writeCommand(v: number): void {
    if (v & 0x10) { // ICW1
      const elcr = this.elcr;
      this.reset();
      this.elcr = elcr;
      this.irr &= elcr; // edge latches are cleared, level inputs still assert
      this.initState = 1;
      this.icw4Needed = (v & 1) !== 0;
      this.single = (v & 2) !== 0;
      this.ltim = (v & 8) !== 0;
    } else if (v & 0x08) { // OCW3
      if (v & 0x04) this.poll = true;
      if (v & 0x02) this.readIsr = (v & 1) !== 0;
      if (v & 0x40) this.specialMask = (v & 0x20) !== 0;
    } else { // OCW2
      const op = v >> 5;
      switch (op) {
        case 0: this.rotateAutoEoi = false; break;
        case 4: this.rotateAutoEoi = true; break;
        case 1: case 5: { // (rotating) non-specific EOI
          const r = this.rank(this.isr);
          if (r !== 8) {
            const n = (r + this.prio) & 7;
            this.isr &= ~(1 << n);
            if (op === 5) this.prio = (n + 1) & 7;
          }
          break;
        }
        case 3: this.isr &= ~(1 << (v & 7)); break;
        case 7: this.isr &= ~(1 << (v & 7)); this.prio = ((v & 7) + 1) & 7; break;
        case 6: this.prio = ((v & 7) + 1) & 7; break;
        default: break;
      }
    }
  }

  writeData(v: number): void {
    switch (this.initState) {
      case 0: this.imr = v; break;
      case 1:
        this.base = v & 0xf8;
        this.initState = this.single ? (this.icw4Needed ? 3 : 0) : 2;
        break;
      case 2: this.initState = this.icw4Needed ? 3 : 0; break;
      case 3:
        this.sfnm = (v & 0x10) !== 0;
        this.autoEoi = (v & 2) !== 0;
        this.initState = 0;
        break;
    }
  }

  save(): object { return { ...this }; }
  load(s: Record<string, unknown>): void {
    for (const k of Object.keys(s)) if (k !== 'elcrMask' && k !== 'isMaster') (this as Record<string, unknown>)[k] = s[k];
  }
}

export class PicPair implements IoDevice, IrqSink, InterruptController {
  readonly master = new Chip(0xf8, true);
  readonly slave = new Chip(0xde, false);
  /** INTR pin of the CPU. */
  onIntrChange: ((level: boolean) => void) | undefined;
  private intr = false;

  attach(io: IoBus): void {
    io.register(0x20, 2, this, 'pic-master');
    io.register(0xa0, 2, this, 'pic-slave');
    io.register(0x4d0, 2, this, 'elcr');
  }

  reset(): void {
    this.master.reset(); this.slave.reset();
    this.update();
  }

  setIrq(n: number, level: boolean): void {
    if (n < 8) this.master.setInput(n, level); else this.slave.setInput(n - 8, level);
    this.update();
  }

  private update(): void {
    this.master.setInput(2, this.slave.pending() >= 0);
    const intr = this.master.pending() >= 0;
    if (intr !== this.intr) {
      this.intr = intr;
      if (this.onIntrChange) this.onIntrChange(intr);
    }
  }

  hasInterrupt(): boolean { return this.intr; }

  acknowledge(): number {
    const m = this.master;
    const irq = m.pending();
    let vector: number;
    if (irq < 0) {
      vector = m.base + 7; // spurious IRQ7: no ISR bit set
    } else {
      m.ack(irq);
      if (irq === 2 && !m.single) {
        const s = this.slave;
        const irq2 = s.pending();
        if (irq2 >= 0) { s.ack(irq2); vector = s.base + irq2; } else vector = s.base + 7; // spurious IRQ15
      } else {
        vector = m.base + irq;
      }
    }
    this.update();
    return vector;
  }

  /** Pending vector without acknowledging (for monitors and tests); -1 if none. */
  pendingIrq(): number {
    const irq = this.master.pending();
    if (irq === 2) { const s = this.slave.pending(); return s < 0 ? 15 : 8 + s; }
    return irq;
  }

  private pollRead(chip: Chip): number {
    chip.poll = false;
    if (chip === this.slave) this.update();
    const irq = chip.pending();
    if (irq < 0) return 0;
    chip.ack(irq);
    if (chip === this.slave) {
      // The slave's request was also latched by the master's cascade input.
      this.master.isr &= ~4;
      this.master.irr &= ~4;
    }
    this.update();
    return 0x80 | irq;
  }

  ioRead(port: number, size: number): number {
    let v = 0;
    for (let i = 0; i < size; i++) v |= this.readByte(port + i) << (8 * i);
    return v;
  }

  ioWrite(port: number, size: number, value: number): void {
    for (let i = 0; i < size; i++) this.writeByte(port + i, (value >>> (8 * i)) & 0xff);
  }

  private readByte(port: number): number {
    if (port === 0x4d0) return this.master.elcr;
    if (port === 0x4d1) return this.slave.elcr;
    const chip = port < 0xa0 ? this.master : this.slave;
    if (chip.poll) return this.pollRead(chip);
    if (port & 1) return chip.imr;
    return chip.readIsr ? chip.isr : chip.irr;
  }

  private writeByte(port: number, v: number): void {
    if (port === 0x4d0 || port === 0x4d1) {
      const chip = port === 0x4d0 ? this.master : this.slave;
      chip.elcr = v & chip.elcrMask;
    } else {
      const chip = port < 0xa0 ? this.master : this.slave;
      if (port & 1) chip.writeData(v); else chip.writeCommand(v);
    }
    this.update();
  }

  saveState(): object { return { master: this.master.save(), slave: this.slave.save(), intr: this.intr }; }
  loadState(s: { master: Record<string, unknown>; slave: Record<string, unknown>; intr: boolean }): void {
    this.master.load(s.master); this.slave.load(s.slave);
    this.intr = s.intr;
    this.update();
  }
}
