/**
 * ATAPI (MMC) command set of a read-only CD/DVD drive, as QEMU's IDE CD
 * presents it to guests.
 *
 * This module decides what a 12-byte packet does: succeed, fail with a sense
 * key / additional sense code, or return data. The IDE channel does the
 * transport (PIO with the byte count limit per DRQ block, or bus-master DMA).
 * Media are 2048-byte sectors read straight from a BlockNode.
 */
import type { BlockNode } from '../../block/types.js';
import { putPadded } from './identify.js';

export const SENSE_NONE = 0;
export const SENSE_NOT_READY = 2;
export const SENSE_MEDIUM_ERROR = 3;
export const SENSE_ILLEGAL_REQUEST = 5;
export const SENSE_UNIT_ATTENTION = 6;

export const ASC_ILLEGAL_OPCODE = 0x20;
export const ASC_LBA_OUT_OF_RANGE = 0x21;
export const ASC_INV_FIELD_IN_CMD_PACKET = 0x24;
export const ASC_MEDIUM_MAY_HAVE_CHANGED = 0x28;
export const ASC_SAVING_PARAMETERS_NOT_SUPPORTED = 0x39;
export const ASC_MEDIUM_NOT_PRESENT = 0x3a;
export const ASC_MEDIA_REMOVAL_PREVENTED = 0x53;
export const ASC_UNRECOVERED_READ_ERROR = 0x11;

export const CD_SECTOR = 2048;
/** Bytes a READ command fetches ahead per media request. */
const READ_AHEAD = 256 * 1024;
/** Largest CD in 2048-byte sectors (80 minutes); bigger media are DVDs. */
const CD_MAX_SECTORS = 80 * 60 * 75;
const PROFILE_CD_ROM = 0x0008;
const PROFILE_DVD_ROM = 0x0010;

/** Data a command returns: `total` bytes, produced in pieces by `fill`. */
export interface AtapiData {
  total: number;
  /** Copy bytes [off, off + dst.length) of the reply into dst; may be asynchronous (media reads). */
  fill(off: number, dst: Uint8Array): Promise<void> | void;
}

export type AtapiResult =
  | { kind: 'ok' }
  | { kind: 'error'; key: number; asc: number }

  | { kind: 'data'; data: AtapiData };

const OK: AtapiResult = { kind: 'ok' };

/** Command flags (QEMU's table): needs a medium, allowed under UNIT ATTENTION, moves no data. */
const CHECK_READY = 1;
const ALLOW_UA = 2;
const NONDATA = 4; // informational: every command here reports through the same status path
const FLAGS = new Uint8Array(256);
FLAGS[0x00] = CHECK_READY | NONDATA; // TEST UNIT READY
FLAGS[0x03] = ALLOW_UA; // REQUEST SENSE
FLAGS[0x12] = ALLOW_UA; // INQUIRY
FLAGS[0x1b] = NONDATA; // START STOP UNIT
FLAGS[0x1e] = NONDATA; // PREVENT ALLOW MEDIUM REMOVAL
FLAGS[0x25] = CHECK_READY; // READ CAPACITY
FLAGS[0x28] = CHECK_READY; // READ(10)
FLAGS[0x2b] = CHECK_READY | NONDATA; // SEEK(10)
FLAGS[0x43] = CHECK_READY; // READ TOC
FLAGS[0x46] = ALLOW_UA; // GET CONFIGURATION
FLAGS[0x4a] = ALLOW_UA; // GET EVENT STATUS NOTIFICATION
FLAGS[0x51] = CHECK_READY; // READ DISC INFORMATION
FLAGS[0xa8] = CHECK_READY; // READ(12)
FLAGS[0xbb] = NONDATA; // SET CD SPEED
FLAGS[0xbe] = CHECK_READY; // READ CD

const be16 = (b: Uint8Array, o: number) => (b[o]! << 8) | b[o + 1]!;
const be32 = (b: Uint8Array, o: number) => ((b[o]! << 24) | (b[o + 1]! << 16) | (b[o + 2]! << 8) | b[o + 3]!) >>> 0;
function put16(b: Uint8Array, o: number, v: number): void { b[o] = (v >> 8) & 0xff; b[o + 1] = v & 0xff; }
function put32(b: Uint8Array, o: number, v: number): void { put16(b, o, v >>> 16); put16(b, o + 2, v & 0xffff); }

