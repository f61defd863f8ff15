/**
 * The VNC server (`-vnc`): listeners (TCP, Unix socket, WebSocket), the set
 * of client sessions, and the refresh that finds what changed on screen.
 *
 * Refresh: ~30 times a second (its own unref'd timer unless `timer: false`,
 * then the owner calls {@link VncServer.refresh}) the server asks the
 * source to update, then compares the lines the renderer flagged dirty with
 * a shadow copy in 16-pixel chunks, so only pixels that really changed are
 * marked in each client's tile map. Once a second it compares every line, so
 * changes another caller of `update()` consumed (e.g. screendump) still
 * reach the clients.
 */
import { createServer as createHttpServer, type Server as HttpServer } from 'node:http';
import { createServer, type Server, type Socket } from 'node:net';
import { existsSync, unlinkSync } from 'node:fs';
import type { Framebuffer } from '../framebuffer.js';
import type { InputSink } from '../input.js';
import { loadKeymap, type Keymap } from '../keymap.js';
import { Session, TILE, type SessionHost } from './session.js';
import { SocketTransport, type Transport } from './transport.js';
import { acceptUpgrade } from './websocket.js';

/** What the server reads the screen from (a VgaRenderer fits). */
export interface ScreenSource {
  fb(): Framebuffer & { dirty: Uint8Array; resized: boolean; update(): boolean };
}

export interface VncOptions { display: string; options: Record<string, string> }

export interface VncExtra {
  /** `-k` layout (default en-us). */
  keymap?: string | null;
  /** Run the server's own 30 Hz refresh timer (default true). */
  timer?: boolean;
  /** Desktop name sent to clients (QEMU sends "QEMU" or "QEMU (<-name>)"). */
  name?: string;
  /** Most clients at once (default 64). */
  maxClients?: number;
}

export interface VncServer {
  /** TCP port of the RFB listener (0 for a Unix socket or `none`). */
  readonly port: number;
  /** TCP port of the WebSocket listener, 0 if none. */
  readonly wsPort: number;
  /** Address as QEMU's `info vnc` shows it, e.g. "127.0.0.1:5900" or "unix:/tmp/s". */
  readonly address: string;
  /** Peers of the connected clients. */
  clients(): string[];
  /** The monitor's `info vnc` text (QEMU's layout), lines joined with "\n". */
  info(): string;
  /** Set the VNC password (`change vnc password`); fails unless started with password=on. */
  setPassword(p: string | null): void;
  /** Check the screen for changes and send updates (the timer calls this). */
  refresh(): void;
  close(): Promise<void>;
}

export interface ListenSpec {
  kind: 'tcp' | 'unix' | 'none';
  host: string;
  /** First and last port to try (to=). */
  port: number;
  lastPort: number;
  path: string;
  ws: { host: string; port: number } | null;
}

const ACCEPTED = new Set(['to', 'password', 'websocket', 'share', 'lossy', 'non-adaptive', 'key-delay-ms', 'power-control', 'id',
  'head', 'connections', 'audiodev', 'display', 'ipv4', 'ipv6', 'password-secret']);
const UNSUPPORTED = new Set(['tls-creds', 'tls-authz', 'sasl', 'sasl-authz', 'acl', 'reverse', 'x509', 'x509verify', 'tls']);

const isOn = (v: string | undefined): boolean => v === '' || v === 'on' || v === 'yes' || v === 'true';

