/**
 * PIIX4-style power management function (8086:7113 rev 03, class 0680), at
 * 00.3 as in QEMU's `pc` machine.
 *
 * Configuration: PMBA at 0x40 (bits 15:6, bit 0 reads 1 = I/O space), enabled
 * by PMREGMISC 0x80 bit 0; SMBus base SMBBA at 0x90 (bits 15:4), enabled by
 * SMBHSTCFG 0xD2 bit 0. DEVACTB 0x58 bit 25 (0x5B bit 1) = APMC_EN: writes to
 * the APM control port 0xB2 raise SMI.
 *
 * PM I/O block (SeaBIOS puts it at 0x600):
 *   +0 PM1_STS (W1C): TMR_STS 0, GBL_STS 5, PWRBTN_STS 8, RTC_STS 10, WAK_STS 15
 *   +2 PM1_EN: same bit positions
 *   +4 PM1_CNT: SCI_EN 0, SLP_TYP 12:10, SLP_EN 13 (S5 = 0, S3 = 1, S4 = 2 in QEMU's DSDT)
 *   +8 PM_TMR: 24-bit counter at 3.579545 MHz; TMR_STS is set when bit 23 changes.
 * GPE0 block at 0xAFE0 (status 2 bytes W1C, enable 2 bytes). The SCI is level
 * on ISA IRQ 9. Writing 0xF1/0xF0 to port 0xB2 sets/clears SCI_EN (ACPI
 * enable/disable as the FADT announces).
 */
import type { IoBus, IoDevice } from '../../bus/io-bus.js';
import type { IrqLine } from '../../bus/irq.js';
import type { Timer, VirtualClock } from '../../clock/virtual-clock.js';
import { PciDevice } from './pci-bus.js';

export const PM_TIMER_HZ = 3579545;
export const ACPI_ENABLE = 0xf1;
export const ACPI_DISABLE = 0xf0;
export const GPE0_BASE = 0xafe0;

const TMR_STS = 1 << 0;
const GBL_STS = 1 << 5;
const PWRBTN_STS = 1 << 8;
const RTC_STS = 1 << 10;
const WAK_STS = 1 << 15;
const PM1_EVENTS = TMR_STS | GBL_STS | PWRBTN_STS | RTC_STS;
const SCI_EN = 1;
const SLP_EN = 1 << 13;

const PM_SIZE = 64;
const SMB_SIZE = 16;

/** Smallest time in ns at which the PM timer has counted `ticks`. */
function ticksToNs(ticks: number): number {
  const sec = Math.floor(ticks / PM_TIMER_HZ);
  const rem = ticks - sec * PM_TIMER_HZ;
  return sec * 1e9 + Math.ceil((rem * 1e9) / PM_TIMER_HZ);
}

/** PM timer ticks elapsed at `ns` (exact integer arithmetic in doubles). */
export function pmTicksAt(ns: number): number {
  const sec = Math.floor(ns / 1e9);
  const rem = ns - sec * 1e9;
  return sec * PM_TIMER_HZ + Math.floor((rem * PM_TIMER_HZ) / 1e9);
}

export interface Piix4PmOptions {
  /** Guest asked for S5 (or S4): power off. */
  onPowerOff?: () => void;
  /** Guest asked for S3 (suspend to RAM). */
  onSuspend?: () => void;
  /** APM control write with APMC_EN set: raise SMI. */
  onSmi?: () => void;
  /** The CPU supports SMM (otherwise APMC_EN is preset so SeaBIOS skips SMM setup, as QEMU does). */
  smmEnabled?: boolean;
  /** Which legacy serial ports exist (reported in device resource register 0x67); default COM1 only. */
  com1?: boolean;
  com2?: boolean;
}

export class Piix4Pm extends PciDevice {
  private pm1Sts = 0;
  private pm1En = 0;
  private pm1Cnt = 0;
  private gpeSts = 0;
  private gpeEn = 0;
  private apmCnt = 0;
  private apmSts = 0;
  /** ns at which bit 23 of the timer next changes. */
  private overflowNs = 0;
  private pmBase = -1;
  private smbBase = -1;
  private readonly timer: Timer;
  private readonly pmIo: IoDevice;
  private readonly smbIo: IoDevice;
  private readonly smb = new Uint8Array(SMB_SIZE);

