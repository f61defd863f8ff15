/**
 * One IDE/ATA channel: the task-file registers, up to two devices (master and
 * slave), the PIO data path and the command state machine.
 *
 * Media I/O is asynchronous (BlockNode returns promises): a command that
 * touches the medium sets BSY, and the completion sets DRQ and/or raises the
 * interrupt, as a drive does when its data arrives. A software reset (SRST in
 * the device control register) or a new command invalidates completions that
 * are still in flight (a generation counter).
 *
 * Bus-master DMA is delegated to an {@link IdeDma} (the PIIX3's BMDMA engine):
 * a DMA command sets DRQ and waits until the engine runs, then the channel
 * moves the data through the engine's scatter/gather list.
 *
 * Register map (offsets from the command block base, 0x1F0 or 0x170):
 *   0 data (16/32 bit)  1 error / features  2 sector count  3 LBA low / sector
 *   4 LBA mid / cyl low  5 LBA high / cyl high  6 device/head  7 status / command
 * Control block (0x3F6 / 0x376): alternate status (read) / device control
 * (write: bit 1 nIEN, bit 2 SRST, bit 7 HOB).
 */
import type { BlockNode } from '../../block/types.js';
import type { IrqLine } from '../../bus/irq.js';
import type { MemoryBus } from '../../memory/memory-bus.js';
import { AtapiDrive, type AtapiData, SENSE_MEDIUM_ERROR, ASC_UNRECOVERED_READ_ERROR } from './atapi.js';
import { chsForSize, identifyAtapi, identifyDisk, MAX_MULT_SECTORS, wordsToBytes, type Chs } from './identify.js';

export const ST_BSY = 0x80;
export const ST_DRDY = 0x40;
export const ST_DF = 0x20;
export const ST_DSC = 0x10;
export const ST_DRQ = 0x08;
export const ST_ERR = 0x01;
export const ERR_ABRT = 0x04;

const CTL_NIEN = 0x02;
const CTL_SRST = 0x04;
const CTL_HOB = 0x80;

/** ATAPI interrupt reason bits in the sector count register. */
const IR_COD = 1;
const IR_IO = 2;

const READY = ST_DRDY | ST_DSC;
/** Largest DMA chunk moved per BlockNode request. */
const DMA_CHUNK = 128 * 1024;
/** Sectors a PIO read command fetches ahead in one BlockNode request. */
const READ_AHEAD = 256;

/** Scatter/gather list built from a PRD table. */
export interface SgList {
  addr: number[];
  len: number[];
  /** Sum of len (never more than requested). */
  bytes: number;
  /** The table describes more memory than was requested. */
  more: boolean;
}

/** The bus-master engine a channel uses for DMA commands. */
export interface IdeDma {
  readonly memory: MemoryBus;
  /** Start/stop bit is set. */
  readonly running: boolean;
  /** Walk the PRD table for up to `bytes` bytes. */
  prepare(bytes: number): SgList;
  /** Transfer over: clear Active unless the PRDs were longer than needed. */
  finish(stayActive: boolean): void;
  /** The channel asserted its interrupt (sets the BMDMA Interrupt bit). */
  irqRaised(): void;
}

export interface DriveOptions {
  serial?: string;
  model?: string;
  firmware?: string;
  /** Disk geometry; default as QEMU for a disk without partition table (see guessGeometry). */
  chs?: Chs;
}

export class IdeDrive {
  // Task file (written to both drives of the channel, like QEMU).
  feature = 0; nsector = 0; sector = 0; lcyl = 0; hcyl = 0;
  hobFeature = 0; hobNsector = 0; hobSector = 0; hobLcyl = 0; hobHcyl = 0;
  select = 0xa0;
  status = READY;
  error = 1;
  multSectors = MAX_MULT_SECTORS;
  /** Sectors per PIO block of the current command. */
  reqSectors = 1;
  lba48 = false;
  writeCache = true;
  /** Current translation (INITIALIZE DEVICE PARAMETERS). */
  curHeads: number;
  curSectors: number;
  identifyWords: Uint16Array | null = null;
  atapiDma = false;
  smartEnabled = true;
  smartAutosave = true;
  smartSelftests = 0;
  readonly serial: string;
  readonly model: string;
  readonly firmware: string;
  readonly chs: Chs;
  /** For CD drives. */
  readonly cd: AtapiDrive | null;

  constructor(readonly kind: 'hd' | 'cd', public node: BlockNode | null, serial: string, opts: DriveOptions) {
    this.serial = opts.serial ?? serial;
    this.firmware = opts.firmware ?? '2.5+';
    this.model = opts.model ?? (kind === 'cd' ? 'QEMU DVD-ROM' : 'QEMU HARDDISK');
    this.chs = opts.chs ?? chsForSize(this.nbSectors());
    this.curHeads = this.chs.heads;
    this.curSectors = this.chs.sectors;
    this.cd = kind === 'cd' ? new AtapiDrive('QEMU', this.model, this.firmware) : null;
    if (this.cd !== null && node !== null) { this.cd.node = node; }
  }

  /** Capacity in 512-byte sectors. */
  nbSectors(): number {
    if (this.kind === 'cd') return this.cd?.node ? Math.floor(this.cd.node.size() / 512) : 0;
    return this.node ? Math.floor(this.node.size() / 512) : 0;
  }

