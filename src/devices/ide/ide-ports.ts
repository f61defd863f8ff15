/**
 * Legacy (ISA-compatible) decoding of an IDE channel: the 8-port command block
 * (0x1F0-0x1F7 primary, 0x170-0x177 secondary) and the one-port control block
 * (0x3F6 / 0x376; 0x3F7 stays with the floppy controller's DIR).
 *
 * The data port takes 16- and 32-bit accesses (32-bit = two words); the other
 * registers are bytes, wider accesses are split.
 */
import type { IoBus, IoDevice } from '../../bus/io-bus.js';
import type { IdeChannel } from './ide-channel.js';

export const PRIMARY = { cmd: 0x1f0, ctl: 0x3f6, irq: 14 } as const;
export const SECONDARY = { cmd: 0x170, ctl: 0x376, irq: 15 } as const;

class CommandBlock implements IoDevice {
  constructor(private readonly ch: IdeChannel, private readonly base: number) {}
  ioRead(port: number, size: number): number {
    const reg = port - this.base;
    if (reg === 0) return size === 1 ? 0xff : this.ch.readData(size);
    let v = 0;
    for (let i = 0; i < size && reg + i < 8; i++) v |= this.ch.readReg(reg + i) << (8 * i);
    return v >>> 0;
  }
  ioWrite(port: number, size: number, value: number): void {
    const reg = port - this.base;
    if (reg === 0) { if (size !== 1) this.ch.writeData(size, value); return; }
    for (let i = 0; i < size && reg + i < 8; i++) this.ch.writeReg(reg + i, (value >>> (8 * i)) & 0xff);
  }
}

class ControlBlock implements IoDevice {
  constructor(private readonly ch: IdeChannel) {}
  ioRead(): number { return this.ch.readAltStatus(); }
  ioWrite(_port: number, _size: number, value: number): void { this.ch.writeControl(value & 0xff); }
}

/** Claim a channel's legacy ports on the I/O bus. */
export function registerLegacyPorts(io: IoBus, ch: IdeChannel, cmd: number, ctl: number, name: string): void {
  io.register(cmd, 8, new CommandBlock(ch, cmd), name);
  io.register(ctl, 1, new ControlBlock(ch), name);
}
