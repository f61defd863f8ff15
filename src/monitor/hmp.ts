/**
 * The human monitor (HMP): QEMU's `(qemu)` prompt on a chardev.
 *
 * Commands live in one table (name, arguments help, description, handler), so
 * `help` and the documentation come from the same place. Output follows QEMU
 * 7.2 (checked against `qemu-system-i386 -monitor stdio` in test/monitor).
 * The machine side is the `MonitorTarget` interface; src/machine/monitor-target.ts
 * implements it for a PcMachine. Members beyond the first block are optional so
 * that small targets (tests, other front ends) can leave them out: the
 * commands that need them then say so.
 */
import { writeFileSync } from 'node:fs';
import type { CharBackend } from '../chardev/types.js';
import { evalExpr, ExprError, type RegisterLookup } from './expr.js';
import { FormatMemory, FormatError, formatPrint, memoryDump } from './memdump.js';
import { insnLength } from './insn-length.js';

/** QMP's RunState names (the ones this machine can be in). */
export type RunState = 'running' | 'paused' | 'prelaunch' | 'shutdown' | 'debug' | 'internal-error';

/** One block device as `info block` and QMP's query-block describe it. */
export interface BlockDeviceInfo {
  device: string;
  qdev: string;
  type: 'hd' | 'cdrom' | 'floppy';
  removable: boolean;
  locked: boolean;
  trayOpen: boolean;
  /** Null when no medium is inserted. */
  file: string | null;
  nodeName: string | null;
  format: string | null;
  readOnly: boolean;
  cache: string;
}

export interface MonitorTarget {
  status(): RunState | 'running' | 'paused' | 'shutdown';
  stop(): void;
  cont(): void;
  quit(): void;
  systemReset(): void;
  systemPowerdown(): void;
  registers(): string;
  blockInfo(): string[];
  screendump(file: string, format: 'ppm' | 'png'): void;
  version(): string;

  /** Structured block devices (info block in QEMU's layout, QMP query-block). */
  blockDevices?(): BlockDeviceInfo[];
  /** CPU register by monitor name ($eax, $pc, $cs...), sign-extended as QEMU's target_long; undefined if unknown. */
  register?(name: string): bigint | undefined;
  /** True when CS is a 32-bit code segment (x/i without a size decodes with it). */
  codeIs32?(): boolean;
  /** Read guest memory: linear (through paging, without side effects) or physical; null if not accessible. */
  readMemory?(addr: number, len: number, physical: boolean): Uint8Array | null;
  /** Text of `info <what>` for machine-specific subcommands (pic, irq, mtree, qtree, tlb, mem, roms, chardev, cpus, network, vnc, mice); undefined = not known. */
  info?(what: string, args: string[]): string | undefined;
  /** sendkey: a QEMU key combination such as ctrl-alt-delete; throws with QEMU's message on bad names. */
  sendKey?(keys: string, holdMs: number): void;
  mouseMove?(dx: number, dy: number, dz: number): void;
  mouseButton?(state: number): void;
  /** change <device> <file> [format]: insert a medium; throws MonitorError with QEMU's text. */
  changeMedium?(device: string, file: string, format: string | null): Promise<void> | void;
  eject?(device: string, force: boolean): void;
  vncPassword?(password: string): void;
  /** gdbserver: start on a chardev spec ('tcp::1234') or stop ('none'); returns the message to print. */
  gdbserver?(spec: string): Promise<string> | string;
  /** log: enable -d items ('none' clears); throws MonitorError for unknown items. */
  log?(items: string): void;
  logItems?(): string;
  /** commit device|all (no-op unless -snapshot overlays exist). */
  commit?(device: string): Promise<void> | void;
  bootSet?(order: string): void;
}

export class MonitorError extends Error {}

interface Command {
  name: string;
  aliases?: string[];
  args: string;
  help: string;
  run(a: string[], out: (s: string) => void, raw: string): void | Promise<void>;
}