  /**
   * IDENTIFY data, built at the first IDENTIFY and then kept, as QEMU does: SET
   * FEATURES edits its transfer-mode and write-cache words, while later SET
   * MULTIPLE MODE / INITIALIZE DEVICE PARAMETERS do not show in words 54-59.
   */
  identify(): Uint16Array {
    if (this.identifyWords === null) {
      this.identifyWords = this.kind === 'cd'
        ? identifyAtapi(this.serial, this.model, this.firmware)
        : identifyDisk({
          serial: this.serial, model: this.model, firmware: this.firmware, chs: this.chs,
          nbSectors: this.nbSectors(), multSectors: this.multSectors, writeCache: this.writeCache,
        });
    }
    const w = this.identifyWords;
    if (this.kind === 'hd') w[85] = (w[85]! & ~0x20) | (this.writeCache ? 0x20 : 0);
    return w;
  }

  setSignature(): void {
    this.select &= 0xf0;
    this.nsector = 1;
    this.sector = 1;
    if (this.kind === 'cd') { this.lcyl = 0x14; this.hcyl = 0xeb; } else { this.lcyl = 0; this.hcyl = 0; }
  }

  /** Power-on / reset register state (QEMU's ide_reset). */
  resetRegs(): void {
    this.multSectors = this.kind === 'hd' ? MAX_MULT_SECTORS : 0;
    this.feature = this.nsector = this.sector = this.lcyl = this.hcyl = 0;
    this.hobFeature = this.hobNsector = this.hobSector = this.hobLcyl = this.hobHcyl = 0;
    this.select = 0xa0;
    this.status = READY;
    this.lba48 = false;
    this.atapiDma = false;
    this.curHeads = this.chs.heads;
    this.curSectors = this.chs.sectors;
    this.cd?.reset();
  }

  /** Sector number from the task file (LBA28, LBA48 or CHS with the current translation). */
  getSector(): number {
    if ((this.select & 0x40) !== 0) {
      if (!this.lba48) return ((this.select & 0x0f) << 24 | (this.hcyl << 16) | (this.lcyl << 8) | this.sector) >>> 0;
      return ((this.hobHcyl << 16) | (this.hobLcyl << 8) | this.hobSector) * 0x1000000
        + ((this.hcyl << 16) | (this.lcyl << 8) | this.sector);
    }
    return ((this.hcyl << 8) | this.lcyl) * this.curHeads * this.curSectors
      + (this.select & 0x0f) * this.curSectors + (this.sector - 1);
  }

  setSector(n: number): void {
    if ((this.select & 0x40) !== 0) {
      if (!this.lba48) {
        this.select = (this.select & 0xf0) | ((n >>> 24) & 0x0f);
      } else {
        const hi = Math.floor(n / 0x1000000);
        this.hobSector = hi & 0xff; this.hobLcyl = (hi >>> 8) & 0xff; this.hobHcyl = (hi >>> 16) & 0xff;
      }
      this.hcyl = (n >>> 16) & 0xff; this.lcyl = (n >>> 8) & 0xff; this.sector = n & 0xff;
    } else {
      const per = this.curHeads * this.curSectors;
      const cyl = Math.floor(n / per), r = n % per;
      this.hcyl = (cyl >> 8) & 0xff; this.lcyl = cyl & 0xff;
      this.select = (this.select & 0xf0) | (Math.floor(r / this.curSectors) & 0x0f);
      this.sector = (r % this.curSectors) + 1;
    }
  }

  /** Sector count of a command (0 means 256, or 65536 for LBA48). */
  setCount(lba48: boolean): void {
    this.lba48 = lba48;
    if (lba48) {
      const n = (this.hobNsector << 8) | this.nsector;
      this.nsector = n === 0 ? 65536 : n;
    } else if (this.nsector === 0) {
      this.nsector = 256;
    }
  }
}

type EndFn = () => void;

/** SMART attributes as QEMU reports them: id, flags (2), value, worst, raw (6), threshold. */
const SMART_ATTRIBUTES = [
  [0x01, 0x03, 0x00, 0x64, 0x64, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x06], // raw read error rate
  [0x03, 0x03, 0x00, 0x64, 0x64, 0x10, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00], // spin-up time
  [0x04, 0x02, 0x00, 0x64, 0x64, 0x64, 0x00, 0x00, 0x00, 0x00, 0x00, 0x14], // start/stop count
  [0x05, 0x03, 0x00, 0x64, 0x64, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x24], // reallocated sectors
  [0x09, 0x03, 0x00, 0x64, 0x64, 0x01, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00], // power-on hours
  [0x0c, 0x03, 0x00, 0x64, 0x64, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00], // power cycles
  [0xbe, 0x03, 0x00, 0x45, 0x45, 0x1f, 0x00, 0x1f, 0x1f, 0x00, 0x00, 0x32], // airflow temperature
].map((a) => Uint8Array.from(a));

interface DmaRequest {
  drive: IdeDrive;
  /** ATA: true = WRITE DMA (memory to disk). */
  write: boolean;
  /** DATA SET MANAGEMENT (TRIM): the data is a list of LBA ranges to discard. */
  trim?: boolean;
  /** ATAPI reply data, or null for ATA sector transfers. */
  atapi: AtapiData | null;
}

