/**
 * Bochs VBE "DISPI" interface: the extension that the Bochs/QEMU VGA BIOS
 * (SeaBIOS vgabios) and OS drivers (Linux bochs-drm, Windows bochs driver)
 * use to set linear high-resolution modes.
 *
 * Ports: 0x1CE selects a register (16 bit), 0x1CF reads/writes it.
 * This module only holds the register file and validates it; the VGA core
 * (vga.ts) applies the side effects on its own registers and memory.
 */

export const VBE_DISPI_INDEX_ID = 0x0;
export const VBE_DISPI_INDEX_XRES = 0x1;
export const VBE_DISPI_INDEX_YRES = 0x2;
export const VBE_DISPI_INDEX_BPP = 0x3;
export const VBE_DISPI_INDEX_ENABLE = 0x4;
export const VBE_DISPI_INDEX_BANK = 0x5;
export const VBE_DISPI_INDEX_VIRT_WIDTH = 0x6;
export const VBE_DISPI_INDEX_VIRT_HEIGHT = 0x7;
export const VBE_DISPI_INDEX_X_OFFSET = 0x8;
export const VBE_DISPI_INDEX_Y_OFFSET = 0x9;
export const VBE_DISPI_INDEX_VIDEO_MEMORY_64K = 0xa;
/** Registers 0..9 are stored; 0xA is computed from the VRAM size. */
const VBE_DISPI_INDEX_NB = 0xa;

export const VBE_DISPI_ID0 = 0xb0c0;
export const VBE_DISPI_ID5 = 0xb0c5;

export const VBE_DISPI_DISABLED = 0x00;
export const VBE_DISPI_ENABLED = 0x01;
export const VBE_DISPI_GETCAPS = 0x02;
export const VBE_DISPI_8BIT_DAC = 0x20;
export const VBE_DISPI_LFB_ENABLED = 0x40;
export const VBE_DISPI_NOCLEARMEM = 0x80;

export const VBE_DISPI_MAX_XRES = 16000;
export const VBE_DISPI_MAX_YRES = 12000;
export const VBE_DISPI_MAX_BPP = 32;

export const VBE_DISPI_IOPORT_INDEX = 0x1ce;
export const VBE_DISPI_IOPORT_DATA = 0x1cf;

/** What the VGA core must do after a data write. */
export const enum VbeEffect {
  None = 0,
  /** Geometry changed: re-derive the VGA registers. */
  Geometry = 1,
  /** ENABLE went from off to on: derive registers and (unless NOCLEARMEM) clear the screen. */
  Enabled = 2,
  /** ENABLE written in any other way, or BANK written: memory access changed. */
  Access = 3,
}

export class VbeDispi {
  index = 0;
  readonly regs = new Uint16Array(VBE_DISPI_INDEX_NB);
  /** Bytes per scan line of the virtual screen. */
  lineOffset = 0;
  /** First displayed byte in VRAM, in units of 4 bytes (as the CRTC start address). */
  startAddr = 0;
  /** Offset added to the 0xA0000 64 KiB window (BANK * 64 KiB). */
  bankOffset = 0;
  private readonly bankMask: number;

  constructor(readonly vramSize: number) {
    this.bankMask = (vramSize >>> 16) - 1;
    this.reset();
  }

  reset(): void {
    this.index = 0;
    this.regs.fill(0);
    this.regs[VBE_DISPI_INDEX_ID] = VBE_DISPI_ID5;
    this.lineOffset = 0;
    this.startAddr = 0;
    this.bankOffset = 0;
  }

  get enabled(): boolean { return (this.regs[VBE_DISPI_INDEX_ENABLE]! & VBE_DISPI_ENABLED) !== 0; }
  get bpp(): number { return this.regs[VBE_DISPI_INDEX_BPP]!; }
  get xres(): number { return this.regs[VBE_DISPI_INDEX_XRES]!; }
  get yres(): number { return this.regs[VBE_DISPI_INDEX_YRES]!; }
  get dac8bit(): boolean { return (this.regs[VBE_DISPI_INDEX_ENABLE]! & VBE_DISPI_8BIT_DAC) !== 0; }

  read(): number {
    const i = this.index;
    if (i < VBE_DISPI_INDEX_NB) {
      if ((this.regs[VBE_DISPI_INDEX_ENABLE]! & VBE_DISPI_GETCAPS) !== 0) {
        if (i === VBE_DISPI_INDEX_XRES) return VBE_DISPI_MAX_XRES;
        if (i === VBE_DISPI_INDEX_YRES) return VBE_DISPI_MAX_YRES;
        if (i === VBE_DISPI_INDEX_BPP) return VBE_DISPI_MAX_BPP;
      }
      return this.regs[i]!;
    }
    if (i === VBE_DISPI_INDEX_VIDEO_MEMORY_64K) return (this.vramSize >>> 16) & 0xffff;
    return 0;
  }

