/**
 * Port I/O bus: the x86 64 KiB I/O address space.
 *
 * Devices register a range of ports with one handler object. Dispatch is O(1):
 * a 65,536-entry table holds, per port, the index of the handler that owns it
 * (0 = nobody: reads float high, writes are dropped, as on a PC with nothing
 * decoding the address).
 *
 * Every access carries its size (1, 2 or 4 bytes). A device that only
 * implements byte accesses can extend {@link ByteIoDevice}, which splits
 * wider accesses into bytes at consecutive ports, which is what the ISA bus does.
 */

export interface IoDevice {
  /** Read `size` bytes (1, 2 or 4) at `port`. Return value is masked by the bus. */
  ioRead(port: number, size: number): number;
  /** Write the low `size` bytes of `value` at `port`. */
  ioWrite(port: number, size: number, value: number): void;
}

/** Base class for 8-bit devices: 16/32-bit accesses become byte accesses at port, port+1, .... */
export abstract class ByteIoDevice implements IoDevice {
  abstract readByte(port: number): number;
  abstract writeByte(port: number, value: number): void;
  ioRead(port: number, size: number): number {
    if (size === 1) return this.readByte(port) & 0xff;
    let v = 0;
    for (let i = 0; i < size; i++) v |= (this.readByte((port + i) & 0xffff) & 0xff) << (8 * i);
    return v >>> 0;
  }
  ioWrite(port: number, size: number, value: number): void {
    if (size === 1) { this.writeByte(port, value & 0xff); return; }
    for (let i = 0; i < size; i++) this.writeByte((port + i) & 0xffff, (value >>> (8 * i)) & 0xff);
  }
}

const OPEN_BUS = [0, 0xff, 0xffff, 0, 0xffffffff];

export class IoBus {
  private readonly owner = new Uint16Array(0x10000);
  private readonly handlers: (IoDevice | null)[] = [null];
  private readonly names: string[] = [''];
  /** Called for accesses nobody decodes (for -d unimp style tracing). Optional. */
  onUnassigned: ((port: number, size: number, write: boolean, value: number) => void) | null = null;

  /** Claim `count` ports starting at `base` for `dev`. Overlaps are an error: two devices never share a port. */
  register(base: number, count: number, dev: IoDevice, name: string): void {
    if (base < 0 || count <= 0 || base + count > 0x10000) throw new RangeError(`I/O range ${base.toString(16)}+${count} out of bounds`);
    let idx = this.handlers.indexOf(dev);
    if (idx < 0) { idx = this.handlers.length; this.handlers.push(dev); this.names.push(name); }
    for (let p = base; p < base + count; p++) {
      const o = this.owner[p]!;
      if (o !== 0 && o !== idx) {
        throw new Error(`I/O port 0x${p.toString(16)} of ${name} is already used by ${this.names[o]}`);
      }
      this.owner[p] = idx;
    }
  }

  /** Release ports (a PCI BAR being moved, a device unplugged). */
  unregister(base: number, count: number): void {
    for (let p = base; p < base + count && p < 0x10000; p++) this.owner[p] = 0;
  }

  /** Name of the device owning a port ('' if none); for `info mtree`-like listings. */
  ownerName(port: number): string { return this.names[this.owner[port & 0xffff]!]!; }

  read(port: number, size: number): number {
    port &= 0xffff;
    const dev = this.handlers[this.owner[port]!];
    if (dev == null) {
      if (this.onUnassigned !== null) this.onUnassigned(port, size, false, 0);
      return OPEN_BUS[size]!;
    }
    const v = dev.ioRead(port, size);
    return size === 4 ? v >>> 0 : v & OPEN_BUS[size]!;
  }

  write(port: number, size: number, value: number): void {
    port &= 0xffff;
    const dev = this.handlers[this.owner[port]!];
    if (dev == null) {
      if (this.onUnassigned !== null) this.onUnassigned(port, size, true, value);
      return;
    }
    dev.ioWrite(port, size, size === 4 ? value >>> 0 : value & OPEN_BUS[size]!);
  }
}