export class IdeChannel {
  readonly drives: [IdeDrive | null, IdeDrive | null] = [null, null];
  unit = 0;
  private ctl = 0;
  private irqPending = false;
  /** Incremented on reset/cancel: completions of older requests are dropped. */
  private gen = 0;
  private inflight = 0;
  private idleWaiters: (() => void)[] = [];
  // PIO transfer state
  private data: Uint8Array = new Uint8Array(512);
  private dataPtr = 0;
  private dataEnd = 0;
  private dataIn = true;
  private endFn: EndFn | null = null;
  private dmaReq: DmaRequest | null = null;
  /** Sectors fetched ahead for the current PIO read command. */
  private readAhead: { lba: number; buf: Uint8Array } | null = null;
  /** Queued PIO writes of the current command, in order. */
  private writeChain: Promise<void> | null = null;
  dma: IdeDma | null = null;
  /** Errors of the block layer, for the machine's log (default: silent, reported to the guest only). */
  onIoError: ((e: unknown) => void) | null = null;

  /** @param index channel number, 0 = primary (serials QM00001/2), 1 = secondary (QM00003/4) */
  constructor(private readonly irq: IrqLine, readonly index = 0) {}

  private serialFor(unit: number): string { return `QM${String(this.index * 2 + unit + 1).padStart(5, '0')}`; }

  /** Attach a hard disk. Use guessGeometry(node) first to get QEMU's CHS for partitioned images. */
  attachDisk(unit: 0 | 1, node: BlockNode, opts: DriveOptions = {}): IdeDrive {
    this.checkFree(unit);
    const d = new IdeDrive('hd', node, this.serialFor(unit), opts);
    this.drives[unit] = d;
    d.resetRegs(); d.setSignature(); d.error = 1;
    return d;
  }

  /** Attach a CD/DVD drive, empty or with a medium. */
  attachCdrom(unit: 0 | 1, node: BlockNode | null, opts: DriveOptions = {}): IdeDrive {
    this.checkFree(unit);
    const d = new IdeDrive('cd', null, this.serialFor(unit), opts);
    if (node !== null) d.cd!.node = node;
    this.drives[unit] = d;
    d.resetRegs(); d.setSignature(); d.error = 1; d.status = 0;
    return d;
  }

  private checkFree(unit: number): void {
    if (unit !== 0 && unit !== 1) throw new RangeError(`IDE unit ${unit} does not exist (0 = master, 1 = slave)`);
    if (this.drives[unit] !== null) throw new Error(`IDE bus ${this.index} unit ${unit} is already in use`);
  }

  /** Insert a CD medium into `unit` (media change: the guest is interrupted and told on its next commands). */
  insertMedia(unit: 0 | 1, node: BlockNode): void {
    const d = this.drives[unit];
    if (d?.cd == null) throw new Error(`IDE ${this.index}.${unit} is not a CD drive`);
    d.cd.insertMedia(node);
    this.raiseIrq();
  }

  /** Eject the CD in `unit`; false if the guest has locked the tray (and force is not set). */
  eject(unit: 0 | 1, force = false): boolean {
    const d = this.drives[unit];
    if (d?.cd == null) throw new Error(`IDE ${this.index}.${unit} is not a CD drive`);
    const ok = d.cd.eject(force);
    if (ok) this.raiseIrq();
    return ok;
  }

  /** Resolves when no media request is in flight (tests, snapshots, shutdown). */
  idle(): Promise<void> {
    if (this.inflight === 0) return Promise.resolve();
    return new Promise((res) => this.idleWaiters.push(res));
  }

  get busy(): boolean { return this.inflight > 0; }

  private get cur(): IdeDrive | null { return this.drives[this.unit]!; }
  private get noDrives(): boolean { return this.drives[0] === null && this.drives[1] === null; }

  // ---- interrupt ----
  private raiseIrq(): void {
    this.irqPending = true;
    if ((this.ctl & CTL_NIEN) === 0) {
      this.dma?.irqRaised();
      this.irq.set(true);
    }
  }

  private clearIrq(): void {
    this.irqPending = false;
    this.irq.set(false);
  }

  // ---- asynchronous media requests ----
  private io(p: Promise<void>, ok: () => void, fail: (e: unknown) => void): void {
    const g = this.gen;
    this.inflight++;
    p.then(() => { if (g === this.gen) ok(); }, (e: unknown) => {
      if (g === this.gen) { this.onIoError?.(e); fail(e); }
    }).finally(() => this.settled());
  }

  // ---- PIO transfer ----
  private transferStart(d: IdeDrive, buf: Uint8Array, len: number, dirIn: boolean, end: EndFn): void {
    this.data = buf;
    this.dataPtr = 0;
    this.dataEnd = len;
    this.dataIn = dirIn;
    this.endFn = end;
    d.status |= ST_DRQ;
  }

  private transferStop(d: IdeDrive): void {
    this.dataPtr = this.dataEnd = 0;
    this.endFn = null;
    d.status &= ~ST_DRQ;
  }

  private buffer(len: number): Uint8Array {
    return len <= this.data.length && this.endFn === null ? this.data.subarray(0, len) : new Uint8Array(Math.max(len, 512));
  }

  readData(size: number): number {
    const d = this.cur;
    if (d === null || (d.status & ST_DRQ) === 0 || !this.dataIn) return 0;
    const p = this.dataPtr;
    if (p + size > this.dataEnd) return 0;
    const b = this.data;
    const v = size === 4 ? (b[p]! | (b[p + 1]! << 8) | (b[p + 2]! << 16) | (b[p + 3]! << 24)) >>> 0
      : size === 2 ? b[p]! | (b[p + 1]! << 8) : b[p]!;
    this.dataPtr = p + size;
    if (this.dataPtr >= this.dataEnd) this.finishBlock(d);
    return v;
  }

