/**
 * Intel 82077AA floppy disk controller (AT mode) at 0x3F0-0x3F5 and 0x3F7
 * (0x3F6 belongs to the IDE controller), IRQ6, DMA channel 2.
 *
 * Drives are backed by asynchronous block devices. A READ DATA fetches a
 * sector, then holds DREQ; the DMA controller runs the transfer when the
 * channel is unmasked; the next sector follows until terminal count or the
 * end of the track; IRQ6 is raised with the result once the data is in.
 */
import { ByteIoDevice, IoBus } from '../../bus/io-bus.js';
import { IrqLine } from '../../bus/irq.js';
import { Dma8237 } from './dma.js';

export interface FloppyBlock {
  size(): number;
  read(off: number, buf: Uint8Array): Promise<void>;
  write(off: number, buf: Uint8Array): Promise<void>;
  readonly readOnly?: boolean;
}

export interface FloppyGeometry {
  tracks: number; heads: number; sectors: number;
  /** CMOS drive type (2 = 1.2M 5.25", 4 = 1.44M 3.5", 5 = 2.88M), as QEMU picks the drive for the medium */
  driveType: number;
  /** Data rate the medium needs: 0 = 500 kbit/s, 1 = 300, 2 = 250, 3 = 1000 (the CCR/DSR encoding) */
  rate: number;
}

const FORMATS: FloppyGeometry[] = [
  { tracks: 40, heads: 1, sectors: 8, driveType: 2, rate: 2 }, { tracks: 40, heads: 1, sectors: 9, driveType: 2, rate: 1 },
  { tracks: 40, heads: 2, sectors: 8, driveType: 2, rate: 2 }, { tracks: 40, heads: 2, sectors: 9, driveType: 2, rate: 1 },
  { tracks: 80, heads: 2, sectors: 9, driveType: 4, rate: 2 }, { tracks: 80, heads: 2, sectors: 15, driveType: 2, rate: 0 },
  { tracks: 80, heads: 2, sectors: 18, driveType: 4, rate: 0 }, { tracks: 80, heads: 2, sectors: 21, driveType: 4, rate: 0 },
  { tracks: 82, heads: 2, sectors: 21, driveType: 4, rate: 0 }, { tracks: 80, heads: 2, sectors: 36, driveType: 5, rate: 3 },
];

/** Geometry for an image: the exact standard format, else the smallest that holds it. */
export function floppyGeometry(size: number): FloppyGeometry {
  const fit = FORMATS.filter((f) => f.tracks * f.heads * f.sectors * 512 >= size);
  return fit.find((f) => f.tracks * f.heads * f.sectors * 512 === size) ?? fit[0] ?? FORMATS[FORMATS.length - 1]!;
}

class Drive {
  image: FloppyBlock | null = null;
  geom: FloppyGeometry = FORMATS[6]!;
  track = 0; head = 0; sector = 1;
  changed = true;
  constructor(readonly present: boolean) {}
}

/** Parameter bytes after the opcode, by opcode & 0x1f (-1 = invalid). */
const PARAMS = [-1, -1, 8, 2, 1, 8, 8, 1, 0, 8, 1, -1, 8, 5, 0, 2, 0, -1, 1, 3, 0, -1, 8, -1, -1, -1, -1, -1, -1, -1, -1, -1];

const MSR_RQM = 0x80, MSR_DIO = 0x40, MSR_NDMA = 0x20, MSR_CB = 0x10;
const ST0_ABN = 0x40, ST0_SE = 0x20, ST0_EC = 0x10;
const ST1_EN = 0x80, ST1_ND = 0x04, ST1_NW = 0x02, ST1_MA = 0x01;

interface Xfer {
  write: boolean; drv: number; head: number; c: number; h: number; r: number; eot: number; mt: boolean; verify: boolean;
  fmt?: { sc: number; fill: number; n: number };
}

export class Fdc82077 extends ByteIoDevice {
  readonly drives: Drive[];
  dor = 0x0c; tdr = 0; dsr = 0x02; rate = 0x02;
  private phase: 'cmd' | 'exec' | 'result' = 'cmd';
  private cmd: number[] = [];
  private res: number[] = [];
  private resPos = 0;
  private intPending = false;
  private st0 = 0;
  private resetSense = 0;
  srtHut = 0; hltNd = 0; config = 0x20; pretrk = 0; lock = false; perp = 0;
  /** Bumped on reset so completions of abandoned transfers are dropped. */
  private gen = 0;
  private xfer: Xfer | null = null;
  /** Position in the sector buffer during a non-DMA transfer, -1 when the FIFO is not serving data. */
  private pioPos = -1;
  private readonly sectorBuf = new Uint8Array(512);
  /** Called when a transfer's I/O fails (for logging). */
  onError: ((e: unknown) => void) | undefined;