/** LBA to minute/second/frame with the 2-second lead-in (150 frames). */
export function lbaToMsf(b: Uint8Array, o: number, lba: number): void {
  lba += 150;
  b[o] = Math.floor(lba / 75 / 60);
  b[o + 1] = Math.floor(lba / 75) % 60;
  b[o + 2] = lba % 75;
}

/** Reply with a fixed buffer, truncated to the allocation length. */
function reply(buf: Uint8Array, len: number, maxLen: number): AtapiResult {
  const n = Math.min(len, maxLen);
  if (n <= 0) return OK;
  const out = buf.slice(0, n);
  return { kind: 'data', data: { total: n, fill: (off, dst) => { dst.set(out.subarray(off, off + dst.length)); } } };
}

function err(key: number, asc: number): AtapiResult { return { kind: 'error', key, asc }; }

export class AtapiDrive {
  node: BlockNode | null = null;
  senseKey = SENSE_NONE;
  asc = 0;
  trayOpen = false;
  trayLocked = false;
  private newMedia = false;
  private ejectRequest = false;
  /** Called when the guest opens or closes the tray (START STOP UNIT with LoEj). */
  onTray: ((open: boolean) => void) | null = null;

  constructor(readonly vendor = 'QEMU', readonly product = 'QEMU DVD-ROM', readonly revision = '2.5+') {}

  /** Media size in 2048-byte sectors (0 = no medium or tray open). */
  sectors(): number {
    if (this.node === null || this.trayOpen) return 0;
    return Math.floor(this.node.size() / CD_SECTOR);
  }

  /**
   * Insert a medium (closing the tray). As QEMU: UNIT ATTENTION / MEDIUM MAY
   * HAVE CHANGED is pending until REQUEST SENSE, and GESN reports new media.
   */
  insertMedia(node: BlockNode): void {
    this.node = node;
    this.trayOpen = false;
    this.senseKey = SENSE_UNIT_ATTENTION;
    this.asc = ASC_MEDIUM_MAY_HAVE_CHANGED;
    this.newMedia = true;
    this.ejectRequest = false;
  }

  /** Remove the medium. Returns false (and flags an eject request) when the guest locked the tray. */
  eject(force = false): boolean {
    if (this.trayLocked && !force) { this.ejectRequest = true; return false; }
    this.node = null;
    this.trayOpen = true;
    this.trayLocked = false;
    return true;
  }

  reset(): void {
    this.senseKey = SENSE_NONE;
    this.asc = 0;
    this.trayLocked = false;
  }

  /** Execute one packet. */
  command(p: Uint8Array): AtapiResult {
    const op = p[0]!;
    const flags = FLAGS[op]!;
    if (this.senseKey === SENSE_UNIT_ATTENTION && (flags & ALLOW_UA) === 0) return err(SENSE_UNIT_ATTENTION, this.asc);
    if ((flags & CHECK_READY) !== 0 && this.sectors() === 0) return err(SENSE_NOT_READY, ASC_MEDIUM_NOT_PRESENT);
    switch (op) {
      case 0x00: return OK; // TEST UNIT READY
      case 0x03: return this.requestSense(p);
      case 0x12: return this.inquiry(p);
      case 0x5a: return this.modeSense(p, true);
      case 0x1b: return this.startStop(p);
      case 0x1e: this.trayLocked = (p[4]! & 1) !== 0; return OK;
      case 0x25: return this.readCapacity();
      case 0x28: return this.read(be32(p, 2), be16(p, 7));
      case 0xa8: return this.read(be32(p, 2), be32(p, 6));
      case 0xbe: return this.readCd(p);
      case 0x2b: return be32(p, 2) >= this.sectors() ? err(SENSE_ILLEGAL_REQUEST, ASC_LBA_OUT_OF_RANGE) : OK;
      case 0x43: return this.readToc(p);
      case 0x46: return this.getConfiguration(p);
      case 0x4a: return this.eventStatus(p);
      case 0x51: return this.discInfo(p);
      case 0xbd: return this.mechanismStatus(p);
      case 0xbb: return OK; // SET CD SPEED
      default: return err(SENSE_ILLEGAL_REQUEST, ASC_ILLEGAL_OPCODE);
    }
  }

