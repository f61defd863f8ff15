/**
 * The VGA core: registers at 0x3B0-0x3DF, the 0xA0000-0xBFFFF memory window
 * with its latched planar access, and the Bochs VBE extension at 0x1CE/0x1CF.
 *
 * Video memory layout (as QEMU's std VGA): one byte array; the four VGA
 * planes are interleaved, plane p of plane offset o at byte 4*o+p. So a
 * 32-bit word is one plane offset across all planes (the latch), chain-4
 * addresses are plain byte addresses (mode 13h and the VBE linear
 * framebuffer see the same bytes) and odd/even addresses 2n/2n+1 land in
 * planes 0/1 (2/3) at plane offset n.
 *
 * The core never depends on PCI: a PCI wrapper (vga-pci.ts) or an ISA
 * machine decides where the linear framebuffer lives ({@link Vga.lfbDevice}).
 *
 * Dirty tracking: writes mark 4 KiB pages of VRAM in {@link Vga.dirtyPages};
 * register writes bump {@link Vga.regGen}, DAC writes {@link Vga.palGen}.
 * Storage mapped directly into guest memory (writes the core never sees) is
 * compared against a shadow copy by {@link Vga.syncDirty}.
 */
import type { IoBus, IoDevice } from '../../bus/io-bus.js';
import type { VirtualClock } from '../../clock/virtual-clock.js';
import type { MemoryBus, MmioDevice } from '../../memory/memory-bus.js';
import { crtTiming, retraceBits, type CrtTiming } from './retrace.js';
import {
  VBE_DISPI_INDEX_BPP, VBE_DISPI_INDEX_XRES, VBE_DISPI_INDEX_YRES, VBE_DISPI_IOPORT_DATA,
  VBE_DISPI_IOPORT_INDEX, VBE_DISPI_NOCLEARMEM, VbeDispi, VbeEffect,
} from './vbe.js';

export const VGA_DEFAULT_VRAM = 16 << 20;
/** Size of the classic VGA memory (4 planes of 64 KiB). */
export const VGA_PLANAR_SIZE = 256 << 10;
export const VGA_WINDOW_BASE = 0xa0000;
export const VGA_WINDOW_SIZE = 0x20000;
/** Where isa-vga (and a machine without PCI) puts the linear framebuffer. */
export const VGA_DEFAULT_LFB = 0xe0000000;

/** Port ranges claimed on the I/O bus: mono CRTC + status, the 0x3Cx block, colour CRTC + status. */
export const VGA_PORT_RANGES: readonly (readonly [number, number])[] = [[0x3b4, 2], [0x3ba, 1], [0x3c0, 16], [0x3d4, 2], [0x3da, 1]];

/** Writable bits of the sequencer and graphics controller registers. */
const SR_MASK = [0x03, 0x3d, 0x0f, 0x3f, 0x0e, 0x00, 0x00, 0xff];
const GR_MASK = [0x0f, 0x0f, 0x0f, 0x1f, 0x03, 0x7b, 0x0f, 0x0f, 0xff, 0, 0, 0, 0, 0, 0, 0];

/** 4-bit plane mask -> 32-bit byte mask (bit p set -> byte p = 0xFF). */
const MASK16 = new Uint32Array(16);
for (let i = 0; i < 16; i++) {
  MASK16[i] = ((i & 1 ? 0xff : 0) | (i & 2 ? 0xff00 : 0) | (i & 4 ? 0xff0000 : 0) | (i & 8 ? 0xff000000 : 0)) >>> 0;
}

export interface VgaOptions {
  /** VRAM bytes (multiple of 64 KiB, at least 256 KiB); default 16 MiB. */
  vramSize?: number;
  /** Clock for the retrace bits and blinking. Without one the retrace bits toggle on every read. */
  clock?: VirtualClock;
  /**
   * Storage to use as VRAM, e.g. a page-aligned slice of MemoryBus.mem from
   * allocRom, so the linear framebuffer can be mapped as direct memory. When
   * given, guest writes may bypass the core: {@link Vga.syncDirty} finds them.
   */
  vram?: Uint8Array;
}