  writeData(size: number, v: number): void {
    const d = this.cur;
    if (d === null || (d.status & ST_DRQ) === 0 || this.dataIn) return;
    const p = this.dataPtr;
    if (p + size > this.dataEnd) return;
    const b = this.data;
    b[p] = v;
    if (size >= 2) b[p + 1] = v >>> 8;
    if (size === 4) { b[p + 2] = v >>> 16; b[p + 3] = v >>> 24; }
    this.dataPtr = p + size;
    if (this.dataPtr >= this.dataEnd) this.finishBlock(d);
  }

  private finishBlock(d: IdeDrive): void {
    d.status &= ~ST_DRQ;
    const f = this.endFn;
    this.endFn = null;
    if (f !== null) f();
  }

  // ---- register file ----
  /** Read command-block register `reg` (1..7; 0 is the data port). */
  readReg(reg: number): number {
    if (reg === 0) return this.readData(2);
    const d = this.cur;
    const hob = (this.ctl & CTL_HOB) !== 0;
    const absent = this.noDrives || (this.unit === 1 && d === null);
    if (reg === 6) return this.noDrives ? 0 : (d ?? this.drives[0] ?? this.drives[1]!).select;
    if (absent || d === null) {
      if (reg === 7) this.clearIrq();
      return 0;
    }
    switch (reg) {
      case 1: return hob ? d.hobFeature : d.error;
      case 2: return hob ? d.hobNsector : d.nsector & 0xff;
      case 3: return hob ? d.hobSector : d.sector;
      case 4: return hob ? d.hobLcyl : d.lcyl;
      case 5: return hob ? d.hobHcyl : d.hcyl;
      default:
        this.clearIrq();
        return d.status;
    }
  }

  /** Alternate status (does not acknowledge the interrupt). */
  readAltStatus(): number {
    const d = this.cur;
    if (this.noDrives || d === null) return 0;
    return d.status;
  }

  writeReg(reg: number, v: number): void {
    if (reg === 0) { this.writeData(2, v); return; }
    v &= 0xff;
    if (reg !== 7) this.ctl &= ~CTL_HOB;
    for (const d of this.drives) {
      if (d === null) continue;
      switch (reg) {
        case 1: d.hobFeature = d.feature; d.feature = v; break;
        case 2: d.hobNsector = d.nsector & 0xff; d.nsector = v; break;
        case 3: d.hobSector = d.sector; d.sector = v; break;
        case 4: d.hobLcyl = d.lcyl; d.lcyl = v; break;
        case 5: d.hobHcyl = d.hcyl; d.hcyl = v; break;
        case 6: d.select = v | 0xa0; break;
        default: break;
      }
    }
    if (reg === 6) this.unit = (v >> 4) & 1;
    else if (reg === 7) this.command(v);
  }

  /** Device control register (0x3F6 / 0x376). */
  writeControl(v: number): void {
    const was = this.ctl;
    this.ctl = v & (CTL_NIEN | CTL_SRST | CTL_HOB);
    if ((was & CTL_SRST) === 0 && (v & CTL_SRST) !== 0) {
      this.cancel();
      for (const d of this.drives) if (d !== null) { d.status = ST_BSY | ST_DSC; d.error = 1; }
    } else if ((was & CTL_SRST) !== 0 && (v & CTL_SRST) === 0) {
      for (const d of this.drives) {
        if (d === null) continue;
        d.resetRegs();
        d.setSignature();
        d.error = 1;
        d.status = d.kind === 'cd' ? 0 : READY;
      }
      this.unit = 0;
    }
    // nIEN masks the INTRQ output; a pending interrupt shows again when it is cleared.
    if ((this.ctl & CTL_NIEN) !== 0) this.irq.set(false);
    else if (this.irqPending && (was & CTL_NIEN) !== 0) this.irq.set(true);
  }

  /** Abandon the command in progress (reset): in-flight completions are dropped. */
  private cancel(): void {
    this.gen++;
    this.dmaReq = null;
    this.readAhead = null;
    this.writeChain = null;
    this.endFn = null;
    this.dataPtr = this.dataEnd = 0;
    this.clearIrq();
  }

  // ---- commands ----
  private abort(d: IdeDrive): void {
    d.status = ST_DRDY | ST_ERR;
    d.error = ERR_ABRT;
    this.transferStop(d);
    d.status &= ~ST_DRQ;
    this.raiseIrq();
  }

  private done(d: IdeDrive): void {
    d.status = READY;
    d.error = 0;
    this.raiseIrq();
  }

