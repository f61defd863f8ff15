/**
 * A port I/O script run two ways: by boot.asm inside real QEMU (with SeaBIOS
 * before it) and by `replay` on our devices. Every read is logged; the two
 * logs must agree wherever the label asks for a comparison.
 */
import { IoBus } from '../../../../src/bus/io-bus.js';
import { VirtualClock } from '../../../../src/clock/virtual-clock.js';
import { MemoryBus } from '../../../../src/memory/memory-bus.js';

export interface LogByte { label: string; mask: number }

export class Script {
  readonly bytes: number[] = [];
  /** One entry per logged byte; mask 0 = not compared. */
  readonly log: LogByte[] = [];
  private p16(v: number) { this.bytes.push(v & 0xff, (v >> 8) & 0xff); }
  out8(port: number, v: number): this { this.bytes.push(1); this.p16(port); this.bytes.push(v & 0xff); return this; }
  in8(port: number, label: string | null, mask = 0xff): this {
    this.bytes.push(2); this.p16(port); this.log.push({ label: label ?? `ignored in ${port.toString(16)}`, mask: label === null ? 0 : mask }); return this;
  }
  out16(port: number, v: number): this { this.bytes.push(3); this.p16(port); this.p16(v); return this; }
  wait(port: number, mask: number, val: number, label: string): this {
    this.bytes.push(4); this.p16(port); this.bytes.push(mask, val); this.log.push({ label: `wait ${label}`, mask: 0xff }); return this;
  }
  dump(addr: number, len: number, label: string, compare = true): this {
    this.bytes.push(5); this.p16(addr); this.p16(len);
    for (let i = 0; i < len; i++) this.log.push({ label: `${label}[${i}]`, mask: compare ? 0xff : 0 });
    return this;
  }
  in16(port: number, label: string): this { this.bytes.push(6); this.p16(port); this.log.push({ label: `${label}.lo`, mask: 0xff }, { label: `${label}.hi`, mask: 0xff }); return this; }
  out32(port: number, v: number): this { this.bytes.push(7); this.p16(port); this.p16(v & 0xffff); this.p16(v >>> 16); return this; }
  poke(addr: number, v: number): this { this.bytes.push(9); this.p16(addr); this.bytes.push(v & 0xff); return this; }
  end(): Uint8Array { this.bytes.push(0); return Uint8Array.from(this.bytes); }
}

/** Run a script on our devices; `settle` lets asynchronous device work (block I/O) complete. */
export async function replay(code: Uint8Array, io: IoBus, mem: MemoryBus, clock: VirtualClock): Promise<number[]> {
  const out: number[] = [];
  let i = 0;
  const u16 = () => { const v = code[i]! | (code[i + 1]! << 8); i += 2; return v; };
  for (;;) {
    const op = code[i++]!;
    if (op === 0) return out;
    if (op === 1) { const p = u16(); io.write(p, 1, code[i++]!); }
    else if (op === 2) out.push(io.read(u16(), 1));
    else if (op === 3) { const p = u16(); io.write(p, 2, u16()); }
    else if (op === 4) {
      const p = u16(), mask = code[i++]!, val = code[i++]!;
      let ok = 0;
      for (let n = 0; n < 200_000; n++) {
        if ((io.read(p, 1) & mask) === val) { ok = 1; break; }
        clock.advanceBy(10_000);
        if ((n & 63) === 63) await new Promise((r) => setImmediate(r));
      }
      out.push(ok);
    } else if (op === 5) { const a = u16(), n = u16(); for (let k = 0; k < n; k++) out.push(mem.mem[a + k]!); }
    else if (op === 6) { const v = io.read(u16(), 2); out.push(v & 0xff, v >> 8); }
    else if (op === 7) { const p = u16(); const lo = u16(), hi = u16(); io.write(p, 4, (lo | (hi << 16)) >>> 0); }
    else if (op === 9) { const a = u16(); mem.mem[a] = code[i++]!; }
    else throw new Error(`bad op ${op}`);
  }
}