export class Vga implements IoDevice, MmioDevice {
  readonly vramSize: number;
  readonly vram: Uint8Array;
  readonly vram32: Uint32Array;
  readonly clock: VirtualClock | null;

  // --- registers ---
  misc = 0;
  fcr = 0;
  seqIndex = 0;
  readonly seq = new Uint8Array(8);
  crtIndex = 0;
  readonly crt = new Uint8Array(256);
  gfxIndex = 0;
  readonly gfx = new Uint8Array(16);
  /** Attribute index register including bit 5 (palette address source: display on). */
  attrIndex = 0;
  readonly attr = new Uint8Array(0x15);
  /** Attribute controller flip-flop: false = next 0x3C0 write is an index. */
  attrFlip = false;
  pelMask = 0xff;
  dacReadIndex = 0;
  dacWriteIndex = 0;
  dacSub = 0;
  /** 0 after a write-index set, 3 after a read-index set (readable at 0x3C7). */
  dacState = 0;
  private readonly dacCache = new Uint8Array(3);
  /** 256 x (R,G,B) as written: 6-bit values, or 8-bit with the VBE 8-bit DAC. */
  readonly palette = new Uint8Array(768);
  latch = 0;
  readonly vbe: VbeDispi;

  // --- derived memory access state (recomputed on register writes) ---
  private chain4 = false;
  private oddEvenWrite = false;
  private oddEvenRead = false;
  private planeWrite = 0;
  private memMap = 0;

  // --- change tracking ---
  /** One byte per 4 KiB page of VRAM: 1 = written since the renderer last looked. */
  readonly dirtyPages: Uint8Array;
  /** Planes written since last cleared (bit 2: the font may have changed). */
  planesWritten = 0;
  /** Bumped on every register write that can change the picture. */
  regGen = 0;
  /** Bumped on every DAC write. */
  palGen = 0;
  private readonly shadow: Uint32Array | null;

  private mem: MemoryBus | null = null;
  /** VRAM offset and size of the window's direct chain-4 mapping (size 0: none). */
  private aliasOff = -1;
  private aliasSize = 0;

  private timing: CrtTiming | null = null;
  private fakeRetrace = 0;

  /** MMIO handler for the linear framebuffer (all of VRAM), for a PCI BAR or a fixed address. */
  readonly lfbDevice: MmioDevice;

  constructor(opts: VgaOptions = {}) {
    const size = opts.vram?.length ?? opts.vramSize ?? VGA_DEFAULT_VRAM;
    if (size < VGA_PLANAR_SIZE || size % 0x10000 !== 0 || (size & (size - 1)) !== 0) {
      throw new RangeError(`VGA memory must be a power of two of at least 256 KiB (got ${size} bytes)`);
    }
    this.vramSize = size;
    if (opts.vram !== undefined) {
      if (opts.vram.byteOffset % 4 !== 0) throw new RangeError('VGA memory storage must be 4-byte aligned');
      this.vram = opts.vram;
      this.shadow = new Uint32Array(size >>> 2);
    } else {
      this.vram = new Uint8Array(size);
      this.shadow = null;
    }
    this.vram32 = new Uint32Array(this.vram.buffer, this.vram.byteOffset, size >>> 2);
    this.dirtyPages = new Uint8Array(size >>> 12);
    this.clock = opts.clock ?? null;
    this.vbe = new VbeDispi(size);
    this.lfbDevice = new LinearFramebuffer(this);
    this.reset();
  }