  private command(cmd: number): void {
    const d = this.cur;
    if (d === null) {
      if (this.unit === 1 || this.noDrives) return; // nobody answers
      return;
    }
    if ((d.status & ST_BSY) !== 0) return;
    if ((d.status & ST_DRQ) !== 0 && cmd !== 0x08) return;
    this.clearIrq();
    this.readAhead = null;
    this.writeChain = null;
    const hd = d.kind === 'hd';
    d.error = 0;
    d.status = ST_DRDY | ST_BSY;
    switch (cmd) {
      case 0x08: // DEVICE RESET (packet devices)
        if (hd) return this.abort(d);
        this.cancel();
        d.resetRegs(); d.setSignature(); d.error = 1; d.status = 0;
        return;
      case 0x20: case 0x21: case 0x24: // READ SECTORS (EXT)
      case 0xc4: case 0x29: { // READ MULTIPLE (EXT)
        if (!hd) { d.setSignature(); return this.abort(d); }
        const mult = cmd === 0xc4 || cmd === 0x29;
        if (mult && d.multSectors === 0) return this.abort(d);
        d.setCount(cmd === 0x24 || cmd === 0x29);
        d.reqSectors = mult ? d.multSectors : 1;
        return this.pioReadNext(d);
      }
      case 0x30: case 0x31: case 0x34: // WRITE SECTORS (EXT)
      case 0xc5: case 0x39: { // WRITE MULTIPLE (EXT)
        if (!hd) return this.abort(d);
        const mult = cmd === 0xc5 || cmd === 0x39;
        if (mult && d.multSectors === 0) return this.abort(d);
        d.setCount(cmd === 0x34 || cmd === 0x39);
        d.reqSectors = mult ? d.multSectors : 1;
        d.status = READY;
        const n = Math.min(d.nsector, d.reqSectors);
        this.transferStart(d, this.buffer(n * 512), n * 512, false, () => this.pioWriteBlock(d));
        return;
      }
      case 0xc8: case 0xc9: case 0x25: // READ DMA (EXT)
      case 0xca: case 0xcb: case 0x35: { // WRITE DMA (EXT)
        if (!hd) return this.abort(d);
        d.setCount(cmd === 0x25 || cmd === 0x35);
        const write = cmd === 0xca || cmd === 0xcb || cmd === 0x35;
        if (!this.rangeOk(d, d.getSector(), d.nsector)) return this.abort(d);
        return this.startDma({ drive: d, write, atapi: null });
      }
      case 0x06: // DATA SET MANAGEMENT: TRIM ranges arrive by DMA, as QEMU
        if (!hd || d.feature !== 0x01) return this.abort(d);
        d.setCount(true);
        return this.startDma({ drive: d, write: true, atapi: null, trim: true });
      case 0x40: case 0x41: case 0x42: // READ VERIFY SECTORS (EXT)
        if (!hd) return this.abort(d);
        d.setCount(cmd === 0x42);
        // As QEMU: nothing is read and the task file is left as written.
        return this.done(d);
      case 0xc6: { // SET MULTIPLE MODE
        const n = d.nsector & 0xff;
        if (!hd || n > MAX_MULT_SECTORS || (n & (n - 1)) !== 0) return this.abort(d);
        d.multSectors = n;
        return this.done(d);
      }
      case 0xe7: case 0xea: // FLUSH CACHE (EXT)
        if (d.kind === 'cd' || d.node === null) return this.done(d);
        this.io(d.node.flush(), () => this.done(d), () => this.abort(d));
        return;
      case 0xec: // IDENTIFY DEVICE
        if (!hd) { d.setSignature(); return this.abort(d); }
        return this.sendIdentify(d);
      case 0xa1: // IDENTIFY PACKET DEVICE
        if (hd) return this.abort(d);
        return this.sendIdentify(d);
      case 0xa0: // PACKET
        if (hd || (d.feature & 0x02) !== 0) return this.abort(d);
        d.atapiDma = (d.feature & 1) !== 0;
        d.status = READY;
        d.nsector = IR_COD; // as QEMU: the whole register, not just the reason bits
        this.transferStart(d, this.buffer(12), 12, false, () => this.packet(d));
        return;
      case 0x90: // EXECUTE DEVICE DIAGNOSTIC
        for (const x of this.drives) if (x !== null) { x.setSignature(); x.error = 1; x.status = x.kind === 'cd' ? 0 : READY; }
        this.unit = 0;
        if (hd) this.raiseIrq();
        return;
      case 0x91: { // INITIALIZE DEVICE PARAMETERS
        if (!hd) return this.abort(d);
        const secs = d.nsector & 0xff;
        if (secs === 0) return this.abort(d);
        d.curHeads = (d.select & 0x0f) + 1;
        d.curSectors = secs;
        return this.done(d);
      }
      case 0xef: return this.setFeatures(d);
      case 0xb0: return this.smart(d);
      case 0x10: case 0x11: case 0x12: case 0x13: case 0x14: case 0x15: case 0x16: case 0x17:
      case 0x18: case 0x19: case 0x1a: case 0x1b: case 0x1c: case 0x1d: case 0x1e: case 0x1f: // RECALIBRATE
      case 0x70: // SEEK
        return hd ? this.done(d) : this.abort(d);
      case 0xe0: case 0x94: case 0xe1: case 0x95: case 0xe2: case 0x96: case 0xe3: case 0x97: // STANDBY/IDLE
      case 0xe6: case 0x99: // SLEEP
        return this.done(d);
      case 0xe5: case 0x98: // CHECK POWER MODE
        d.nsector = 0xff;
        return this.done(d);
      case 0xf8: case 0x27: { // READ NATIVE MAX ADDRESS (EXT)
        if (!hd) return this.abort(d);
        d.lba48 = cmd === 0x27;
        d.setSector(d.nbSectors() - 1);
        return this.done(d);
      }
      default:
        return this.abort(d);
    }
  }

  private rangeOk(d: IdeDrive, lba: number, n: number): boolean {
    return lba >= 0 && lba + n <= d.nbSectors();
  }

  private sendIdentify(d: IdeDrive): void {
    const buf = this.buffer(512);
    wordsToBytes(d.identify(), buf);
    d.status = READY;
    this.transferStart(d, buf, 512, true, () => this.transferStop(d));
    this.raiseIrq();
  }

