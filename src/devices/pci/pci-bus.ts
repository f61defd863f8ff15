/**
 * PCI bus 0 with configuration mechanism #1, and the PciDevice base class.
 *
 * Mechanism #1: a 32-bit write to 0xCF8 latches an address (bit 31 enable,
 * bits 23:16 bus, 15:11 device, 10:8 function, 7:2 register); accesses of 1, 2
 * or 4 bytes at 0xCFC-0xCFF then reach that function's configuration space at
 * register + (port & 3). Absent functions read all ones. Byte accesses to
 * 0xCF9 belong to the PIIX3 reset control register (see {@link PciBus.setCf9}).
 *
 * A PciDevice owns a 256-byte configuration space with a per-byte writable
 * mask and a write-1-to-clear mask (the status register). BARs (I/O or 32-bit
 * memory) are sized by writing all ones, as on hardware: the low address bits
 * are read-only zero. A BAR is decoded when the command register enables its
 * space and its address is valid; moving or disabling it remaps the I/O or
 * memory bus. The expansion ROM BAR (0x30) maps a read-only copy of the
 * device's option ROM.
 *
 * INTx: a device raises its interrupt pin; the bus ORs all sources per PIRQ
 * line using the standard swizzle PIRQ = (slot + pin - 1) & 3 and hands the
 * four PIRQ levels to a router (the PIIX3's 0x60-0x63 registers).
 */
import type { IoBus, IoDevice } from '../../bus/io-bus.js';
import type { MemoryBus, MmioDevice } from '../../memory/memory-bus.js';

/** Standard header offsets. */
export const PCI_VENDOR_ID = 0x00;
export const PCI_COMMAND = 0x04;
export const PCI_STATUS = 0x06;
export const PCI_REVISION = 0x08;
export const PCI_HEADER_TYPE = 0x0e;
export const PCI_BAR0 = 0x10;
export const PCI_SUBSYSTEM_VENDOR = 0x2c;
export const PCI_ROM_ADDRESS = 0x30;
export const PCI_CAP_PTR = 0x34;
export const PCI_INTERRUPT_LINE = 0x3c;
export const PCI_INTERRUPT_PIN = 0x3d;

export const CMD_IO = 0x0001;
export const CMD_MEMORY = 0x0002;
export const CMD_MASTER = 0x0004;
export const CMD_INTX_DISABLE = 0x0400;
export const STATUS_INTERRUPT = 0x0008;
export const STATUS_CAP_LIST = 0x0010;

/** Receives the four PIRQ levels (PIRQA..D = 0..3). */
export interface PirqRouter {
  setPirq(pirq: number, level: boolean): void;
}

/** Handler of an I/O BAR: offsets are relative to the BAR base. */
export interface PciIoHandler {
  barRead(bar: number, offset: number, size: number): number;
  barWrite(bar: number, offset: number, size: number, value: number): void;
}

export interface PciDeviceInfo {
  name: string;
  vendorId: number;
  deviceId: number;
  revision: number;
  /** class << 16 | subclass << 8 | prog-if */
  classCode: number;
  /** Header type byte (0x80 set for multi-function devices on function 0). */
  headerType?: number;
  /** Default 1AF4:1100 (Red Hat / QEMU), as QEMU gives every device without its own. */
  subsystemVendorId?: number;
  subsystemId?: number;
  /** 1 = INTA .. 4 = INTD, 0 = none. */
  interruptPin?: number;
}

const IO_SPACE = 0x10000;
const UNMAPPED = -1;

/** Adapter that forwards port accesses to a BAR handler with a relative offset. */
class IoBarWindow implements IoDevice {
  base = 0;
  constructor(private readonly h: PciIoHandler, private readonly bar: number) {}
  ioRead(port: number, size: number): number { return this.h.barRead(this.bar, port - this.base, size); }
  ioWrite(port: number, size: number, value: number): void { this.h.barWrite(this.bar, port - this.base, size, value); }
}

interface Bar {
  size: number;
  io: boolean;
  prefetch: boolean;
  ioWin: IoBarWindow | null;
  mmio: MmioDevice | null;
  /** Currently decoded address, or UNMAPPED. */
  mapped: number;
}

export abstract class PciDevice {
  readonly config = new Uint8Array(256);
  /** Bits the guest may change, per byte. */
  readonly wmask = new Uint8Array(256);
  /** Bits cleared by writing 1, per byte. */
  readonly w1cmask = new Uint8Array(256);
  readonly name: string;
  bus: PciBus | null = null;
  devfn = -1;
  private readonly bars: (Bar | null)[] = [null, null, null, null, null, null];
  private rom: Uint8Array | null = null;
  private romSize = 0;
  private romOffset = -1;
  private romMapped = UNMAPPED;
  private intxLevel = false;
  /** Initial configuration image, restored by reset(). */
  private resetImage: Uint8Array | null = null;

