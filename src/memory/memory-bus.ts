/**
 * The physical memory bus: 4 GiB of physical address space in 4 KiB pages.
 *
 * Every page has a read mapping and a write mapping. A mapping is either
 * direct (an offset into {@link MemoryBus.mem}, the one byte array that holds
 * guest RAM followed by ROM images) or -1, in which case the access goes to the
 * page's MMIO device, or, with no device, floats (reads 0xFF..., writes are
 * dropped). Separate read and write mappings express ROM (read direct, write
 * dropped) and the i440FX PAM shadow modes (read ROM, write RAM and so on).
 *
 * The CPU caches `rd`/`wr` entries in its TLB; any change of mapping bumps
 * {@link MemoryBus.generation} and calls the `onRemap` listeners so cached
 * translations can be dropped. Writes by devices (DMA) call `onDmaWrite` so a
 * CPU that caches decoded code can invalidate it.
 */

export interface MmioDevice {
  /** Read `size` (1, 2, 4) bytes at `offset` from the start of the region. */
  mmioRead(offset: number, size: number): number;
  mmioWrite(offset: number, size: number, value: number): void;
}

interface MmioRegion { base: number; size: number; dev: MmioDevice; name: string }

const PAGE_SHIFT = 12;
const PAGE_SIZE = 1 << PAGE_SHIFT;
const PAGE_MASK = PAGE_SIZE - 1;
const NPAGES = 1 << 20;
const OPEN_BUS = [0, 0xff, 0xffff, 0, 0xffffffff];

export class MemoryBus {
  /** RAM (offset 0 .. ramSize) then ROM images. */
  readonly mem: Uint8Array;
  readonly ramSize: number;
  /** Per page: offset in `mem` of the page for direct reads, or -1. */
  readonly rd = new Int32Array(NPAGES).fill(-1);
  /** Per page: offset in `mem` of the page for direct writes, or -1. */
  readonly wr = new Int32Array(NPAGES).fill(-1);
  /** Per page: index+1 into the MMIO region list, 0 for none. */
  private readonly mmioOf = new Uint16Array(NPAGES);
  private readonly regions: MmioRegion[] = [];
  private romTop: number;
  generation = 0;
  private readonly remapListeners: (() => void)[] = [];
  /** Device (DMA) write hook, for code-cache invalidation. */
  onDmaWrite: ((addr: number, len: number) => void) | null = null;

  /**
   * @param ramSize bytes of guest RAM (multiple of 4 KiB)
   * @param romSpace bytes reserved after RAM for ROM images
   */
  constructor(ramSize: number, romSpace = 16 << 20) {
    if (ramSize % PAGE_SIZE !== 0) throw new RangeError('RAM size must be a multiple of 4 KiB');
    this.ramSize = ramSize;
    this.romTop = ramSize;
    this.mem = new Uint8Array(ramSize + romSpace);
  }

  onRemap(listener: () => void): void { this.remapListeners.push(listener); }

  private changed(): void {
    this.generation++;
    for (const l of this.remapListeners) l();
  }

  private pages(base: number, size: number): [number, number] {
    if (base % PAGE_SIZE !== 0 || size % PAGE_SIZE !== 0) {
      throw new RangeError(`memory mapping 0x${base.toString(16)}+0x${size.toString(16)} is not page aligned`);
    }
    if (base < 0 || base + size > 0x100000000) throw new RangeError('memory mapping outside 4 GiB');
    return [base >>> PAGE_SHIFT, (base + size) / PAGE_SIZE];
  }

  /** Map RAM bytes [ramOffset, ramOffset+size) at physical `base`, read-write. */
  mapRam(base: number, size: number, ramOffset = base): void {
    if (ramOffset + size > this.ramSize) throw new RangeError('mapRam beyond end of RAM');
    this.setAccess(base, size, ramOffset, ramOffset);
  }

  /**
   * Set direct read and write mappings for a range: `readOff`/`writeOff` are
   * offsets in `mem` for the first byte, or -1 for "not direct".
   */
  setAccess(base: number, size: number, readOff: number, writeOff: number): void {
    const [p0, p1] = this.pages(base, size);
    for (let p = p0, i = 0; p < p1; p++, i += PAGE_SIZE) {
      this.rd[p] = readOff < 0 ? -1 : readOff + i;
      this.wr[p] = writeOff < 0 ? -1 : writeOff + i;
    }
    this.changed();
  }

  /** Copy a ROM image into ROM space and map it read-only at `base`. Returns its offset in `mem`. */
  addRom(base: number, data: Uint8Array): number {
    const size = (data.length + PAGE_MASK) & ~PAGE_MASK;
    const off = this.allocRom(size);
    this.mem.set(data, off);
    this.setAccess(base, size, off, -1);
    return off;
  }

  /** Reserve `size` bytes of ROM space (zeroed); returns the offset in `mem`. */
  allocRom(size: number): number {
    size = (size + PAGE_MASK) & ~PAGE_MASK;
    if (this.romTop + size > this.mem.length) throw new RangeError('out of ROM space');
    const off = this.romTop;
    this.romTop += size;
    return off;
  }

  /** Map a device at [base, base+size); both directions go to the device. */
  mapMmio(base: number, size: number, dev: MmioDevice, name: string): void {
    const [p0, p1] = this.pages(base, size);
    this.regions.push({ base, size, dev, name });
    const idx = this.regions.length;
    for (let p = p0; p < p1; p++) { this.mmioOf[p] = idx; this.rd[p] = -1; this.wr[p] = -1; }
    this.changed();
  }

  /** Remove any mapping (RAM, ROM or MMIO) from a range. */
  unmap(base: number, size: number): void {
    const [p0, p1] = this.pages(base, size);
    for (let p = p0; p < p1; p++) { this.mmioOf[p] = 0; this.rd[p] = -1; this.wr[p] = -1; }
    this.changed();
  }