/** info subcommands: name, arguments help, description (as QEMU lists them). */
const INFO: [string, string, string][] = [
  ['block', '[-n] [-v] [device]', 'show info of one block device or all block devices (-n: show named nodes; -v: show details)'],
  ['chardev', '', 'show the character devices'],
  ['cpus', '', 'show infos for each CPU'],
  ['irq', '', 'show the interrupts statistics (if available)'],
  ['mem', '', 'show the active virtual memory mappings'],
  ['mice', '', 'show which guest mouse is receiving events'],
  ['mtree', '[-f][-d][-o][-D]', 'show memory tree (-f: dump flat view for address spaces;-d: dump dispatch tree, valid with -f only);-o: dump region owners/parents;-D: dump disabled regions'],
  ['network', '', 'show the network state'],
  ['pic', '', 'show PIC state'],
  ['qtree', '', 'show device tree'],
  ['registers', '[-a|vcpu]', "show the cpu registers (-a: show register info for all cpus; vcpu: specific vCPU to query; show the current CPU's registers if no argument is specified)"],
  ['roms', '', 'show roms'],
  ['snapshots', '', 'show the currently saved VM snapshots'],
  ['status', '', 'show the current VM status (running|paused)'],
  ['tlb', '', 'show virtual to physical memory mappings'],
  ['version', '', 'show the version of QEMU'],
  ['vnc', '', 'show the vnc server status'],
];

function need<T>(f: T | undefined, what: string): T {
  if (f === undefined) throw new MonitorError(`${what}: not available on this machine`);
  return f;
}

/** QEMU's `info block` text for one device. */
export function formatBlockDevice(d: BlockDeviceInfo): string {
  let s: string;
  if (d.file === null) s = `${d.device}: [not inserted]\n`;
  else s = `${d.device}${d.nodeName ? ` (${d.nodeName})` : ''}: ${d.file} (${d.format ?? 'raw'}${d.readOnly ? ', read-only' : ''})\n`;
  if (d.qdev) s += `    Attached to:      ${d.qdev}\n`;
  if (d.removable) s += `    Removable device: ${d.locked ? 'locked' : 'not locked'}, tray ${d.trayOpen ? 'open' : 'closed'}\n`;
  if (d.file !== null) s += `    Cache mode:       ${d.cache}\n`;
  return s;
}