  constructor(private readonly irq: IrqLine | null, private readonly dma: Dma8237 | null, readonly dmaChannel = 2, drivesPresent = 2) {
    super();
    this.drives = [0, 1, 2, 3].map((i) => new Drive(i < drivesPresent));
    if (dma) dma.registerChannel(dmaChannel, () => this.dmaReady());
  }

  attach(io: IoBus, base = 0x3f0): void {
    io.register(base, 6, this, 'fdc');
    io.register(base + 7, 1, this, 'fdc-dir');
  }

  insert(n: number, image: FloppyBlock): void {
    const d = this.drives[n]!;
    d.image = image; d.geom = floppyGeometry(image.size()); d.changed = true;
  }
  eject(n: number): void { const d = this.drives[n]!; d.image = null; d.changed = true; }

  reset(): void {
    this.dor = 0x0c; this.tdr = 0; this.dsr = 0x02; this.rate = 0x02;
    this.softReset();
    this.setIrq(false);
    this.resetSense = 0;
  }

  /** Controller reset (DOR bit 2 or DSR bit 7): back to command phase, 4 polling interrupts pending. */
  private softReset(): void {
    this.gen++;
    this.phase = 'cmd'; this.cmd = []; this.res = []; this.resPos = 0; this.xfer = null; this.pioPos = -1;
    if (this.dma) this.dma.release(this.dmaChannel);
    if (!this.lock) { this.config = 0x20; this.pretrk = 0; }
    this.perp = 0;
    this.resetSense = 4;
    this.st0 = 0xc0;
    this.setIrq(true);
  }

  private setIrq(on: boolean): void {
    this.intPending = on;
    if (this.irq) this.irq.set(on && (this.dor & 0x08) !== 0);
  }

  private result(bytes: number[], irq: boolean): void {
    this.phase = 'result'; this.res = bytes; this.resPos = 0;
    if (irq) this.setIrq(true);
  }

  private msr(): number {
    if (!(this.dor & 0x04)) return 0;
    switch (this.phase) {
      case 'cmd': return MSR_RQM | (this.cmd.length ? MSR_CB : 0);
      case 'result': return MSR_RQM | MSR_DIO | MSR_CB;
      default:
        if (this.pioPos >= 0) return MSR_RQM | MSR_NDMA | MSR_CB | (this.xfer && !this.xfer.write ? MSR_DIO : 0);
        return MSR_CB | (this.hltNd & 1 ? MSR_NDMA : 0);
    }
  }

  readByte(port: number): number {
    switch (port & 7) {
      case 0: return 0xff; // SRA/SRB are PS/2-mode registers
      case 1: return 0xff;
      case 2: return this.dor;
      case 3: return this.tdr;
      case 4: return this.msr();
      case 5: {
        if (this.phase === 'exec' && this.pioPos >= 0 && this.xfer && !this.xfer.write) return this.pioRead();
        if (this.phase !== 'result') return 0xff;
        const v = this.res[this.resPos++] ?? 0;
        if (this.resPos === 1) this.setIrq(false);
        if (this.resPos >= this.res.length) { this.phase = 'cmd'; this.res = []; }
        return v;
      }
      default: return this.drives[this.dor & 3]!.changed ? 0x80 : 0x00;
    }
  }

  writeByte(port: number, v: number): void {
    switch (port & 7) {
      case 2: {
        const old = this.dor;
        this.dor = v;
        if (!(v & 0x04)) { this.gen++; this.phase = 'cmd'; this.cmd = []; this.xfer = null; this.pioPos = -1; this.setIrq(false); }
        else if (!(old & 0x04)) this.softReset();
        else this.setIrq(this.intPending); // DMA gate may have changed
        return;
      }
      case 3: this.tdr = v & 3; return;
      case 4:
        this.dsr = v & 0x7f; this.rate = v & 3;
        if (v & 0x80) this.softReset();
        return;
      case 5: this.writeData(v); return;
      case 7: this.rate = v & 3; return;
    }
  }