  private setFeatures(d: IdeDrive): void {
    switch (d.feature) {
      case 0x02: case 0x82: // enable / disable write cache
        d.writeCache = d.feature === 0x02;
        return this.done(d);
      case 0x03: { // set transfer mode
        const mode = d.nsector & 7;
        const w = d.identify();
        w[62] = 0x07; w[63] = 0x07; w[88] = 0x3f;
        switch (d.nsector >> 3) {
          case 0x00: case 0x01: break;
          case 0x02: w[62] = 0x07 | (1 << (mode + 8)); break;
          case 0x04: w[63] = 0x07 | (1 << (mode + 8)); break;
          case 0x08: w[88] = 0x3f | (1 << (mode + 8)); break;
          default: return this.abort(d);
        }
        return this.done(d);
      }
      case 0xcc: case 0x66: case 0xaa: case 0x55: case 0x05: case 0x85: case 0x69:
      case 0x67: case 0x96: case 0x9a: case 0x42: case 0xc2:
        return this.done(d);
      default:
        return this.abort(d);
    }
  }

  /** SMART: the subset QEMU implements, with its attribute values. */
  private smart(d: IdeDrive): void {
    if (d.kind !== 'hd' || d.lcyl !== 0x4f || d.hcyl !== 0xc2) return this.abort(d);
    if (!d.smartEnabled && d.feature !== 0xd8) return this.abort(d);
    switch (d.feature) {
      case 0xd8: d.smartEnabled = true; return this.done(d);
      case 0xd9: d.smartEnabled = false; return this.done(d);
      case 0xd2: // ATTRIBUTE AUTOSAVE: sector register 0x00 = off, 0xf1 = on
        if (d.sector !== 0x00 && d.sector !== 0xf1) return this.abort(d);
        d.smartAutosave = d.sector === 0xf1;
        return this.done(d);
      case 0xda: // RETURN STATUS: 4Fh/C2h = no threshold exceeded
        d.lcyl = 0x4f; d.hcyl = 0xc2;
        return this.done(d);
      case 0xd4: // EXECUTE OFF-LINE IMMEDIATE: off-line, short, extended
        if (d.sector > 2) return this.abort(d);
        d.smartSelftests = d.smartSelftests >= 21 ? 1 : d.smartSelftests + 1;
        return this.done(d);
      case 0xd0: case 0xd1: {
        const b = this.buffer(512);
        b.fill(0);
        b[0] = 0x01;
        for (let n = 0; n < SMART_ATTRIBUTES.length; n++) {
          const a = SMART_ATTRIBUTES[n]!;
          if (d.feature === 0xd0) b.set(a.subarray(0, 11), 2 + n * 12);
          else { b[2 + n * 12] = a[0]!; b[3 + n * 12] = a[11]!; }
        }
        if (d.feature === 0xd0) {
          b[362] = 0x02 | (d.smartAutosave ? 0x80 : 0);
          b[364] = 0x20; b[365] = 0x01;
          b[367] = 0x19; // off-line collection: execute, self-test
          b[368] = 0x03; b[370] = 0x01; // SMART capability, error logging
          b[372] = 0x02; b[373] = 0x36; b[374] = 0x01; // self-test polling minutes
        }
        let sum = 0;
        for (let i = 0; i < 511; i++) sum += b[i]!;
        b[511] = (0x100 - (sum & 0xff)) & 0xff;
        d.status = READY;
        this.transferStart(d, b, 512, true, () => this.transferStop(d));
        this.raiseIrq();
        return;
      }
      default: return this.abort(d);
    }
  }

  /**
   * Next DRQ block of a PIO read. The medium is read ahead for the rest of the
   * command (up to READ_AHEAD sectors) in one request, so later blocks are
   * served at once instead of one host round trip per sector.
   */
  private pioReadNext(d: IdeDrive): void {
    d.status = READY;
    d.error = 0;
    if (d.nsector === 0) { this.transferStop(d); return; }
    const lba = d.getSector();
    const n = Math.min(d.nsector, d.reqSectors);
    if (!this.rangeOk(d, lba, n)) return this.abort(d);
    const ra = this.readAhead;
    if (ra !== null && lba >= ra.lba && lba + n <= ra.lba + ra.buf.length / 512) {
      const at = (lba - ra.lba) * 512;
      this.deliverRead(d, lba, n, ra.buf.subarray(at, at + n * 512));
      return;
    }
    const m = Math.max(n, Math.min(d.nsector, READ_AHEAD, d.nbSectors() - lba));
    d.status |= ST_BSY;
    const buf = new Uint8Array(m * 512);
    this.io(d.node!.read(lba * 512, buf), () => {
      this.readAhead = { lba, buf };
      this.deliverRead(d, lba, n, buf.subarray(0, n * 512));
    }, () => this.abort(d));
  }

  private deliverRead(d: IdeDrive, lba: number, n: number, data: Uint8Array): void {
    d.status = READY;
    d.setSector(lba + n);
    d.nsector -= n;
    this.transferStart(d, data, n * 512, true, () => this.pioReadNext(d));
    this.raiseIrq();
  }