export function monitorCommands(t: MonitorTarget, fmt = new FormatMemory()): Command[] {
  const regs: RegisterLookup = (n) => need(t.register?.bind(t), 'registers')(n);
  /** Expression arguments are parsed greedily from the raw text, as QEMU does. */
  const exprArgs = (raw: string, n: number, what: string): { values: bigint[]; rest: string } => {
    const values: bigint[] = [];
    let rest = raw;
    for (let i = 0; i < n; i++) {
      if (rest.trim() === '') throw new MonitorError(`${what}: missing argument`);
      const r = evalExpr(rest, regs);
      values.push(r.value); rest = r.rest;
    }
    return { values, rest };
  };
  const splitFmt = (raw: string): { spec: string | null; rest: string } => {
    const m = /^\s*(\/\S*)\s*/.exec(raw);
    if (m === null) return { spec: null, rest: raw.trim() };
    return { spec: m[1]!, rest: raw.slice(m[0].length) };
  };
  const dump = (raw: string, out: (s: string) => void, physical: boolean, what: string) => {
    const { spec, rest } = splitFmt(raw);
    const f = fmt.parse(spec);
    if (rest.trim() === '') throw new MonitorError(`${what}: missing argument`);
    const { values, rest: tail } = exprArgs(rest, 1, what);
    if (tail !== '') throw new ExprError(`${what}: extraneous characters at the end of line`);
    const read = need(t.readMemory?.bind(t), what);
    const addr = Number(BigInt.asUintN(physical ? 53 : 32, values[0]!));
    if (f.format === 'i') {
      // No disassembler yet: one line per instruction with its bytes (lengths decoded as the CPU would).
      const code32 = f.size === 4 ? true : f.size === 2 ? false : t.codeIs32?.() ?? false;
      let a = addr;
      for (let i = 0; i < f.count; i++) {
        const bytes = read(a, 16, physical) ?? read(a, 1, physical);
        if (bytes === null) { out(`0x${a.toString(16).padStart(8, '0')}: Cannot access memory\n`); return; }
        const n = insnLength(bytes, code32) || 1;
        out(`0x${a.toString(16).padStart(8, '0')}:  ${Array.from(bytes.subarray(0, n), (x) => x.toString(16).padStart(2, '0')).join(' ')}\n`);
        a += n;
      }
      return;
    }
    out(memoryDump(addr, f, physical ? 16 : 8, (a, l) => read(a, l, physical)));
  };
  const save = (raw: string, physical: boolean, what: string) => {
    const { values, rest } = exprArgs(raw, 2, what);
    const file = rest.trim().replace(/^"(.*)"$/, '$1');
    if (file === '') throw new MonitorError(`Parameter 'filename' is missing`);
    const addr = Number(BigInt.asUintN(physical ? 53 : 32, values[0]!));
    const size = Number(BigInt.asUintN(53, values[1]!));
    if (size > 1 << 30) throw new MonitorError(`${what}: size ${size} is too large`);
    const read = need(t.readMemory?.bind(t), what);
    const buf = new Uint8Array(size);
    for (let o = 0; o < size; o += 4096) {
      const n = Math.min(4096, size - o);
      const b = read(addr + o, n, physical);
      if (b === null) throw new MonitorError(`Invalid addr 0x${(addr + o).toString(16).padStart(16, '0')}/size ${size} specified`);
      buf.set(b, o);
    }
    try { writeFileSync(file, buf); } catch (e) { throw new MonitorError(`could not open '${file}': ${(e as NodeJS.ErrnoException).code === 'ENOENT' ? 'No such file or directory' : (e as Error).message}`); }
  };

  const cmds: Command[] = [
    { name: 'boot_set', args: 'bootdevice', help: 'define new values for the boot device list', run: (a, out) => {
      if (a[0] === undefined) throw new MonitorError("Parameter 'bootdevice' is missing");
      need(t.bootSet?.bind(t), 'boot_set')(a[0]);
      out(`boot device list now set to ${a[0]}\n`);
    } },
    { name: 'change', args: 'device [-f] filename [format [read-only-mode]]', help: 'change a removable medium, optional format, use -f to force the operation', run: async (a) => {
      const w = a.filter((x) => x !== '-f');
      if (w[0] === undefined) throw new MonitorError("Parameter 'device' is missing");
      if (w[0] === 'vnc') {
        if (w[1] !== 'password') throw new MonitorError(`Parameter 'target' does not accept value '${w[1] ?? ''}'`);
        if (w[2] === undefined) { pendingPassword = true; return; }
        need(t.vncPassword?.bind(t), 'change vnc')(w[2]);
        return;
      }
      if (w[1] === undefined) throw new MonitorError("Parameter 'target' is missing");
      await need(t.changeMedium?.bind(t), 'change')(w[0], w[1], w[2] ?? null);
    } },
    { name: 'commit', args: 'device|all', help: 'commit changes to the disk images (if -snapshot is used) or backing files', run: async (a) => {
      if (a[0] === undefined) throw new MonitorError("Parameter 'device' is missing");
      await need(t.commit?.bind(t), 'commit')(a[0]);
    } },
    { name: 'cont', aliases: ['c'], args: '', help: 'resume emulation', run: () => t.cont() },
    { name: 'eject', args: '[-f] device', help: 'eject a removable medium (use -f to force it)', run: (a) => {
      const force = a.includes('-f');
      const dev = a.find((x) => x !== '-f');
      if (dev === undefined) throw new MonitorError("Parameter 'device' is missing");
      need(t.eject?.bind(t), 'eject')(dev, force);
    } },
    { name: 'gdbserver', args: '[device]', help: "start gdbserver on given device (default 'tcp::1234'), stop with 'none'", run: async (a, out) => {
      const msg = await need(t.gdbserver?.bind(t), 'gdbserver')(a[0] ?? 'tcp::1234');
      out(msg + '\n');
    } },
    { name: 'help', aliases: ['?'], args: '[cmd]', help: 'show the help', run: (a, out) => {
      const line = (c: { name: string; aliases?: string[]; args: string; help: string }) => `${[c.name, ...(c.aliases ?? [])].join('|')} ${c.args} -- ${c.help}\n`;
      if (a[0] === 'info') { for (const [n, args, h] of INFO) out(`info ${n} ${args} -- ${h}\n`); return; }
      for (const c of cmds) if (a.length === 0 || c.name === a[0] || (c.aliases ?? []).includes(a[0]!)) out(line(c));
      if (a.length === 0) for (const [n, args, h] of INFO) out(`info ${n} ${args} -- ${h}\n`);
    } },
    { name: 'info', args: '[subcommand]', help: 'show various information about the system state', run: (a, out) => {
      const what = a[0];
      if (what === undefined) { for (const [n, args, h] of INFO) out(`info ${n} ${args} -- ${h}\n`); return; }
      switch (what) {
        case 'status': {
          const s = t.status();
          out(`VM status: ${s === 'running' ? 'running' : 'paused'}${s !== 'running' && s !== 'paused' ? ` (${s})` : ''}\n`);
          return;
        }
        case 'version': out(`${t.version()}\n`); return;
        case 'registers': out(t.registers().replace(/\n?$/, '\n')); return;
        case 'block':
          if (t.blockDevices) {
            const devs = t.blockDevices().filter((d) => a[1] === undefined || a[1].startsWith('-') || d.device === a[1]);
            out(devs.map(formatBlockDevice).join('\n'));
          } else for (const l of t.blockInfo()) out(l + '\n');
          return;
        case 'snapshots': out('no block device can store vmstate for snapshot\n'); return;
        default: {
          if (!INFO.some(([n]) => n === what)) throw new MonitorError(`unknown command: 'info ${what}'`);
          const text = t.info?.(what, a.slice(1));
          if (text === undefined) throw new MonitorError(`info ${what}: not available on this machine`);
          out(text);
        }
      }
    } },
    { name: 'log', args: 'item1[,...]', help: 'activate logging of the specified items', run: (a, out) => {
      if (a[0] === undefined) throw new MonitorError("Parameter 'items' is missing");
      try { need(t.log?.bind(t), 'log')(a[0]); } catch (e) {
        if (!(e instanceof MonitorError) || t.logItems === undefined) throw e;
        out(t.logItems());
      }
    } },
    { name: 'memsave', args: 'addr size file', help: "save to disk virtual memory dump starting at 'addr' of size 'size'", run: (_a, _o, raw) => save(raw, false, 'memsave') },
    { name: 'mouse_button', args: 'state', help: 'change mouse button state (1=L, 2=M, 4=R)', run: (_a, _o, raw) => {
      const { values } = exprArgs(raw, 1, 'mouse_button');
      need(t.mouseButton?.bind(t), 'mouse_button')(Number(values[0]! & 0xffn));
    } },
    { name: 'mouse_move', args: 'dx dy [dz]', help: 'send mouse move events', run: (a) => {
      if (a.length < 2) throw new MonitorError(`Parameter '${a.length === 0 ? 'dx_str' : 'dy_str'}' is missing`);
      const n = a.map((x) => Number(evalExpr(x, regs).value));
      need(t.mouseMove?.bind(t), 'mouse_move')(n[0]!, n[1]!, n[2] ?? 0);
    } },
    { name: 'pmemsave', args: 'addr size file', help: "save to disk physical memory dump starting at 'addr' of size 'size'", run: (_a, _o, raw) => save(raw, true, 'pmemsave') },
    { name: 'print', aliases: ['p'], args: '/fmt expr', help: 'print expression value (use $reg for CPU register access)', run: (_a, out, raw) => {
      const { spec, rest } = splitFmt(raw);
      const f = fmt.parse(spec);
      if (rest.trim() === '') throw new MonitorError('print|p: missing argument');
      const r = evalExpr(rest, regs);
      if (r.rest !== '') throw new ExprError('print|p: extraneous characters at the end of line');
      out(formatPrint(r.value, f.format) + '\n');
    } },
    { name: 'quit', aliases: ['q'], args: '', help: 'quit the emulator', run: () => t.quit() },
    { name: 'screendump', args: 'filename [-f format] [device [head]]', help: "save screen from head 'head' of display device 'device'in specified format 'format' as image 'filename'.Currently only 'png' and 'ppm' formats are supported.", run: (a) => {
      let format: 'ppm' | 'png' = 'ppm';
      const rest: string[] = [];
      for (let i = 0; i < a.length; i++) {
        if (a[i] === '-f') {
          const f = a[++i];
          if (f !== 'ppm' && f !== 'png') throw new MonitorError(`Parameter 'format' does not accept value '${f ?? ''}'`);
          format = f;
        } else rest.push(a[i]!);
      }
      if (rest.length === 0) throw new MonitorError("Parameter 'filename' is missing");
      t.screendump(rest[0]!, format);
    } },
    { name: 'sendkey', args: 'keys [hold_ms]', help: "send keys to the VM (e.g. 'sendkey ctrl-alt-f1', default hold time=100 ms)", run: (a) => {
      if (a[0] === undefined) throw new MonitorError("Parameter 'keys' is missing");
      const hold = a[1] === undefined ? 100 : Number(evalExpr(a[1], regs).value);
      need(t.sendKey?.bind(t), 'sendkey')(a[0], hold);
    } },
    { name: 'stop', aliases: ['s'], args: '', help: 'stop emulation', run: () => t.stop() },
    { name: 'system_powerdown', args: '', help: 'send system power down event', run: () => t.systemPowerdown() },
    { name: 'system_reset', args: '', help: 'reset the system', run: () => t.systemReset() },
    { name: 'x', args: '/fmt addr', help: "virtual memory dump starting at 'addr'", run: (_a, out, raw) => dump(raw, out, false, 'x') },
    { name: 'xp', args: '/fmt addr', help: "physical memory dump starting at 'addr'", run: (_a, out, raw) => dump(raw, out, true, 'xp') },
  ];
  let pendingPassword = false;
  Object.defineProperty(cmds, 'pendingPassword', { get: () => pendingPassword, set: (v: boolean) => { pendingPassword = v; } });
  return cmds;
}

