/**
 * System control port A (0x92, "fast A20"): bit 1 gates A20, a 0→1 edge on
 * bit 0 resets the CPU. Reads return the last value written (as QEMU).
 */
import { ByteIoDevice, IoBus } from '../../bus/io-bus.js';

export class Port92 extends ByteIoDevice {
  value = 0;
  onA20: ((enabled: boolean) => void) | undefined;
  onReset: (() => void) | undefined;

  attach(io: IoBus): void { io.register(0x92, 1, this, 'port92'); }
  /** Machine reset clears the reset bit only (A20 follows the platform's own reset). */
  reset(): void { this.value &= ~1; }
  get a20(): boolean { return (this.value & 2) !== 0; }

  /** Keep bit 1 in step when A20 is changed elsewhere (the i8042 output port). */
  setA20(on: boolean): void { this.value = on ? this.value | 2 : this.value & ~2; }

  readByte(): number { return this.value; }

  writeByte(_port: number, v: number): void {
    const old = this.value;
    this.value = v & 0xff;
    if (((old ^ v) & 2) && this.onA20) this.onA20((v & 2) !== 0);
    if ((v & 1) && !(old & 1) && this.onReset) this.onReset();
  }

  saveState(): object { return { value: this.value }; }
  loadState(s: { value: number }): void { this.value = s.value; }
}
