/**
 * A small RFB client for tests: handshake (3.3/3.7/3.8, None or VNC auth),
 * client messages, and decoders for Raw, Hextile, zlib and ZRLE written from
 * the RFB specification, independently of the server's encoders. Can also
 * talk through a WebSocket (its own RFC 6455 client framing).
 */
import { createConnection, type Socket } from 'node:net';
import { createHash, randomBytes } from 'node:crypto';
import zlib from 'node:zlib';

export interface ClientPF {
  bpp: number; depth: number; bigEndian: boolean; trueColour: boolean;
  redMax: number; greenMax: number; blueMax: number; redShift: number; greenShift: number; blueShift: number;
}

export const PF32: ClientPF = { bpp: 32, depth: 24, bigEndian: false, trueColour: true, redMax: 255, greenMax: 255, blueMax: 255, redShift: 16, greenShift: 8, blueShift: 0 };

/** Expected pixel value for an RGB colour in a format (truncating to the channel's bits, as QEMU does). */
export function expectedPixel(pf: ClientPF, r: number, g: number, b: number): number {
  const ch = (v: number, max: number) => v >> (8 - Math.log2(max + 1));
  return ((ch(r, pf.redMax) << pf.redShift) | (ch(g, pf.greenMax) << pf.greenShift) | (ch(b, pf.blueMax) << pf.blueShift)) >>> 0;
}

/** Byte stream with awaitable exact reads. */
class Reader {
  private chunks: Buffer[] = [];
  private have = 0;
  private waiter: { n: number; resolve: (b: Buffer) => void; reject: (e: Error) => void } | null = null;
  closed = false;

  push(b: Buffer): void { this.chunks.push(b); this.have += b.length; this.check(); }
  end(): void { this.closed = true; if (this.waiter) { this.waiter.reject(new Error('connection closed')); this.waiter = null; } }

  private check(): void {
    const w = this.waiter;
    if (!w || this.have < w.n) return;
    const all = Buffer.concat(this.chunks);
    this.chunks = all.length > w.n ? [all.subarray(w.n)] : [];
    this.have -= w.n;
    this.waiter = null;
    w.resolve(all.subarray(0, w.n));
  }

  read(n: number): Promise<Buffer> {
    return new Promise((resolve, reject) => {
      if (this.closed && this.have < n) { reject(new Error('connection closed')); return; }
      this.waiter = { n, resolve, reject };
      this.check();
    });
  }
  get buffered(): number { return this.have; }
  takeAll(): Buffer { const all = Buffer.concat(this.chunks); this.chunks = []; this.have = 0; return all; }
}

export interface UpdateRect { x: number; y: number; w: number; h: number; enc: number; led?: number }

export class RfbClient {
  readonly r = new Reader();
  private sock!: Socket;
  private wsMode = false;
  private wsIn: Buffer = Buffer.alloc(0);
  width = 0; height = 0; name = '';
  pf: ClientPF = PF32;
  /** Client-format pixel values, row-major. */
  fb = new Uint32Array(0);
  private zlibIn: Buffer[] = []; private zlibOut = 0;
  private zrleIn: Buffer[] = []; private zrleOut = 0;
  colourMap: number[] | null = null;
  bells = 0;
  /** Compressed bytes received in zlib rectangles. */
  compressedBytes = 0;
  closedPromise!: Promise<void>;

  static async connect(target: { port: number; host?: string } | { path: string }): Promise<RfbClient> {
    const c = new RfbClient();
    await c.open(target);
    return c;
  }

  static async connectWs(port: number, protocol = 'binary'): Promise<RfbClient> {
    const c = new RfbClient();
    await c.open({ port });
    const key = randomBytes(16).toString('base64');
    c.sock.write(`GET /websockify HTTP/1.1\r\nHost: 127.0.0.1:${port}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n` +
      `Sec-WebSocket-Key: ${key}\r\nSec-WebSocket-Version: 13\r\n${protocol ? `Sec-WebSocket-Protocol: ${protocol}\r\n` : ''}\r\n`);
    // Read the HTTP response head byte by byte until the blank line.
    let head = '';
    while (!head.endsWith('\r\n\r\n')) head += (await c.r.read(1)).toString('latin1');
    const accept = createHash('sha1').update(key + '258EAFA5-E914-47DA-95CA-C5AB0DC85B11').digest('base64');
    if (!head.startsWith('HTTP/1.1 101') || !head.includes(`Sec-WebSocket-Accept: ${accept}`)) throw new Error(`bad upgrade response: ${head}`);
    // From here on, incoming bytes are frames.
    c.wsMode = true;
    const rest = c.r.takeAll();
    if (rest.length > 0) c.onData(rest);
    return c;
  }