  /**
   * A PIO write block is complete. Like a drive with its write cache on, the
   * data is queued to the medium and the next block is requested at once; the
   * last block waits (BSY) until everything queued has reached the BlockNode.
   */
  private pioWriteBlock(d: IdeDrive): void {
    const lba = d.getSector();
    const n = Math.min(d.nsector, d.reqSectors);
    if (!this.rangeOk(d, lba, n)) return this.abort(d);
    const data = this.data.slice(0, n * 512);
    const node = d.node!;
    const prev = this.writeChain ?? Promise.resolve();
    this.writeChain = prev.then(() => node.write(lba * 512, data));
    d.setSector(lba + n);
    d.nsector -= n;
    if (d.nsector !== 0) {
      this.track(this.writeChain);
      d.status = READY;
      const n1 = Math.min(d.nsector, d.reqSectors);
      this.transferStart(d, this.buffer(n1 * 512), n1 * 512, false, () => this.pioWriteBlock(d));
      this.raiseIrq();
      return;
    }
    const chain = this.writeChain;
    this.writeChain = null;
    d.status = READY | ST_BSY;
    this.io(chain, () => {
      d.status = READY;
      this.transferStop(d);
      this.raiseIrq();
    }, () => this.abort(d));
  }

  /** Count a background request for idle(), ignoring its outcome (reported by the chain's end). */
  private track(p: Promise<void>): void {
    this.inflight++;
    p.catch(() => {}).finally(() => this.settled());
  }

  private settled(): void {
    if (--this.inflight === 0) {
      const w = this.idleWaiters; this.idleWaiters = [];
      for (const f of w) f();
    }
  }

  // ---- ATAPI transport ----
  private packet(d: IdeDrive): void {
    const cd = d.cd!;
    const pkt = this.data.slice(0, 12);
    const r = cd.command(pkt);
    if (r.kind === 'ok') return this.atapiOk(d);
    if (r.kind === 'error') return this.atapiError(d, r.key, r.asc);

    if (d.atapiDma) {
      d.status = READY | ST_DRQ;
      return this.startDma({ drive: d, write: false, atapi: r.data });
    }
    this.atapiPio(d, r.data, 0);
  }

  private atapiOk(d: IdeDrive): void {
    d.error = 0;
    d.status = READY;
    d.nsector = (d.nsector & ~7) | IR_IO | IR_COD;
    this.raiseIrq();
  }

  private atapiError(d: IdeDrive, key: number, asc: number): void {
    const cd = d.cd!;
    d.error = key << 4;
    d.status = ST_DRDY | ST_ERR;
    d.nsector = (d.nsector & ~7) | IR_IO | IR_COD;
    cd.senseKey = key;
    cd.asc = asc;
    this.raiseIrq();
  }

  /** Send reply bytes [off, total) in DRQ blocks no larger than the byte count limit. */
  private atapiPio(d: IdeDrive, src: AtapiData, off: number): void {
    if (off >= src.total) return this.atapiOk(d);
    let limit = d.lcyl | (d.hcyl << 8);
    if (limit === 0xffff || limit === 0) limit = 0xfffe;
    if ((limit & 1) !== 0) limit--;
    const size = Math.min(src.total - off, limit);
    const buf = new Uint8Array(size + (size & 1));
    const go = () => {
      d.status = READY;
      d.lcyl = size & 0xff;
      d.hcyl = (size >> 8) & 0xff;
      d.nsector = (d.nsector & ~7) | IR_IO;
      this.transferStart(d, buf, size, true, () => this.atapiPio(d, src, off + size));
      this.raiseIrq();
    };
    const p = src.fill(off, buf.subarray(0, size));
    if (p === undefined) { go(); return; }
    d.status = READY | ST_BSY;
    this.io(p, go, () => this.atapiError(d, SENSE_MEDIUM_ERROR, ASC_UNRECOVERED_READ_ERROR));
  }

  // ---- DMA ----
  private startDma(req: DmaRequest): void {
    req.drive.status = READY | ST_DRQ;
    this.dmaReq = req;
    if (this.dma !== null && this.dma.running) this.runDma();
  }

  /** The bus-master engine was started: run a pending DMA command. */
  dmaKick(): void {
    if (this.dmaReq !== null && this.dma !== null && this.dma.running) this.runDma();
  }

  // Stopping the engine mid-transfer does not abort it: like QEMU, the transfer
  // already under way completes (a partial write must not reach the disk).

  private runDma(): void {
    const req = this.dmaReq!;
    this.dmaReq = null;
    const dma = this.dma!;
    const d = req.drive;
    const ata = req.atapi === null;
    const total = ata ? d.nsector * 512 : req.atapi!.total;
    const sg = dma.prepare(total);
    if (sg.bytes < total) {
      // PRDs too short for the request: nothing moves, Active clears, no interrupt (as QEMU).
      d.status = READY;
      dma.finish(false);
      return;
    }
    const usable = total;
    const lba = ata ? d.getSector() : 0;
    const g = this.gen;
    this.inflight++;
    const run = async () => {
      const chunk = new Uint8Array(Math.min(usable, DMA_CHUNK));
      let seg = 0, segOff = 0;
      // Copy between `buf` and guest memory along the scatter list.
      const move = (buf: Uint8Array, toMemory: boolean) => {
        let i = 0;
        while (i < buf.length) {
          const n = Math.min(sg.len[seg]! - segOff, buf.length - i);
          const addr = sg.addr[seg]! + segOff;
          if (toMemory) dma.memory.writeBytes(addr, buf.subarray(i, i + n));
          else dma.memory.readBytes(addr, buf.subarray(i, i + n));
          i += n; segOff += n;
          if (segOff === sg.len[seg]) { seg++; segOff = 0; }
        }
      };
      for (let off = 0; off < usable; off += chunk.length) {
        const part = chunk.subarray(0, Math.min(chunk.length, usable - off));
        if (req.trim === true) {
          move(part, false);
          await this.trim(d, part);
        } else if (ata && req.write) {
          move(part, false);
          await d.node!.write(lba * 512 + off, part);
        } else {
          if (ata) await d.node!.read(lba * 512 + off, part);
          else await req.atapi!.fill(off, part);
          if (g !== this.gen) return;
          move(part, true);
        }
        if (g !== this.gen) return;
      }
    };
    run().then(() => {
      if (g !== this.gen) return;
      if (req.trim === true) {
        d.nsector -= usable / 512;
        d.status = READY;
        if (d.nsector !== 0) { dma.finish(false); return; }
        this.raiseIrq();
        dma.finish(sg.more);
      } else if (ata) {
        d.setSector(lba + usable / 512);
        d.nsector -= usable / 512;
        d.status = READY;
        if (d.nsector !== 0) { dma.finish(false); return; } // PRDs ran out
        this.raiseIrq();
        dma.finish(sg.more);
      } else {
        dma.finish(false); // QEMU clears Active after an ATAPI transfer even with PRDs to spare
        this.atapiOk(d);
      }
    }, (e: unknown) => {
      if (g !== this.gen) return;
      this.onIoError?.(e);
      dma.finish(false);
      if (ata) this.abort(d); else this.atapiError(d, SENSE_MEDIUM_ERROR, ASC_UNRECOVERED_READ_ERROR);
    }).finally(() => this.settled());
  }

