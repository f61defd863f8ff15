/**
 * Chardev factory: QEMU's `-chardev backend,opt=val,...` and the legacy
 * `-serial`/`-monitor`/`-parallel` strings (`stdio`, `file:PATH`,
 * `tcp:HOST:PORT,server=on,wait=off`, `telnet:...`, `unix:PATH,server`,
 * `udp:...`, `mon:stdio`, `null`, `none`, `pty`).
 */
import { FileChar, PipeChar } from './file.js';
import { MuxChar, MuxHooks } from './mux.js';
import { SocketChar } from './socket.js';
import { StdioChar, StdioStreams } from './stdio.js';
import { CharBackend, MemoryChar, NullChar } from './types.js';
import { UdpChar } from './udp.js';

export { CharBackend, MemoryChar, NullChar, MAX_BUFFERED } from './types.js';
export { MuxChar, MuxFrontend } from './mux.js';
export { SocketChar, TelnetDecoder } from './socket.js';

export interface ChardevSpec {
  id?: string;
  backend: string;
  options: Record<string, string>;
  /** `mon:` prefix: the monitor shares this (mux) chardev. */
  monitor?: boolean;
}

export interface ChardevContext {
  streams?: StdioStreams;
  /** Informational messages (QEMU prints them on stderr). */
  log?: (msg: string) => void;
  /** Ctrl-C on a stdio terminal with signal=on. Default: raise SIGINT on the process. */
  onInterrupt?: () => void;
  /** Hooks of a mux (Ctrl-A x and s). */
  mux?: MuxHooks;
}

export class ChardevError extends Error {}

const LOOPBACK = '127.0.0.1';

export function parseBool(key: string, v: string | undefined, def: boolean): boolean {
  if (v === undefined) return def;
  if (v === 'on' || v === 'yes' || v === 'true' || v === '') return true;
  if (v === 'off' || v === 'no' || v === 'false') return false;
  throw new ChardevError(`Parameter '${key}' expects 'on' or 'off'`);
}

const BOOL_KEYS = new Set(['server', 'wait', 'telnet', 'nodelay', 'ipv4', 'ipv6', 'append', 'mux', 'signal', 'tls', 'websocket', 'logappend', 'delay']);

/** Split a QemuOpts string at single commas (",," is a literal comma). */
export function splitOpts(s: string): string[] {
  const out: string[] = [];
  let cur = '';
  for (let i = 0; i < s.length; i++) {
    if (s[i] === ',') {
      if (s[i + 1] === ',') { cur += ','; i++; continue; }
      out.push(cur); cur = '';
    } else cur += s[i];
  }
  out.push(cur);
  return out;
}

/** key=value list; bare `flag` means flag=on, bare `noflag` flag=off (legacy forms). */
function parseOptList(items: string[], into: Record<string, string>): void {
  for (const it of items) {
    if (it === '') continue;
    const eq = it.indexOf('=');
    if (eq >= 0) { into[it.slice(0, eq)] = it.slice(eq + 1); continue; }
    if (BOOL_KEYS.has(it)) into[it] = 'on';
    else if (it.startsWith('no') && BOOL_KEYS.has(it.slice(2))) into[it.slice(2)] = 'off';
    else throw new ChardevError(`Invalid parameter '${it}'`);
  }
}

/** `-chardev socket,id=x,port=4444,server=on` → spec. */
export function parseChardevOption(s: string): ChardevSpec {
  const items = splitOpts(s);
  const backend = items.shift()!;
  if (!backend || backend.includes('=')) throw new ChardevError('chardev: "backend" is missing');
  const options: Record<string, string> = {};
  parseOptList(items, options);
  const spec: ChardevSpec = { backend, options };
  if (options.id !== undefined) { spec.id = options.id; delete options.id; }
  return spec;
}

function hostPort(s: string, what: string): { host: string; port: string } {
  const m = /^(?:\[([^\]]*)\]|([^:]*)):([^:]*)$/.exec(s);
  if (!m) throw new ChardevError(`'${what}' is not a valid host:port`);
  return { host: m[1] ?? m[2] ?? '', port: m[3]! };
}

/** Legacy `-serial`/`-monitor` device string → spec. */
export function parseLegacyChardev(str: string): ChardevSpec {
  if (str.startsWith('mon:')) {
    const inner = parseLegacyChardev(str.slice(4));
    inner.options.mux = 'on';
    inner.monitor = true;
    return inner;
  }
  const simple = ['null', 'none', 'stdio', 'pty', 'vc', 'msmouse', 'braille', 'testdev'];
  const head = str.split(',')[0]!;
  if (simple.includes(head)) {
    const options: Record<string, string> = {};
    parseOptList(splitOpts(str).slice(1), options);
    return { backend: head, options };
  }
  const colon = str.indexOf(':');
  const kind = colon > 0 ? str.slice(0, colon) : '';
  const rest = colon > 0 ? str.slice(colon + 1) : '';
  switch (kind) {
    case 'file': return { backend: 'file', options: { path: rest } };
    case 'pipe': return { backend: 'pipe', options: { path: rest } };
    case 'chardev': return { backend: 'chardev', options: { id: rest } };
    case 'tcp': case 'telnet': {
      const items = splitOpts(rest);
      const hp = hostPort(items.shift()!, rest);
      const options: Record<string, string> = { host: hp.host, port: hp.port };
      if (kind === 'telnet') options.telnet = 'on';
      parseOptList(items, options);
      return { backend: 'socket', options };
    }
    case 'unix': {
      const items = splitOpts(rest);
      const options: Record<string, string> = { path: items.shift()! };
      parseOptList(items, options);
      return { backend: 'socket', options };
    }
    case 'udp': {
      const [remote, local] = rest.split('@');
      const r = hostPort(remote!, rest);
      const options: Record<string, string> = { host: r.host, port: r.port };
      if (local !== undefined) { const l = hostPort(local, rest); options.localaddr = l.host; options.localport = l.port; }
      return { backend: 'udp', options };
    }
    default:
      if (str.startsWith('/dev/')) return { backend: 'serial', options: { path: str } };
      throw new ChardevError(`'${str}' is not a valid char driver`);
  }
}