  /** Power-on state: everything zero (the VGA BIOS programs a mode). */
  reset(): void {
    this.misc = 0; this.fcr = 0;
    this.seqIndex = 0; this.seq.fill(0);
    this.crtIndex = 0; this.crt.fill(0);
    this.gfxIndex = 0; this.gfx.fill(0);
    this.attrIndex = 0; this.attr.fill(0); this.attrFlip = false;
    this.pelMask = 0xff;
    this.dacReadIndex = 0; this.dacWriteIndex = 0; this.dacSub = 0; this.dacState = 0;
    this.dacCache.fill(0); this.palette.fill(0);
    this.latch = 0;
    this.vbe.reset();
    this.updateAccess();
    this.regGen++; this.palGen++;
  }

  /** Claim the VGA ports, the VBE ports and the 0xA0000-0xBFFFF window. */
  attach(io: IoBus, mem: MemoryBus | null): void {
    // Only the ports a VGA decodes (as QEMU): 0x3B0-0x3B3 and friends stay free for
    // other ISA devices (the parallel port at 0x3BC, for one).
    for (const [base, n] of VGA_PORT_RANGES) io.register(base, n, this, 'vga');
    io.register(VBE_DISPI_IOPORT_INDEX, 2, this, 'vbe');
    if (mem !== null) { this.mem = mem; this.mapWindow(); }
  }

  /**
   * (Re)establish the 0xA0000-0xBFFFF window on the memory bus given to
   * attach(): for the chipset to call when it hands the range back to the VGA
   * (i440FX SMRAM closed).
   */
  mapWindow(): void {
    const mem = this.mem;
    if (mem === null) return;
    mem.mapMmio(VGA_WINDOW_BASE, VGA_WINDOW_SIZE, this, 'vga-lowmem');
    this.aliasOff = -1; this.aliasSize = 0;
    this.updateAlias();
  }

  /**
   * In chain-4 mode with all planes writable, window bytes are plain VRAM
   * bytes (mode 13h, VBE banks): when the storage lives in guest memory, map
   * the window directly so the CPU's fast path reaches it, as QEMU's chain-4
   * alias does. Any other mode goes back to the MMIO handlers.
   */
  private updateAlias(): void {
    const mem = this.mem;
    if (mem === null || this.shadow === null || this.vram.buffer !== mem.mem.buffer) return;
    let off = -1, size = 0;
    if (this.chain4 && this.planeWrite === 0x0f) {
      if (this.memMap === 1 && this.vbe.bankOffset + 0x10000 <= this.vramSize) { off = this.vbe.bankOffset; size = 0x10000; }
      else if (this.memMap === 0) { off = 0; size = 0x20000; }
    }
    if (off === this.aliasOff && size === this.aliasSize) return;
    if (this.aliasSize !== 0) mem.setAccess(VGA_WINDOW_BASE, VGA_WINDOW_SIZE, -1, -1);
    this.aliasOff = off; this.aliasSize = size;
    if (size !== 0) {
      const base = this.vram.byteOffset - mem.mem.byteOffset + off;
      mem.setAccess(VGA_WINDOW_BASE, size, base, base);
    }
  }

  /**
   * Map the linear framebuffer at `base`. With storage inside `mem` (see
   * {@link VgaOptions.vram}) the mapping is direct; otherwise through MMIO.
   */
  mapLfb(mem: MemoryBus, base: number): void {
    const off = this.vram.buffer === mem.mem.buffer ? this.vram.byteOffset - mem.mem.byteOffset : -1;
    if (off >= 0 && off % 4096 === 0) mem.setAccess(base, this.vramSize, off, off);
    else mem.mapMmio(base, this.vramSize, this.lfbDevice, 'vga-lfb');
  }

  // ---------------------------------------------------------------- state helpers

  get vbeEnabled(): boolean { return this.vbe.enabled; }
  /** True when the DAC holds 8-bit components (VBE 8-bit DAC switch). */
  get dac8bit(): boolean { return this.vbe.dac8bit; }

