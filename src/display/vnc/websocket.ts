/**
 * RFC 6455 WebSocket server side, just what VNC-over-WebSocket (noVNC) needs:
 * the HTTP upgrade handshake on node:http, the "binary" subprotocol, binary
 * frames out, masked frames in (fragmented or not), ping/pong and close.
 */
import { createHash } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import type { Duplex } from 'node:stream';
import { describePeer, type Transport } from './transport.js';

const GUID = '258EAFA5-E914-47DA-95CA-C5AB0DC85B11';
/** Largest frame payload a client may send (RFB client messages are small; cut text is capped at 1 MiB). */
export const MAX_FRAME = (1 << 20) + 4096;

export function acceptKey(key: string): string {
  return createHash('sha1').update(key + GUID).digest('base64');
}

/**
 * Answer an upgrade request. Returns the transport, or null after refusing
 * the request (the socket is then closed).
 */
export function acceptUpgrade(req: IncomingMessage, socket: Duplex, head: Buffer): WebSocketTransport | null {
  const key = req.headers['sec-websocket-key'];
  const upgrade = String(req.headers.upgrade ?? '').toLowerCase();
  const version = req.headers['sec-websocket-version'];
  if (req.method !== 'GET' || upgrade !== 'websocket' || typeof key !== 'string' || !/^[A-Za-z0-9+/]{22}==$/.test(key)) {
    socket.end('HTTP/1.1 400 Bad Request\r\nConnection: close\r\nContent-Length: 0\r\n\r\n');
    return null;
  }
  if (version !== '13') {
    socket.end('HTTP/1.1 426 Upgrade Required\r\nSec-WebSocket-Version: 13\r\nConnection: close\r\nContent-Length: 0\r\n\r\n');
    return null;
  }
  const offered = String(req.headers['sec-websocket-protocol'] ?? '').split(',').map((s) => s.trim()).filter((s) => s !== '');
  if (offered.length > 0 && !offered.includes('binary')) {
    socket.end('HTTP/1.1 400 Bad Request\r\nConnection: close\r\nContent-Length: 0\r\n\r\n');
    return null;
  }
  const lines = ['HTTP/1.1 101 Switching Protocols', 'Upgrade: websocket', 'Connection: Upgrade', `Sec-WebSocket-Accept: ${acceptKey(key)}`];
  if (offered.includes('binary')) lines.push('Sec-WebSocket-Protocol: binary');
  socket.write(lines.join('\r\n') + '\r\n\r\n');
  const t = new WebSocketTransport(socket, `${(socket as { remoteAddress?: string }).remoteAddress ?? '?'}:${(socket as { remotePort?: number }).remotePort ?? '?'} (websocket)`);
  if (head.length > 0) t.feed(head);
  return t;
}

/** Encode one unmasked server frame. */
export function wsFrame(opcode: number, payload: Uint8Array): Buffer {
  const n = payload.length;
  const hl = n < 126 ? 2 : n < 65536 ? 4 : 10;
  const out = Buffer.allocUnsafe(hl + n);
  out[0] = 0x80 | opcode;
  if (n < 126) out[1] = n;
  else if (n < 65536) { out[1] = 126; out.writeUInt16BE(n, 2); }
  else { out[1] = 127; out.writeUInt32BE(Math.floor(n / 2 ** 32), 2); out.writeUInt32BE(n >>> 0, 6); }
  out.set(payload, hl);
  return out;
}

export class WebSocketTransport implements Transport {
  private buf: Buffer = Buffer.alloc(0);
  private dataCb: (b: Buffer) => void = () => {};
  private closed = false;
  /** Opcode of the fragmented message in progress (continuation frames). */
  private fragOp = -1;

  constructor(private readonly s: Duplex, readonly peer: string) {
    s.on('data', (b: Buffer) => this.feed(b));
    s.on('error', () => { /* reported through close */ });
  }

  feed(b: Buffer): void {
    if (this.closed) return;
    this.buf = this.buf.length === 0 ? b : Buffer.concat([this.buf, b]);
    for (;;) {
      const r = this.frame();
      if (r === 'wait') return;
      if (r === 'bad') { this.fail(); return; }
    }
  }

  private frame(): 'wait' | 'bad' | 'ok' {
    const b = this.buf;
    if (b.length < 2) return 'wait';
    const fin = (b[0]! & 0x80) !== 0, op = b[0]! & 0x0f, masked = (b[1]! & 0x80) !== 0;
    if ((b[0]! & 0x70) !== 0 || !masked) return 'bad'; // no extensions negotiated; clients must mask
    let len = b[1]! & 0x7f, o = 2;
    if (len === 126) { if (b.length < 4) return 'wait'; len = b.readUInt16BE(2); o = 4; }
    else if (len === 127) {
      if (b.length < 10) return 'wait';
      if (b.readUInt32BE(2) !== 0) return 'bad';
      len = b.readUInt32BE(6); o = 10;
    }
    if (len > MAX_FRAME) return 'bad';
    if (b.length < o + 4 + len) return 'wait';
    const mask = b.subarray(o, o + 4);
    const payload = Buffer.allocUnsafe(len);
    for (let i = 0; i < len; i++) payload[i] = b[o + 4 + i]! ^ mask[i & 3]!;
    this.buf = b.subarray(o + 4 + len);
    if (op >= 8) { // control frames: unfragmented, at most 125 bytes
      if (!fin || len > 125) return 'bad';
      if (op === 8) { this.send(8, payload.subarray(0, 2)); this.s.end(); this.closed = true; return 'wait'; }
      if (op === 9) this.send(10, payload);
      return 'ok';
    }
    if (op === 0) { if (this.fragOp < 0) return 'bad'; }
    else if (op === 1 || op === 2) { if (this.fragOp >= 0) return 'bad'; if (!fin) this.fragOp = op; }
    else return 'bad';
    if (op === 0 && fin) this.fragOp = -1;
    if (len > 0) this.dataCb(payload);
    return 'ok';
  }

  private send(op: number, payload: Uint8Array): boolean {
    if (this.closed || this.s.destroyed) return false;
    return this.s.write(wsFrame(op, payload));
  }

  private fail(): void {
    this.send(8, Buffer.from([0x03, 0xea])); // 1002 protocol error
    this.closed = true;
    this.s.destroy();
  }

  get peerInfo(): string { return describePeer(this.s as { remoteAddress?: string; remotePort?: number; remoteFamily?: string }); }
  write(b: Uint8Array): boolean { return this.send(2, b); }
  get pending(): number { return (this.s as { writableLength?: number }).writableLength ?? 0; }
  onData(cb: (b: Buffer) => void): void { this.dataCb = cb; }
  onDrain(cb: () => void): void { this.s.on('drain', cb); }
  onClose(cb: () => void): void { this.s.on('close', cb); }
  close(): void { this.closed = true; this.s.destroy(); }
}
