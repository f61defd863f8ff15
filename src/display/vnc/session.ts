/**
 * One RFB client: the handshake (versions 3.3, 3.7, 3.8; security None or
 * VNC Authentication), client messages, and framebuffer updates built from
 * the client's own dirty-tile map. An update is encoded only when the client
 * has asked for one and its socket has drained, always from the picture as
 * it is now, so a slow client gets fewer, newer frames and never holds
 * more than one update in memory.
 */
import { randomBytes } from 'node:crypto';
import { BTN_LEFT, BTN_MIDDLE, BTN_RIGHT, LED_CAPS, LED_NUM, type InputSink } from '../input.js';
import type { Keymap } from '../keymap.js';
import { vncAuthResponse } from './des.js';
import {
  ENC_COMPRESS_LEVEL_0, ENC_DESKTOP_SIZE, ENC_LED_STATE, ENC_QEMU_EXT_KEY, ENC_QEMU_POINTER_MOTION, PIXEL_ENCODINGS, RectEncoder, rectHeader, type Pixels, type PreparedRect,
} from './encodings.js';
import { BGR233, PixelConverter, SERVER_FORMAT, decodePixelFormat, encodePixelFormat } from './pixel-format.js';
import type { Transport } from './transport.js';

/** Dirty tracking granularity (pixels). */
export const TILE = 16;
/** Largest ClientCutText accepted; a longer one closes the connection. */
export const MAX_CUT_TEXT = 1 << 20;
/** Rectangles per update before neighbouring ones are merged into whole rows. */
const MAX_RECTS = 256;

const enum St { Version, SecType, Auth, Init, Normal, Closed }

/** What a session needs from its server. */
export interface SessionHost {
  readonly input: InputSink;
  readonly keymap: Keymap;
  readonly needPassword: boolean;
  /** The current password (null: none set, so authentication fails). */
  password(): string | null;
  /** The current picture. */
  picture(): Pixels & { height: number };
  name: string;
  log(msg: string): void;
  /** The client asked for exclusive access (shared flag 0). */
  exclusive(s: Session): void;
  closed(s: Session): void;
}

export class Session {
  private st = St.Version;
  private minor = 8;
  private inbuf: Buffer = Buffer.alloc(0);
  private challenge: Buffer | null = null;
  private conv = new PixelConverter(SERVER_FORMAT);
  private enc = new RectEncoder(this.conv);
  private pixelEnc = 0;
  private wantsResize = false;
  private wantsExtKey = false;
  private wantsLed = false;
  private wantsPointerType = false;
  /** zlib level for zlib/ZRLE streams (the client's CompressLevel, else 6). */
  private level = 6;
  /** Dirty tiles, TILE x TILE, for the picture size the client knows. */
  private dirty = new Uint8Array(0);
  private tw = 0; private th = 0;
  /** Size the client was told about. */
  width = 0; height = 0;
  private requested = false;
  /** An update is being encoded. */
  private encoding = false;
  /** The last update filled the socket's buffer; wait for 'drain'. */
  private waitDrain = false;
  private needResize = false;
  /** Pseudo-encoding updates waiting to go out (whole messages). */
  private readonly pseudo: Buffer[] = [];
  private lastLed = -1;
  private px = -1; private py = -1; private buttons = 0;
  private readonly held = new Set<number>();
  private unsubscribeLed: (() => void) | null = null;
  private handshakeTimer: NodeJS.Timeout | null;
  /** Updates sent, for tests and statistics. */
  updatesSent = 0;

  constructor(readonly t: Transport, private readonly host: SessionHost, handshakeMs = 30_000) {
    t.onData((b) => this.onData(b));
    t.onDrain(() => { if (this.waitDrain) { this.waitDrain = false; this.pump(); } });
    t.onClose(() => this.teardown());
    t.write(Buffer.from('RFB 003.008\n', 'latin1'));
    this.handshakeTimer = setTimeout(() => this.fail('handshake timed out'), handshakeMs);
    this.handshakeTimer.unref?.();
  }

  get ready(): boolean { return this.st === St.Normal; }

  close(): void { this.t.close(); this.teardown(); }