/** Parse `-vnc` display and options into what to listen on; errors as QEMU words them where it can. */
export function parseVncSpec(o: VncOptions): ListenSpec {
  for (const k of Object.keys(o.options)) {
    if (UNSUPPORTED.has(k)) throw new Error(`vnc option '${k}' is not supported by qemu-ts`);
    if (!ACCEPTED.has(k)) throw new Error(`Invalid parameter '${k}'`);
  }
  const share = o.options.share;
  if (share !== undefined && !['allow-exclusive', 'force-shared', 'ignore'].includes(share)) {
    throw new Error(`vnc: unknown share= value '${share}' (use allow-exclusive, force-shared or ignore)`);
  }
  const spec: ListenSpec = { kind: 'none', host: '127.0.0.1', port: 0, lastPort: 0, path: '', ws: null };
  const d = o.display;
  let display = 0;
  if (d === 'none') {
    // no listener
  } else if (d.startsWith('unix:')) {
    spec.kind = 'unix'; spec.path = d.slice(5);
    if (spec.path === '') throw new Error('vnc: unix socket path is empty');
  } else {
    const i = d.lastIndexOf(':');
    if (i < 0) throw new Error('no vnc port specified');
    let host = d.slice(0, i);
    if (host.startsWith('[') && host.endsWith(']')) host = host.slice(1, -1);
    const n = d.slice(i + 1);
    if (!/^\d+$/.test(n)) throw new Error(`can't convert to a number: ${n}`);
    display = Number(n);
    spec.kind = 'tcp';
    spec.host = host === '' ? '127.0.0.1' : host;
    spec.port = 5900 + display;
    spec.lastPort = spec.port;
    const to = o.options.to;
    if (to !== undefined) {
      if (!/^\d+$/.test(to)) throw new Error(`Parameter 'to' expects uint32`);
      spec.lastPort = 5900 + Number(to);
      if (spec.lastPort < spec.port) throw new Error(`vnc: to=${to} is below the display number ${display}`);
    }
    if (spec.lastPort > 65535) throw new Error(`vnc: port ${spec.lastPort} is out of range`);
  }
  const ws = o.options.websocket;
  if (ws !== undefined && ws !== 'off' && ws !== 'no' && ws !== 'false') {
    if (isOn(ws)) spec.ws = { host: spec.kind === 'tcp' ? spec.host : '127.0.0.1', port: 5700 + display };
    else {
      const i = ws.lastIndexOf(':');
      const host = i < 0 ? (spec.kind === 'tcp' ? spec.host : '127.0.0.1') : ws.slice(0, i).replace(/^\[|\]$/g, '') || '127.0.0.1';
      const p = i < 0 ? ws : ws.slice(i + 1);
      if (!/^\d+$/.test(p) || Number(p) > 65535) throw new Error(`vnc: bad websocket port '${ws}'`);
      spec.ws = { host, port: Number(p) };
    }
  }
  return spec;
}

function listenTcp(srv: Server | HttpServer, host: string, port: number): Promise<void> {
  return new Promise((resolve, reject) => {
    const onErr = (e: Error): void => { srv.off('listening', onOk); reject(e); };
    const onOk = (): void => { srv.off('error', onErr); resolve(); };
    srv.once('error', onErr);
    srv.once('listening', onOk);
    srv.listen({ host, port, exclusive: true });
  });
}

function listenUnix(srv: Server, path: string): Promise<void> {
  return new Promise((resolve, reject) => {
    if (existsSync(path)) { try { unlinkSync(path); } catch { /* listen reports it */ } }
    srv.once('error', reject);
    srv.listen(path, () => { srv.off('error', reject); resolve(); });
  });
}

/**
 * Start a VNC server for `-vnc`. Resolves once listening; rejects with a
 * clear message when the address cannot be used (QEMU then exits).
 */
export async function startVnc(opts: VncOptions, source: ScreenSource, input: InputSink, log: (msg: string) => void, extra: VncExtra = {}): Promise<VncServer> {
  const spec = parseVncSpec(opts);
  const keymap = loadKeymap(extra.keymap);
  const needPassword = isOn(opts.options.password);
  const exclusiveAllowed = (opts.options.share ?? 'allow-exclusive') === 'allow-exclusive';
  const maxClients = extra.maxClients ?? (opts.options.connections ? Math.max(1, Number(opts.options.connections) || 64) : 64);
  const impl = new VncServerImpl(source, input, log, keymap, needPassword, exclusiveAllowed, maxClients, extra.name ?? 'QEMU');
  try {
    await impl.listen(spec);
  } catch (e) {
    await impl.close();
    throw new Error(`Failed to start VNC server: ${(e as Error).message}`);
  }
  if (extra.timer !== false) impl.startTimer();
  return impl;
}