  constructor(info: PciDeviceInfo) {
    this.name = info.name;
    const c = this.config;
    this.set16(PCI_VENDOR_ID, info.vendorId);
    this.set16(0x02, info.deviceId);
    c[PCI_REVISION] = info.revision;
    c[0x09] = info.classCode & 0xff;
    c[0x0a] = (info.classCode >> 8) & 0xff;
    c[0x0b] = (info.classCode >> 16) & 0xff;
    c[PCI_HEADER_TYPE] = info.headerType ?? 0;
    this.set16(PCI_SUBSYSTEM_VENDOR, info.subsystemVendorId ?? 0x1af4);
    this.set16(0x2e, info.subsystemId ?? 0x1100);
    c[PCI_INTERRUPT_PIN] = info.interruptPin ?? 0;
    // Command: I/O, memory, bus master, SERR, INTx disable are writable.
    this.wmask[PCI_COMMAND] = 0x47;
    this.wmask[PCI_COMMAND + 1] = 0x05;
    // Status error bits are write-1-to-clear.
    this.w1cmask[PCI_STATUS + 1] = 0xf9;
    this.wmask[0x0c] = 0xff; // cache line size
    this.wmask[0x0d] = 0xff; // latency timer
    this.wmask[PCI_INTERRUPT_LINE] = 0xff;
    // Device-specific registers default to writable, as QEMU does; devices restrict them.
    this.writable(0x40, 0xc0);
  }

  // ---- helpers for subclasses ----
  set16(off: number, v: number): void { this.config[off] = v & 0xff; this.config[off + 1] = (v >> 8) & 0xff; }
  get16(off: number): number { return this.config[off]! | (this.config[off + 1]! << 8); }
  set32(off: number, v: number): void { this.set16(off, v & 0xffff); this.set16(off + 2, v >>> 16); }
  get32(off: number): number { return (this.get16(off) | (this.get16(off + 2) << 16)) >>> 0; }
  /** Make `count` bytes from `off` fully writable (device-specific registers). */
  protected writable(off: number, count: number, mask = 0xff): void {
    for (let i = 0; i < count; i++) this.wmask[off + i] = mask;
  }

  /** Declare BAR `i` as an I/O BAR of `size` bytes (power of two >= 4). */
  defineIoBar(i: number, size: number, handler: PciIoHandler): void {
    this.defineBar(i, size, true, false, new IoBarWindow(handler, i), null);
  }

  /** Declare BAR `i` as a 32-bit memory BAR of `size` bytes (power of two >= 16). */
  defineMemBar(i: number, size: number, dev: MmioDevice, prefetch = false): void {
    this.defineBar(i, size, false, prefetch, null, dev);
  }

  private defineBar(i: number, size: number, io: boolean, prefetch: boolean, win: IoBarWindow | null, mmio: MmioDevice | null): void {
    if (i < 0 || i > 5 || size <= 0 || (size & (size - 1)) !== 0 || size < (io ? 4 : 16)) {
      throw new RangeError(`${this.name}: bad BAR ${i} of size ${size}`);
    }
    this.bars[i] = { size, io, prefetch, ioWin: win, mmio, mapped: UNMAPPED };
    const off = PCI_BAR0 + 4 * i;
    const mask = (~(size - 1) & (io ? 0xfffffffc : 0xfffffff0)) >>> 0;
    for (let b = 0; b < 4; b++) this.wmask[off + b] = (mask >>> (8 * b)) & 0xff;
    this.set32(off, io ? 1 : prefetch ? 8 : 0);
  }

  /** Give the device an option ROM, exposed through the expansion ROM BAR. */
  setRom(data: Uint8Array): void {
    let size = 4096;
    while (size < data.length) size *= 2;
    this.rom = data;
    this.romSize = size;
    const mask = (~(size - 1) >>> 0) | 1;
    for (let b = 0; b < 4; b++) this.wmask[PCI_ROM_ADDRESS + b] = (mask >>> (8 * b)) & 0xff;
  }