  private open(target: { port: number; host?: string } | { path: string }): Promise<void> {
    return new Promise((resolve, reject) => {
      const s = 'path' in target ? createConnection(target.path) : createConnection(target.port, target.host ?? '127.0.0.1');
      this.sock = s;
      this.closedPromise = new Promise((res) => s.on('close', () => { this.r.end(); res(); }));
      s.on('data', (b: Buffer) => this.onData(b));
      s.once('connect', () => resolve());
      s.once('error', reject);
    });
  }

  private onData(b: Buffer): void {
    if (!this.wsMode) { this.r.push(b); return; }
    this.wsIn = Buffer.concat([this.wsIn, b]);
    for (;;) {
      const f = this.wsIn;
      if (f.length < 2) return;
      if (f[1]! & 0x80) throw new Error('server frames must not be masked');
      let len = f[1]! & 0x7f, o = 2;
      if (len === 126) { if (f.length < 4) return; len = f.readUInt16BE(2); o = 4; }
      else if (len === 127) { if (f.length < 10) return; len = f.readUInt32BE(6); o = 10; }
      if (f.length < o + len) return;
      const op = f[0]! & 15;
      if (op === 2 || op === 0) this.r.push(Buffer.from(f.subarray(o, o + len)));
      this.wsIn = f.subarray(o + len);
    }
  }

  /** Send raw bytes (framed and masked in WebSocket mode; `fragments` splits into that many frames). */
  send(b: Uint8Array, fragments = 1): void {
    if (!this.wsMode) { this.sock.write(b); return; }
    const size = Math.ceil(b.length / fragments);
    for (let i = 0; i < fragments; i++) {
      const part = b.subarray(i * size, Math.min(b.length, (i + 1) * size));
      const fin = i === fragments - 1;
      const op = i === 0 ? 2 : 0;
      const n = part.length;
      const hl = n < 126 ? 2 : n < 65536 ? 4 : 10;
      const h = Buffer.alloc(hl + 4);
      h[0] = (fin ? 0x80 : 0) | op;
      if (n < 126) h[1] = 0x80 | n; else if (n < 65536) { h[1] = 0x80 | 126; h.writeUInt16BE(n, 2); } else { h[1] = 0x80 | 127; h.writeUInt32BE(n, 6); }
      const mask = randomBytes(4);
      mask.copy(h, hl);
      const p = Buffer.from(part);
      for (let k = 0; k < n; k++) p[k]! ^= mask[k & 3]!;
      this.sock.write(Buffer.concat([h, p]));
    }
  }

  /** Send an unmasked frame (a protocol violation) in WebSocket mode. */
  sendUnmasked(b: Uint8Array): void { this.sock.write(Buffer.concat([Buffer.from([0x82, b.length]), b])); }

  close(): void { this.sock.destroy(); }
  pauseReading(): void { this.sock.pause(); }