/** Split a command line into words; double quotes group (QEMU's monitor accepts quoted file names). */
function words(line: string): string[] {
  const out: string[] = [];
  const re = /"([^"]*)"|(\S+)/g;
  let m;
  while ((m = re.exec(line)) !== null) out.push(m[1] ?? m[2]!);
  return out;
}

export interface HumanMonitorOptions {
  /** Print the banner (QEMU does for -monitor; default true). */
  banner?: boolean;
}

/** The optional focus hook of a mux frontend (src/chardev/mux.ts). */
interface FocusAware { onFocus: ((focused: boolean) => void) | null }
const hasFocusHook = (c: CharBackend): c is CharBackend & FocusAware => 'onFocus' in c;

export class HumanMonitor {
  private line = '';
  private readonly cmds: Command[];
  private readonly enc = new TextEncoder();
  private busy: Promise<void> = Promise.resolve();
  private lastWasCr = false;
  private bannerShown = false;

  constructor(private readonly chr: CharBackend, private readonly target: MonitorTarget, opts: HumanMonitorOptions | boolean = {}) {
    const banner = typeof opts === 'boolean' ? opts : opts.banner ?? true;
    this.cmds = monitorCommands(target);
    chr.onInput((d) => this.input(d));
    if (hasFocusHook(chr)) {
      // Shared with the serial console through a mux: speak up when Ctrl-A c gives us the focus.
      chr.onFocus = (focused) => {
        if (!focused) return;
        if (!this.bannerShown && banner) { this.bannerShown = true; this.print(this.bannerText()); } else this.print('\n');
        this.print('(qemu) ');
      };
      return;
    }
    if (banner) { this.bannerShown = true; this.print(this.bannerText()); }
    this.print('(qemu) ');
  }