  private writeData(v: number): void {
    if (this.phase === 'exec' && this.pioPos >= 0 && this.xfer && this.xfer.write && !this.xfer.fmt) { this.pioWrite(v); return; }
    if (!(this.dor & 0x04) || this.phase !== 'cmd') return;
    if (this.cmd.length === 0) {
      if (v !== 0x08) this.setIrq(false);
    }
    this.cmd.push(v);
    const n = PARAMS[this.cmd[0]! & 0x1f]!;
    if (n < 0 || (this.cmd[0] === 0x18)) { this.cmd = []; this.result([0x80], false); return; }
    if (this.cmd.length < n + 1) return;
    const c = this.cmd; this.cmd = [];
    this.execute(c);
  }

  private execute(c: number[]): void {
    const op = c[0]! & 0x1f;
    const drv = (c[1] ?? 0) & 3, head = ((c[1] ?? 0) >> 2) & 1;
    const d = this.drives[drv]!;
    switch (op) {
      case 0x03: this.srtHut = c[1]!; this.hltNd = c[2]!; return;
      case 0x04:
        d.head = head;
        this.result([(d.image?.readOnly ? 0x40 : 0) | 0x20 | (d.track === 0 ? 0x10 : 0) | 0x08 | (head << 2) | drv], false);
        return;
      case 0x07: // RECALIBRATE
        this.dor = (this.dor & ~3) | drv;
        if (!d.present) { this.st0 = ST0_ABN | ST0_SE | ST0_EC | drv; this.setIrq(true); return; }
        this.seek(d, 0); this.st0 = ST0_SE | drv; this.setIrq(true);
        return;
      case 0x08:
        if (this.resetSense > 0) {
          const i = 4 - this.resetSense--;
          this.setIrq(false);
          this.result([0xc0 | i, this.drives[i]!.track], false);
        } else if (this.intPending) {
          this.setIrq(false);
          // The head bit reads 0 here (QEMU and the Intel parts agree); drive and status stay.
          this.result([this.st0 & ~0x04, this.drives[this.st0 & 3]!.track], false);
        } else this.result([0x80], false);
        return;
      case 0x0f: { // SEEK (relative with bit 7: bit 6 = direction out)
        this.dor = (this.dor & ~3) | drv;
        let t = c[2]!;
        if (c[0]! & 0x80) t = c[0]! & 0x40 ? d.track - t : d.track + t;
        d.head = head;
        this.seek(d, Math.max(0, Math.min(255, t)));
        this.st0 = ST0_SE | (head << 2) | drv;
        this.setIrq(true);
        return;
      }
      case 0x10: this.result([0x90], false); return;
      case 0x12: if (c[1]! & 0x80) this.perp = (this.perp & 3) | (c[1]! & 0x3c); this.perp = (this.perp & ~3) | (c[1]! & 3); return;
      case 0x13: this.config = c[2]!; this.pretrk = c[3]!; return;
      case 0x14: this.lock = (c[0]! & 0x80) !== 0; this.result([this.lock ? 0x10 : 0], false); return;
      case 0x0e: {
        const cur = this.drives[this.dor & 3]!;
        this.result([this.drives[0]!.track, this.drives[1]!.track, this.drives[2]!.track, this.drives[3]!.track,
          this.srtHut, this.hltNd, cur.geom.sectors, (this.lock ? 0x80 : 0) | (this.perp & 0x7f), this.config, this.pretrk], false);
        return;
      }
      case 0x0a: { // READ ID
        this.dor = (this.dor & ~3) | drv;
        d.head = head;
        // No medium, or a data rate the medium was not recorded at: no ID field is ever found.
        if (!d.image || this.rate !== d.geom.rate) { this.finish(drv, head, ST0_ABN, ST1_MA, 0, d.track, head, d.sector, 2); return; }
        this.finish(drv, head, 0, 0, 0, d.track, head, d.sector, 2);
        return;
      }
      case 0x0d: this.format(c, drv, head); return;
      default: { // READ/WRITE DATA, READ TRACK, VERIFY, deleted-data variants
        this.dor = (this.dor & ~3) | drv;
        const write = op === 0x05 || op === 0x09;
        const x: Xfer = { write, drv, head, c: c[2]!, h: c[3]!, r: op === 0x02 ? 1 : c[4]!, eot: c[6]!, mt: (c[0]! & 0x80) !== 0, verify: op === 0x16 };
        if (!d.image || this.rate !== d.geom.rate) { this.finish(drv, head, ST0_ABN, ST1_MA, 0, x.c, x.h, x.r, c[5]!); return; }
        if (c[5] !== 2 && !(c[5] === 0 && c[8] === 0xff)) { this.finish(drv, head, ST0_ABN, ST1_ND, 0, x.c, x.h, x.r, c[5]!); return; }
        if (write && d.image.readOnly) { this.finish(drv, head, ST0_ABN, ST1_NW, 0, x.c, x.h, x.r, 2); return; }
        if (x.c !== d.track) {
          if (this.config & 0x40) this.seek(d, x.c);
          else { this.finish(drv, head, ST0_ABN, ST1_ND, x.c === 0xff ? 0x12 : 0x10, x.c, x.h, x.r, 2); return; }
        }
        d.head = head;
        this.xfer = x;
        this.phase = 'exec';
        this.nextSector(this.gen);
      }
    }
  }

