/**
 * Standard (SPP) parallel port, LPT1 at 0x378 / IRQ7 (LPT2 0x278 / IRQ5),
 * backed by a chardev: data latch, status, control. A byte goes out when
 * STROBE is asserted; the printer's BUSY/ACK handshake then plays out over
 * the following status reads, as in QEMU's emulation.
 */
import { ByteIoDevice, IoBus } from '../../bus/io-bus.js';
import { IrqLine } from '../../bus/irq.js';
import { CharBackend } from '../../chardev/types.js';

export const LPT_PORTS = [{ base: 0x378, irq: 7 }, { base: 0x278, irq: 5 }, { base: 0x3bc, irq: 7 }];

const ST_NOT_BUSY = 0x80, ST_NOT_ACK = 0x40, ST_SELECT = 0x10, ST_NOT_ERROR = 0x08, ST_TIMEOUT = 0x01;
const CT_STROBE = 0x01, CT_INIT = 0x04, CT_SELECT = 0x08, CT_IRQ = 0x10;
const IDLE = ST_NOT_BUSY | ST_NOT_ACK | ST_SELECT | ST_NOT_ERROR;

export class ParallelPort extends ByteIoDevice {
  data = 0;
  status = IDLE | ST_TIMEOUT;
  control = CT_INIT;
  private irqPending = false;

  constructor(private readonly irq: IrqLine | null, private readonly chr: CharBackend | null) { super(); }

  attach(io: IoBus, base = 0x378): void { io.register(base, 3, this, `parallel@${base.toString(16)}`); }

  reset(): void {
    this.data = 0; this.status = IDLE | ST_TIMEOUT; this.control = CT_INIT; this.irqPending = false;
    this.update();
  }

  private update(): void { if (this.irq) this.irq.set(this.irqPending && (this.control & CT_IRQ) !== 0); }

  readByte(port: number): number {
    switch (port & 3) {
      case 0: return this.data;
      case 1: {
        const v = this.status;
        this.irqPending = false;
        // After a strobe: first read shows BUSY, next drops ACK, the one after returns to ready.
        if (!(this.status & ST_NOT_BUSY) && !(this.control & CT_STROBE)) {
          if (this.status & ST_NOT_ACK) this.status &= ~ST_NOT_ACK;
          else this.status |= ST_NOT_ACK | ST_NOT_BUSY;
        }
        this.update();
        return v;
      }
      default: return this.control | 0xc0;
    }
  }

  writeByte(port: number, v: number): void {
    switch (port & 3) {
      case 0: this.data = v; return;
      case 1: return;
      default: {
        if (!(v & CT_INIT)) this.status = IDLE; // printer reset
        else if (v & CT_SELECT) {
          if (v & CT_STROBE) {
            this.status &= ~ST_NOT_BUSY;
            if (!(this.control & CT_STROBE) && this.chr) this.chr.write(Uint8Array.of(this.data));
          } else if (this.control & CT_IRQ) this.irqPending = true;
        }
        this.control = v & 0x3f;
        this.update();
      }
    }
  }

  saveState(): object { return { data: this.data, status: this.status, control: this.control, irqPending: this.irqPending }; }
  loadState(s: { data: number; status: number; control: number; irqPending: boolean }): void {
    Object.assign(this, s);
    this.update();
  }
}
