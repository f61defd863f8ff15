/**
 * NS16550A UART (COM1-COM4) backed by a character device.
 *
 * Transmission: by default each byte reaches the chardev at once and the
 * transmitter is empty again immediately (as QEMU does), so a kernel printing
 * with console=ttyS0 at 9600 baud does not crawl; THRE interrupts are raised
 * exactly when the holding register empties, as on the chip. With
 * `baudTiming` the FIFO drains one character time at a time from the virtual
 * clock (divisor, word length, parity, stop bits) and THRE/TEMT follow it.
 *
 * Reception: incoming bytes wait in a host-side queue until the 16-byte FIFO
 * (or the 1-byte RBR) has room, so nothing is lost. The character timeout
 * interrupt fires after four character times without FIFO activity.
 */
import { ByteIoDevice, IoBus } from '../../bus/io-bus.js';
import { IrqLine } from '../../bus/irq.js';
import { Timer, VirtualClock } from '../../clock/virtual-clock.js';
import { CharBackend, MAX_BUFFERED } from '../../chardev/types.js';

export const COM_PORTS = [{ base: 0x3f8, irq: 4 }, { base: 0x2f8, irq: 3 }, { base: 0x3e8, irq: 4 }, { base: 0x2e8, irq: 3 }];

const LSR_DR = 0x01, LSR_OE = 0x02, LSR_BI = 0x10, LSR_THRE = 0x20, LSR_TEMT = 0x40, LSR_ERRS = 0x1e;
const IER_RDI = 1, IER_THRI = 2, IER_RLSI = 4, IER_MSI = 8;
const MCR_LOOP = 0x10;
const TRIGGER = [1, 4, 8, 14];
const CLOCK_HZ = 1843200;

export interface SerialOptions { baudTiming?: boolean }

export class Serial16550 extends ByteIoDevice {
  ier = 0; lcr = 0; mcr = 0; lsr = LSR_THRE | LSR_TEMT; msr = 0; scr = 0;
  divisor = 12;
  fifoOn = false; trigger = 1;
  private readonly rx = new Uint8Array(16);
  private rxHead = 0; rxCount = 0;
  private thrPending = false;
  private timeoutPending = false;
  private readonly tx: number[] = [];
  private shifting = false;
  /** Modem status inputs from outside (CTS, DSR, RI, DCD in MSR bit positions 4-7). */
  private modemIn = 0xb0;
  private readonly hostQueue: number[] = [];
  private hostHead = 0;
  private readonly rxTimer: Timer;
  private readonly txTimer: Timer;
  private readonly baudTiming: boolean;

  constructor(private readonly clock: VirtualClock, private readonly irq: IrqLine | null,
              private readonly chr: CharBackend | null, opts: SerialOptions = {}) {
    super();
    this.baudTiming = opts.baudTiming ?? false;
    this.rxTimer = clock.newTimer(() => { if (this.rxCount > 0 && this.fifoOn) this.timeoutPending = true; this.update(); }, 'serial-rx');
    this.txTimer = clock.newTimer(() => this.txDone(), 'serial-tx');
    if (chr) {
      chr.onInput((d) => this.receive(d));
      if (chr.onBreak) chr.onBreak(() => this.receiveBreak());
    }
    this.reset();
  }

  attach(io: IoBus, base: number): void { io.register(base, 8, this, `serial@${base.toString(16)}`); }

  reset(): void {
    this.ier = this.lcr = this.mcr = this.scr = 0;
    this.lsr = LSR_THRE | LSR_TEMT;
    this.divisor = 12;
    this.fifoOn = false; this.trigger = 1;
    this.rxHead = this.rxCount = 0;
    this.thrPending = this.timeoutPending = this.shifting = false;
    this.tx.length = 0;
    this.rxTimer.del(); this.txTimer.del();
    this.msr = this.modemIn;
    this.update();
  }

  /** Time of one character at the current line settings, in ns. */
  charNs(): number {
    const word = 5 + (this.lcr & 3);
    const bits = 1 + word + (this.lcr & 8 ? 1 : 0) + (this.lcr & 4 ? (word === 5 ? 1.5 : 2) : 1);
    return (bits * 16 * (this.divisor || 0x10000) * 1e9) / CLOCK_HZ;
  }