  private seek(d: Drive, t: number): void {
    d.track = t;
    if (d.image) d.changed = false;
  }

  private finish(drv: number, head: number, st0: number, st1: number, st2: number, c: number, h: number, r: number, n: number): void {
    this.xfer = null;
    this.pioPos = -1;
    if (this.dma) this.dma.release(this.dmaChannel);
    this.st0 = st0 | (head << 2) | drv;
    this.result([this.st0, st1, st2, c & 0xff, h & 0xff, r & 0xff, n & 0xff], true);
  }

  /** Byte offset of the current sector, or -1 if it does not exist on the medium. */
  private offset(x: Xfer): number {
    const d = this.drives[x.drv]!, g = d.geom;
    if (x.h !== x.head || x.r < 1 || x.r > g.sectors || x.c >= g.tracks || x.head >= g.heads) return -1;
    const off = ((x.c * g.heads + x.head) * g.sectors + x.r - 1) * 512;
    return off + 512 <= Math.max(d.image!.size(), 0) ? off : -1;
  }

  /** Start the current sector: fetch it (read) or ask DMA for it (write). */
  private nextSector(gen: number): void {
    const x = this.xfer!;
    const off = this.offset(x);
    if (off < 0) { this.finish(x.drv, x.head, ST0_ABN, ST1_ND, 0, x.c, x.h, x.r, 2); return; }
    this.drives[x.drv]!.sector = x.r;
    if (x.write) { this.requestDma(); return; }
    this.drives[x.drv]!.image!.read(off, this.sectorBuf).then(() => {
      if (gen !== this.gen || this.xfer !== x) return;
      if (x.verify) this.sectorDone(false); else this.requestDma();
    }, (e) => this.ioFailed(gen, e));
  }

  private requestDma(): void {
    const x = this.xfer!;
    if (this.hltNd & 1) { // non-DMA mode: the sector goes through the FIFO, one interrupt per sector
      if (x.fmt) { this.finish(x.drv, x.head, ST0_ABN, ST1_EN, 0, x.c, x.h, x.r, 2); return; }
      this.pioPos = 0;
      this.setIrq(true);
      return;
    }
    if (!this.dma) { this.finish(x.drv, x.head, ST0_ABN, ST1_EN, 0, x.c, x.h, x.r, 2); return; }
    this.dma.hold(this.dmaChannel);
  }

  private pioRead(): number {
    if (this.pioPos === 0) this.setIrq(false);
    const v = this.sectorBuf[this.pioPos++]!;
    if (this.pioPos === 512) { this.pioPos = -1; this.sectorDone(false); }
    return v;
  }

  private pioWrite(v: number): void {
    if (this.pioPos === 0) this.setIrq(false);
    this.sectorBuf[this.pioPos++] = v;
    if (this.pioPos < 512) return;
    this.pioPos = -1;
    const x = this.xfer!, gen = this.gen;
    this.drives[x.drv]!.image!.write(this.offset(x), this.sectorBuf).then(() => {
      if (gen === this.gen && this.xfer === x) this.sectorDone(false);
    }, (e) => this.ioFailed(gen, e));
  }

