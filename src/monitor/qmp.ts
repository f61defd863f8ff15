/**
 * QMP, QEMU's JSON machine protocol, on a chardev: the greeting, capability
 * negotiation, a table of commands with argument checking, events with
 * timestamps, errors as {"error": {"class", "desc"}} with QEMU's wording.
 * Input is parsed by a bounded streaming splitter, so garbage, huge values or
 * deep nesting produce an error reply, never a crash.
 */
import type { CharBackend } from '../chardev/types.js';
import { JsonStream } from './json-stream.js';
import type { BlockDeviceInfo, MonitorTarget } from './hmp.js';

export type QmpEventListener = (event: string, data: Record<string, unknown> | undefined) => void;

/** What QMP needs beyond the human monitor's target. */
export interface QmpTarget extends MonitorTarget {
  onEvent(cb: QmpEventListener): () => void;
  /** Chardevs for query-chardev. */
  chardevList?(): { id: string; filename: string }[];
  /** Virtual size of the medium in a block device (query-block). */
  blockSize?(device: string): number | null;
}

export interface QmpOptions {
  /** human-monitor-command: run one HMP line, return its output. */
  hmp?: (line: string) => Promise<string>;
  /** Version numbers for the greeting and query-version. */
  version?: { major: number; minor: number; micro: number; package: string };
  /** Pretty-print replies (-mon pretty=on). */
  pretty?: boolean;
}

export class QmpError extends Error {
  constructor(message: string, readonly errorClass = 'GenericError') { super(message); }
}

type Args = Record<string, unknown>;
type ArgType = 'str' | 'bool' | 'int' | 'any';
interface QmpCommand {
  args: Record<string, [ArgType, boolean]>; // name -> [type, required]
  run(a: Args): unknown;
}

const TYPE_NAME: Record<ArgType, string> = { str: 'string', bool: 'boolean', int: 'integer', any: 'value' };

function checkArgs(spec: QmpCommand['args'], a: Args): void {
  for (const k of Object.keys(a)) if (!(k in spec)) throw new QmpError(`Parameter '${k}' is unexpected`);
  for (const [k, [type, required]] of Object.entries(spec)) {
    const v = a[k];
    if (v === undefined) { if (required) throw new QmpError(`Parameter '${k}' is missing`); continue; }
    const ok = type === 'any' || (type === 'str' && typeof v === 'string') || (type === 'bool' && typeof v === 'boolean') ||
      (type === 'int' && typeof v === 'number' && Number.isInteger(v));
    if (!ok) throw new QmpError(`Invalid parameter type for '${k}', expected: ${TYPE_NAME[type]}`);
  }
}