  /** Bytes from outside. */
  receive(data: Uint8Array): void {
    if (this.mcr & MCR_LOOP) return; // the receiver listens to the transmitter only
    for (let i = 0; i < data.length; i++) {
      if (this.hostQueue.length - this.hostHead >= MAX_BUFFERED) break;
      this.hostQueue.push(data[i]!);
    }
    this.pump();
  }

  /** A break condition from outside: a zero character with BI. */
  receiveBreak(): void {
    this.pushRx(0);
    this.lsr |= LSR_BI;
    this.update();
  }

  /** Set modem status inputs from outside (bits: 0x10 CTS, 0x20 DSR, 0x40 RI, 0x80 DCD). */
  setModemInputs(v: number): void { this.modemIn = v & 0xf0; this.updateMsr(); this.update(); }

  private pushRx(b: number): boolean {
    const cap = this.fifoOn ? 16 : 1;
    if (this.rxCount >= cap) {
      this.lsr |= LSR_OE;
      if (!this.fifoOn) this.rx[this.rxHead] = b; // RBR overwritten
      return false;
    }
    this.rx[(this.rxHead + this.rxCount) & 15] = b;
    this.rxCount++;
    this.lsr |= LSR_DR;
    if (this.fifoOn) this.rxTimer.modIn(4 * this.charNs());
    return true;
  }

  private pump(): void {
    const cap = this.fifoOn ? 16 : 1;
    const q = this.hostQueue;
    while (this.rxCount < cap && this.hostHead < q.length) this.pushRx(q[this.hostHead++]!);
    if (this.hostHead === q.length) { q.length = 0; this.hostHead = 0; } else if (this.hostHead > 4096) { q.splice(0, this.hostHead); this.hostHead = 0; }
    this.update();
  }

  private emit(b: number): void {
    if (this.mcr & MCR_LOOP) { this.pushRx(b); return; }
    if (this.chr) this.chr.write(Uint8Array.of(b));
  }

  private writeThr(b: number): void {
    this.thrPending = false;
    if (!this.baudTiming) {
      this.emit(b);
      this.lsr |= LSR_THRE | LSR_TEMT;
      this.thrPending = true;
    } else if (!this.shifting) {
      this.shifting = true;
      this.lsr &= ~LSR_TEMT;
      this.emit(b);
      this.txTimer.modIn(this.charNs());
      this.lsr |= LSR_THRE; // the holding register emptied into the shift register
      this.thrPending = true;
    } else {
      if (this.tx.length < (this.fifoOn ? 16 : 1)) this.tx.push(b);
      this.lsr &= ~LSR_THRE;
    }
    this.update();
  }

  private txDone(): void {
    if (this.tx.length > 0) {
      this.emit(this.tx.shift()!);
      this.txTimer.modIn(this.charNs());
      if (this.tx.length === 0) { this.lsr |= LSR_THRE; this.thrPending = true; }
    } else {
      this.shifting = false;
      this.lsr |= LSR_TEMT;
    }
    this.update();
  }

  private iir(): number {
    let id = 1;
    if ((this.ier & IER_RLSI) && (this.lsr & LSR_ERRS)) id = 0x06;
    else if ((this.ier & IER_RDI) && this.rxCount > 0 && (!this.fifoOn || this.rxCount >= this.trigger)) id = 0x04;
    else if ((this.ier & IER_RDI) && this.timeoutPending) id = 0x0c;
    else if ((this.ier & IER_THRI) && this.thrPending) id = 0x02;
    else if ((this.ier & IER_MSI) && (this.msr & 0x0f)) id = 0x00;
    return id | (this.fifoOn ? 0xc0 : 0);
  }

  private update(): void {
    if (this.irq) this.irq.set((this.iir() & 1) === 0);
  }

  private updateMsr(): void {
    const inp = this.mcr & MCR_LOOP
      ? ((this.mcr & 2) << 3) | ((this.mcr & 1) << 5) | ((this.mcr & 4) << 4) | ((this.mcr & 8) << 4)
      : this.modemIn;
    const old = this.msr, ch = (old ^ inp) & 0xf0;
    let d = old & 0x0f;
    if (ch & 0x10) d |= 1;
    if (ch & 0x20) d |= 2;
    if ((old & 0x40) && !(inp & 0x40)) d |= 4; // trailing edge of RI
    if (ch & 0x80) d |= 8;
    this.msr = inp | d;
  }