  /** Start a capability list; returns nothing, link capabilities with addCapability. */
  addCapability(offset: number, id: number, length: number): void {
    if (offset < 0x40 || offset + length > 256) throw new RangeError(`${this.name}: capability at 0x${offset.toString(16)}`);
    this.config[offset] = id;
    this.config[offset + 1] = this.config[PCI_CAP_PTR]!;
    this.config[PCI_CAP_PTR] = offset;
    this.config[PCI_STATUS] |= STATUS_CAP_LIST;
  }

  /** Address BAR `i` decodes at, or -1 when not mapped. */
  barAddress(i: number): number { return this.bars[i]?.mapped ?? UNMAPPED; }

  /** Bus-master enable bit of the command register. */
  get busMaster(): boolean { return (this.config[PCI_COMMAND]! & CMD_MASTER) !== 0; }

  // ---- configuration space access (called by the bus) ----
  readConfig(off: number, size: number): number {
    const c = this.config;
    if (size === 1) return c[off]!;
    if (size === 2) return c[off]! | (c[off + 1]! << 8);
    return (c[off]! | (c[off + 1]! << 8) | (c[off + 2]! << 16) | (c[off + 3]! << 24)) >>> 0;
  }

  writeConfig(off: number, size: number, value: number): void {
    const c = this.config, wm = this.wmask, cm = this.w1cmask;
    for (let i = 0; i < size && off + i < 256; i++) {
      const o = off + i, b = (value >>> (8 * i)) & 0xff;
      c[o] = ((c[o]! & ~wm[o]!) | (b & wm[o]!)) & ~(b & cm[o]!);
    }
    const end = off + size;
    if (off < 0x06 && end > 0x04) { this.updateMappings(); this.updateIntx(); }
    else if ((off < 0x28 && end > 0x10) || (off < 0x34 && end > 0x30)) this.updateMappings();
    this.configWritten(off, size, value);
  }

  /** Hook for device-specific registers, after the write has been applied. */
  protected configWritten(_off: number, _size: number, _value: number): void {}

  // ---- interrupts ----
  /** Drive this function's INTx pin. */
  setIntx(level: boolean): void {
    this.intxLevel = level;
    if (level) this.config[PCI_STATUS] |= STATUS_INTERRUPT;
    else this.config[PCI_STATUS] &= ~STATUS_INTERRUPT;
    this.updateIntx();
  }

  private updateIntx(): void {
    const pin = this.config[PCI_INTERRUPT_PIN]!;
    if (this.bus === null || pin === 0) return;
    const disabled = (this.config[PCI_COMMAND + 1]! & (CMD_INTX_DISABLE >> 8)) !== 0;
    this.bus.setIntx(this.devfn, pin, this.intxLevel && !disabled);
  }

  // ---- BAR decoding ----
  private barTarget(bar: Bar, i: number, cmd: number): number {
    const raw = this.get32(PCI_BAR0 + 4 * i);
    if (bar.io) {
      if ((cmd & CMD_IO) === 0) return UNMAPPED;
      const a = (raw & ~(bar.size - 1) & 0xfffffffc) >>> 0;
      if (a === 0 || a + bar.size > IO_SPACE) return UNMAPPED;
      return a;
    }
    if ((cmd & CMD_MEMORY) === 0) return UNMAPPED;
    const a = (raw & ~(bar.size - 1) & 0xfffffff0) >>> 0;
    if (a === 0 || a + bar.size > 0xffffffff) return UNMAPPED;
    return a;
  }

  /** Re-evaluate every BAR and the ROM BAR against the command register. */
  updateMappings(): void {
    const bus = this.bus;
    if (bus === null) return;
    const cmd = this.get16(PCI_COMMAND);
    for (let i = 0; i < 6; i++) {
      const bar = this.bars[i];
      if (bar == null) continue;
      const target = this.barTarget(bar, i, cmd);
      if (target === bar.mapped) continue;
      if (bar.mapped !== UNMAPPED) bus.unmapBar(bar.io, bar.mapped, bar.size);
      bar.mapped = UNMAPPED;
      if (target === UNMAPPED) continue;
      const ok = bar.io ? bus.mapIoBar(target, bar.size, bar.ioWin!, `${this.name} BAR${i}`)
        : bus.mapMemBar(target, bar.size, bar.mmio!, `${this.name} BAR${i}`);
      if (ok) {
        bar.mapped = target;
        if (bar.ioWin !== null) bar.ioWin.base = target;
      }
    }
    if (this.rom !== null) {
      const raw = this.get32(PCI_ROM_ADDRESS);
      let target = UNMAPPED;
      if ((raw & 1) !== 0 && (cmd & CMD_MEMORY) !== 0) {
        const a = (raw & ~(this.romSize - 1)) >>> 0;
        if (a !== 0 && a + this.romSize <= 0xffffffff) target = a;
      }
      if (target !== this.romMapped) {
        if (this.romMapped !== UNMAPPED) bus.unmapBar(false, this.romMapped, this.romSize);
        this.romMapped = UNMAPPED;
        if (target !== UNMAPPED) {
          if (this.romOffset < 0) {
            this.romOffset = bus.memory.allocRom(this.romSize);
            bus.memory.mem.set(this.rom, this.romOffset);
          }
          if (bus.mapRomBar(target, this.romSize, this.romOffset)) this.romMapped = target;
        }
      }
    }
  }