class VncServerImpl implements VncServer, SessionHost {
  port = 0;
  wsPort = 0;
  address = '';
  private readonly sessions = new Set<Session>();
  private readonly servers: Array<Server | HttpServer> = [];
  private pw: string | null = null;
  private timer: NodeJS.Timeout | null = null;
  private unixPath = '';
  /** Listening addresses as `info vnc` shows them. */
  private readonly listenInfo: string[] = [];
  // Shadow of the picture as last sent out, and the tiles found changed.
  private shadow: Buffer = Buffer.alloc(0);
  private sw = 0; private sh = 0;
  private tiles = new Uint8Array(0);
  private ticks = 0;
  /** The shadow may differ from what clients were sent (no refresh ran while no client was connected). */
  private stale = true;

  constructor(
    private readonly source: ScreenSource, readonly input: InputSink, readonly log: (msg: string) => void,
    readonly keymap: Keymap, readonly needPassword: boolean, private readonly exclusiveAllowed: boolean,
    private readonly maxClients: number, public name: string,
  ) {}

  async listen(spec: ListenSpec): Promise<void> {
    if (spec.kind === 'tcp') {
      let lastErr: Error | null = null;
      for (let p = spec.port; p <= spec.lastPort; p++) {
        const srv = createServer((s) => this.accept(new SocketTransport(s), s));
        try {
          await listenTcp(srv, spec.host, p);
          this.servers.push(srv);
          this.port = p;
          this.address = `${spec.host.includes(':') ? `[${spec.host}]` : spec.host}:${p}`;
          const a = srv.address();
          if (a && typeof a === 'object') this.listenInfo.push(`${a.address}:${a.port} (${a.family === 'IPv6' ? 'ipv6' : 'ipv4'})`);
          lastErr = null;
          break;
        } catch (e) { lastErr = e as Error; srv.close(); }
      }
      if (lastErr) throw lastErr;
    } else if (spec.kind === 'unix') {
      const srv = createServer((s) => this.accept(new SocketTransport(s), s));
      await listenUnix(srv, spec.path);
      this.servers.push(srv);
      this.unixPath = spec.path;
      this.address = `unix:${spec.path}`;
      this.listenInfo.push(`${spec.path} (unix)`);
    }
    if (spec.ws) {
      const http = createHttpServer((req, res) => {
        res.writeHead(426, { 'Content-Type': 'text/plain', Upgrade: 'websocket' });
        res.end('This is a VNC WebSocket endpoint.\n');
      });
      http.on('upgrade', (req, socket, head) => {
        const t = acceptUpgrade(req, socket, head);
        if (t) this.accept(t, socket as Socket);
      });
      http.on('clientError', (_e, socket) => { socket.destroy(); });
      await listenTcp(http, spec.ws.host, spec.ws.port);
      this.servers.push(http);
      const a = http.address();
      this.wsPort = typeof a === 'object' && a ? a.port : spec.ws.port;
      if (a && typeof a === 'object') this.listenInfo.push(`${a.address}:${a.port} (${a.family === 'IPv6' ? 'ipv6' : 'ipv4'}) (websocket)`);
    }
  }

  private accept(t: Transport, s: Socket): void {
    if (this.sessions.size >= this.maxClients) {
      this.log(`vnc: refusing ${t.peer}: ${this.maxClients} clients already connected`);
      s.destroy();
      return;
    }
    this.sessions.add(new Session(t, this));
  }

  startTimer(): void {
    this.timer = setInterval(() => {
      try { this.refresh(); } catch (e) { this.log(`vnc: refresh failed: ${e instanceof Error ? e.message : String(e)}`); }
    }, 33);
    this.timer.unref();
  }