  /** Recompute the cached memory-access mode after a register change. */
  private updateAccess(): void {
    let sr4 = this.seq[4]!, sr2 = this.seq[2]!;
    if (this.vbe.enabled && this.vbe.bpp !== 4) { sr4 |= 0x08; sr2 |= 0x0f; }
    this.chain4 = (sr4 & 0x08) !== 0;
    this.oddEvenWrite = (sr4 & 0x04) === 0;
    this.oddEvenRead = (this.gfx[5]! & 0x10) !== 0;
    this.planeWrite = sr2 & 0x0f;
    this.memMap = (this.gfx[6]! >> 2) & 3;
    this.timing = null;
    this.updateAlias();
  }

  /** Effective Clocking Mode register (VBE 4 bpp turns dot-clock halving off). */
  get sr1(): number {
    const v = this.seq[1]!;
    return this.vbe.enabled && this.vbe.bpp === 4 ? v & ~8 : v;
  }

  private colorMode(): boolean { return (this.misc & 1) !== 0; }

  // ---------------------------------------------------------------- port I/O

  ioRead(port: number, size: number): number {
    if (port === VBE_DISPI_IOPORT_INDEX || port === VBE_DISPI_IOPORT_DATA) {
      const v = port === VBE_DISPI_IOPORT_INDEX ? this.vbe.index : this.vbe.read();
      return size === 1 ? v & 0xff : v;
    }
    if (size === 1) return this.readPort(port);
    let v = 0;
    for (let i = 0; i < size; i++) v |= this.readPort((port + i) & 0xffff) << (8 * i);
    return v >>> 0;
  }

  ioWrite(port: number, size: number, value: number): void {
    if (port === VBE_DISPI_IOPORT_INDEX) { this.vbe.index = value & 0xffff; return; }
    if (port === VBE_DISPI_IOPORT_DATA) { this.vbeWrite(value & 0xffff); return; }
    if (size === 1) { this.writePort(port, value & 0xff); return; }
    for (let i = 0; i < size; i++) this.writePort((port + i) & 0xffff, (value >>> (8 * i)) & 0xff);
  }

  /** Ports of the mono (0x3Bx) or colour (0x3Dx) block that the I/O select bit disables. */
  private inactive(port: number): boolean {
    if (port >= 0x3b0 && port <= 0x3bf) return this.colorMode();
    if (port >= 0x3d0 && port <= 0x3df) return !this.colorMode();
    return false;
  }

  readPort(port: number): number {
    if (this.inactive(port)) return 0xff;
    switch (port) {
      case 0x3c0: return this.attrIndex;
      case 0x3c1: {
        const i = this.attrIndex & 0x1f;
        return i < 0x15 ? this.attr[i]! : 0;
      }
      case 0x3c2: return 0; // Input Status 0: no switch sense, no retrace interrupt
      case 0x3c4: return this.seqIndex;
      case 0x3c5: return this.seq[this.seqIndex]!;
      case 0x3c6: return this.pelMask;
      case 0x3c7: return this.dacState;
      case 0x3c8: return this.dacWriteIndex;
      case 0x3c9: {
        let v = this.palette[this.dacReadIndex * 3 + this.dacSub]!;
        if (!this.dac8bit) v &= 0x3f;
        if (++this.dacSub === 3) { this.dacSub = 0; this.dacReadIndex = (this.dacReadIndex + 1) & 0xff; }
        return v;
      }
      case 0x3ca: return this.fcr;
      case 0x3cc: return this.misc;
      case 0x3ce: return this.gfxIndex;
      case 0x3cf: return this.gfx[this.gfxIndex]!;
      case 0x3b4: case 0x3d4: return this.crtIndex;
      case 0x3b5: case 0x3d5: return this.crt[this.crtIndex]!;
      case 0x3ba: case 0x3da:
        this.attrFlip = false;
        return this.inputStatus1();
      default: return 0xff;
    }
  }

