/**
 * QEMU firmware configuration device (fw_cfg), x86 I/O flavour: 16-bit
 * selector at 0x510, data byte at 0x511, DMA address register (big-endian,
 * 64-bit) at 0x514-0x51B. SeaBIOS and Linux's qemu_fw_cfg read RAM size, CPU
 * count, boot order, the kernel to load, ACPI/SMBIOS tables and more here.
 *
 * Items are byte arrays under 16-bit keys; named files get keys from 0x20 in
 * name order and are listed in the FILE_DIR item (big-endian count, then per
 * file: size BE32, select BE16, reserved BE16, name[56]).
 */
import { IoBus, IoDevice } from '../../bus/io-bus.js';
import { MemoryBus } from '../../memory/memory-bus.js';

export const FW_CFG = {
  SIGNATURE: 0x00, ID: 0x01, UUID: 0x02, RAM_SIZE: 0x03, NOGRAPHIC: 0x04, NB_CPUS: 0x05, MACHINE_ID: 0x06,
  KERNEL_ADDR: 0x07, KERNEL_SIZE: 0x08, KERNEL_CMDLINE: 0x09, INITRD_ADDR: 0x0a, INITRD_SIZE: 0x0b,
  BOOT_DEVICE: 0x0c, NUMA: 0x0d, BOOT_MENU: 0x0e, MAX_CPUS: 0x0f, KERNEL_ENTRY: 0x10, KERNEL_DATA: 0x11,
  INITRD_DATA: 0x12, CMDLINE_ADDR: 0x13, CMDLINE_SIZE: 0x14, CMDLINE_DATA: 0x15, SETUP_ADDR: 0x16,
  SETUP_SIZE: 0x17, SETUP_DATA: 0x18, FILE_DIR: 0x19, FILE_FIRST: 0x20,
  WRITE_CHANNEL: 0x4000, ARCH_LOCAL: 0x8000,
  /** x86 arch-local keys */
  ACPI_TABLES: 0x8000, SMBIOS_ENTRIES: 0x8001, IRQ0_OVERRIDE: 0x8002, E820_TABLE: 0x8003, HPET: 0x8004,
} as const;

const DMA_ERROR = 0x01, DMA_READ = 0x02, DMA_SKIP = 0x04, DMA_SELECT = 0x08, DMA_WRITE = 0x10;
/** "QEMU CFG", what reading the DMA address register returns. */
const DMA_SIGNATURE = new TextEncoder().encode('QEMU CFG');
const FILE_NAME_MAX = 56;

interface Item { data: Uint8Array; onWrite?: (data: Uint8Array, offset: number, len: number) => void }

export const le = (v: number | bigint, size: number): Uint8Array => {
  const out = new Uint8Array(size);
  let x = BigInt(v);
  for (let i = 0; i < size; i++) { out[i] = Number(x & 0xffn); x >>= 8n; }
  return out;
};

/** An `etc/e820` file body: per entry u64 address, u64 length, u32 type (1 RAM, 2 reserved), little-endian. */
export function e820Table(entries: { addr: number; len: number; type: number }[]): Uint8Array {
  const out = new Uint8Array(20 * entries.length);
  entries.forEach((e, i) => { out.set(le(e.addr, 8), 20 * i); out.set(le(e.len, 8), 20 * i + 8); out.set(le(e.type, 4), 20 * i + 16); });
  return out;
}

export class FwCfg implements IoDevice {
  private readonly items = new Map<number, Item>();
  private readonly files: { name: string; item: Item }[] = [];
  private key = 0;
  private offset = 0;
  private readonly dmaReg = new Uint8Array(8);

  constructor(private readonly mem: MemoryBus | null, readonly dmaEnabled = true) {
    this.addBytes(FW_CFG.SIGNATURE, new TextEncoder().encode('QEMU'));
    this.addBytes(FW_CFG.ID, le(dmaEnabled ? 3 : 1, 4));
    this.rebuildDir();
  }

  attach(io: IoBus, base = 0x510, dmaBase = 0x514): void {
    io.register(base, 2, this, 'fw_cfg');
    if (this.dmaEnabled) io.register(dmaBase, 8, this, 'fw_cfg-dma');
  }

  reset(): void { this.key = 0; this.offset = 0; this.dmaReg.fill(0); }

  addBytes(key: number, data: Uint8Array): void { this.items.set(key, { data }); }
  addU16(key: number, v: number): void { this.addBytes(key, le(v, 2)); }
  addU32(key: number, v: number): void { this.addBytes(key, le(v, 4)); }
  addU64(key: number, v: number | bigint): void { this.addBytes(key, le(v, 8)); }
  addString(key: number, s: string): void { this.addBytes(key, new TextEncoder().encode(s + '\0')); }

