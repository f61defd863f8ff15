/**
 * `socket` backend (tcp:, telnet:, unix:): a listening server that serves one
 * client at a time, or a client that connects out. Output while no peer is
 * connected is dropped (as QEMU does); output to a slow peer is buffered up to
 * MAX_BUFFERED bytes. With telnet=on the server negotiates character mode and
 * binary transmission and strips IAC sequences from input.
 */
import * as fs from 'node:fs';
import * as net from 'node:net';
import * as path from 'node:path';
import { describe } from './file.js';
import { CharBackend, MAX_BUFFERED, WriteCoalescer } from './types.js';

export interface SocketOptions {
  host?: string; port?: number; path?: string;
  server: boolean; wait: boolean; telnet: boolean;
  /** Seconds between reconnection attempts for a client (0 = none). */
  reconnect?: number;
  nodelay?: boolean;
}

const IAC = 255, SB = 250, SE = 240, WILL = 251, DO = 253, BREAK = 243;
/** IAC WILL ECHO, IAC WILL SUPPRESS-GO-AHEAD, IAC WILL BINARY, IAC DO BINARY. */
const TELNET_INIT = Uint8Array.of(IAC, WILL, 1, IAC, WILL, 3, IAC, WILL, 0, IAC, DO, 0);

/** Strips telnet commands from a byte stream (RFC 854); keeps state across chunks. */
export class TelnetDecoder {
  private state = 0; // 0 data, 1 after IAC, 2 option byte, 3 in SB, 4 IAC in SB
  constructor(private readonly onBreak: () => void) {}
  decode(d: Uint8Array): Uint8Array {
    const out = new Uint8Array(d.length);
    let n = 0;
    for (let i = 0; i < d.length; i++) {
      const b = d[i]!;
      switch (this.state) {
        case 0: if (b === IAC) this.state = 1; else out[n++] = b; break;
        case 1:
          if (b === IAC) { out[n++] = IAC; this.state = 0; }
          else if (b >= WILL) this.state = 2;
          else if (b === SB) this.state = 3;
          else { if (b === BREAK) this.onBreak(); this.state = 0; }
          break;
        case 2: this.state = 0; break;
        case 3: if (b === IAC) this.state = 4; break;
        case 4: this.state = b === SE ? 0 : 3; break;
      }
    }
    return out.subarray(0, n);
  }
}

export function telnetEscape(d: Uint8Array): Uint8Array {
  if (!d.includes(IAC)) return d;
  const out: number[] = [];
  for (const b of d) { out.push(b); if (b === IAC) out.push(IAC); }
  return Uint8Array.from(out);
}

export class SocketChar implements CharBackend {
  private server: net.Server | null = null;
  private conn: net.Socket | null = null;
  private cb: ((data: Uint8Array) => void) | null = null;
  private breakCb: (() => void) | null = null;
  private closed = false;
  private retry: NodeJS.Timeout | null = null;
  private connectWaiters: (() => void)[] = [];
  /** Description as QEMU prints it (`disconnected:tcp:127.0.0.1:4444,server=on`). */
  label = '';

  private constructor(private readonly o: SocketOptions) {}

  /** Open (listen or connect). Resolves when usable: for a server with wait=on, once a client is connected. */
  static async open(o: SocketOptions, log: (msg: string) => void): Promise<SocketChar> {
    const s = new SocketChar(o);
    if (o.server) {
      await s.listen();
      if (o.wait) {
        log(`info: QEMU waiting for connection on: disconnected:${s.label},server=on`);
        await new Promise<void>((res) => s.connectWaiters.push(res));
      }
    } else {
      await s.connect(true);
    }
    return s;
  }

  private where(): string {
    return this.o.path !== undefined ? `unix:${this.o.path}` : `tcp:${this.o.host}:${this.o.port}`;
  }

  /** Port actually bound (useful with port=0). */
  get localPort(): number {
    const a = this.server?.address();
    return a && typeof a === 'object' ? a.port : 0;
  }