  /** Discard the ranges of a TRIM payload: 8-byte entries, 48-bit LBA and 16-bit count. */
  private async trim(d: IdeDrive, buf: Uint8Array): Promise<void> {
    const nb = d.nbSectors();
    for (let i = 0; i + 8 <= buf.length; i += 8) {
      const count = buf[i + 6]! | (buf[i + 7]! << 8);
      if (count === 0) continue;
      let lba = 0;
      for (let k = 5; k >= 0; k--) lba = lba * 256 + buf[i + k]!;
      if (lba + count > nb) throw new RangeError('TRIM range beyond the end of the disk');
      await d.node!.writeZeroes(lba * 512, count * 512, true);
    }
  }

  // ---- machine reset and state ----
  reset(): void {
    this.cancel();
    this.ctl = 0;
    this.unit = 0;
    for (const d of this.drives) {
      if (d === null) continue;
      d.resetRegs(); d.setSignature(); d.error = 1;
      d.status = d.kind === 'cd' ? 0 : READY;
    }
  }

  /**
   * Snapshot of registers. Take it when {@link idle} has resolved: a command
   * waiting for media data is saved as not started (BSY is dropped).
   */
  saveState(): Record<string, unknown> {
    const drives = this.drives.map((d) => d === null ? null : {
      regs: [d.feature, d.nsector, d.sector, d.lcyl, d.hcyl, d.hobFeature, d.hobNsector, d.hobSector, d.hobLcyl, d.hobHcyl,
        d.select, d.status & ~ST_BSY, d.error, d.multSectors, d.reqSectors, d.lba48 ? 1 : 0, d.writeCache ? 1 : 0,
        d.curHeads, d.curSectors, d.atapiDma ? 1 : 0],
      cd: d.cd?.saveState() ?? null,
      identify: d.identifyWords === null ? null : Buffer.from(d.identifyWords.buffer, d.identifyWords.byteOffset, 512).toString('base64'),
      smart: [d.smartEnabled ? 1 : 0, d.smartAutosave ? 1 : 0, d.smartSelftests],
    });
    return { unit: this.unit, ctl: this.ctl, irqPending: this.irqPending, drives };
  }

  loadState(s: Record<string, unknown>): void {
    this.cancel();
    this.unit = Number(s['unit'] ?? 0) & 1;
    this.ctl = Number(s['ctl'] ?? 0) & 0xff;
    const ds = s['drives'];
    if (Array.isArray(ds)) {
      for (let i = 0; i < 2; i++) {
        const d = this.drives[i];
        const x = ds[i] as { regs?: number[]; cd?: Record<string, unknown> | null; identify?: string | null; smart?: number[] } | null;
        if (d == null || x == null || !Array.isArray(x.regs)) continue;
        const r = x.regs.map(Number);
        [d.feature, d.nsector, d.sector, d.lcyl, d.hcyl, d.hobFeature, d.hobNsector, d.hobSector, d.hobLcyl, d.hobHcyl,
          d.select, d.status, d.error, d.multSectors, d.reqSectors] = r as [number, number, number, number, number, number,
          number, number, number, number, number, number, number, number, number];
        d.lba48 = r[15] === 1; d.writeCache = r[16] === 1; d.curHeads = r[17] ?? d.chs.heads;
        d.curSectors = r[18] ?? d.chs.sectors; d.atapiDma = r[19] === 1;
        d.identifyWords = null;
        if (typeof x.identify === 'string') {
          const b = Buffer.from(x.identify, 'base64');
          if (b.length === 512) d.identifyWords = new Uint16Array(new Uint8Array(b).buffer);
        }
        if (Array.isArray(x.smart)) {
          d.smartEnabled = x.smart[0] === 1; d.smartAutosave = x.smart[1] === 1; d.smartSelftests = Number(x.smart[2]) || 0;
        }
        if (d.cd !== null && x.cd) d.cd.loadState(x.cd);
      }
    }
    // A PIO transfer cannot be resumed mid-command without its continuation; the guest sees the command end.
    const d = this.cur;
    if (d !== null) d.status &= ~ST_DRQ;
    if (s['irqPending'] === true) this.raiseIrq();
  }
}
