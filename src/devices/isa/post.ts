/**
 * POST code port 0x80: a write-only latch the BIOS writes progress codes to
 * (Linux also writes it as an I/O delay). Reads float, as QEMU's do.
 */
import { ByteIoDevice, IoBus } from '../../bus/io-bus.js';

export class PostPort extends ByteIoDevice {
  last = 0;
  /** Called on each write (for -d or a debug log); leave unset on hot paths. */
  onCode: ((code: number) => void) | undefined;
  attach(io: IoBus, port = 0x80): void { io.register(port, 1, this, 'post'); }
  reset(): void { this.last = 0; }
  readByte(): number { return 0xff; }
  writeByte(_port: number, v: number): void {
    this.last = v;
    if (this.onCode) this.onCode(v);
  }
  saveState(): object { return { last: this.last }; }
  loadState(s: { last: number }): void { this.last = s.last; }
}