  readByte(port: number): number {
    switch (port & 7) {
      case 0: {
        if (this.lcr & 0x80) return this.divisor & 0xff;
        if (this.rxCount === 0) return this.fifoOn ? 0 : this.rx[this.rxHead]!;
        const b = this.rx[this.rxHead]!;
        if (this.fifoOn) { this.rxHead = (this.rxHead + 1) & 15; }
        this.rxCount--;
        this.timeoutPending = false;
        if (this.rxCount === 0) { this.lsr &= ~LSR_DR; this.rxTimer.del(); } else this.rxTimer.modIn(4 * this.charNs());
        this.pump();
        return b;
      }
      case 1: return this.lcr & 0x80 ? this.divisor >> 8 : this.ier;
      case 2: {
        const v = this.iir();
        if ((v & 0x0f) === 0x02) { this.thrPending = false; this.update(); }
        return v;
      }
      case 3: return this.lcr;
      case 4: return this.mcr;
      case 5: {
        const v = this.lsr | (this.fifoOn && (this.lsr & LSR_ERRS) ? 0x80 : 0);
        if (v & LSR_ERRS) { this.lsr &= ~LSR_ERRS; this.update(); }
        return v;
      }
      case 6: {
        const v = this.msr;
        if (v & 0x0f) { this.msr &= 0xf0; this.update(); }
        return v;
      }
      default: return this.scr;
    }
  }

  writeByte(port: number, v: number): void {
    switch (port & 7) {
      case 0:
        if (this.lcr & 0x80) { this.divisor = (this.divisor & 0xff00) | v; return; }
        this.writeThr(v);
        return;
      case 1: {
        if (this.lcr & 0x80) { this.divisor = (this.divisor & 0xff) | (v << 8); return; }
        const old = this.ier;
        this.ier = v & 0x0f;
        // Enabling THRE interrupts with an empty holding register interrupts at once.
        if ((v & IER_THRI) && !(old & IER_THRI) && (this.lsr & LSR_THRE)) this.thrPending = true;
        this.update();
        return;
      }
      case 2: {
        const on = (v & 1) !== 0;
        if (on !== this.fifoOn || (v & 2)) { this.rxHead = this.rxCount = 0; this.lsr &= ~LSR_DR; this.timeoutPending = false; this.rxTimer.del(); }
        if (on !== this.fifoOn || (v & 4)) { this.tx.length = 0; if (!this.shifting) this.lsr |= LSR_TEMT; this.lsr |= LSR_THRE; this.thrPending = true; }
        this.fifoOn = on;
        this.trigger = TRIGGER[v >> 6]!;
        this.pump();
        this.update();
        return;
      }
      case 3: this.lcr = v; return;
      case 4: {
        const loopChange = (this.mcr ^ v) & MCR_LOOP;
        this.mcr = v & 0x1f;
        this.updateMsr();
        if (loopChange && !(v & MCR_LOOP)) this.pump();
        this.update();
        return;
      }
      case 5: return;
      case 6: return;
      default: this.scr = v;
    }
  }

  saveState(): object {
    return {
      ier: this.ier, lcr: this.lcr, mcr: this.mcr, lsr: this.lsr, msr: this.msr, scr: this.scr, divisor: this.divisor,
      fifoOn: this.fifoOn, trigger: this.trigger, rx: Array.from(this.rx), rxHead: this.rxHead, rxCount: this.rxCount,
      thrPending: this.thrPending, timeoutPending: this.timeoutPending, tx: this.tx.slice(), shifting: this.shifting,
    };
  }
  loadState(s: ReturnType<Serial16550['saveState']> & Record<string, unknown>): void {
    const { rx, tx, ...rest } = s as { rx: number[]; tx: number[] } & Record<string, unknown>;
    Object.assign(this, rest);
    this.rx.set(rx);
    this.tx.length = 0; this.tx.push(...tx);
    if (this.shifting) this.txTimer.modIn(this.charNs());
    this.update();
  }
}
