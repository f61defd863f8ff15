import { describe, expect, it } from 'vitest';
import { IoBus } from '../../../src/bus/io-bus.js';
import { MemoryBus } from '../../../src/memory/memory-bus.js';
import { e820Table, FW_CFG, FwCfg } from '../../../src/devices/isa/fw-cfg.js';

function setup() {
  const mem = new MemoryBus(1 << 20, 0); mem.mapRam(0, 1 << 20);
  const io = new IoBus();
  const fw = new FwCfg(mem);
  fw.attach(io);
  /** SeaBIOS qemu_cfg_read_entry: outw(key, 0x510); insb(0x511, buf, len) */
  const readEntry = (key: number, len: number) => { io.write(0x510, 2, key); return Array.from({ length: len }, () => io.read(0x511, 1)); };
  const bswap = (v: number) => (((v & 0xff) << 24) | ((v & 0xff00) << 8) | ((v >>> 8) & 0xff00) | (v >>> 24)) >>> 0;
  /** SeaBIOS qemu_cfg_dma_transfer: big-endian FWCfgDmaAccess, then outl(be32(high)), outl(be32(low)). */
  const dma = (at: number, control: number, length: number, address: number) => {
    const dv = new DataView(mem.mem.buffer);
    dv.setUint32(at, control); dv.setUint32(at + 4, length); dv.setUint32(at + 8, 0); dv.setUint32(at + 12, address);
    io.write(0x514, 4, bswap(0)); io.write(0x518, 4, bswap(at));
    return dv.getUint32(at);
  };
  return { mem, io, fw, readEntry, dma };
}

describe('fw_cfg', () => {
  it('has the "QEMU" signature and an ID with the DMA feature bit', () => {
    const { readEntry } = setup();
    expect(String.fromCharCode(...readEntry(FW_CFG.SIGNATURE, 4))).toBe('QEMU');
    expect(readEntry(FW_CFG.ID, 4)).toEqual([3, 0, 0, 0]);
  });

  it('reads "QEMU CFG" from the DMA address register (inl order)', () => {
    const { io } = setup();
    expect(io.read(0x514, 4)).toBe(0x554d4551); // bytes 'Q','E','M','U'
    expect(io.read(0x518, 4)).toBe(0x47464320); // ' ','C','F','G'
  });

  it('serves little-endian legacy items and reads zeros past the end', () => {
    const { fw, readEntry } = setup();
    fw.addU64(FW_CFG.RAM_SIZE, 128 * 1024 * 1024);
    fw.addU16(FW_CFG.NB_CPUS, 2);
    fw.addU16(FW_CFG.MAX_CPUS, 4);
    fw.addU16(FW_CFG.NOGRAPHIC, 1);
    fw.addU16(FW_CFG.BOOT_MENU, 0);
    expect(readEntry(FW_CFG.RAM_SIZE, 8)).toEqual([0, 0, 0, 8, 0, 0, 0, 0]);
    expect(readEntry(FW_CFG.NB_CPUS, 3)).toEqual([2, 0, 0]);
    expect(readEntry(FW_CFG.MAX_CPUS, 2)).toEqual([4, 0]);
    expect(readEntry(0x1234, 2)).toEqual([0, 0]);
  });

  it('lists files sorted by name in FILE_DIR with big-endian size/select and keys from 0x20', () => {
    const { fw, readEntry } = setup();
    fw.addFile('etc/e820', e820Table([{ addr: 0, len: 0x9fc00, type: 1 }, { addr: 0x100000, len: 0x7f00000, type: 1 }]));
    fw.addFile('bootorder', new TextEncoder().encode('/rom@genroms/linuxboot_dma.bin\n\0'));
    fw.addFile('etc/boot-menu-wait', Uint8Array.of(0xe8, 0x03));
    const dir = readEntry(FW_CFG.FILE_DIR, 4 + 64 * 3);
    const dv = new DataView(Uint8Array.from(dir).buffer);
    expect(dv.getUint32(0)).toBe(3);
    const entry = (i: number) => ({
      size: dv.getUint32(4 + 64 * i), select: dv.getUint16(8 + 64 * i),
      name: String.fromCharCode(...dir.slice(12 + 64 * i, 12 + 64 * i + 56)).replace(/\0+$/, ''),
    });
    expect([entry(0), entry(1), entry(2)]).toEqual([
      { size: 32, select: 0x20, name: 'bootorder' },
      { size: 2, select: 0x21, name: 'etc/boot-menu-wait' },
      { size: 40, select: 0x22, name: 'etc/e820' },
    ]);
    const e820 = readEntry(0x22, 20);
    expect(e820.slice(8, 16)).toEqual([0x00, 0xfc, 0x09, 0, 0, 0, 0, 0]);
    expect(e820[16]).toBe(1);
    expect(readEntry(0x21, 2)).toEqual([0xe8, 0x03]);
  });

  it('DMA: select+read copies data, zero-fills past the end, clears control; skip advances', () => {
    const { fw, mem, dma } = setup();
    fw.addFile('etc/table-loader', Uint8Array.from({ length: 100 }, (_, i) => i + 1));
    mem.mem.fill(0xee, 0x2000, 0x2100);
    expect(dma(0x1000, (0x20 << 16) | 0x08 | 0x02, 40, 0x2000)).toBe(0);
    expect(Array.from(mem.mem.subarray(0x2000, 0x2004))).toEqual([1, 2, 3, 4]);
    expect(dma(0x1000, 0x04, 50, 0)).toBe(0); // skip 50 more
    expect(dma(0x1000, 0x02, 20, 0x2080)).toBe(0);
    expect(Array.from(mem.mem.subarray(0x2080, 0x2094))).toEqual([91, 92, 93, 94, 95, 96, 97, 98, 99, 100, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0]);
  });

  it('DMA write to a read-only item sets the error bit; a writable file takes the data', () => {
    const { fw, mem, dma } = setup();
    fw.addFile('etc/ro', new Uint8Array(4));
    let got: number[] = [];
    fw.addFile('etc/rw', new Uint8Array(4), (d) => { got = Array.from(d); });
    mem.mem.set([9, 8, 7, 6], 0x3000);
    expect(dma(0x1000, (0x20 << 16) | 0x08 | 0x10, 4, 0x3000)).toBe(0x01); // etc/ro sorts first
    expect(dma(0x1000, (0x21 << 16) | 0x08 | 0x10, 4, 0x3000)).toBe(0);
    expect(got).toEqual([9, 8, 7, 6]);
    expect(Array.from(fw.get('etc/rw')!)).toEqual([9, 8, 7, 6]);
  });

  it('rejects over-long file names', () => {
    const { fw } = setup();
    expect(() => fw.addFile('x'.repeat(56), new Uint8Array(1))).toThrow(/too long/);
  });
});