  writePort(port: number, v: number): void {
    if (this.inactive(port)) return;
    switch (port) {
      case 0x3c0:
        if (!this.attrFlip) {
          this.attrIndex = v & 0x3f;
        } else {
          const i = this.attrIndex & 0x1f;
          if (i <= 0x0f) this.attr[i] = v & 0x3f;
          else if (i === 0x10) this.attr[i] = v & ~0x10;
          else if (i === 0x11) this.attr[i] = v;
          else if (i === 0x12) this.attr[i] = v & 0x3f;
          else if (i === 0x13) this.attr[i] = v & 0x0f;
          else if (i === 0x14) this.attr[i] = v & 0x0f;
        }
        this.attrFlip = !this.attrFlip;
        this.regGen++;
        return;
      case 0x3c2: this.misc = v & ~0x10; this.timing = null; this.regGen++; return;
      case 0x3c4: this.seqIndex = v & 7; return;
      case 0x3c5:
        this.seq[this.seqIndex] = v & SR_MASK[this.seqIndex]!;
        this.updateAccess(); this.regGen++;
        return;
      case 0x3c6: this.pelMask = v; this.palGen++; return;
      case 0x3c7: this.dacReadIndex = v; this.dacSub = 0; this.dacState = 3; return;
      case 0x3c8: this.dacWriteIndex = v; this.dacSub = 0; this.dacState = 0; return;
      case 0x3c9:
        this.dacCache[this.dacSub] = this.dac8bit ? v : v & 0x3f;
        if (++this.dacSub === 3) {
          const p = this.dacWriteIndex * 3;
          this.palette[p] = this.dacCache[0]!; this.palette[p + 1] = this.dacCache[1]!; this.palette[p + 2] = this.dacCache[2]!;
          this.dacSub = 0;
          this.dacWriteIndex = (this.dacWriteIndex + 1) & 0xff;
          this.palGen++;
        }
        return;
      case 0x3ce: this.gfxIndex = v & 0x0f; return;
      case 0x3cf:
        this.gfx[this.gfxIndex] = v & GR_MASK[this.gfxIndex]!;
        this.vbeUpdateVgaRegs();
        this.updateAccess(); this.regGen++;
        return;
      case 0x3b4: case 0x3d4: this.crtIndex = v; return;
      case 0x3b5: case 0x3d5: {
        const i = this.crtIndex;
        // CR11 bit 7 write-protects CR0-CR7, except the line compare bit 8 in CR7.
        if ((this.crt[0x11]! & 0x80) !== 0 && i <= 7) {
          if (i === 7) this.crt[7] = (this.crt[7]! & ~0x10) | (v & 0x10);
        } else {
          this.crt[i] = v;
        }
        // While a VBE mode is on, the registers it derives stay as it set them (as QEMU
        // since CVE-2016-3712: the guest cannot point the CRTC outside video memory).
        this.vbeUpdateVgaRegs();
        this.timing = null; this.regGen++;
        return;
      }
      case 0x3ba: case 0x3da: this.fcr = v & 0x10; return;
      default: return;
    }
  }

  private inputStatus1(): number {
    if (this.clock === null) {
      this.fakeRetrace ^= 0x09;
      return this.fakeRetrace;
    }
    if (this.timing === null) this.timing = crtTiming(this.misc, this.sr1, this.crt);
    return retraceBits(this.timing, this.clock.now());
  }

  // ---------------------------------------------------------------- VBE

  private vbeWrite(v: number): void {
    const effect = this.vbe.write(v);
    if (effect === VbeEffect.None) return;
    if (effect === VbeEffect.Geometry || effect === VbeEffect.Enabled) this.vbeUpdateVgaRegs();
    if (effect === VbeEffect.Enabled && (v & VBE_DISPI_NOCLEARMEM) === 0) {
      const n = Math.min(this.vramSize, this.vbe.yres * this.vbe.lineOffset);
      this.vram.fill(0, 0, n);
      this.markDirty(0, n);
    }
    this.updateAccess();
    this.regGen++; this.palGen++;
  }