  private fail(why: string): void {
    if (this.st === St.Closed) return;
    this.host.log(`vnc: closing client ${this.t.peer}: ${why}`);
    this.close();
  }

  private teardown(): void {
    if (this.st === St.Closed) return;
    this.st = St.Closed;
    if (this.handshakeTimer) clearTimeout(this.handshakeTimer);
    // Release keys this client still holds, so the guest does not see them stuck.
    for (const q of this.held) this.host.input.key(q, false);
    this.held.clear();
    if (this.buttons !== 0 && !this.host.input.absolute) this.host.input.pointerRel(0, 0, 0, 0);
    this.unsubscribeLed?.();
    this.enc.close();
    this.host.closed(this);
  }

  // ------------------------------------------------------------ input side

  private onData(b: Buffer): void {
    if (this.st === St.Closed) return;
    this.inbuf = this.inbuf.length === 0 ? b : Buffer.concat([this.inbuf, b]);
    let off = 0;
    try {
      for (;;) {
        const used = this.parse(this.inbuf, off);
        if (used <= 0 || (this.st as St) === St.Closed) break;
        off += used;
      }
    } catch (e) {
      this.fail(e instanceof Error ? e.message : String(e));
      return;
    }
    this.inbuf = off >= this.inbuf.length ? Buffer.alloc(0) : this.inbuf.subarray(off);
    this.pump();
  }

  /** Handle one message at b[o..]; returns bytes used, 0 when incomplete. */
  private parse(b: Buffer, o: number): number {
    const n = b.length - o;
    switch (this.st) {
      case St.Version: {
        if (n < 12) return 0;
        const v = b.toString('latin1', o, o + 12);
        const m = /^RFB (\d{3})\.(\d{3})\n$/.exec(v);
        if (!m || Number(m[1]) !== 3) {
          this.t.write(Buffer.alloc(4)); // what QEMU sends before hanging up: a 3.3 "connection failed"
          throw new Error(`bad protocol version ${JSON.stringify(v)}`);
        }
        const minor = Number(m[2]);
        // 3.4-3.6 (and unknown 3.x below 7) speak 3.3; anything above 8 speaks 3.8.
        this.minor = minor >= 8 ? 8 : minor === 7 ? 7 : 3;
        const type = this.host.needPassword ? 2 : 1;
        if (this.minor === 3) {
          const w = Buffer.alloc(4); w.writeUInt32BE(type, 0);
          this.t.write(w);
          this.afterSecType(type);
        } else {
          this.t.write(Buffer.from([1, type]));
          this.st = St.SecType;
        }
        return 12;
      }
      case St.SecType: {
        if (n < 1) return 0;
        const type = b[o]!;
        const want = this.host.needPassword ? 2 : 1;
        if (type !== want) { this.securityFailed(`security type ${type} was not offered`); return 1; }
        this.afterSecType(type);
        return 1;
      }
      case St.Auth: {
        if (n < 16) return 0;
        const pw = this.host.password();
        const expect = pw === null || this.challenge === null ? null : vncAuthResponse(pw, this.challenge);
        const ok = expect !== null && Buffer.from(expect).equals(b.subarray(o, o + 16));
        this.challenge = null;
        if (!ok) { this.securityFailed(pw === null ? 'password is not set' : 'authentication failed'); return 16; }
        this.t.write(Buffer.alloc(4));
        this.st = St.Init;
        return 16;
      }
      case St.Init: {
        if (n < 1) return 0;
        if (b[o] === 0) this.host.exclusive(this);
        this.serverInit();
        return 1;
      }
      case St.Normal: return this.message(b, o, n);
      default: return 0;
    }
  }

  private afterSecType(type: number): void {
    if (type === 2) {
      this.challenge = randomBytes(16);
      this.t.write(this.challenge);
      this.st = St.Auth;
      return;
    }
    if (this.minor === 8) this.t.write(Buffer.alloc(4)); // SecurityResult OK
    this.st = St.Init;
  }

  /** Refuse the client as QEMU does (3.8 gets the reason "Authentication failed" with its NUL); log why. */
  private securityFailed(why: string): void {
    const w = Buffer.alloc(4); w.writeUInt32BE(1, 0);
    const parts = [w];
    if (this.minor === 8) {
      const r = Buffer.from('Authentication failed\0', 'latin1');
      const l = Buffer.alloc(4); l.writeUInt32BE(r.length, 0);
      parts.push(l, r);
    }
    this.t.write(Buffer.concat(parts));
    this.fail(why);
  }