  private dmaReady(): void {
    const x = this.xfer, dma = this.dma!;
    dma.release(this.dmaChannel);
    if (!x || this.phase !== 'exec') return;
    const gen = this.gen;
    if (x.fmt) { this.formatSectors(x, gen); return; }
    if (x.write) {
      const n = dma.readMemory(this.dmaChannel, this.sectorBuf);
      const tc = dma.tc(this.dmaChannel) || n < 512;
      if (n < 512) this.sectorBuf.fill(0, n);
      this.drives[x.drv]!.image!.write(this.offset(x), this.sectorBuf).then(() => {
        if (gen === this.gen && this.xfer === x) this.sectorDone(tc);
      }, (e) => this.ioFailed(gen, e));
    } else {
      const n = dma.writeMemory(this.dmaChannel, this.sectorBuf);
      this.sectorDone(dma.tc(this.dmaChannel) || n < 512);
    }
  }

  private ioFailed(gen: number, e: unknown): void {
    if (this.onError) this.onError(e);
    const x = this.xfer;
    if (gen === this.gen && x) this.finish(x.drv, x.head, ST0_ABN, ST1_ND, 0x20, x.c, x.h, x.r, 2); // ST2 DD: data error
  }

  /** Advance past a finished sector; finish on terminal count or at the end of the cylinder. */
  private sectorDone(tc: boolean): void {
    const x = this.xfer!;
    const heads = this.drives[x.drv]!.geom.heads;
    let endOfCyl = false;
    if (x.r < x.eot) x.r++;
    else if (x.mt && x.head === 0 && heads > 1) { x.head = 1; x.h = 1; x.r = 1; this.drives[x.drv]!.head = 1; }
    else { x.c++; x.r = 1; if (x.mt) { x.head = 0; x.h = 0; } endOfCyl = true; }
    if (tc) this.finish(x.drv, x.head, 0, 0, 0, x.c, x.h, x.r, 2);
    else if (endOfCyl) this.finish(x.drv, x.head, ST0_ABN, ST1_EN, 0, x.c, x.h, x.r, 2);
    else this.nextSector(this.gen);
  }

  /** FORMAT TRACK: sector IDs come by DMA (C, H, R, N per sector), each sector is filled. */
  private format(c: number[], drv: number, head: number): void {
    const d = this.drives[drv]!, n = c[2]!;
    this.dor = (this.dor & ~3) | drv;
    if (!d.image || this.rate !== d.geom.rate) { this.finish(drv, head, ST0_ABN, ST1_MA, 0, d.track, head, 1, n); return; }
    if (d.image.readOnly) { this.finish(drv, head, ST0_ABN, ST1_NW, 0, d.track, head, 1, n); return; }
    d.head = head;
    this.xfer = { write: true, drv, head, c: d.track, h: head, r: 1, eot: c[3]!, mt: false, verify: false, fmt: { sc: c[3]!, fill: c[5]!, n } };
    this.phase = 'exec';
    this.requestDma();
  }

  private formatSectors(x: Xfer, gen: number): void {
    const f = x.fmt!, d = this.drives[x.drv]!;
    const ids = new Uint8Array(4 * f.sc);
    this.dma!.readMemory(this.dmaChannel, ids);
    const sector = new Uint8Array(512).fill(f.fill);
    void (async () => {
      try {
        for (let i = 0; i < f.sc; i++) {
          const off = this.offset({ ...x, c: ids[4 * i]!, h: ids[4 * i + 1]!, r: ids[4 * i + 2]! });
          if (off >= 0) await d.image!.write(off, sector);
          if (gen !== this.gen) return;
        }
      } catch (e) { this.ioFailed(gen, e); return; }
      if (gen === this.gen && this.xfer === x) this.finish(x.drv, x.head, 0, 0, 0, d.track, x.head, f.sc, f.n);
    })();
  }

  saveState(): object {
    return {
      dor: this.dor, tdr: this.tdr, dsr: this.dsr, rate: this.rate, phase: this.phase === 'exec' ? 'cmd' : this.phase, cmd: this.cmd, res: this.res, resPos: this.resPos,
      intPending: this.intPending, st0: this.st0, resetSense: this.resetSense, srtHut: this.srtHut, hltNd: this.hltNd, config: this.config,
      pretrk: this.pretrk, lock: this.lock, perp: this.perp, drives: this.drives.map((d) => ({ track: d.track, head: d.head, sector: d.sector, changed: d.changed })),
    };
  }
  loadState(s: Record<string, unknown> & { drives: { track: number; head: number; sector: number; changed: boolean }[] }): void {
    const { drives, ...rest } = s;
    Object.assign(this, rest);
    drives.forEach((d, i) => Object.assign(this.drives[i]!, d));
    this.gen++;
    this.setIrq(this.intPending);
  }
}