  private bannerText(): string {
    return `QEMU ${this.target.version().split(' ')[0]} monitor - type 'help' for more information\n`;
  }

  private print(s: string): void { this.chr.write(this.enc.encode(s.replace(/\r?\n/g, '\r\n'))); }

  private get pendingPassword(): boolean { return (this.cmds as unknown as { pendingPassword: boolean }).pendingPassword; }
  private set pendingPassword(v: boolean) { (this.cmds as unknown as { pendingPassword: boolean }).pendingPassword = v; }

  private input(d: Uint8Array): void {
    for (const b of d) {
      if (b === 0x0d || b === 0x0a) {
        if (b === 0x0a && this.lastWasCr) { this.lastWasCr = false; continue; }
        this.lastWasCr = b === 0x0d;
        this.print('\n');
        const l = this.line; this.line = '';
        if (this.pendingPassword) {
          this.pendingPassword = false;
          this.busy = this.busy.then(() => {
            try { this.target.vncPassword?.(l); } catch (e) { this.print(`${(e as Error).message}\n`); }
            this.print('(qemu) ');
          });
          continue;
        }
        this.busy = this.busy.then(() => this.execute(l)).then(() => {
          if (this.pendingPassword) this.print('Password: '); else this.print('(qemu) ');
        });
      } else if (b === 0x7f || b === 0x08) {
        this.lastWasCr = false;
        if (this.line.length > 0) { this.line = this.line.slice(0, -1); this.print('\b \b'); }
      } else if (b >= 0x20 && b < 0x7f) {
        this.lastWasCr = false;
        if (this.line.length < 4096) { this.line += String.fromCharCode(b); this.print(this.pendingPassword ? '*' : String.fromCharCode(b)); }
      }
    }
  }