  private serverInit(): void {
    if (this.handshakeTimer) { clearTimeout(this.handshakeTimer); this.handshakeTimer = null; }
    const pic = this.host.picture();
    this.setSize(pic.width, pic.height);
    const name = Buffer.from(this.host.name, 'utf8');
    const head = Buffer.alloc(4 + 16 + 4);
    head.writeUInt16BE(this.width, 0); head.writeUInt16BE(this.height, 2);
    encodePixelFormat(SERVER_FORMAT).copy(head, 4);
    head.writeUInt32BE(name.length, 20);
    this.t.write(Buffer.concat([head, name]));
    this.st = St.Normal;
    this.host.log(`vnc: client ${this.t.peer} connected (RFB 3.${this.minor})`);
  }

  private message(b: Buffer, o: number, n: number): number {
    if (n < 1) return 0;
    switch (b[o]) {
      case 0: { // SetPixelFormat
        if (n < 20) return 0;
        const pf = decodePixelFormat(b.subarray(o + 4, o + 20));
        if (typeof pf === 'string') throw new Error(`SetPixelFormat: ${pf}`);
        if (!pf.trueColour) this.useColourMap(); else this.setConverter(new PixelConverter(pf));
        return 20;
      }
      case 2: { // SetEncodings
        if (n < 4) return 0;
        const count = b.readUInt16BE(o + 2);
        if (n < 4 + count * 4) return 0;
        this.setEncodings(b, o + 4, count);
        return 4 + count * 4;
      }
      case 3: { // FramebufferUpdateRequest
        if (n < 10) return 0;
        const inc = b[o + 1] !== 0;
        if (!inc) this.markDirty(b.readUInt16BE(o + 2), b.readUInt16BE(o + 4), b.readUInt16BE(o + 6), b.readUInt16BE(o + 8));
        this.requested = true;
        return 10;
      }
      case 4: { // KeyEvent
        if (n < 8) return 0;
        const sym = b.readUInt32BE(o + 4), down = b[o + 1] !== 0;
        const q = this.host.keymap.lookup(sym);
        if (q === undefined) return 8;
        if (down) { this.syncNumLock(sym, q); this.syncCapsLock(sym); }
        this.key(q, down);
        return 8;
      }
      case 5: { // PointerEvent
        if (n < 6) return 0;
        this.pointer(b[o + 1]!, b.readUInt16BE(o + 2), b.readUInt16BE(o + 4));
        return 6;
      }
      case 6: { // ClientCutText
        if (n < 8) return 0;
        const len = b.readInt32BE(o + 4);
        const size = Math.abs(len); // negative: extended clipboard format
        if (size > MAX_CUT_TEXT) throw new Error(`client cut text of ${size} bytes is over the ${MAX_CUT_TEXT}-byte limit`);
        if (n < 8 + size) return 0;
        return 8 + size; // no guest clipboard: dropped
      }
      case 255: { // QEMU client message
        if (n < 2) return 0;
        if (b[o + 1] !== 0) throw new Error(`unknown QEMU client message ${b[o + 1]}`);
        if (n < 12) return 0;
        const down = b.readUInt16BE(o + 2) !== 0, sym = b.readUInt32BE(o + 4), code = b.readUInt32BE(o + 8);
        const q = code !== 0 ? (code > 0xff ? undefined : code) : this.host.keymap.lookup(sym);
        if (q !== undefined) this.key(q, down);
        return 12;
      }
      default:
        throw new Error(`unknown message type ${b[o]}`);
    }
  }

  /**
   * Keypad keysyms say whether the client's Num Lock is on (KP_1 vs KP_End);
   * when the guest's Num Lock LED disagrees, toggle it first (QEMU's
   * lock-key sync for keysym clients).
   */
  private syncNumLock(sym: number, q: number): void {
    if (q < 0x47 || q > 0x53 || q === 0x4a || q === 0x4e) return;
    const wantsOn = (sym >= 0xffb0 && sym <= 0xffb9) || sym === 0xffae || sym === 0xffac;
    const wantsOff = sym >= 0xff95 && sym <= 0xff9f;
    if (!wantsOn && !wantsOff) return;
    const on = (this.host.input.ledState() & LED_NUM) !== 0;
    if (on !== wantsOn) { this.host.input.key(0x45, true); this.host.input.key(0x45, false); }
  }