  /** Make the VGA registers describe the VBE mode (graphics, 64 KiB window at 0xA0000). */
  private vbeUpdateVgaRegs(): void {
    if (!this.vbe.enabled) return;
    const cr = this.crt, gr = this.gfx;
    gr[6] = (gr[6]! & ~0x0c) | 0x04 | 0x01;
    cr[0x17] = cr[0x17]! | 3;
    cr[0x13] = (this.vbe.lineOffset >>> 3) & 0xff;
    cr[0x01] = ((this.vbe.regs[VBE_DISPI_INDEX_XRES]! >>> 3) - 1) & 0xff;
    const h = this.vbe.regs[VBE_DISPI_INDEX_YRES]! - 1;
    cr[0x12] = h & 0xff;
    cr[0x07] = (cr[0x07]! & ~0x42) | ((h >> 7) & 0x02) | ((h >> 3) & 0x40);
    cr[0x18] = 0xff;
    cr[0x07] = cr[0x07]! | 0x10;
    cr[0x09] = cr[0x09]! | 0x40;
    const shift = this.vbe.regs[VBE_DISPI_INDEX_BPP] === 4 ? 0 : 2;
    gr[5] = (gr[5]! & ~0x60) | (shift << 5);
    cr[0x09] = cr[0x09]! & ~0x9f;
  }

  // ---------------------------------------------------------------- memory window

  private markDirty(byteAddr: number, len: number): void {
    const d = this.dirtyPages;
    const last = Math.min(byteAddr + len - 1, this.vramSize - 1) >>> 12;
    for (let p = byteAddr >>> 12; p <= last; p++) d[p] = 1;
  }

  /**
   * Convert an offset in the 128 KiB window to a VGA memory address
   * (before chain/odd-even decoding), or -1 when the memory map hides it.
   */
  private windowAddr(off: number): number {
    off &= 0x1ffff;
    switch (this.memMap) {
      case 0: return off;
      case 1: return off >= 0x10000 ? -1 : off + this.vbe.bankOffset;
      case 2: return off >= 0x10000 && off < 0x18000 ? off - 0x10000 : -1;
      default: return off >= 0x18000 ? off - 0x18000 : -1;
    }
  }

  /** CPU read of one byte at `off` in the 0xA0000 window. */
  readByte(off: number): number {
    const addr = this.windowAddr(off);
    if (addr < 0) return 0xff;
    if (this.chain4) {
      if (addr >= this.vramSize) return 0xff;
      this.latch = this.vram32[addr >>> 2]!;
      return this.vram[addr]!;
    }
    if (this.oddEvenRead) {
      const plane = (this.gfx[4]! & 2) | (addr & 1);
      const b = ((addr & ~1) << 1) | plane;
      if (b >= this.vramSize) return 0xff;
      this.latch = this.vram32[b >>> 2]!;
      return this.vram[b]!;
    }
    if (addr >= this.vramSize >>> 2) return 0xff;
    const latch = this.vram32[addr]!;
    this.latch = latch;
    if ((this.gfx[5]! & 0x08) === 0) {
      return (latch >>> ((this.gfx[4]! & 3) << 3)) & 0xff;
    }
    // Read mode 1: colour compare over the planes selected by Color Don't Care.
    let r = (latch ^ MASK16[this.gfx[2]! & 0x0f]!) & MASK16[this.gfx[7]! & 0x0f]!;
    r |= r >>> 16;
    r |= r >>> 8;
    return ~r & 0xff;
  }

