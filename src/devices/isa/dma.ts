/**
 * Two Intel 8237A DMA controllers as on the PC/AT: channels 0-3 (8-bit,
 * ports 0x00-0x0F) and 4-7 (16-bit, ports 0xC0-0xDE at even addresses,
 * channel 4 cascades the first controller), with the page registers at
 * 0x81-0x8F and the high page registers at 0x481-0x48F.
 *
 * Devices do not tick the controller: a device holds its DREQ with `hold()`;
 * when the channel is (or becomes) unmasked the device's handler runs and
 * moves data with `writeMemory()` (device → memory) or `readMemory()`.
 */
import { ByteIoDevice, IoBus } from '../../bus/io-bus.js';
import { MemoryBus } from '../../memory/memory-bus.js';

/** Page register port (low byte) of each channel; channel 4 has no real page. */
const PAGE_PORT = [0x87, 0x83, 0x81, 0x82, 0x8f, 0x8b, 0x89, 0x8a];

export type DmaTransfer = 'verify' | 'write' | 'read' | 'invalid';

class Chan {
  baseAddr = 0; baseCount = 0; addr = 0; count = 0; mode = 0; page = 0; pageHigh = 0;
}

export class Dma8237 extends ByteIoDevice {
  readonly ch: Chan[] = Array.from({ length: 8 }, () => new Chan());
  /** Per controller: command, status, mask, request, flip-flop, temp. */
  command = [0, 0]; status = [0, 0]; mask = [0xf, 0xf]; flip = [false, false]; temp = [0, 0];
  private dreq = 0;
  /** Channels whose last transfer call reached terminal count. */
  private tcLast = 0;
  private readonly handlers: ((() => void) | null)[] = new Array(8).fill(null);
  private running = false;

  constructor(private readonly mem: MemoryBus) { super(); }

  attach(io: IoBus): void {
    io.register(0x00, 16, this, 'dma1');
    io.register(0xc0, 32, this, 'dma2');
    for (const p of PAGE_PORT) { io.register(p, 1, this, 'dma-page'); io.register(p + 0x400, 1, this, 'dma-page-high'); }
  }

  reset(): void {
    for (let c = 0; c < 2; c++) this.masterClear(c);
    for (const c of this.ch) { c.baseAddr = c.baseCount = c.addr = c.count = c.mode = c.page = c.pageHigh = 0; }
    this.dreq = 0;
  }

  private masterClear(c: number): void {
    this.command[c] = 0; this.status[c] = 0; this.mask[c] = 0xf; this.flip[c] = false; this.temp[c] = 0;
  }

  /** Device side: the handler runs whenever channel `n` has DREQ held and is unmasked. */
  registerChannel(n: number, handler: () => void): void { this.handlers[n] = handler; }
  hold(n: number): void { this.dreq |= 1 << n; this.run(); }
  release(n: number): void { this.dreq &= ~(1 << n); }

  isMasked(n: number): boolean { return ((this.mask[n >> 2]! >> (n & 3)) & 1) !== 0; }
  transferType(n: number): DmaTransfer { return (['verify', 'write', 'read', 'invalid'] as const)[(this.ch[n]!.mode >> 2) & 3]!; }
  /** Units (bytes, or words on 4-7) left before terminal count. */
  remaining(n: number): number { return this.ch[n]!.count + 1; }
  autoInit(n: number): boolean { return (this.ch[n]!.mode & 0x10) !== 0; }
  /** Did the last writeMemory/readMemory on channel `n` reach terminal count? */
  tc(n: number): boolean { return ((this.tcLast >> n) & 1) !== 0; }

  private run(): void {
    if (this.running) return;
    this.running = true;
    try {
      for (let n = 0; n < 8; n++) {
        if ((this.dreq & (1 << n)) && !this.isMasked(n) && !(this.command[n >> 2]! & 4)) {
          const h = this.handlers[n];
          if (h) h();
        }
      }
    } finally { this.running = false; }
  }