  /** Version exchange and security; returns the security types offered (3.7+) or chosen (3.3). */
  async handshake(version: '3.3' | '3.7' | '3.8', password?: (challenge: Buffer) => Uint8Array, shared = true): Promise<void> {
    const v = (await this.r.read(12)).toString('latin1');
    if (v !== 'RFB 003.008\n') throw new Error(`server version ${JSON.stringify(v)}`);
    this.send(Buffer.from(`RFB 003.00${version.slice(2)}\n`, 'latin1'));
    let type: number;
    if (version === '3.3') type = (await this.r.read(4)).readUInt32BE(0);
    else {
      const n = (await this.r.read(1))[0]!;
      if (n === 0) throw new Error('no security types');
      const types = [...(await this.r.read(n))];
      type = types.includes(password ? 2 : 1) ? (password ? 2 : 1) : types[0]!;
      this.send(Buffer.from([type]));
    }
    if (type === 2) {
      if (!password) throw new Error('server wants a password');
      const ch = await this.r.read(16);
      this.send(password(ch));
    }
    if (type === 2 || version === '3.8') {
      const res = (await this.r.read(4)).readUInt32BE(0);
      if (res !== 0) {
        let reason = '';
        if (version === '3.8') { const l = (await this.r.read(4)).readUInt32BE(0); reason = (await this.r.read(l)).toString('latin1'); }
        throw new Error(`security failed: ${reason}`);
      }
    }
    this.send(Buffer.from([shared ? 1 : 0]));
    const si = await this.r.read(24);
    this.width = si.readUInt16BE(0); this.height = si.readUInt16BE(2);
    this.pf = {
      bpp: si[4]!, depth: si[5]!, bigEndian: si[6] !== 0, trueColour: si[7] !== 0,
      redMax: si.readUInt16BE(8), greenMax: si.readUInt16BE(10), blueMax: si.readUInt16BE(12),
      redShift: si[14]!, greenShift: si[15]!, blueShift: si[16]!,
    };
    this.name = (await this.r.read(si.readUInt32BE(20))).toString('utf8');
    this.fb = new Uint32Array(this.width * this.height);
  }

  setPixelFormat(pf: ClientPF): void {
    const b = Buffer.alloc(20);
    b[0] = 0; b[4] = pf.bpp; b[5] = pf.depth; b[6] = pf.bigEndian ? 1 : 0; b[7] = pf.trueColour ? 1 : 0;
    b.writeUInt16BE(pf.redMax, 8); b.writeUInt16BE(pf.greenMax, 10); b.writeUInt16BE(pf.blueMax, 12);
    b[14] = pf.redShift; b[15] = pf.greenShift; b[16] = pf.blueShift;
    this.send(b);
    this.pf = pf;
  }

  setEncodings(encs: number[]): void {
    const b = Buffer.alloc(4 + encs.length * 4);
    b[0] = 2; b.writeUInt16BE(encs.length, 2);
    encs.forEach((e, i) => b.writeInt32BE(e, 4 + i * 4));
    this.send(b);
  }

  request(incremental: boolean, x = 0, y = 0, w = this.width, h = this.height): void {
    const b = Buffer.alloc(10);
    b[0] = 3; b[1] = incremental ? 1 : 0;
    b.writeUInt16BE(x, 2); b.writeUInt16BE(y, 4); b.writeUInt16BE(w, 6); b.writeUInt16BE(h, 8);
    this.send(b);
  }

  key(down: boolean, keysym: number): void {
    const b = Buffer.alloc(8); b[0] = 4; b[1] = down ? 1 : 0; b.writeUInt32BE(keysym, 4); this.send(b);
  }
  extKey(down: boolean, keysym: number, keycode: number): void {
    const b = Buffer.alloc(12); b[0] = 255; b[1] = 0; b.writeUInt16BE(down ? 1 : 0, 2); b.writeUInt32BE(keysym, 4); b.writeUInt32BE(keycode, 8); this.send(b);
  }
  pointer(mask: number, x: number, y: number): void {
    const b = Buffer.alloc(6); b[0] = 5; b[1] = mask; b.writeUInt16BE(x, 2); b.writeUInt16BE(y, 4); this.send(b);
  }
  cutText(len: number, data?: Buffer): void {
    const b = Buffer.alloc(8); b[0] = 6; b.writeUInt32BE(len, 4); this.send(data ? Buffer.concat([b, data]) : b);
  }

  /** Read server messages until a FramebufferUpdate; decode it into fb and return its rectangles. */
  async readUpdate(): Promise<UpdateRect[]> {
    for (;;) {
      const t = (await this.r.read(1))[0]!;
      if (t === 0) break;
      if (t === 1) {
        const h = await this.r.read(5);
        const n = h.readUInt16BE(3);
        const d = await this.r.read(n * 6);
        this.colourMap = [];
        for (let i = 0; i < n; i++) this.colourMap.push(d.readUInt16BE(i * 6) >> 8, d.readUInt16BE(i * 6 + 2) >> 8, d.readUInt16BE(i * 6 + 4) >> 8);
      } else if (t === 2) this.bells++;
      else if (t === 3) { const h = await this.r.read(7); await this.r.read(h.readUInt32BE(3)); }
      else throw new Error(`unknown server message ${t}`);
    }
    const n = (await this.r.read(3)).readUInt16BE(1);
    const rects: UpdateRect[] = [];
    for (let i = 0; i < n; i++) {
      const h = await this.r.read(12);
      const rect: UpdateRect = { x: h.readUInt16BE(0), y: h.readUInt16BE(2), w: h.readUInt16BE(4), h: h.readUInt16BE(6), enc: h.readInt32BE(8) };
      rects.push(rect);
      await this.decodeRect(rect);
    }
    return rects;
  }