  /** Store a data-port write; returns what the VGA core has to do about it. */
  write(val: number): VbeEffect {
    val &= 0xffff;
    const r = this.regs;
    switch (this.index) {
      case VBE_DISPI_INDEX_ID:
        if (val >= VBE_DISPI_ID0 && val <= VBE_DISPI_ID5) r[0] = val;
        return VbeEffect.None;
      case VBE_DISPI_INDEX_XRES:
      case VBE_DISPI_INDEX_YRES:
      case VBE_DISPI_INDEX_BPP:
      case VBE_DISPI_INDEX_VIRT_WIDTH:
      case VBE_DISPI_INDEX_X_OFFSET:
      case VBE_DISPI_INDEX_Y_OFFSET:
        r[this.index] = val;
        this.fixup();
        return VbeEffect.Geometry;
      case VBE_DISPI_INDEX_BANK:
        val &= this.bankMask;
        r[VBE_DISPI_INDEX_BANK] = val;
        this.bankOffset = val << 16;
        return VbeEffect.Access;
      case VBE_DISPI_INDEX_ENABLE: {
        const wasOn = this.enabled;
        let effect = VbeEffect.Access;
        if ((val & VBE_DISPI_ENABLED) !== 0 && !wasOn) {
          r[VBE_DISPI_INDEX_VIRT_WIDTH] = 0;
          r[VBE_DISPI_INDEX_X_OFFSET] = 0;
          r[VBE_DISPI_INDEX_Y_OFFSET] = 0;
          r[VBE_DISPI_INDEX_ENABLE] |= VBE_DISPI_ENABLED;
          this.fixup();
          effect = VbeEffect.Enabled;
        } else {
          this.bankOffset = 0;
        }
        r[VBE_DISPI_INDEX_ENABLE] = val;
        return effect;
      }
      default:
        return VbeEffect.None;
    }
  }

  /** Bits per pixel as stored in memory (15 bpp occupies 16). */
  storageBits(): number {
    const b = this.bpp;
    return b === 15 ? 16 : b;
  }

  /**
   * Clamp the mode registers to what the VRAM can hold and derive the line
   * length, the virtual height and the start address (what QEMU's std VGA does).
   */
  private fixup(): void {
    const r = this.regs;
    if (!this.enabled) return;
    let bits: number;
    switch (r[VBE_DISPI_INDEX_BPP]) {
      case 4: case 8: case 16: case 24: case 32: bits = r[VBE_DISPI_INDEX_BPP]!; break;
      case 15: bits = 16; break;
      default: bits = 8; r[VBE_DISPI_INDEX_BPP] = 8; break;
    }
    let x = r[VBE_DISPI_INDEX_XRES]! & ~7;
    if (x === 0) x = 8;
    if (x > VBE_DISPI_MAX_XRES) x = VBE_DISPI_MAX_XRES;
    r[VBE_DISPI_INDEX_XRES] = x;
    let vw = r[VBE_DISPI_INDEX_VIRT_WIDTH]! & ~7;
    if (vw > VBE_DISPI_MAX_XRES) vw = VBE_DISPI_MAX_XRES;
    if (vw < x) vw = x;
    r[VBE_DISPI_INDEX_VIRT_WIDTH] = vw;
    const lineLength = (vw * bits) >>> 3;
    const maxY = Math.floor(this.vramSize / lineLength);
    let y = r[VBE_DISPI_INDEX_YRES]!;
    if (y === 0) y = 1;
    if (y > VBE_DISPI_MAX_YRES) y = VBE_DISPI_MAX_YRES;
    if (y > maxY) y = maxY;
    r[VBE_DISPI_INDEX_YRES] = y;
    if (r[VBE_DISPI_INDEX_X_OFFSET]! > VBE_DISPI_MAX_XRES) r[VBE_DISPI_INDEX_X_OFFSET] = VBE_DISPI_MAX_XRES;
    if (r[VBE_DISPI_INDEX_Y_OFFSET]! > VBE_DISPI_MAX_YRES) r[VBE_DISPI_INDEX_Y_OFFSET] = VBE_DISPI_MAX_YRES;
    let offset = ((r[VBE_DISPI_INDEX_X_OFFSET]! * bits) >>> 3) + r[VBE_DISPI_INDEX_Y_OFFSET]! * lineLength;
    if (offset + y * lineLength > this.vramSize) {
      r[VBE_DISPI_INDEX_Y_OFFSET] = 0;
      offset = (r[VBE_DISPI_INDEX_X_OFFSET]! * bits) >>> 3;
      if (offset + y * lineLength > this.vramSize) {
        r[VBE_DISPI_INDEX_X_OFFSET] = 0;
        offset = 0;
      }
    }
    r[VBE_DISPI_INDEX_VIRT_HEIGHT] = Math.min(maxY, 0xffff);
    this.lineOffset = lineLength;
    this.startAddr = offset >>> 2;
  }
}