  /** Name of what is mapped at a physical address, for monitor listings. */
  describe(addr: number): string {
    const p = addr >>> PAGE_SHIFT;
    const m = this.mmioOf[p]!;
    if (this.rd[p]! >= 0) return this.rd[p]! < this.ramSize ? (this.wr[p]! >= 0 ? 'ram' : 'ram (read-only)') : 'rom';
    if (m !== 0) return this.regions[m - 1]!.name;
    return 'unassigned';
  }

  // ---- slow-path accesses (the CPU's TLB handles the direct cases itself) ----

  private mmioRead(addr: number, size: number): number {
    const m = this.mmioOf[addr >>> PAGE_SHIFT]!;
    if (m === 0) return OPEN_BUS[size]!;
    const r = this.regions[m - 1]!;
    return r.dev.mmioRead(addr - r.base, size);
  }

  private mmioWrite(addr: number, size: number, value: number): void {
    const m = this.mmioOf[addr >>> PAGE_SHIFT]!;
    if (m === 0) return;
    const r = this.regions[m - 1]!;
    r.dev.mmioWrite(addr - r.base, size, value);
  }

  read8(addr: number): number {
    addr >>>= 0;
    const h = this.rd[addr >>> PAGE_SHIFT]!;
    if (h >= 0) return this.mem[h + (addr & PAGE_MASK)]!;
    return this.mmioRead(addr, 1) & 0xff;
  }

  read16(addr: number): number {
    addr >>>= 0;
    if ((addr & PAGE_MASK) > PAGE_SIZE - 2) return this.read8(addr) | (this.read8(addr + 1) << 8);
    const h = this.rd[addr >>> PAGE_SHIFT]!;
    if (h >= 0) { const i = h + (addr & PAGE_MASK); return this.mem[i]! | (this.mem[i + 1]! << 8); }
    return this.mmioRead(addr, 2) & 0xffff;
  }

  read32(addr: number): number {
    addr >>>= 0;
    if ((addr & PAGE_MASK) > PAGE_SIZE - 4) return (this.read16(addr) | (this.read16(addr + 2) << 16)) >>> 0;
    const h = this.rd[addr >>> PAGE_SHIFT]!;
    if (h >= 0) {
      const m = this.mem, i = h + (addr & PAGE_MASK);
      return (m[i]! | (m[i + 1]! << 8) | (m[i + 2]! << 16) | (m[i + 3]! << 24)) >>> 0;
    }
    return this.mmioRead(addr, 4) >>> 0;
  }

  write8(addr: number, v: number): void {
    addr >>>= 0;
    const h = this.wr[addr >>> PAGE_SHIFT]!;
    if (h >= 0) { this.mem[h + (addr & PAGE_MASK)] = v; return; }
    if (this.rd[addr >>> PAGE_SHIFT]! < 0) this.mmioWrite(addr, 1, v & 0xff);
  }

  write16(addr: number, v: number): void {
    addr >>>= 0;
    if ((addr & PAGE_MASK) > PAGE_SIZE - 2) { this.write8(addr, v); this.write8(addr + 1, v >>> 8); return; }
    const h = this.wr[addr >>> PAGE_SHIFT]!;
    if (h >= 0) { const i = h + (addr & PAGE_MASK); this.mem[i] = v; this.mem[i + 1] = v >>> 8; return; }
    if (this.rd[addr >>> PAGE_SHIFT]! < 0) this.mmioWrite(addr, 2, v & 0xffff);
  }

  write32(addr: number, v: number): void {
    addr >>>= 0;
    if ((addr & PAGE_MASK) > PAGE_SIZE - 4) { this.write16(addr, v); this.write16(addr + 2, v >>> 16); return; }
    const h = this.wr[addr >>> PAGE_SHIFT]!;
    if (h >= 0) {
      const m = this.mem, i = h + (addr & PAGE_MASK);
      m[i] = v; m[i + 1] = v >>> 8; m[i + 2] = v >>> 16; m[i + 3] = v >>> 24;
      return;
    }
    if (this.rd[addr >>> PAGE_SHIFT]! < 0) this.mmioWrite(addr, 4, v >>> 0);
  }

  /** Device DMA read of a byte run into `dst`. */
  readBytes(addr: number, dst: Uint8Array): void {
    let a = addr >>> 0, i = 0;
    while (i < dst.length) {
      const p = a >>> PAGE_SHIFT, off = a & PAGE_MASK;
      const n = Math.min(PAGE_SIZE - off, dst.length - i);
      const h = this.rd[p]!;
      if (h >= 0) dst.set(this.mem.subarray(h + off, h + off + n), i);
      else for (let k = 0; k < n; k++) dst[i + k] = this.mmioRead(a + k, 1) & 0xff;
      i += n; a = (a + n) >>> 0;
    }
  }

  /** Device DMA write of a byte run; notifies `onDmaWrite`. */
  writeBytes(addr: number, src: Uint8Array): void {
    let a = addr >>> 0, i = 0;
    while (i < src.length) {
      const p = a >>> PAGE_SHIFT, off = a & PAGE_MASK;
      const n = Math.min(PAGE_SIZE - off, src.length - i);
      const h = this.wr[p]!;
      if (h >= 0) this.mem.set(src.subarray(i, i + n), h + off);
      else if (this.rd[p]! < 0) for (let k = 0; k < n; k++) this.mmioWrite(a + k, 1, src[i + k]!);
      i += n; a = (a + n) >>> 0;
    }
    if (this.onDmaWrite !== null) this.onDmaWrite(addr >>> 0, src.length);
  }
}