  private requestSense(p: Uint8Array): AtapiResult {
    const b = new Uint8Array(18);
    b[0] = 0x70 | 0x80;
    b[2] = this.senseKey;
    b[7] = 10;
    b[12] = this.asc;
    if (this.senseKey === SENSE_UNIT_ATTENTION) this.senseKey = SENSE_NONE; // QEMU keeps the ASC
    return reply(b, 18, p[4]!);
  }

  private inquiry(p: Uint8Array): AtapiResult {
    const maxLen = p[4]!;
    if ((p[1]! & 1) !== 0) {
      // Vital product data: the list of supported pages only.
      if (p[2] !== 0) return err(SENSE_ILLEGAL_REQUEST, ASC_INV_FIELD_IN_CMD_PACKET);
      const b = new Uint8Array([0x05, 0x00, 0x00, 0x01, 0x00]);
      return reply(b, 5, maxLen);
    }
    const b = new Uint8Array(36);
    b[0] = 0x05; // CD/DVD device
    b[1] = 0x80; // removable
    b[2] = 0x00;
    b[3] = 0x21;
    b[4] = 31;
    putPadded(b, 8, 8, this.vendor);
    putPadded(b, 16, 16, this.product);
    putPadded(b, 32, 4, this.revision);
    return reply(b, 36, maxLen);
  }

  /** MODE SENSE(10): pages 0x01 (error recovery), 0x0E (audio control), 0x2A (capabilities). */
  private modeSense(p: Uint8Array, ten: boolean): AtapiResult {
    const maxLen = ten ? be16(p, 7) : p[4]!;
    const control = p[2]! >> 6;
    const code = p[2]! & 0x3f;
    if (control === 3) return err(SENSE_ILLEGAL_REQUEST, ASC_SAVING_PARAMETERS_NOT_SUPPORTED);
    if (control !== 0) return err(SENSE_ILLEGAL_REQUEST, ASC_INV_FIELD_IN_CMD_PACKET);
    let page: Uint8Array;
    switch (code) {
      case 0x01:
        page = new Uint8Array(8);
        page[0] = 0x01; page[1] = 6; page[3] = 0x05;
        break;
      case 0x0e:
        page = new Uint8Array(16);
        page[0] = 0x0e; page[1] = 14;
        break;
      case 0x2a: {
        page = new Uint8Array(22);
        page[0] = 0x2a; page[1] = 20;
        page[2] = 0x3b; // reads CD-R/RW, DVD-ROM/R/RAM
        page[4] = 0x71; // audio play, multisession, mode 2 forms
        page[5] = 3 << 5;
        page[6] = (1 << 0) | (1 << 3) | (1 << 5) | (this.trayLocked ? 1 << 1 : 0); // lock, eject, tray loader
        put16(page, 8, 704); // maximum read speed (4x)
        page[11] = 2; // volume levels
        put16(page, 12, 512); // buffer KiB
        put16(page, 14, 704); // current read speed
        break;
      }
      default:
        return err(SENSE_ILLEGAL_REQUEST, ASC_INV_FIELD_IN_CMD_PACKET);
    }
    const hdr = ten ? 8 : 4;
    const b = new Uint8Array(hdr + page.length);
    if (ten) { put16(b, 0, b.length - 2); b[2] = 0x70; } else { b[0] = b.length - 1; b[1] = 0x70; }
    b.set(page, hdr);
    return reply(b, b.length, maxLen);
  }