  private listen(): Promise<void> {
    const srv = net.createServer((sock) => this.accept(sock));
    this.server = srv;
    return new Promise((resolve, reject) => {
      srv.once('error', (e) => reject(new Error(this.o.path !== undefined
        ? `Failed to bind socket to ${this.o.path}: ${fs.existsSync(path.dirname(this.o.path)) ? describe(e) : 'No such file or directory'}`
        : `Failed to find an available port: ${describe(e)}`)));
      if (this.o.path !== undefined) {
        try { if (fs.statSync(this.o.path).isSocket()) fs.unlinkSync(this.o.path); } catch { /* absent */ }
        srv.listen(this.o.path, () => { this.label = this.where(); resolve(); });
      } else {
        srv.listen({ host: this.o.host, port: this.o.port }, () => {
          this.label = `tcp:${this.o.host}:${this.localPort}`;
          resolve();
        });
      }
    });
  }

  private accept(sock: net.Socket): void {
    if (this.conn || this.closed) { sock.destroy(); return; } // one client at a time
    this.attach(sock);
    if (this.o.telnet) sock.write(TELNET_INIT);
    const w = this.connectWaiters; this.connectWaiters = [];
    for (const f of w) f();
  }

  private attach(sock: net.Socket): void {
    this.conn = sock;
    if (this.o.nodelay) sock.setNoDelay(true);
    const dec = this.o.telnet ? new TelnetDecoder(() => { if (this.breakCb) this.breakCb(); }) : null;
    sock.on('data', (d: Buffer) => {
      const bytes = dec ? dec.decode(d) : new Uint8Array(d.buffer, d.byteOffset, d.length);
      if (bytes.length && this.cb) this.cb(bytes);
    });
    const gone = () => {
      if (this.conn !== sock) return;
      this.conn = null;
      if (!this.o.server && !this.closed && this.o.reconnect) this.retry = setTimeout(() => { void this.connect(false); }, this.o.reconnect * 1000);
    };
    sock.on('close', gone);
    sock.on('error', gone);
  }

  private connect(first: boolean): Promise<void> {
    return new Promise((resolve, reject) => {
      const opts = this.o.path !== undefined ? { path: this.o.path } : { host: this.o.host!, port: this.o.port! };
      const sock = net.connect(opts as net.NetConnectOpts);
      sock.once('connect', () => { this.label = this.where(); this.attach(sock); resolve(); });
      sock.once('error', (e) => {
        if (this.conn === sock) return;
        if (first && !this.o.reconnect) { reject(new Error(`Failed to connect to '${this.where().replace(/^(tcp|unix):/, '')}': ${describe(e)}`)); return; }
        if (!this.closed) this.retry = setTimeout(() => { void this.connect(false); }, (this.o.reconnect || 1) * 1000);
        resolve();
      });
    });
  }

  /** Is a peer connected? */
  get connected(): boolean { return this.conn !== null; }

  private readonly out = new WriteCoalescer((data) => {
    const c = this.conn;
    if (!c || c.writableLength > MAX_BUFFERED) return;
    c.write(this.o.telnet ? telnetEscape(data) : Buffer.from(data.buffer, data.byteOffset, data.length));
  });

  write(data: Uint8Array): void { if (this.conn) this.out.push(data); }

  onInput(cb: (data: Uint8Array) => void): void { this.cb = cb; }
  onBreak(cb: () => void): void { this.breakCb = cb; }

  async close(): Promise<void> {
    this.out.flush();
    this.closed = true;
    if (this.retry) clearTimeout(this.retry);
    if (this.conn) { this.conn.destroy(); this.conn = null; }
    const w = this.connectWaiters; this.connectWaiters = [];
    for (const f of w) f();
    if (this.server) {
      const srv = this.server; this.server = null;
      await new Promise<void>((res) => srv.close(() => res()));
      if (this.o.path !== undefined) { try { fs.unlinkSync(this.o.path); } catch { /* gone */ } }
    }
  }
}