function blockJson(d: BlockDeviceInfo, size: number | null): Record<string, unknown> {
  const o: Record<string, unknown> = {};
  if (d.type !== 'floppy') o['io-status'] = 'ok';
  o['device'] = d.device;
  o['locked'] = d.locked;
  o['removable'] = d.removable;
  if (d.file !== null) {
    o['inserted'] = {
      'iops_rd': 0, 'detect_zeroes': 'off',
      'image': { 'virtual-size': size ?? 0, 'filename': d.file, 'format': d.format ?? 'raw', 'dirty-flag': false },
      'iops_wr': 0, 'ro': d.readOnly, 'node-name': (d.nodeName ?? '').replace(/^#/, '#'), 'backing_file_depth': 0,
      'drv': d.format ?? 'raw', 'iops': 0, 'bps_wr': 0, 'write_threshold': 0, 'encrypted': false, 'bps': 0, 'bps_rd': 0,
      'cache': { 'no-flush': false, 'direct': d.cache === 'none' || d.cache === 'directsync', 'writeback': d.cache !== 'writethrough' && d.cache !== 'directsync' },
      'file': d.file,
    };
  }
  o['qdev'] = d.qdev;
  if (d.removable && d.type === 'cdrom') o['tray_open'] = d.trayOpen;
  o['type'] = 'unknown';
  return o;
}

/** Key combination for the monitor's sendkey from QMP KeyValue objects. */
function keyCombo(keys: unknown): string {
  if (!Array.isArray(keys) || keys.length === 0) throw new QmpError("Parameter 'keys' is missing");
  return keys.map((k: unknown) => {
    const o = k as { type?: unknown; data?: unknown };
    if (o === null || typeof o !== 'object') throw new QmpError("Invalid parameter type for 'keys[0]', expected: object");
    if (o.type === 'qcode' && typeof o.data === 'string') return o.data;
    if (o.type === 'number' && typeof o.data === 'number') return '0x' + o.data.toString(16);
    throw new QmpError(`Parameter 'type' does not accept value '${String(o.type)}'`);
  }).join('-');
}

/** JSON as QEMU writes it on QMP: ", " and ": " separators, one line. */
export function qmpJson(v: unknown): string {
  if (Array.isArray(v)) return `[${v.map(qmpJson).join(', ')}]`;
  if (v !== null && typeof v === 'object') {
    return `{${Object.entries(v as Record<string, unknown>).filter(([, x]) => x !== undefined).map(([k, x]) => `${JSON.stringify(k)}: ${qmpJson(x)}`).join(', ')}}`;
  }
  return JSON.stringify(v) ?? 'null';
}

/** One QMP session on one chardev (a new greeting when a new client connects). */
export class QmpServer {
  private negotiated = false;
  private readonly enc = new TextEncoder();
  private stream: JsonStream;
  private readonly commands: Record<string, QmpCommand>;
  private readonly unsubscribe: () => void;
  private pollTimer: NodeJS.Timeout | null = null;
  private queue: Promise<void> = Promise.resolve();
  private readonly version: NonNullable<QmpOptions['version']>;

  constructor(private readonly chr: CharBackend, private readonly target: QmpTarget, private readonly opts: QmpOptions = {}) {
    this.version = opts.version ?? { major: 7, minor: 2, micro: 0, package: 'qemu-ts' };
    this.commands = this.table();
    this.stream = new JsonStream((item) => {
      this.queue = this.queue.then(() => item.ok ? this.dispatch(item.value) : this.send({ error: { class: 'GenericError', desc: item.error } }));
    });
    chr.onInput((d) => this.stream.push(d));
    this.unsubscribe = target.onEvent((event, data) => { if (this.negotiated) this.event(event, data); });
    // Socket backends: greet each new client (the chardev has no connect hook; watch its state).
    const c = chr as { connected?: boolean };
    if (typeof c.connected === 'boolean') {
      let was = false;
      const check = () => {
        const now = c.connected === true;
        if (now && !was) this.greet();
        if (!now && was) { this.negotiated = false; this.stream = new JsonStream((item) => { this.queue = this.queue.then(() => item.ok ? this.dispatch(item.value) : this.send({ error: { class: 'GenericError', desc: item.error } })); }); }
        was = now;
      };
      check();
      this.pollTimer = setInterval(check, 20);
      this.pollTimer.unref();
    } else this.greet();
  }

  close(): void {
    this.unsubscribe();
    if (this.pollTimer) clearInterval(this.pollTimer);
  }

  /** Resolves when every command received so far has been answered. */
  idle(): Promise<void> { return this.queue; }

  private greet(): void {
    this.negotiated = false;
    const v = this.version;
    this.send({ QMP: { version: { qemu: { micro: v.micro, minor: v.minor, major: v.major }, package: v.package }, capabilities: ['oob'] } });
  }

  private send(obj: unknown): void {
    const text = this.opts.pretty ? JSON.stringify(obj, null, 4) : qmpJson(obj);
    this.chr.write(this.enc.encode(text + '\r\n'));
  }

  private event(name: string, data?: Record<string, unknown>): void {
    const t = Date.now();
    const ev: Record<string, unknown> = { timestamp: { seconds: Math.floor(t / 1000), microseconds: (t % 1000) * 1000 }, event: name };
    if (data !== undefined) ev['data'] = data;
    this.send(ev);
  }

  private async dispatch(msg: unknown): Promise<void> {
    if (msg === null || typeof msg !== 'object' || Array.isArray(msg)) { this.send({ error: { class: 'GenericError', desc: 'QMP input must be a JSON object' } }); return; }
    const m = msg as Record<string, unknown>;
    const id = m['id'];
    const reply = (r: Record<string, unknown>) => this.send(id === undefined ? r : { ...r, id });
    const fail = (desc: string, cls = 'GenericError') => reply({ error: { class: cls, desc } });
    for (const k of Object.keys(m)) {
      if (k !== 'execute' && k !== 'exec-oob' && k !== 'arguments' && k !== 'id' && k !== 'control') { fail(`QMP input member '${k}' is unexpected`); return; }
    }
    const name = m['execute'] ?? m['exec-oob'];
    if (name === undefined) { fail("QMP input lacks member 'execute'"); return; }
    if (typeof name !== 'string') { fail("QMP input member 'execute' must be a string"); return; }
    const args = m['arguments'] ?? {};
    if (args === null || typeof args !== 'object' || Array.isArray(args)) { fail("QMP input member 'arguments' must be an object"); return; }
    if (!this.negotiated && name !== 'qmp_capabilities') { fail("Expecting capabilities negotiation with 'qmp_capabilities'", 'CommandNotFound'); return; }
    if (name === 'qmp_capabilities') {
      if (this.negotiated) { fail('Capabilities negotiation is already complete, command ignored', 'CommandNotFound'); return; }
      try { checkArgs({ enable: ['any', false] }, args as Args); } catch (e) { fail((e as Error).message); return; }
      const en = (args as Args)['enable'];
      if (en !== undefined && (!Array.isArray(en) || en.some((x) => x !== 'oob'))) { fail(`Parameter 'enable' does not accept value '${JSON.stringify(en)}'`); return; }
      this.negotiated = true;
      reply({ return: {} });
      return;
    }
    const cmd = this.commands[name];
    if (cmd === undefined) { fail(`The command ${name} has not been found`, 'CommandNotFound'); return; }
    try {
      checkArgs(cmd.args, args as Args);
      const r = await cmd.run(args as Args);
      reply({ return: r === undefined ? {} : r });
    } catch (e) {
      if (e instanceof QmpError) fail(e.message, e.errorClass);
      else fail((e as Error).message, (e as { errorClass?: string }).errorClass ?? 'GenericError');
    }
  }

  private table(): Record<string, QmpCommand> {
    const t = this.target;
    const device = (a: Args): string => {
      const d = (a['device'] ?? a['id']) as string | undefined;
      if (d === undefined) throw new QmpError("Parameter 'device' is missing");
      return d;
    };
    const cmds: Record<string, QmpCommand> = {
      'query-status': { args: {}, run: () => {
        const s = t.status();
        return { status: s, singlestep: false, running: s === 'running' };
      } },
      'query-version': { args: {}, run: () => {
        const v = this.version;
        return { qemu: { micro: v.micro, minor: v.minor, major: v.major }, package: v.package };
      } },
      'query-commands': { args: {}, run: () => ['qmp_capabilities', ...Object.keys(cmds)].map((name) => ({ name })) },
      'query-block': { args: {}, run: () => (t.blockDevices?.() ?? []).map((d) => blockJson(d, t.blockSize?.(d.device) ?? null)) },
      'query-chardev': { args: {}, run: () => (t.chardevList?.() ?? []).map((c) => ({ 'frontend-open': true, filename: c.filename, label: c.id })) },
      'stop': { args: {}, run: () => { t.stop(); } },
      'cont': { args: {}, run: () => { t.cont(); } },
      'system_reset': { args: {}, run: () => { t.systemReset(); } },
      'system_powerdown': { args: {}, run: () => { t.systemPowerdown(); } },
      'quit': { args: {}, run: () => { t.quit(); } },
      'screendump': { args: { filename: ['str', true], device: ['str', false], head: ['int', false], format: ['str', false] }, run: (a) => {
        const f = (a['format'] as string | undefined) ?? 'ppm';
        if (f !== 'ppm' && f !== 'png') throw new QmpError(`Parameter 'format' does not accept value '${f}'`);
        t.screendump(a['filename'] as string, f);
      } },
      'send-key': { args: { keys: ['any', true], 'hold-time': ['int', false] }, run: (a) => {
        if (t.sendKey === undefined) throw new QmpError('send-key is not available');
        const combo = keyCombo(a['keys']);
        try { t.sendKey(combo, (a['hold-time'] as number | undefined) ?? 100); } catch (e) {
          throw new QmpError((e as Error).message.replace(/^invalid parameter: (.*)$/, "Parameter 'keys' does not accept value '$1'"));
        }
      } },
      'eject': { args: { device: ['str', false], id: ['str', false], force: ['bool', false] }, run: (a) => {
        if (t.eject === undefined) throw new QmpError('eject is not available');
        t.eject(device(a), (a['force'] as boolean | undefined) ?? false);
      } },
      'blockdev-change-medium': { args: { device: ['str', false], id: ['str', false], filename: ['str', true], format: ['str', false], 'read-only-mode': ['str', false], force: ['bool', false] }, run: async (a) => {
        if (t.changeMedium === undefined) throw new QmpError('blockdev-change-medium is not available');
        await t.changeMedium(device(a), a['filename'] as string, (a['format'] as string | undefined) ?? null);
      } },
      'human-monitor-command': { args: { 'command-line': ['str', true], 'cpu-index': ['int', false] }, run: async (a) => {
        if (this.opts.hmp === undefined) throw new QmpError('human-monitor-command is not available');
        const out = await this.opts.hmp(a['command-line'] as string);
        return out.replace(/\r?\n/g, '\r\n');
      } },
    };
    return cmds;
  }
}