  /**
   * A letter keysym says which case the client wants; when Shift and the
   * guest's Caps Lock LED would give the other case, toggle Caps Lock first.
   */
  private syncCapsLock(sym: number): void {
    const upper = sym >= 0x41 && sym <= 0x5a;
    if (!upper && !(sym >= 0x61 && sym <= 0x7a)) return;
    const shift = this.held.has(0x2a) || this.held.has(0x36);
    const caps = (this.host.input.ledState() & LED_CAPS) !== 0;
    if (caps !== (upper !== shift)) { this.host.input.key(0x3a, true); this.host.input.key(0x3a, false); }
  }

  private key(q: number, down: boolean): void {
    if (down) this.held.add(q); else if (!this.held.delete(q)) return; // ignore releases of keys never pressed here
    this.host.input.key(q, down);
  }

  private pointer(mask: number, x: number, y: number): void {
    const pic = this.host.picture();
    const buttons = (mask & 1 ? BTN_LEFT : 0) | (mask & 2 ? BTN_MIDDLE : 0) | (mask & 4 ? BTN_RIGHT : 0);
    // Wheel: buttons 4/5 are pressed and released per notch; count presses.
    const dz = (mask & 8 && !(this.lastMask & 8) ? -1 : 0) + (mask & 16 && !(this.lastMask & 16) ? 1 : 0);
    this.lastMask = mask;
    const input = this.host.input;
    if (input.absolute) {
      input.pointerAbs(Math.min(x, pic.width - 1), Math.min(y, pic.height - 1), pic.width, pic.height, buttons);
      if (dz !== 0) input.pointerRel(0, 0, dz, buttons);
    } else {
      // With the pointer type extension a relative-mode client sends motion offset by 0x7FFF.
      const rel = this.wantsPointerType;
      const dx = rel ? x - 0x7fff : this.px < 0 ? 0 : x - this.px, dy = rel ? y - 0x7fff : this.py < 0 ? 0 : y - this.py;
      if (dx !== 0 || dy !== 0 || dz !== 0 || buttons !== this.buttons) input.pointerRel(dx, dy, dz, buttons);
    }
    this.px = x; this.py = y; this.buttons = buttons;
  }
  private lastMask = 0;

  private useColourMap(): void {
    // An 8-bit colour-map client gets a fixed 3:3:2 map and is served as true colour.
    this.setConverter(new PixelConverter(BGR233));
    const m = Buffer.alloc(6 + 256 * 6);
    m[0] = 1; m.writeUInt16BE(0, 2); m.writeUInt16BE(256, 4);
    for (let i = 0; i < 256; i++) {
      const r = i & 7, g = (i >> 3) & 7, bl = i >> 6;
      m.writeUInt16BE(Math.round((r * 65535) / 7), 6 + i * 6);
      m.writeUInt16BE(Math.round((g * 65535) / 7), 8 + i * 6);
      m.writeUInt16BE(Math.round((bl * 65535) / 3), 10 + i * 6);
    }
    this.t.write(m);
  }

  private setConverter(c: PixelConverter): void {
    this.enc.close();
    this.conv = c;
    this.enc = new RectEncoder(c, this.level);
    this.markDirty(0, 0, this.width, this.height);
  }

