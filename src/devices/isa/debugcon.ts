/**
 * isa-debugcon (-debugcon, -device isa-debugcon,iobase=,chardev=): bytes
 * written to the port go to a chardev; reads return the readback value
 * (0xE9 by default) so guests can detect it.
 */
import { ByteIoDevice, IoBus } from '../../bus/io-bus.js';
import { CharBackend } from '../../chardev/types.js';

export class DebugCon extends ByteIoDevice {
  constructor(private readonly chr: CharBackend | null, readonly iobase = 0xe9, readonly readback = 0xe9) { super(); }
  attach(io: IoBus): void { io.register(this.iobase, 1, this, 'isa-debugcon'); }
  reset(): void {}
  readByte(): number { return this.readback; }
  writeByte(_port: number, v: number): void { if (this.chr) this.chr.write(Uint8Array.of(v)); }
  saveState(): object { return {}; }
  loadState(_s: object): void {}
}