  private pixel(b: Buffer, o: number, bytes = this.pf.bpp / 8): number {
    if (bytes === 1) return b[o]!;
    if (bytes === 2) return this.pf.bigEndian ? b.readUInt16BE(o) : b.readUInt16LE(o);
    if (bytes === 3) {
      // CPIXEL: the three bytes holding the colour, in the pixel's byte order.
      const mask = ((this.pf.redMax << this.pf.redShift) | (this.pf.greenMax << this.pf.greenShift) | (this.pf.blueMax << this.pf.blueShift)) >>> 0;
      const low = mask < 0x1000000;
      const v = this.pf.bigEndian ? (b[o]! << 16) | (b[o + 1]! << 8) | b[o + 2]! : b[o]! | (b[o + 1]! << 8) | (b[o + 2]! << 16);
      return (low ? v : v * 256) >>> 0;
    }
    return this.pf.bigEndian ? b.readUInt32BE(o) : b.readUInt32LE(o);
  }

  private fill(x: number, y: number, w: number, h: number, v: number): void {
    if (x + w > this.width || y + h > this.height) throw new Error(`rect ${w}x${h}+${x}+${y} outside ${this.width}x${this.height}`);
    for (let r = 0; r < h; r++) this.fb.fill(v, (y + r) * this.width + x, (y + r) * this.width + x + w);
  }

  private setRaw(x: number, y: number, w: number, h: number, data: Buffer, bytes: number): void {
    if (x + w > this.width || y + h > this.height) throw new Error(`rect ${w}x${h}+${x}+${y} outside ${this.width}x${this.height}`);
    let o = 0;
    for (let r = 0; r < h; r++) for (let c = 0; c < w; c++, o += bytes) this.fb[(y + r) * this.width + x + c] = this.pixel(data, o, bytes);
  }

  private static inflateMore(ins: Buffer[], chunk: Buffer, already: number): Buffer {
    ins.push(chunk);
    const all = zlib.inflateSync(Buffer.concat(ins), { finishFlush: zlib.constants.Z_SYNC_FLUSH });
    return all.subarray(already);
  }

  private async decodeRect(rc: UpdateRect): Promise<void> {
    const bytes = this.pf.bpp / 8;
    const { x, y, w, h } = rc;
    switch (rc.enc) {
      case 0: this.setRaw(x, y, w, h, await this.r.read(w * h * bytes), bytes); return;
      case 5: await this.hextile(rc); return;
      case 6: {
        const len = (await this.r.read(4)).readUInt32BE(0);
        this.compressedBytes += len;
        const out = RfbClient.inflateMore(this.zlibIn, await this.r.read(len), this.zlibOut);
        this.zlibOut += out.length;
        if (out.length !== w * h * bytes) throw new Error(`zlib rect inflated to ${out.length} bytes`);
        this.setRaw(x, y, w, h, out, bytes);
        return;
      }
      case 16: {
        const len = (await this.r.read(4)).readUInt32BE(0);
        const out = RfbClient.inflateMore(this.zrleIn, await this.r.read(len), this.zrleOut);
        this.zrleOut += out.length;
        this.zrle(rc, out);
        return;
      }
      case -223:
        this.width = w; this.height = h; this.fb = new Uint32Array(w * h);
        return;
      case -258: case -257: return;
      case -261: rc.led = (await this.r.read(1))[0]!; return;
      default: throw new Error(`unexpected encoding ${rc.enc}`);
    }
  }