  /** Unmap everything (reset / unplug). */
  protected unmapAll(): void {
    const bus = this.bus;
    for (const bar of this.bars) {
      if (bar != null && bar.mapped !== UNMAPPED) { bus?.unmapBar(bar.io, bar.mapped, bar.size); bar.mapped = UNMAPPED; }
    }
    if (this.romMapped !== UNMAPPED) { bus?.unmapBar(false, this.romMapped, this.romSize); this.romMapped = UNMAPPED; }
  }

  /** Called by the bus when the device is plugged; records the power-on config image. */
  attached(bus: PciBus, devfn: number): void {
    this.bus = bus;
    this.devfn = devfn;
    this.resetImage = this.config.slice();
  }

  /** Power-on state of the configuration space; subclasses extend for their own state. */
  reset(): void {
    if (this.resetImage !== null) this.config.set(this.resetImage);
    this.intxLevel = false;
    this.updateIntx();
    this.unmapAll();
    this.updateMappings();
  }

  saveState(): Record<string, unknown> {
    return { config: Buffer.from(this.config).toString('hex'), intx: this.intxLevel };
  }

  loadState(s: Record<string, unknown>): void {
    const hex = s['config'];
    if (typeof hex !== 'string' || hex.length !== 512) throw new Error(`${this.name}: bad PCI config in saved state`);
    this.config.set(Buffer.from(hex, 'hex'));
    this.intxLevel = s['intx'] === true;
    this.unmapAll();
    this.updateMappings();
    this.updateIntx();
  }
}

/**
 * PCI bus 0 and the configuration mechanism #1 ports (0xCF8-0xCFF).
 */
export class PciBus implements IoDevice {
  private readonly devices: (PciDevice | null)[] = new Array<PciDevice | null>(256).fill(null);
  private configAddress = 0;
  /** Per (devfn, pin-1): current INTx level. */
  private readonly intx = new Uint8Array(256 * 4);
  /** Per PIRQ: number of asserted sources. */
  private readonly pirqCount = new Int32Array(4);
  private router: PirqRouter | null = null;
  private cf9: IoDevice | null = null;
  /** Memory BARs below this address are not decoded (guest RAM wins). */
  memHoleStart: number;

  constructor(readonly io: IoBus, readonly memory: MemoryBus, opts: { memHoleStart?: number } = {}) {
    this.memHoleStart = opts.memHoleStart ?? Math.min(memory.ramSize, 0xe0000000);
    io.register(0xcf8, 8, this, 'pci-conf');
  }

  /** Plug `dev` at slot/function. */
  add(dev: PciDevice, slot: number, fn = 0): void {
    if (slot < 0 || slot > 31 || fn < 0 || fn > 7) throw new RangeError(`PCI address ${slot}.${fn} out of range`);
    const devfn = (slot << 3) | fn;
    if (this.devices[devfn] !== null) {
      throw new Error(`PCI: slot ${slot} function ${fn} not available for ${dev.name}, in use by ${this.devices[devfn]!.name}`);
    }
    this.devices[devfn] = dev;
    dev.attached(this, devfn);
  }

  device(slot: number, fn = 0): PciDevice | null { return this.devices[(slot << 3) | fn] ?? null; }
  list(): PciDevice[] { return this.devices.filter((d): d is PciDevice => d !== null); }

  setRouter(r: PirqRouter): void { this.router = r; }
  /** Byte accesses to 0xCF9 go here (PIIX3 reset control register). */
  setCf9(h: IoDevice): void { this.cf9 = h; }

  /** Current level of PIRQ `n` (0..3). */
  pirqLevel(n: number): boolean { return this.pirqCount[n]! > 0; }