  private setEncodings(b: Buffer, o: number, count: number): void {
    this.pixelEnc = 0;
    let pixelChosen = false;
    const hadLed = this.wantsLed;
    this.wantsResize = this.wantsExtKey = this.wantsLed = this.wantsPointerType = false;
    for (let i = 0; i < count; i++) {
      const e = b.readInt32BE(o + i * 4);
      if (!pixelChosen && PIXEL_ENCODINGS.has(e)) { this.pixelEnc = e; pixelChosen = true; }
      else if (e === ENC_DESKTOP_SIZE) this.wantsResize = true;
      else if (e === ENC_QEMU_EXT_KEY) this.wantsExtKey = true;
      else if (e === ENC_LED_STATE) this.wantsLed = true;
      else if (e === ENC_QEMU_POINTER_MOTION) this.wantsPointerType = true;
      else if (e >= ENC_COMPRESS_LEVEL_0 && e <= ENC_COMPRESS_LEVEL_0 + 9) { this.level = e - ENC_COMPRESS_LEVEL_0; this.enc.setLevel(this.level); }
    }
    // As QEMU: every SetEncodings naming -258 is acknowledged, and one naming -261 gets the LED state.
    if (this.wantsExtKey) this.pseudo.push(pseudoUpdate(rectHeader(0, 0, this.width, this.height, ENC_QEMU_EXT_KEY)));
    // Pointer type (x = 1 absolute, 0 relative): QEMU tells it again on every SetEncodings naming -257.
    if (this.wantsPointerType) this.pseudo.push(pseudoUpdate(rectHeader(this.host.input.absolute ? 1 : 0, 0, this.width, this.height, ENC_QEMU_POINTER_MOTION)));
    if (this.wantsLed) {
      this.lastLed = this.host.input.ledState();
      this.pseudo.push(pseudoUpdate(rectHeader(0, 0, 1, 1, ENC_LED_STATE), this.lastLed & 7));
      if (!hadLed) {
        this.unsubscribeLed?.();
        this.unsubscribeLed = this.host.input.onLedChange((l) => {
          if (l === this.lastLed) return;
          this.lastLed = l;
          this.pseudo.push(pseudoUpdate(rectHeader(0, 0, 1, 1, ENC_LED_STATE), l & 7));
          this.pump();
        });
      }
    } else if (this.unsubscribeLed) { this.unsubscribeLed(); this.unsubscribeLed = null; }
  }

  // ------------------------------------------------------------ output side

  private setSize(w: number, h: number): void {
    this.width = w; this.height = h;
    this.tw = Math.ceil(w / TILE); this.th = Math.ceil(h / TILE);
    this.dirty = new Uint8Array(this.tw * this.th);
  }

  /** The picture changed size: the whole new picture is dirty, clients that can are told. */
  resized(w: number, h: number): void {
    if (this.st !== St.Normal) return;
    if (this.wantsResize) { this.setSize(w, h); this.needResize = true; }
    this.markDirty(0, 0, this.width, this.height);
    this.pump();
  }

  /** Mark a pixel rectangle dirty (clipped to the client's size). */
  markDirty(x: number, y: number, w: number, h: number): void {
    const x1 = Math.min(x + w, this.width), y1 = Math.min(y + h, this.height);
    if (x1 <= x || y1 <= y) return;
    for (let ty = Math.floor(y / TILE); ty < Math.ceil(y1 / TILE); ty++) {
      this.dirty.fill(1, ty * this.tw + Math.floor(x / TILE), ty * this.tw + Math.ceil(x1 / TILE));
    }
  }

  /** OR a server-side tile map (for a picture of w x h) into this client's. */
  addDirtyTiles(tiles: Uint8Array, tw: number, th: number): void {
    if (tw !== this.tw || th !== this.th) { this.markDirty(0, 0, this.width, this.height); return; }
    const d = this.dirty;
    for (let i = 0; i < d.length; i++) d[i]! |= tiles[i]!;
  }

  /** Dirty tiles as rectangles: runs along each tile row, stacked when rows repeat. */
  private takeRects(): number[] {
    const rects: number[] = [];
    const d = this.dirty, tw = this.tw, W = this.width, H = this.height;
    let open = new Map<number, number>(); // key x0*65536+x1 -> index into rects
    for (let ty = 0; ty < this.th; ty++) {
      const next = new Map<number, number>();
      for (let tx = 0; tx < tw;) {
        if (!d[ty * tw + tx]) { tx++; continue; }
        let e = tx;
        while (e < tw && d[ty * tw + e]) e++;
        const key = tx * 65536 + e;
        const prev = open.get(key);
        const y = ty * TILE, h = Math.min(TILE, H - y);
        if (prev !== undefined) { rects[prev + 3]! += h; next.set(key, prev); }
        else {
          next.set(key, rects.length);
          rects.push(tx * TILE, y, Math.min(e * TILE, W) - tx * TILE, h);
        }
        tx = e;
      }
      open = next;
    }
    d.fill(0);
    if (rects.length / 4 > MAX_RECTS) {
      // Too fragmented: send whole-width bands instead.
      return mergeBands(rects, W);
    }
    return rects;
  }