  private async hextile(rc: UpdateRect): Promise<void> {
    const bytes = this.pf.bpp / 8;
    let bg = 0, fg = 0;
    for (let ty = rc.y; ty < rc.y + rc.h; ty += 16) {
      for (let tx = rc.x; tx < rc.x + rc.w; tx += 16) {
        const tw = Math.min(16, rc.x + rc.w - tx), th = Math.min(16, rc.y + rc.h - ty);
        const flags = (await this.r.read(1))[0]!;
        if (flags & 1) { this.setRaw(tx, ty, tw, th, await this.r.read(tw * th * bytes), bytes); continue; }
        if (flags & 2) bg = this.pixel(await this.r.read(bytes), 0);
        if (flags & 4) fg = this.pixel(await this.r.read(bytes), 0);
        this.fill(tx, ty, tw, th, bg);
        if (!(flags & 8)) continue;
        const n = (await this.r.read(1))[0]!;
        const coloured = (flags & 16) !== 0;
        const d = await this.r.read(n * (coloured ? bytes + 2 : 2));
        let o = 0;
        for (let i = 0; i < n; i++) {
          let c = fg;
          if (coloured) { c = this.pixel(d, o); o += bytes; fg = c; }
          const xy = d[o++]!, wh = d[o++]!;
          const sx = xy >> 4, sy = xy & 15, sw = (wh >> 4) + 1, sh = (wh & 15) + 1;
          if (sx + sw > tw || sy + sh > th) throw new Error('hextile subrect outside its tile');
          this.fill(tx + sx, ty + sy, sw, sh, c);
        }
      }
    }
  }

  private zrle(rc: UpdateRect, d: Buffer): void {
    const pf = this.pf;
    const cp = pf.bpp === 32 && pf.trueColour && pf.depth <= 24 &&
      (((pf.redMax << pf.redShift) | (pf.greenMax << pf.greenShift) | (pf.blueMax << pf.blueShift)) >>> 0 < 0x1000000 ||
        (((pf.redMax << pf.redShift) | (pf.greenMax << pf.greenShift) | (pf.blueMax << pf.blueShift)) & 0xff) === 0) ? 3 : pf.bpp / 8;
    let o = 0;
    const take = (): number => { const v = this.pixel(d, o, cp); o += cp; return v; };
    const runLen = (): number => { let n = 1, b: number; do { b = d[o++]!; n += b; } while (b === 255); return n; };
    for (let ty = rc.y; ty < rc.y + rc.h; ty += 64) {
      for (let tx = rc.x; tx < rc.x + rc.w; tx += 64) {
        const tw = Math.min(64, rc.x + rc.w - tx), th = Math.min(64, rc.y + rc.h - ty);
        const sub = d[o++]!;
        const px = new Uint32Array(tw * th);
        if (sub === 0) for (let i = 0; i < px.length; i++) px[i] = take();
        else if (sub === 1) px.fill(take());
        else if (sub >= 2 && sub <= 16) {
          const pal: number[] = []; for (let i = 0; i < sub; i++) pal.push(take());
          const bits = sub <= 2 ? 1 : sub <= 4 ? 2 : 4;
          for (let r = 0; r < th; r++) {
            let acc = 0, nb = 0;
            for (let c = 0; c < tw; c++) {
              if (nb === 0) { acc = d[o++]!; nb = 8; }
              nb -= bits;
              px[r * tw + c] = pal[(acc >> nb) & ((1 << bits) - 1)]!;
            }
          }
        } else if (sub === 128) {
          for (let i = 0; i < px.length;) { const c = take(); const n = runLen(); px.fill(c, i, i + n); i += n; }
        } else if (sub >= 130) {
          const pal: number[] = []; for (let i = 0; i < sub - 128; i++) pal.push(take());
          for (let i = 0; i < px.length;) {
            const b = d[o++]!;
            const n = b & 128 ? runLen() : 1;
            px.fill(pal[b & 127]!, i, i + n); i += n;
          }
        } else throw new Error(`bad ZRLE subencoding ${sub}`);
        for (let r = 0; r < th; r++) for (let c = 0; c < tw; c++) this.fb[(ty + r) * this.width + tx + c] = px[r * tw + c]!;
      }
    }
    if (o !== d.length) throw new Error(`ZRLE data has ${d.length - o} bytes left over`);
  }
}