  /** INTx of `devfn`, pin 1..4, routed with the (slot + pin) swizzle. */
  setIntx(devfn: number, pin: number, level: boolean): void {
    const k = devfn * 4 + pin - 1;
    const v = level ? 1 : 0;
    if (this.intx[k] === v) return;
    this.intx[k] = v;
    const pirq = ((devfn >> 3) + pin - 1) & 3;
    const before = this.pirqCount[pirq]! > 0;
    this.pirqCount[pirq]! += level ? 1 : -1;
    const after = this.pirqCount[pirq]! > 0;
    if (before !== after && this.router !== null) this.router.setPirq(pirq, after);
  }

  // ---- mapping services for devices ----
  mapIoBar(base: number, size: number, win: IoDevice, name: string): boolean {
    for (let p = base; p < base + size; p++) if (this.io.ownerName(p) !== '') return false;
    this.io.register(base, size, win, name);
    return true;
  }

  /** Page-aligned window for a memory BAR, or null where guest RAM or the legacy area wins. */
  private memWindow(base: number, size: number): [number, number] | null {
    const b = Math.floor(base / 4096) * 4096;
    const e = Math.ceil((base + size) / 4096) * 4096;
    if (b < Math.max(this.memHoleStart, 0x100000) || e > 0x100000000) return null;
    return [b, e - b];
  }

  mapMemBar(base: number, size: number, dev: MmioDevice, name: string): boolean {
    const w = this.memWindow(base, size);
    if (w === null) return false;
    const shift = base - w[0];
    const target: MmioDevice = shift === 0 ? dev : {
      mmioRead: (o, s) => dev.mmioRead(o - shift, s),
      mmioWrite: (o, s, v) => dev.mmioWrite(o - shift, s, v),
    };
    this.memory.mapMmio(w[0], w[1], target, name);
    return true;
  }

  mapRomBar(base: number, size: number, romOffset: number): boolean {
    const w = this.memWindow(base, size);
    if (w === null) return false;
    this.memory.setAccess(base, size, romOffset, -1);
    return true;
  }

  unmapBar(io: boolean, base: number, size: number): void {
    if (io) { this.io.unregister(base, size); return; }
    const w = this.memWindow(base, size);
    if (w !== null) this.memory.unmap(w[0], w[1]);
  }

  // ---- configuration mechanism #1 ----
  ioRead(port: number, size: number): number {
    const r = port - 0xcf8;
    if (r < 4) {
      if (r === 1 && size === 1 && this.cf9 !== null) return this.cf9.ioRead(port, 1);
      return (this.configAddress >>> (8 * r)) & (size === 4 ? 0xffffffff : size === 2 ? 0xffff : 0xff);
    }
    return this.configRead(r - 4, size);
  }

  ioWrite(port: number, size: number, value: number): void {
    const r = port - 0xcf8;
    if (r < 4) {
      if (r === 0 && size === 4) this.configAddress = value >>> 0;
      else if (r === 1 && size === 1 && this.cf9 !== null) this.cf9.ioWrite(port, 1, value);
      return;
    }
    this.configWrite(r - 4, size, value);
  }

  private target(): PciDevice | null {
    const a = this.configAddress;
    if ((a & 0x80000000) === 0 || ((a >>> 16) & 0xff) !== 0) return null;
    return this.devices[(a >>> 8) & 0xff]!;
  }

  private configRead(lane: number, size: number): number {
    const d = this.target();
    const ones = size === 4 ? 0xffffffff : size === 2 ? 0xffff : 0xff;
    if (d === null) return ones;
    const off = (this.configAddress & 0xfc) + lane;
    if (off + size > 256) return ones;
    return d.readConfig(off, size);
  }

  private configWrite(lane: number, size: number, value: number): void {
    const d = this.target();
    if (d === null) return;
    const off = (this.configAddress & 0xfc) + lane;
    if (off + size > 256) return;
    d.writeConfig(off, size, value);
  }

  /** Direct configuration access by bus/devfn, for firmware helpers and the monitor. */
  readConfigAt(devfn: number, off: number, size: number): number {
    const d = this.devices[devfn & 0xff];
    return d == null ? (size === 4 ? 0xffffffff : size === 2 ? 0xffff : 0xff) : d.readConfig(off, size);
  }

  writeConfigAt(devfn: number, off: number, size: number, value: number): void {
    this.devices[devfn & 0xff]?.writeConfig(off, size, value);
  }

  reset(): void {
    this.configAddress = 0;
    for (const d of this.devices) d?.reset();
  }

  saveState(): Record<string, unknown> {
    return { configAddress: this.configAddress };
  }

  loadState(s: Record<string, unknown>): void {
    this.configAddress = Number(s['configAddress'] ?? 0) >>> 0;
  }
}
