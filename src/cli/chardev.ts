/**
 * Character backends: `-chardev backend,id=...` and the legacy device strings of -serial,
 * -parallel, -monitor, -debugcon, -gdb ("stdio", "file:out.txt", "tcp::4444,server,nowait",
 * "mon:stdio", "/dev/ttyS0", "COM1", "chardev:id", ...).
 */
import { CliError } from './errors.js';
import type { ChardevBackend, ChardevInfo } from './machine-description.js';
import { parseBool, parseQemuOpts, type QemuOpts } from './qemu-opts.js';

const BACKENDS: readonly ChardevBackend[] = [
  'null', 'stdio', 'file', 'pipe', 'pty', 'vc', 'socket', 'udp', 'serial', 'tty', 'parallel', 'parport',
  'msmouse', 'braille', 'ringbuf', 'memory', 'console',
];

const COMMON_KEYS = ['id', 'backend', 'mux', 'logfile', 'logappend'];
const KEYS: Partial<Record<ChardevBackend, string[]>> = {
  null: [], stdio: ['signal'], file: ['path', 'append', 'input-path'], pipe: ['path'], pty: ['path'],
  vc: ['width', 'height', 'cols', 'rows'], console: [],
  socket: ['host', 'port', 'to', 'ipv4', 'ipv6', 'path', 'abstract', 'tight', 'server', 'wait', 'nodelay', 'telnet', 'tn3270', 'websocket', 'reconnect', 'fd', 'tls-creds', 'tls-authz'],
  udp: ['host', 'port', 'localaddr', 'localport', 'ipv4', 'ipv6'],
  serial: ['path'], tty: ['path'], parallel: ['path'], parport: ['path'], msmouse: [], braille: [],
  ringbuf: ['size'], memory: ['size'],
};

/** Check and convert `-chardev` options. */
export function chardevFromOpts(opts: QemuOpts): ChardevInfo {
  const backend = opts.get('backend');
  if (backend === undefined) throw new CliError('chardev: "backend" missing');
  if (!(BACKENDS as readonly string[]).includes(backend)) {
    if (backend === 'spicevmc' || backend === 'spiceport' || backend === 'qemu-vdagent' || backend === 'dbus') {
      throw new CliError(`chardev backend '${backend}' is not supported by qemu-ts`);
    }
    throw new CliError(`'${backend}' is not a valid char driver name`);
  }
  const b = backend as ChardevBackend;
  const id = opts.get('id');
  if (!id) throw new CliError('chardev: no id specified');
  opts.check([...COMMON_KEYS, ...(KEYS[b] ?? [])]);
  if (b === 'file' && !opts.get('path')) throw new CliError('chardev: file: no filename given');
  if ((b === 'pipe' || b === 'serial' || b === 'tty' || b === 'parallel' || b === 'parport') && !opts.get('path')) {
    throw new CliError(`chardev: ${b}: no device path given`);
  }
  if (b === 'socket' && !opts.get('path') && !opts.get('port') && !opts.get('fd')) {
    throw new CliError('chardev: socket: no host given');
  }
  if (b === 'udp' && !opts.get('port')) throw new CliError('chardev: udp: remote port not specified');
  for (const k of ['server', 'wait', 'nodelay', 'telnet', 'tn3270', 'websocket', 'mux', 'signal', 'append', 'ipv4', 'ipv6', 'logappend']) {
    const v = opts.get(k);
    if (v !== undefined) parseBool(v, k);
  }
  return {
    id,
    backend: b === 'tty' ? 'serial' : b === 'parport' ? 'parallel' : b,
    mux: opts.getBool('mux', false),
    options: opts.toRecord(['id', 'backend', 'mux']),
  };
}

function sockOpts(rest: string, into: Record<string, string>): void {
  const o = parseQemuOpts(rest);
  for (const e of o.entries) into[e.key] = e.value;
}

/**
 * A legacy device string (qemu_chr_parse_compat). Returns null for "none".
 * `mon:` prefixes are reported through `mux` so the caller can add a monitor.
 */
export function chardevFromLegacy(id: string, spec: string): { dev: ChardevInfo; monitor: boolean } | null {
  if (spec === 'none') return null;
  let s = spec;
  let monitor = false;
  if (s.startsWith('mon:')) {
    monitor = true;
    s = s.slice(4);
  }
  const mk = (backend: ChardevBackend, options: Record<string, string> = {}): { dev: ChardevInfo; monitor: boolean } => ({
    dev: { id, backend, mux: monitor, options },
    monitor,
  });
  const bad = (): never => {
    throw new CliError(`'${spec}' is not a valid char driver`);
  };
  if (s === 'null' || s === 'stdio' || s === 'pty' || s === 'msmouse' || s === 'braille') return mk(s as ChardevBackend);
  if (s === 'vc' || s.startsWith('vc:')) {
    const o: Record<string, string> = {};
    const m = /^vc:(\d+)(C?)x(\d+)(C?)$/.exec(s);
    if (m) {
      o[m[2] ? 'cols' : 'width'] = m[1]!;
      o[m[4] ? 'rows' : 'height'] = m[3]!;
    } else if (s !== 'vc') bad();
    return mk('vc', o);
  }
  if (s.startsWith('file:')) return s.length > 5 ? mk('file', { path: s.slice(5) }) : bad();
  if (s.startsWith('pipe:')) return s.length > 5 ? mk('pipe', { path: s.slice(5) }) : bad();
  if (s.startsWith('chardev:')) {
    // Refers to an existing -chardev; the caller resolves it.
    return { dev: { id: s.slice(8), backend: 'null', mux: false, options: { '@ref': s.slice(8) } }, monitor };
  }
  if (s.startsWith('tcp:') || s.startsWith('telnet:') || s.startsWith('websocket:')) {
    const kind = s.slice(0, s.indexOf(':'));
    const rest = s.slice(kind.length + 1);
    const comma = rest.indexOf(',');
    const addr = comma < 0 ? rest : rest.slice(0, comma);
    const colon = addr.lastIndexOf(':');
    if (colon < 0) bad();
    const o: Record<string, string> = { host: addr.slice(0, colon), port: addr.slice(colon + 1) };
    if (!/^\d+$/.test(o.port!)) bad();
    if (kind === 'telnet') o.telnet = 'on';
    if (kind === 'websocket') o.websocket = 'on';
    if (comma >= 0) sockOpts(rest.slice(comma + 1), o);
    return mk('socket', o);
  }
  if (s.startsWith('unix:')) {
    const rest = s.slice(5);
    const comma = rest.indexOf(',');
    const o: Record<string, string> = { path: comma < 0 ? rest : rest.slice(0, comma) };
    if (comma >= 0) sockOpts(rest.slice(comma + 1), o);
    return mk('socket', o);
  }
  if (s.startsWith('udp:')) {
    const m = /^udp:([^:@]*):(\d+)(?:@([^:]*):(\d+))?$/.exec(s);
    if (!m) bad();
    const o: Record<string, string> = { host: m![1] || 'localhost', port: m![2]! };
    if (m![3] !== undefined) o.localaddr = m![3];
    if (m![4] !== undefined) o.localport = m![4];
    return mk('udp', o);
  }
  if (/^\/dev\/parport\d+$/.test(s) || /^LPT\d$/i.test(s)) return mk('parallel', { path: s });
  if (s.startsWith('/dev/') || /^COM\d+$/i.test(s)) return mk('serial', { path: s });
  if (s.startsWith('ringbuf:') || s.startsWith('memory:')) return mk('ringbuf', { size: s.slice(s.indexOf(':') + 1) });
  return bad();
}