  constructor(private readonly io: IoBus, private readonly clock: VirtualClock, private readonly sci: IrqLine,
    private readonly opts: Piix4PmOptions = {}) {
    super({ name: 'PIIX4_PM', vendorId: 0x8086, deviceId: 0x7113, revision: 0x03, classCode: 0x068000, interruptPin: 1 });
    const c = this.config;
    c[0x06] = 0x80;
    c[0x07] = 0x02;
    c[0x40] = 0x01;
    this.wmask[0x40] = 0xc0; this.wmask[0x41] = 0xff; this.wmask[0x42] = 0; this.wmask[0x43] = 0;
    c[0x90] = 0x01;
    this.wmask[0x90] = 0xf0; this.wmask[0x91] = 0xff; this.wmask[0x92] = 0; this.wmask[0x93] = 0;
    if (opts.smmEnabled !== true) c[0x5b] = 0x02;
    c[0x5f] = 0x10;
    c[0x63] = 0x60;
    c[0x67] = (opts.com1 !== false ? 0x08 : 0) | (opts.com2 === true ? 0x90 : 0);
    this.timer = clock.newTimer(() => this.timerFired(), 'acpi-pm-timer');
    const self = this;
    this.pmIo = { ioRead: (p, s) => self.pmRead(p - self.pmBase, s), ioWrite: (p, s, v) => self.pmWrite(p - self.pmBase, s, v) };
    this.smbIo = { ioRead: (p) => self.smbRead(p - self.smbBase), ioWrite: (p, _s, v) => self.smbWrite(p - self.smbBase, v) };
    io.register(0xb2, 2, { ioRead: (p) => (p === 0xb2 ? self.apmCnt : self.apmSts), ioWrite: (p, s, v) => self.apmWrite(p, s, v) }, 'apm');
    io.register(GPE0_BASE, 4, { ioRead: (p, s) => self.gpeRead(p - GPE0_BASE, s), ioWrite: (p, s, v) => self.gpeWrite(p - GPE0_BASE, s, v) }, 'acpi-gpe0');
    this.overflowNs = 0; // as QEMU: the first status read reports TMR_STS
  }

  /** Current PM timer value (24 bits). */
  timerValue(): number { return pmTicksAt(this.clock.now()) & 0xffffff; }

  /** Base of the PM I/O block, or -1 when disabled. */
  get pmIoBase(): number { return this.pmBase; }
  get smbusBase(): number { return this.smbBase; }

  private nextOverflow(ns: number): number {
    const t = pmTicksAt(ns);
    return ticksToNs((Math.floor(t / 0x800000) + 1) * 0x800000);
  }

  private syncTimerStatus(): void {
    const now = this.clock.now();
    if (now >= this.overflowNs) {
      this.pm1Sts |= TMR_STS;
      this.overflowNs = this.nextOverflow(now);
    }
  }

  private timerFired(): void {
    this.syncTimerStatus();
    this.updateSci();
  }

  private updateSci(): void {
    const level = (this.pm1Sts & this.pm1En & PM1_EVENTS) !== 0 || (this.gpeSts & this.gpeEn) !== 0;
    this.sci.set(level);
    // Keep a timer armed for the next overflow only while its interrupt is enabled.
    if ((this.pm1En & TMR_STS) !== 0 && (this.pm1Sts & TMR_STS) === 0) this.timer.mod(this.overflowNs);
    else this.timer.del();
  }

  // ---- external events (monitor commands, RTC alarm) ----
  /** Power button press (system_powerdown). */
  powerButton(): void { this.pm1Sts |= PWRBTN_STS; this.updateSci(); }
  /** RTC alarm wake event. */
  rtcEvent(): void { this.pm1Sts |= RTC_STS; this.updateSci(); }
  /** Resume from S3: sets WAK_STS. */
  wake(): void { this.pm1Sts |= WAK_STS; this.updateSci(); }
  /** Raise a general-purpose event bit (hotplug and the like). */
  gpeEvent(bit: number): void { this.gpeSts |= 1 << bit; this.updateSci(); }

  // ---- PM I/O block ----
  private pmRead(off: number, size: number): number {
    let v: number;
    switch (off & ~3) {
      case 0: this.syncTimerStatus(); v = this.pm1Sts | (this.pm1En << 16); break;
      case 4: v = this.pm1Cnt; break;
      case 8: v = this.timerValue(); break;
      default: return 0;
    }
    const sh = (off & 3) * 8;
    return (v >>> sh) & (size === 4 ? 0xffffffff : size === 2 ? 0xffff : 0xff);
  }

  private pmWrite(off: number, size: number, value: number): void {
    // Work per byte so any access width lands right.
    for (let i = 0; i < size; i++) {
      const o = off + i, b = (value >>> (8 * i)) & 0xff;
      switch (o) {
        case 0: this.syncTimerStatus(); this.pm1Sts &= ~b; break;
        case 1: this.pm1Sts &= ~(b << 8); break;
        case 2: this.pm1En = (this.pm1En & 0xff00) | b; break;
        case 3: this.pm1En = (this.pm1En & 0x00ff) | (b << 8); break;
        case 4: this.pm1Cnt = (this.pm1Cnt & 0xff00) | b; break;
        case 5: this.pm1CntHigh(b); break;
        default: break;
      }
    }
    this.updateSci();
  }

  private pm1CntHigh(b: number): void {
    const v = (this.pm1Cnt & 0xff) | (b << 8);
    this.pm1Cnt = v & ~SLP_EN;
    if ((v & SLP_EN) === 0) return;
    const typ = (v >> 10) & 7;
    if (typ === 1) {
      this.opts.onSuspend?.();
    } else if (typ === 0 || typ === 2) {
      this.opts.onPowerOff?.();
    }
  }

