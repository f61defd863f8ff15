/**
 * isa-debug-exit (-device isa-debug-exit,iobase=0x501,iosize=2): a write of
 * value v ends the emulator with exit status (v << 1) | 1.
 */
import { IoBus, IoDevice } from '../../bus/io-bus.js';

export class DebugExit implements IoDevice {
  constructor(private readonly onExit: (status: number) => void, readonly iobase = 0x501, readonly iosize = 2) {}
  attach(io: IoBus): void { io.register(this.iobase, this.iosize, this, 'isa-debug-exit'); }
  reset(): void {}
  ioRead(): number { return 0; }
  ioWrite(_port: number, _size: number, value: number): void { this.onExit(((value << 1) | 1) >>> 0); }
  saveState(): object { return {}; }
  loadState(_s: object): void {}
}