  /** CPU write of one byte at `off` in the 0xA0000 window. */
  writeByte(off: number, val: number): void {
    const addr = this.windowAddr(off);
    if (addr < 0) return;
    val &= 0xff;
    if (this.chain4) {
      const mask = 1 << (addr & 3);
      if ((this.planeWrite & mask) !== 0 && addr < this.vramSize) {
        this.vram[addr] = val;
        this.planesWritten |= mask;
        this.dirtyPages[addr >>> 12] = 1;
      }
      return;
    }
    if (this.oddEvenWrite) {
      // A0 chooses the odd (1, 3) or even (0, 2) planes; the Map Mask picks among them.
      const mask = this.planeWrite & ((addr & 1) !== 0 ? 0x0a : 0x05);
      const base = (addr & ~1) << 1;
      if (base >= this.vramSize) return;
      for (let p = 0; p < 4; p++) if ((mask & (1 << p)) !== 0) this.vram[base | p] = val;
      if (mask !== 0) { this.planesWritten |= mask; this.dirtyPages[base >>> 12] = 1; }
      return;
    }
    if (addr >= this.vramSize >>> 2) return;
    const gr = this.gfx;
    const mode = gr[5]! & 3;
    let v: number, bitMask: number;
    if (mode === 1) {
      v = this.latch;
    } else {
      const rot = gr[3]! & 7;
      if (mode === 0) {
        const b = ((val >>> rot) | (val << (8 - rot))) & 0xff;
        v = (b * 0x01010101) >>> 0;
        const en = MASK16[gr[1]! & 0x0f]!;
        v = ((v & ~en) | (MASK16[gr[0]! & 0x0f]! & en)) >>> 0;
        bitMask = gr[8]!;
      } else if (mode === 2) {
        v = MASK16[val & 0x0f]!;
        bitMask = gr[8]!;
      } else {
        const b = ((val >>> rot) | (val << (8 - rot))) & 0xff;
        bitMask = gr[8]! & b;
        v = MASK16[gr[0]! & 0x0f]!;
      }
      switch (gr[3]! >>> 3) {
        case 1: v &= this.latch; break;
        case 2: v |= this.latch; break;
        case 3: v ^= this.latch; break;
        default: break;
      }
      const bm = (bitMask * 0x01010101) >>> 0;
      v = ((v & bm) | (this.latch & ~bm)) >>> 0;
    }
    const wm = MASK16[this.planeWrite]!;
    const w = this.vram32;
    w[addr] = ((w[addr]! & ~wm) | (v & wm)) >>> 0;
    this.planesWritten |= this.planeWrite;
    this.dirtyPages[addr >>> 10] = 1;
  }

  mmioRead(offset: number, size: number): number {
    if (size === 1) return this.readByte(offset);
    let v = 0;
    for (let i = 0; i < size; i++) v |= this.readByte(offset + i) << (8 * i);
    return v >>> 0;
  }

  mmioWrite(offset: number, size: number, value: number): void {
    if (size === 1) { this.writeByte(offset, value); return; }
    for (let i = 0; i < size; i++) this.writeByte(offset + i, value >>> (8 * i));
  }

  // ---------------------------------------------------------------- state

  saveState(): VgaState {
    const b = this.vbe;
    return {
      misc: this.misc, fcr: this.fcr,
      seqIndex: this.seqIndex, seq: Array.from(this.seq),
      crtIndex: this.crtIndex, crt: Array.from(this.crt),
      gfxIndex: this.gfxIndex, gfx: Array.from(this.gfx),
      attrIndex: this.attrIndex, attr: Array.from(this.attr), attrFlip: this.attrFlip,
      pelMask: this.pelMask, dacReadIndex: this.dacReadIndex, dacWriteIndex: this.dacWriteIndex,
      dacSub: this.dacSub, dacState: this.dacState, dacCache: Array.from(this.dacCache), palette: Array.from(this.palette),
      latch: this.latch,
      vbe: { index: b.index, regs: Array.from(b.regs), lineOffset: b.lineOffset, startAddr: b.startAddr, bankOffset: b.bankOffset },
      vram: this.vram.slice(),
    };
  }