  private startStop(p: Uint8Array): AtapiResult {
    const start = (p[4]! & 1) !== 0, loej = (p[4]! & 2) !== 0;
    if ((p[4]! & 0xf0) !== 0) return OK; // power conditions: nothing to load/eject
    if (loej) {
      if (!start && !this.trayOpen && this.trayLocked) {
        return err(this.node !== null ? SENSE_NOT_READY : SENSE_ILLEGAL_REQUEST, ASC_MEDIA_REMOVAL_PREVENTED);
      }
      if (this.trayOpen !== !start) {
        this.trayOpen = !start;
        this.onTray?.(this.trayOpen);
      }
    }
    return OK;
  }

  private readCapacity(): AtapiResult {
    const b = new Uint8Array(8);
    put32(b, 0, this.sectors() - 1);
    put32(b, 4, CD_SECTOR);
    return reply(b, 8, 8);
  }

  private read(lba: number, count: number): AtapiResult {
    if (count === 0) return OK;
    if (lba + count > this.sectors()) return err(SENSE_ILLEGAL_REQUEST, ASC_LBA_OUT_OF_RANGE);
    const node = this.node!;
    const base = lba * CD_SECTOR;
    const total = count * CD_SECTOR;
    // Read ahead up to READ_AHEAD bytes per request: small DRQ blocks (SeaBIOS uses one
    // sector per block) are then served without a host round trip each.
    let cacheOff = 0, cache: Uint8Array | null = null;
    const fill = (off: number, dst: Uint8Array): Promise<void> | void => {
      if (cache !== null && off >= cacheOff && off + dst.length <= cacheOff + cache.length) {
        dst.set(cache.subarray(off - cacheOff, off - cacheOff + dst.length));
        return;
      }
      const len = Math.min(total - off, Math.max(dst.length, READ_AHEAD));
      const buf = new Uint8Array(len);
      return node.read(base + off, buf).then(() => {
        cache = buf; cacheOff = off;
        dst.set(buf.subarray(0, dst.length));
      });
    };
    return { kind: 'data', data: { total, fill } };
  }

  /** READ CD: only the user-data field (2048 bytes per sector) is supported. */
  private readCd(p: Uint8Array): AtapiResult {
    const lba = be32(p, 2);
    const count = (p[6]! << 16) | (p[7]! << 8) | p[8]!;
    const what = p[9]! & 0xf8;
    if (count === 0 || what === 0) return OK;
    if (what !== 0x10) return err(SENSE_ILLEGAL_REQUEST, ASC_INV_FIELD_IN_CMD_PACKET);
    return this.read(lba, count);
  }

  private readToc(p: Uint8Array): AtapiResult {
    const maxLen = be16(p, 7);
    const msf = (p[1]! & 2) !== 0;
    const start = p[6]!;
    // MMC puts the format in byte 2; older (SFF-8020) drivers in the top bits of byte 9.
    const format = (p[2]! & 0x0f) !== 0 ? p[2]! & 0x0f : p[9]! >> 6;
    const total = this.sectors();
    const b = new Uint8Array(64);
    let q: number;
    const addr = (at: number, lba: number) => {
      if (msf) { b[at] = 0; lbaToMsf(b, at + 1, lba); } else put32(b, at, lba);
    };
    switch (format) {
      case 0: {
        if (start > 1 && start !== 0xaa) return err(SENSE_ILLEGAL_REQUEST, ASC_INV_FIELD_IN_CMD_PACKET);
        b[2] = 1; b[3] = 1;
        q = 4;
        if (start <= 1) {
          b[q + 1] = 0x14; b[q + 2] = 1; addr(q + 4, 0); q += 8;
        }
        b[q + 1] = 0x16; b[q + 2] = 0xaa; addr(q + 4, total); q += 8;
        break;
      }
      case 1: // session info: one session; QEMU leaves the track descriptor zeroed
        b[2] = 1; b[3] = 1;
        q = 12;
        break;
      case 2: { // raw TOC: A0, A1, A2 and track 1 descriptors of session 1
        b[2] = 1; b[3] = 1;
        q = 4;
        const desc = (point: number, pmin: number, psec: number, pframe: number, lba: number | null) => {
          b[q] = 1; b[q + 1] = 0x14; b[q + 2] = 0; b[q + 3] = point;
          if (lba === null) { b[q + 8] = pmin; b[q + 9] = psec; b[q + 10] = pframe; } else addr(q + 7, lba);
          q += 11;
        };
        desc(0xa0, 1, 0, 0, null); // first track 1, disc type 0 (CD-DA/CD-ROM)
        desc(0xa1, 1, 0, 0, null); // last track 1
        desc(0xa2, 0, 0, 0, total); // lead-out
        desc(0x01, 0, 0, 0, 0); // track 1 at the start
        break;
      }
      default:
        return err(SENSE_ILLEGAL_REQUEST, ASC_INV_FIELD_IN_CMD_PACKET);
    }
    put16(b, 0, q - 2);
    return reply(b, q, maxLen);
  }

