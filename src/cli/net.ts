/**
 * Network options: -netdev backends (types, keys, hostfwd rules) and MAC addresses.
 * The NIC/hub wiring lives in build.ts; this module checks one backend's options.
 */
import { CliError } from './errors.js';
import type { HostFwd, NetdevInfo, NetdevType } from './machine-description.js';
import { parseBool, type QemuOpts } from './qemu-opts.js';

/** Types `-netdev help` lists (as QEMU 7.2 builds them on Linux) and whether qemu-ts maps them. */
export const NETDEV_TYPES: readonly { name: string; supported: boolean }[] = [
  { name: 'socket', supported: true }, { name: 'stream', supported: true }, { name: 'dgram', supported: true },
  { name: 'hubport', supported: true }, { name: 'tap', supported: true }, { name: 'user', supported: true },
  { name: 'l2tpv3', supported: false }, { name: 'vde', supported: false }, { name: 'bridge', supported: true },
  { name: 'vhost-user', supported: false }, { name: 'vhost-vdpa', supported: false },
];

export function netdevHelp(): string {
  return 'Available netdev backend types:\n' + NETDEV_TYPES.filter((t) => t.supported).map((t) => t.name).join('\n') + '\n';
}

const KEYS: Record<string, string[]> = {
  user: ['ipv4', 'ipv6', 'net', 'host', 'restrict', 'hostname', 'dhcpstart', 'dns', 'dnssearch', 'domainname',
    'ipv6-net', 'ipv6-prefix', 'ipv6-prefixlen', 'ipv6-host', 'ipv6-dns', 'tftp', 'tftp-server-name', 'bootfile',
    'hostfwd', 'guestfwd', 'smb', 'smbserver'],
  tap: ['ifname', 'fd', 'fds', 'script', 'downscript', 'br', 'helper', 'sndbuf', 'vnet_hdr', 'vhost', 'vhostfd',
    'vhostfds', 'vhostforce', 'queues', 'poll-us'],
  socket: ['fd', 'listen', 'connect', 'mcast', 'localaddr', 'udp'],
  stream: ['server', 'addr.type', 'addr.host', 'addr.port', 'addr.path', 'addr.abstract', 'addr.tight', 'addr.str',
    'addr.numeric', 'addr.to', 'addr.ipv4', 'addr.ipv6', 'addr.keep-alive', 'reconnect'],
  dgram: ['local.type', 'local.host', 'local.port', 'local.path', 'local.str', 'remote.type', 'remote.host',
    'remote.port', 'remote.path', 'remote.str'],
  hubport: ['hubid', 'netdev'],
  bridge: ['br', 'helper'],
};

const IPV4 = /^(25[0-5]|2[0-4]\d|1?\d?\d)(\.(25[0-5]|2[0-4]\d|1?\d?\d)){3}$/;

/** Parse one user-net forwarding rule, `[tcp|udp]:[hostaddr]:hostport-[guestaddr]:guestport`. */
export function parseHostFwd(rule: string): HostFwd {
  const bad = (why: string): never => {
    throw new CliError(`Invalid host forwarding rule '${rule}' (${why})`);
  };
  const c1 = rule.indexOf(':');
  if (c1 < 0) bad('No : separators');
  const proto = rule.slice(0, c1) || 'tcp';
  if (proto !== 'tcp' && proto !== 'udp') bad('Bad protocol name');
  const rest = rule.slice(c1 + 1);
  const c2 = rest.indexOf(':');
  if (c2 < 0) bad('No : separators');
  const hostAddr = rest.slice(0, c2);
  if (hostAddr !== '' && !IPV4.test(hostAddr)) bad('Bad host address');
  const rest2 = rest.slice(c2 + 1);
  const dash = rest2.indexOf('-');
  if (dash < 0) bad('Missing - separator');
  const hostPortS = rest2.slice(0, dash);
  if (!/^\d+$/.test(hostPortS) || Number(hostPortS) > 65535) bad('Bad host port');
  const g = rest2.slice(dash + 1);
  const c3 = g.lastIndexOf(':');
  if (c3 < 0) bad('Missing guest address');
  const guestAddr = g.slice(0, c3);
  if (guestAddr !== '' && !IPV4.test(guestAddr)) bad('Bad guest address');
  const guestPortS = g.slice(c3 + 1);
  if (!/^\d+$/.test(guestPortS) || Number(guestPortS) < 1 || Number(guestPortS) > 65535) bad('Bad guest port');
  return { protocol: proto as 'tcp' | 'udp', hostAddr, hostPort: Number(hostPortS), guestAddr, guestPort: Number(guestPortS) };
}

/**
 * Check a backend's options. `opts` holds type= and id= plus the rest; `extraKeys` are keys the
 * caller handles (legacy vlan/name of -net, model/mac of -nic).
 */
export function netdevFromOpts(opts: QemuOpts, id: string, extraKeys: readonly string[] = []): NetdevInfo {
  const type = opts.get('type') ?? '';
  const def = NETDEV_TYPES.find((t) => t.name === type);
  if (!def) throw new CliError(`Parameter 'type' does not accept value '${type}'`);
  if (!def.supported) throw new CliError(`network backend '${type}' is not supported by qemu-ts`);
  opts.check(['type', 'id', ...KEYS[type]!, ...extraKeys]);
  const hostfwd = type === 'user' ? opts.getAll('hostfwd').map(parseHostFwd) : [];
  if (type === 'user') {
    const r = opts.get('restrict');
    if (r !== undefined) parseBool(r, 'restrict');
    for (const k of ['host', 'dhcpstart', 'dns']) {
      const v = opts.get(k);
      if (v !== undefined && !IPV4.test(v)) throw new CliError(`Parameter '${k}' expects an IPv4 address`);
    }
    const net = opts.get('net');
    if (net !== undefined && !/^[\d.]+(\/(\d+|[\d.]+))?$/.test(net)) throw new CliError(`Parameter 'net' expects a network address`);
  }
  if (type === 'socket') {
    const modes = ['listen', 'connect', 'mcast', 'udp', 'fd'].filter((k) => opts.has(k));
    if (modes.length !== 1) throw new CliError('exactly one of listen=, connect=, mcast= or udp= is required');
  }
  if (type === 'hubport' && !opts.has('hubid')) throw new CliError("Parameter 'hubid' is missing");
  const options = opts.toRecord(['type', 'id', 'hostfwd', ...extraKeys]);
  return { id, type: type as NetdevType, hub: null, hostfwd, options };
}

/** Parse "52:54:00:12:34:56" (also with '-'); null if malformed. */
export function parseMac(s: string): number[] | null {
  const m = /^([0-9a-fA-F]{1,2})([:-])([0-9a-fA-F]{1,2})\2([0-9a-fA-F]{1,2})\2([0-9a-fA-F]{1,2})\2([0-9a-fA-F]{1,2})\2([0-9a-fA-F]{1,2})$/.exec(s);
  if (!m) return null;
  return [m[1], m[3], m[4], m[5], m[6], m[7]].map((x) => parseInt(x!, 16));
}

export function formatMac(b: readonly number[]): string {
  return b.map((x) => x.toString(16).padStart(2, '0')).join(':');
}