  loadState(st: VgaState): void {
    const want: [keyof VgaState, number][] = [['seq', 8], ['crt', 256], ['gfx', 16], ['attr', 0x15], ['dacCache', 3], ['palette', 768]];
    for (const [k, n] of want) {
      const v = st[k] as unknown;
      if (!Array.isArray(v) || v.length !== n) throw new Error(`VGA state: '${k}' must have ${n} entries`);
    }
    if (!(st.vram instanceof Uint8Array) || st.vram.length !== this.vramSize) {
      throw new Error(`VGA state: video memory is not ${this.vramSize} bytes (different vgamem size?)`);
    }
    this.misc = st.misc; this.fcr = st.fcr;
    this.seqIndex = st.seqIndex; this.seq.set(st.seq);
    this.crtIndex = st.crtIndex; this.crt.set(st.crt);
    this.gfxIndex = st.gfxIndex; this.gfx.set(st.gfx);
    this.attrIndex = st.attrIndex; this.attr.set(st.attr); this.attrFlip = st.attrFlip;
    this.pelMask = st.pelMask; this.dacReadIndex = st.dacReadIndex; this.dacWriteIndex = st.dacWriteIndex;
    this.dacSub = st.dacSub; this.dacState = st.dacState; this.dacCache.set(st.dacCache); this.palette.set(st.palette);
    this.latch = st.latch >>> 0;
    const b = this.vbe;
    b.index = st.vbe.index; b.regs.set(st.vbe.regs); b.lineOffset = st.vbe.lineOffset;
    b.startAddr = st.vbe.startAddr; b.bankOffset = st.vbe.bankOffset;
    this.vram.set(st.vram);
    this.dirtyPages.fill(1);
    this.planesWritten = 0x0f;
    this.updateAccess();
    this.regGen++; this.palGen++;
  }

  // ---------------------------------------------------------------- for the renderer

  /**
   * Before reading VRAM bytes [start, end): when the storage may be written
   * directly (mapped LFB), compare it against the shadow and mark changed pages.
   */
  syncDirty(start: number, end: number): void {
    const sh = this.shadow;
    if (sh === null) return;
    const w = this.vram32, d = this.dirtyPages;
    const p0 = Math.max(0, start) >>> 12, p1 = Math.min(this.vramSize, end + 4095) >>> 12;
    for (let p = p0; p < p1; p++) {
      const i0 = p << 10, i1 = i0 + 1024;
      for (let i = i0; i < i1; i++) {
        if (w[i] !== sh[i]) {
          d[p] = 1;
          sh.set(w.subarray(i, i1), i);
          break;
        }
      }
    }
  }
}

/** Everything needed to resume a VGA (savevm / migration). */
export interface VgaState {
  misc: number; fcr: number;
  seqIndex: number; seq: number[];
  crtIndex: number; crt: number[];
  gfxIndex: number; gfx: number[];
  attrIndex: number; attr: number[]; attrFlip: boolean;
  pelMask: number; dacReadIndex: number; dacWriteIndex: number; dacSub: number; dacState: number;
  dacCache: number[]; palette: number[];
  latch: number;
  vbe: { index: number; regs: number[]; lineOffset: number; startAddr: number; bankOffset: number };
  /** Copy of VRAM. */
  vram: Uint8Array;
}

/** The linear framebuffer seen through MMIO: plain bytes of VRAM. */
class LinearFramebuffer implements MmioDevice {
  constructor(private readonly vga: Vga) {}

  mmioRead(offset: number, size: number): number {
    const m = this.vga.vram;
    if (offset + size > m.length) return size === 4 ? 0xffffffff : (1 << (8 * size)) - 1;
    if (size === 1) return m[offset]!;
    if (size === 2) return m[offset]! | (m[offset + 1]! << 8);
    return (m[offset]! | (m[offset + 1]! << 8) | (m[offset + 2]! << 16) | (m[offset + 3]! << 24)) >>> 0;
  }

  mmioWrite(offset: number, size: number, value: number): void {
    const m = this.vga.vram;
    if (offset + size > m.length) return;
    m[offset] = value;
    if (size > 1) { m[offset + 1] = value >>> 8; if (size > 2) { m[offset + 2] = value >>> 16; m[offset + 3] = value >>> 24; } }
    this.vga.dirtyPages[offset >>> 12] = 1;
    if (size > 1) this.vga.dirtyPages[(offset + size - 1) >>> 12] = 1;
    this.vga.planesWritten |= 0x0f;
  }
}