function port(v: string | undefined, what = 'port'): number {
  const n = Number(v);
  if (v === undefined || v === '' || !Number.isInteger(n) || n < 0 || n > 65535) throw new ChardevError(`${what} '${v ?? ''}' is invalid`);
  return n;
}

/** The CLI's flat form: `{ id, backend, path: ..., server: 'on', ... }`. */
export type FlatChardevSpec = { backend: string; id?: string } & Record<string, string | boolean | number | undefined>;

/** Accept either `{backend, options}` or the flat form (values of any scalar type). */
export function normalizeSpec(spec: ChardevSpec | FlatChardevSpec): ChardevSpec {
  if (typeof (spec as ChardevSpec).options === 'object' && (spec as ChardevSpec).options !== null) return spec as ChardevSpec;
  const options: Record<string, string> = {};
  let id: string | undefined;
  for (const [k, v] of Object.entries(spec)) {
    if (k === 'backend' || v === undefined) continue;
    if (k === 'id') { id = String(v); continue; }
    options[k] = typeof v === 'boolean' ? (v ? 'on' : 'off') : String(v);
  }
  const out: ChardevSpec = { backend: spec.backend, options };
  if (id !== undefined) out.id = id;
  return out;
}

/**
 * Open the backend a spec describes. With mux=on the result is a {@link MuxChar}:
 * take one `frontend()` per user (serial first, then the monitor).
 */
export async function createChardev(spec: ChardevSpec | FlatChardevSpec, ctx: ChardevContext = {}): Promise<CharBackend | MuxChar> {
  spec = normalizeSpec(spec);
  const chr = await createBackend(spec, ctx);
  if (parseBool('mux', spec.options.mux, false)) return new MuxChar(chr, ctx.mux ?? {});
  return chr;
}

async function createBackend(spec: ChardevSpec, ctx: ChardevContext): Promise<CharBackend> {
  const o = spec.options;
  const log = ctx.log ?? ((m: string) => process.stderr.write(m + '\n'));
  switch (spec.backend) {
    case 'null': case 'none': return new NullChar();
    // A graphical console's text tab: with no GUI text consoles the output goes nowhere.
    case 'vc': return new NullChar();
    case 'pipe': {
      if (!o.path) throw new ChardevError("chardev: pipe: Parameter 'path' is missing");
      try { return new PipeChar(o.path); } catch (e) { throw new ChardevError((e as Error).message); }
    }
    case 'serial': case 'tty': case 'parallel': case 'msmouse': case 'braille': case 'spicevmc': case 'qemu-vdagent':
      throw new ChardevError(`char device '${spec.backend}' is not supported by qemu-ts; use a file, socket or stdio backend`);
    case 'memory': case 'ringbuf': return new MemoryChar();
    case 'stdio': {
      const streams = ctx.streams ?? { stdin: process.stdin, stdout: process.stdout };
      const signal = parseBool('signal', o.signal, true);
      const onInt = ctx.onInterrupt ?? (() => { process.kill(process.pid, 'SIGINT'); });
      try { return new StdioChar(streams, signal, onInt); } catch (e) { throw new ChardevError((e as Error).message); }
    }
    case 'file': {
      if (!o.path) throw new ChardevError("chardev: file: Parameter 'path' is missing");
      try { return new FileChar(o.path, parseBool('append', o.append, false), o['input-path']); } catch (e) { throw new ChardevError((e as Error).message); }
    }
    case 'pty':
      throw new ChardevError("char device 'pty' is not supported by qemu-ts: Node.js cannot allocate a pseudo-terminal; use a socket instead (e.g. -serial unix:/tmp/serial.sock,server=on,wait=off or tcp:127.0.0.1:4444,server=on,wait=off)");
    case 'socket': case 'tcp': case 'telnet': case 'unix': {
      const server = parseBool('server', o.server, false);
      const isUnix = o.path !== undefined;
      if (!isUnix && o.port === undefined) throw new ChardevError("chardev: socket: 'port' or 'path' is required");
      const opts = {
        server,
        wait: server ? parseBool('wait', o.wait, true) : false,
        telnet: parseBool('telnet', o.telnet, spec.backend === 'telnet'),
        nodelay: parseBool('nodelay', o.nodelay, false),
        reconnect: o.reconnect ? Number(o.reconnect) : 0,
        ...(isUnix ? { path: o.path } : { host: o.host || (server ? LOOPBACK : 'localhost'), port: port(o.port) }),
      };
      try { return await SocketChar.open(opts, log); } catch (e) { throw new ChardevError((e as Error).message); }
    }
    case 'udp': {
      try {
        return await UdpChar.open(o.host || 'localhost', port(o.port), o.localaddr || (o.host && o.host.includes(':') ? '::1' : LOOPBACK), o.localport ? port(o.localport, 'localport') : 0);
      } catch (e) { throw new ChardevError((e as Error).message); }
    }
    default:
      throw new ChardevError(`'${spec.backend}' is not a valid char driver name`);
  }
}

/** Is this the mux returned for mux=on? */
export function isMux(c: CharBackend | MuxChar): c is MuxChar { return c instanceof MuxChar; }