  /** Add or replace a named file; `onWrite` makes it writable by the guest through DMA. */
  addFile(name: string, data: Uint8Array, onWrite?: Item['onWrite']): void {
    if (new TextEncoder().encode(name).length >= FILE_NAME_MAX) throw new Error(`fw_cfg file name too long: ${name}`);
    const item: Item = onWrite ? { data, onWrite } : { data };
    const old = this.files.find((f) => f.name === name);
    if (old) old.item = item;
    else {
      this.files.push({ name, item });
      this.files.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
    }
    this.rebuildDir();
  }

  /** The data of a key or file (for tests and the monitor's `info`). */
  get(keyOrName: number | string): Uint8Array | undefined {
    if (typeof keyOrName === 'string') return this.files.find((f) => f.name === keyOrName)?.item.data;
    return this.lookup(keyOrName)?.data;
  }

  private rebuildDir(): void {
    const dir = new Uint8Array(4 + 64 * this.files.length);
    const dv = new DataView(dir.buffer);
    dv.setUint32(0, this.files.length);
    this.files.forEach((f, i) => {
      const o = 4 + 64 * i;
      dv.setUint32(o, f.item.data.length);
      dv.setUint16(o + 4, FW_CFG.FILE_FIRST + i);
      dir.set(new TextEncoder().encode(f.name), o + 8);
    });
    this.items.set(FW_CFG.FILE_DIR, { data: dir });
  }

  private lookup(key: number): Item | undefined {
    const k = key & (FW_CFG.ARCH_LOCAL | 0x3fff);
    if (!(k & FW_CFG.ARCH_LOCAL) && k >= FW_CFG.FILE_FIRST && k < FW_CFG.FILE_FIRST + this.files.length) return this.files[k - FW_CFG.FILE_FIRST]!.item;
    return this.items.get(k);
  }

  select(key: number): void { this.key = key & 0xffff; this.offset = 0; }

  private readData(): number {
    const it = this.lookup(this.key);
    if (!it || this.offset >= it.data.length) return 0;
    return it.data[this.offset++]!;
  }

  ioRead(port: number, size: number): number {
    if (port >= 0x514 && port < 0x51c) {
      let v = 0;
      for (let i = 0; i < size; i++) v |= (DMA_SIGNATURE[(port - 0x514 + i) & 7]! << (8 * i));
      return v >>> 0;
    }
    let v = 0;
    for (let i = 0; i < size; i++) v |= this.readData() << (8 * i);
    return v >>> 0;
  }

  ioWrite(port: number, size: number, value: number): void {
    if (port >= 0x514 && port < 0x51c) {
      const off = port - 0x514;
      for (let i = 0; i < size && off + i < 8; i++) this.dmaReg[off + i] = (value >>> (8 * i)) & 0xff;
      if (off + size === 8) {
        const dv = new DataView(this.dmaReg.buffer);
        const addr = dv.getUint32(0) * 0x100000000 + dv.getUint32(4);
        this.dmaReg.fill(0);
        this.dmaTransfer(addr);
      }
      return;
    }
    if (port === 0x510 && size >= 2) this.select(value & 0xffff);
    // Byte writes to the data port have been ignored since QEMU 2.4.
  }

  /** Run one FWCfgDmaAccess { be32 control; be32 length; be64 address } at guest `addr`. */
  private dmaTransfer(addr: number): void {
    const mem = this.mem;
    if (!mem) return;
    const hdr = new Uint8Array(16);
    mem.readBytes(addr, hdr);
    const dv = new DataView(hdr.buffer);
    let control = dv.getUint32(0);
    let length = dv.getUint32(4);
    let gpa = dv.getUint32(8) * 0x100000000 + dv.getUint32(12);
    if (control & DMA_SELECT) this.select(control >>> 16);
    const op = control & DMA_READ ? DMA_READ : control & DMA_WRITE ? DMA_WRITE : control & DMA_SKIP ? DMA_SKIP : 0;
    let error = false;
    const it = this.lookup(this.key);
    while (length > 0 && op !== 0) {
      if (!it || this.offset >= it.data.length) {
        if (op === DMA_READ) mem.writeBytes(gpa, new Uint8Array(length));
        if (op === DMA_WRITE) error = true;
        length = 0;
        break;
      }
      const n = Math.min(length, it.data.length - this.offset);
      if (op === DMA_READ) mem.writeBytes(gpa, it.data.subarray(this.offset, this.offset + n));
      else if (op === DMA_WRITE) {
        if (!it.onWrite) { error = true; break; }
        mem.readBytes(gpa, it.data.subarray(this.offset, this.offset + n));
        it.onWrite(it.data, this.offset, n);
      }
      this.offset += n; gpa += n; length -= n;
    }
    control = error ? DMA_ERROR : 0;
    const out = new Uint8Array(4);
    new DataView(out.buffer).setUint32(0, control);
    mem.writeBytes(addr, out);
  }

  saveState(): object { return { key: this.key, offset: this.offset }; }
  loadState(s: { key: number; offset: number }): void { this.key = s.key; this.offset = s.offset; }
}