  private getConfiguration(p: Uint8Array): AtapiResult {
    if (p[2] !== 0 || p[3] !== 0) return err(SENSE_ILLEGAL_REQUEST, ASC_INV_FIELD_IN_CMD_PACKET);
    const maxLen = be16(p, 7);
    const b = new Uint8Array(20);
    const n = this.sectors();
    const current = n === 0 ? 0 : n > CD_MAX_SECTORS ? PROFILE_DVD_ROM : PROFILE_CD_ROM;
    put16(b, 6, current);
    // Feature 0000h (profile list), persistent + current, two profiles.
    b[10] = 0x03;
    b[11] = 8;
    put16(b, 12, PROFILE_DVD_ROM); b[14] = current === PROFILE_DVD_ROM ? 1 : 0;
    put16(b, 16, PROFILE_CD_ROM); b[18] = current === PROFILE_CD_ROM ? 1 : 0;
    put32(b, 0, 20 - 4);
    return reply(b, 20, maxLen);
  }

  private eventStatus(p: Uint8Array): AtapiResult {
    if ((p[1]! & 1) === 0) return err(SENSE_ILLEGAL_REQUEST, ASC_INV_FIELD_IN_CMD_PACKET); // polled only
    const maxLen = be16(p, 7);
    const b = new Uint8Array(8);
    b[3] = 1 << 4; // supported classes: media
    let len = 4;
    if ((p[4]! & (1 << 4)) !== 0) {
      b[2] = 4;
      const status = this.trayOpen ? 1 : this.node !== null ? 2 : 0;
      let code = 0;
      if (!this.trayOpen) {
        if (this.newMedia) { code = 2; this.newMedia = false; } else if (this.ejectRequest) { code = 1; this.ejectRequest = false; }
      }
      b[4] = code; b[5] = status;
      len = 8;
    } else {
      b[2] = 0x80; // no event available
    }
    put16(b, 0, len - 4);
    return reply(b, len, maxLen);
  }

  private discInfo(p: Uint8Array): AtapiResult {
    if ((p[1]! & 7) !== 0) return err(SENSE_ILLEGAL_REQUEST, ASC_INV_FIELD_IN_CMD_PACKET);
    const b = new Uint8Array(34);
    b[1] = 32;
    b[2] = 0x0e; // last session complete, disc finalized
    b[3] = 1; b[4] = 1; b[5] = 1; b[6] = 1;
    b[7] = 0x20; // unrestricted use
    return reply(b, 34, be16(p, 7));
  }

  private mechanismStatus(p: Uint8Array): AtapiResult {
    const b = new Uint8Array(8);
    b[5] = 1; // one slot
    return reply(b, 8, be16(p, 8));
  }

  saveState(): Record<string, unknown> {
    return {
      senseKey: this.senseKey, asc: this.asc, trayOpen: this.trayOpen, trayLocked: this.trayLocked,
      newMedia: this.newMedia, ejectRequest: this.ejectRequest,
    };
  }

  loadState(s: Record<string, unknown>): void {
    this.senseKey = Number(s['senseKey'] ?? 0);
    this.asc = Number(s['asc'] ?? 0);
    this.trayOpen = s['trayOpen'] === true;
    this.trayLocked = s['trayLocked'] === true;
    this.newMedia = s['newMedia'] === true;
    this.ejectRequest = s['ejectRequest'] === true;
  }
}