  /** Resolves when every command typed so far has finished. */
  idle(): Promise<void> { return this.busy; }

  /** Run one command line and return its output (QMP's human-monitor-command). */
  async run(line: string): Promise<string> {
    let text = '';
    await this.execute(line, (s) => { text += s; });
    return text;
  }

  /** Run one command line; errors are printed, never thrown. */
  async execute(line: string, out: (s: string) => void = (s) => this.print(s)): Promise<void> {
    const trimmed = line.trim();
    const m = /^(\S+?)(\/\S*)?(?:\s+|$)/.exec(trimmed);
    if (m === null) return;
    // "x/4xw addr" and "p/x expr": the format may follow the name directly.
    const name = m[1]!;
    const raw = (m[2] ?? '') + ' ' + trimmed.slice(m[0].length);
    const c = this.cmds.find((x) => x.name === name || (x.aliases ?? []).includes(name));
    if (c === undefined) { out(`unknown command: '${name}'\n`); return; }
    try {
      await c.run(words(raw), out, raw.trim());
    } catch (e) {
      if (e instanceof MonitorError && e.message.startsWith('unknown command:')) { out(`${e.message}\n`); return; }
      if (e instanceof MonitorError || e instanceof ExprError || e instanceof FormatError) {
        out(`${e.message}\n`);
        if (e instanceof ExprError || e instanceof FormatError) out(`Try "help ${name}" for more information\n`);
        return;
      }
      out(`Error: ${(e as Error).message}\n`);
    }
  }
}