  /** Send what is due, if the client may receive it now. Never throws: a failure closes this client. */
  pump(): void {
    try {
      this.pumpInner();
    } catch (e) {
      this.encoding = false;
      this.fail(`sending an update failed: ${e instanceof Error ? e.message : String(e)}`);
    }
  }

  private pumpInner(): void {
    if (this.st !== St.Normal || this.encoding) return;
    // Pseudo-encodings go out at once (they are tiny), each as its own update, as QEMU sends them.
    if (this.needResize) {
      this.pseudo.unshift(pseudoUpdate(rectHeader(0, 0, this.width, this.height, ENC_DESKTOP_SIZE)));
      this.needResize = false;
    }
    if (this.pseudo.length > 0) {
      if (!this.t.write(Buffer.concat(this.pseudo))) this.waitDrain = true;
      this.pseudo.length = 0;
    }
    if (this.waitDrain) return;
    let prepared: PreparedRect[] = [];
    if (this.requested && this.dirty.includes(1)) {
      const pic = this.host.picture();
      {
        const rects = this.takeRects();
        const px: Pixels = { width: pic.width, data: pic.data };
        for (let i = 0; i < rects.length; i += 4) {
          // Clip to the picture as it is (a client that cannot resize keeps its old size).
          const x = rects[i]!, y = rects[i + 1]!;
          const w = Math.min(rects[i + 2]!, pic.width - x), h = Math.min(rects[i + 3]!, pic.height - y);
          if (w > 0 && h > 0) prepared.push(this.enc.prepare(this.pixelEnc, px, x, y, w, h));
        }
        // Answered only when something is sent (all of it may lie outside a shrunken picture).
        if (prepared.length > 0) this.requested = false;
      }
    }
    if (prepared.length === 0) return;
    const head = Buffer.alloc(4); head.writeUInt16BE(prepared.length, 2);
    this.encoding = true;
    const parts: Buffer[] = [head];
    const done = (): void => {
      this.encoding = false;
      if (this.st !== St.Normal) return;
      this.updatesSent++;
      if (this.t.write(Buffer.concat(parts))) queueMicrotask(() => this.pump());
      else this.waitDrain = true; // 'drain' pumps again
    };
    if (prepared.every((p) => p.stream === null)) {
      for (const p of prepared) parts.push(p.head, p.body);
      done();
      return;
    }
    const work = prepared;
    prepared = [];
    void (async () => {
      try {
        for (const p of work) parts.push(...(await this.enc.finish(p)));
        done();
      } catch (e) {
        this.fail(`encoding failed: ${e instanceof Error ? e.message : String(e)}`);
      }
    })();
  }
}

/** A FramebufferUpdate message with one pseudo-rectangle (and its payload byte, if any). */
function pseudoUpdate(rect: Buffer, payload?: number): Buffer {
  const m = Buffer.alloc(4 + 12 + (payload === undefined ? 0 : 1));
  m.writeUInt16BE(1, 2);
  rect.copy(m, 4);
  if (payload !== undefined) m[16] = payload;
  return m;
}

/** Merge rectangles into full-width horizontal bands (for very fragmented updates). */
function mergeBands(rects: number[], W: number): number[] {
  const spans: Array<[number, number]> = [];
  for (let i = 0; i < rects.length; i += 4) spans.push([rects[i + 1]!, rects[i + 1]! + rects[i + 3]!]);
  spans.sort((a, b) => a[0] - b[0]);
  const out: number[] = [];
  let cur: [number, number] | null = null;
  for (const [y0, y1] of spans) {
    if (cur && y0 <= cur[1]) cur[1] = Math.max(cur[1], y1);
    else { if (cur) out.push(0, cur[0], W, cur[1] - cur[0]); cur = [y0, y1]; }
  }
  if (cur) out.push(0, cur[0], W, cur[1] - cur[0]);
  return out;
}