  /**
   * Move up to `len` bytes between `buf[off..]` and guest memory at the
   * channel's current address; returns bytes moved (stops at terminal count).
   */
  private move(n: number, buf: Uint8Array, off: number, len: number, toMem: boolean): number {
    const c = this.ch[n]!, wide = n >= 4, unit = wide ? 2 : 1;
    const dec = (c.mode & 0x20) !== 0;
    let done = 0;
    this.tcLast &= ~(1 << n);
    if (this.isMasked(n)) return 0;
    while (done + unit <= len) {
      const left = (c.count + 1) * unit; // bytes until TC
      // Contiguous run forward until the 64K (128K) address wrap.
      const runUnits = dec ? 1 : Math.min(0x10000 - c.addr, c.count + 1);
      const bytes = Math.min(runUnits * unit, len - done - ((len - done) % unit), left);
      const phys = wide
        ? ((c.pageHigh << 24) | ((c.page & 0xfe) << 16) | (c.addr << 1)) >>> 0
        : ((c.pageHigh << 24) | (c.page << 16) | c.addr) >>> 0;
      const t = this.transferType(n);
      const part = buf.subarray(off + done, off + done + bytes);
      if (t !== 'verify') {
        if (toMem) this.mem.writeBytes(phys, part); else this.mem.readBytes(phys, part);
      }
      const units = bytes / unit;
      done += bytes;
      c.addr = (dec ? c.addr - units : c.addr + units) & 0xffff;
      c.count = (c.count - units) & 0xffff;
      if (c.count === 0xffff) { // terminal count
        this.status[n >> 2]! |= 1 << (n & 3);
        this.tcLast |= 1 << n;
        if (c.mode & 0x10) { c.addr = c.baseAddr; c.count = c.baseCount; }
        else this.mask[n >> 2]! |= 1 << (n & 3);
        break;
      }
    }
    return done;
  }

  /** Device → memory (a 'write' transfer). */
  writeMemory(n: number, src: Uint8Array, off = 0, len = src.length - off): number { return this.move(n, src, off, len, true); }
  /** Memory → device (a 'read' transfer). */
  readMemory(n: number, dst: Uint8Array, off = 0, len = dst.length - off): number { return this.move(n, dst, off, len, false); }

  readByte(port: number): number {
    const pn = PAGE_PORT.indexOf(port & 0xff);
    if (port >= 0x80 && port < 0x490 && pn >= 0) return port >= 0x400 ? this.ch[pn]!.pageHigh : this.ch[pn]!.page;
    const c = port >= 0xc0 ? 1 : 0;
    const reg = c ? (port - 0xc0) >> 1 : port;
    if (reg < 8) {
      const ch = this.ch[c * 4 + (reg >> 1)]!;
      const v = reg & 1 ? ch.count : ch.addr;
      const hi = this.flip[c]!;
      this.flip[c] = !hi;
      return hi ? v >> 8 : v & 0xff;
    }
    switch (reg) {
      case 8: {
        const v = this.status[c]! | (((this.dreq >> (c * 4)) & 0xf) << 4);
        this.status[c]! &= 0xf0;
        return v & 0xff;
      }
      case 13: return this.temp[c]!;
      case 15: return this.mask[c]! | 0xf0;
      default: return 0xff;
    }
  }

  writeByte(port: number, v: number): void {
    const pn = PAGE_PORT.indexOf(port & 0xff);
    if (port >= 0x80 && port < 0x490 && pn >= 0) {
      if (port >= 0x400) this.ch[pn]!.pageHigh = v; else this.ch[pn]!.page = v;
      return;
    }
    const c = port >= 0xc0 ? 1 : 0;
    const reg = c ? (port - 0xc0) >> 1 : port;
    if (reg < 8) {
      const ch = this.ch[c * 4 + (reg >> 1)]!;
      const hi = this.flip[c]!;
      this.flip[c] = !hi;
      if (reg & 1) {
        ch.baseCount = hi ? (ch.baseCount & 0xff) | (v << 8) : (ch.baseCount & 0xff00) | v;
        ch.count = ch.baseCount;
      } else {
        ch.baseAddr = hi ? (ch.baseAddr & 0xff) | (v << 8) : (ch.baseAddr & 0xff00) | v;
        ch.addr = ch.baseAddr;
      }
      return;
    }
    switch (reg) {
      case 8: this.command[c] = v; break;
      case 9: if (v & 4) this.dreq |= 1 << (c * 4 + (v & 3)); else this.dreq &= ~(1 << (c * 4 + (v & 3))); break;
      case 10: if (v & 4) this.mask[c]! |= 1 << (v & 3); else this.mask[c]! &= ~(1 << (v & 3)); break;
      case 11: this.ch[c * 4 + (v & 3)]!.mode = v & 0xfc; break;
      case 12: this.flip[c] = false; break;
      case 13: this.masterClear(c); break;
      case 14: this.mask[c] = 0; break;
      case 15: this.mask[c] = v & 0xf; break;
    }
    this.run();
  }

  saveState(): object {
    return { ch: this.ch.map((c) => ({ ...c })), command: this.command, status: this.status, mask: this.mask, flip: this.flip, temp: this.temp, dreq: this.dreq };
  }
  loadState(s: { ch: Chan[]; command: number[]; status: number[]; mask: number[]; flip: boolean[]; temp: number[]; dreq: number }): void {
    s.ch.forEach((c, i) => Object.assign(this.ch[i]!, c));
    this.command = s.command.slice(); this.status = s.status.slice(); this.mask = s.mask.slice();
    this.flip = s.flip.slice(); this.temp = s.temp.slice(); this.dreq = s.dreq;
  }
}