  // SessionHost
  password(): string | null { return this.pw; }
  picture(): { width: number; height: number; data: Uint8Array } {
    const fb = this.source.fb();
    if (this.stale) {
      // Not refreshed since the last client left (or ever): bring the picture up to date and
      // take the shadow from it, so it equals what this first client is about to be sent.
      fb.update();
      this.stale = false;
      this.sw = fb.width; this.sh = fb.height;
      this.shadow = Buffer.from(fb.data);
      this.tiles = new Uint8Array(Math.ceil(fb.width / TILE) * Math.ceil(fb.height / TILE));
    }
    return fb;
  }
  exclusive(s: Session): void {
    if (!this.exclusiveAllowed) return;
    for (const o of [...this.sessions]) if (o !== s) o.close();
  }
  closed(s: Session): void { this.sessions.delete(s); }

  clients(): string[] { return [...this.sessions].filter((s) => s.ready).map((s) => s.t.peer); }

  info(): string {
    const lines = ['default:'];
    const auth = `    Auth: ${this.needPassword ? 'vnc' : 'none'} (Sub: none)`;
    if (this.listenInfo.length === 0) lines.push('  Server: none');
    for (const l of this.listenInfo) lines.push(`  Server: ${l}`, auth);
    for (const s of this.sessions) {
      if (s.ready) lines.push(`  Client: ${s.t.peerInfo}`, '    x509_dname: none', '    sasl_username: none');
    }
    return lines.join('\n');
  }

  setPassword(p: string | null): void {
    if (!this.needPassword) throw new Error('Could not set password');
    this.pw = p === null ? null : p.slice(0, 8);
  }

  refresh(): void {
    let ready = false;
    for (const s of this.sessions) if (s.ready) { ready = true; break; }
    if (!ready) {
      // Nobody to send to: leave the renderer alone; the shadow is out of date from now on.
      this.stale = true;
      return;
    }
    const fb = this.source.fb();
    fb.update();
    const w = fb.width, h = fb.height, data = fb.data, stride = w * 4;
    if (this.stale || w !== this.sw || h !== this.sh || this.shadow.length !== data.length) {
      this.stale = false;
      this.sw = w; this.sh = h;
      this.shadow = Buffer.from(data);
      this.tiles = new Uint8Array(Math.ceil(w / TILE) * Math.ceil(h / TILE));
      for (const s of this.sessions) {
        if (s.width === w && s.height === h) { s.markDirty(0, 0, w, h); s.pump(); } else s.resized(w, h);
      }
      return;
    }
    const sweep = ++this.ticks % 30 === 0;
    const cur = Buffer.from(data.buffer, data.byteOffset, data.length);
    const sh = this.shadow, dirty = fb.dirty, tiles = this.tiles, tw = Math.ceil(w / TILE), chunk = TILE * 4;
    let any = false;
    for (let y = 0; y < h; y++) {
      if (!sweep && dirty[y] !== 1) continue;
      const o = y * stride;
      if (cur.compare(sh, o, o + stride, o, o + stride) === 0) continue;
      const row = (y / TILE | 0) * tw;
      for (let x = 0, c = 0; x < stride; x += chunk, c++) {
        const e = Math.min(x + chunk, stride);
        if (cur.compare(sh, o + x, o + e, o + x, o + e) !== 0) tiles[row + c] = 1;
      }
      sh.set(data.subarray(o, o + stride), o);
      any = true;
    }
    if (any) {
      const th = Math.ceil(h / TILE);
      for (const s of this.sessions) if (s.ready) s.addDirtyTiles(tiles, tw, th);
      tiles.fill(0);
    }
    for (const s of this.sessions) s.pump();
  }

  async close(): Promise<void> {
    if (this.timer) { clearInterval(this.timer); this.timer = null; }
    for (const s of [...this.sessions]) s.close();
    await Promise.all(this.servers.map((srv) => new Promise<void>((r) => srv.close(() => r()))));
    this.servers.length = 0;
    if (this.unixPath !== '') { try { unlinkSync(this.unixPath); } catch { /* gone already */ } }
  }
}