  // ---- GPE0 ----
  private gpeRead(off: number, size: number): number {
    const v = this.gpeSts | (this.gpeEn << 16);
    return (v >>> (off * 8)) & (size === 4 ? 0xffffffff : size === 2 ? 0xffff : 0xff);
  }

  private gpeWrite(off: number, size: number, value: number): void {
    for (let i = 0; i < size && off + i < 4; i++) {
      const o = off + i, b = (value >>> (8 * i)) & 0xff;
      if (o < 2) this.gpeSts &= ~(b << (8 * o));
      else this.gpeEn = (this.gpeEn & ~(0xff << (8 * (o - 2)))) | (b << (8 * (o - 2)));
    }
    this.updateSci();
  }

  // ---- APM control/status (0xB2/0xB3) ----
  private apmWrite(port: number, size: number, value: number): void {
    if (port === 0xb3) { this.apmSts = value & 0xff; return; }
    if (size > 1) this.apmSts = (value >>> 8) & 0xff;
    const v = value & 0xff;
    this.apmCnt = v;
    if (v === ACPI_ENABLE) { this.pm1Cnt |= SCI_EN; return; }
    if (v === ACPI_DISABLE) { this.pm1Cnt &= ~SCI_EN; return; }
    if ((this.config[0x5b]! & 0x02) !== 0) this.opts.onSmi?.();
  }

  // ---- SMBus host (no devices answer) ----
  private smbRead(off: number): number {
    return this.smb[off & 15]!;
  }

  private smbWrite(off: number, v: number): void {
    off &= 15;
    if (off === 0) { this.smb[0] &= ~(v & 0x1e); return; } // status bits are W1C
    this.smb[off] = v;
    if (off === 2 && (v & 0x40) !== 0) {
      // START: nobody acknowledges the address, so the transaction ends with DEV_ERR.
      this.smb[0] |= 0x04;
      this.smb[2] = v & ~0x40;
    }
  }

  // ---- configuration ----
  protected override configWritten(off: number, size: number): void {
    const end = off + size;
    if ((off < 0x44 && end > 0x40) || (off <= 0x80 && end > 0x80)) this.updatePmIo();
    if ((off < 0x94 && end > 0x90) || (off <= 0xd2 && end > 0xd2)) this.updateSmbIo();
  }

  private updatePmIo(): void {
    const base = (this.config[0x80]! & 1) !== 0 ? this.get16(0x40) & 0xffc0 : -1;
    if (base === this.pmBase) return;
    if (this.pmBase >= 0) this.io.unregister(this.pmBase, PM_SIZE);
    this.pmBase = -1;
    if (base > 0 && base + PM_SIZE <= 0x10000 && this.free(base, PM_SIZE)) {
      this.io.register(base, PM_SIZE, this.pmIo, 'acpi-pm');
      this.pmBase = base;
    }
  }

  private updateSmbIo(): void {
    const base = (this.config[0xd2]! & 1) !== 0 ? this.get16(0x90) & 0xfff0 : -1;
    if (base === this.smbBase) return;
    if (this.smbBase >= 0) this.io.unregister(this.smbBase, SMB_SIZE);
    this.smbBase = -1;
    if (base > 0 && base + SMB_SIZE <= 0x10000 && this.free(base, SMB_SIZE)) {
      this.io.register(base, SMB_SIZE, this.smbIo, 'pm-smbus');
      this.smbBase = base;
    }
  }

  private free(base: number, n: number): boolean {
    for (let p = base; p < base + n; p++) if (this.io.ownerName(p) !== '') return false;
    return true;
  }

  override reset(): void {
    super.reset();
    this.pm1Sts = this.pm1En = this.pm1Cnt = 0;
    this.gpeSts = this.gpeEn = 0;
    this.apmCnt = this.apmSts = 0;
    this.smb.fill(0);
    this.overflowNs = 0;
    this.updatePmIo();
    this.updateSmbIo();
    this.updateSci();
  }

  override saveState(): Record<string, unknown> {
    return {
      ...super.saveState(), pm1Sts: this.pm1Sts, pm1En: this.pm1En, pm1Cnt: this.pm1Cnt, gpeSts: this.gpeSts,
      gpeEn: this.gpeEn, apmCnt: this.apmCnt, apmSts: this.apmSts, overflowNs: this.overflowNs,
      smb: Array.from(this.smb),
    };
  }

  override loadState(s: Record<string, unknown>): void {
    super.loadState(s);
    const n = (k: string) => Number(s[k] ?? 0);
    this.pm1Sts = n('pm1Sts'); this.pm1En = n('pm1En'); this.pm1Cnt = n('pm1Cnt');
    this.gpeSts = n('gpeSts'); this.gpeEn = n('gpeEn'); this.apmCnt = n('apmCnt'); this.apmSts = n('apmSts');
    this.overflowNs = n('overflowNs');
    const smb = s['smb'];
    if (Array.isArray(smb)) this.smb.set(smb.slice(0, SMB_SIZE).map(Number));
    this.updatePmIo();
    this.updateSmbIo();
    this.updateSci();
  }
}
