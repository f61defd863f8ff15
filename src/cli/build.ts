/**
 * Turns the option list (in command-line order) into a MachineDescription, applying QEMU 7.2's
 * rules: accumulation vs last-wins, the legacy shorthands, and the per-machine defaults.
 * No file-system access here (see validate.ts).
 */
import { chardevFromLegacy, chardevFromOpts } from './chardev.js';
import { attachDrive, emptyDriveFor, resolveDrives, type PendingDrive } from './drives.js';
import { resolveBoot, resolveCpu, resolveMemory, resolveSmp } from './resources.js';
import { findDevice, QEMU_ONLY_DEVICES, type DeviceModel } from './device-models.js';
import { CliError, HelpRequest, withOption } from './errors.js';
import { NetworkBuilder, type PendingNet } from './network.js';
import type {
  ChardevInfo, DeviceInfo, DisplayInfo, DriveInfo, MachineDescription,
  MonitorInfo, PortInfo,
} from './machine-description.js';
import { defaultMachine, findMachine, MACHINE_PROPS, type MachineType } from './machines.js';
import { parseMac } from './net.js';
import { findOption } from './options.js';
import { parseBool, parseInt64, parseQemuOpts, parseUint, QemuOpts, strToSize, SIZE_HINT } from './qemu-opts.js';

/** One option occurrence from argv (or a -readconfig file). */
export interface ArgItem {
  name: string;
  arg: string | null;
  /** How it reads in messages: "-m 1024X". */
  where: string;
}

export interface BuildEnv {
  warn: (msg: string) => void;
}

const TRUE_FALSE = ['on', 'yes', 'true', 'y', 'off', 'no', 'false', 'n'];
const SERIAL_IO = [0x3f8, 0x2f8, 0x3e8, 0x2e8];
const SERIAL_IRQ = [4, 3, 4, 3];
const PARALLEL_IO = [0x378, 0x278, 0x3bc];

const LOG_ITEMS = [
  ['out_asm', 'show generated host assembly code for each compiled TB'],
  ['in_asm', 'show target assembly code for each compiled TB'],
  ['op', 'show micro ops for each compiled TB'],
  ['op_opt', 'show micro ops after optimization'],
  ['op_ind', 'show micro ops before indirect lowering'],
  ['int', 'show interrupts/exceptions in short format'],
  ['exec', 'show trace before each executed TB (lots of logs)'],
  ['cpu', 'show CPU registers before entering a TB (lots of logs)'],
  ['fpu', "include FPU registers in the 'cpu' logging"],
  ['mmu', 'log MMU-related activities'],
  ['pcall', 'x86 only: show protected mode far calls/returns/exceptions'],
  ['cpu_reset', 'show CPU state before CPU resets'],
  ['unimp', 'log unimplemented functionality'],
  ['guest_errors', 'log when the guest OS does something invalid (eg accessing a\nnon-existent register)'],
  ['page', 'dump pages at beginning of user mode emulation'],
  ['nochain', 'do not chain compiled TBs so that "exec" and "cpu" show\ncomplete traces'],
  ['plugin', 'output from TCG plugins'],
  ['strace', 'log every user-mode syscall, its input, and its result'],
  ['tid', "open a separate log file per thread; filename must contain '%d'"],
] as const;

export function logHelp(): string {
  const lines = ['Log items (comma separated):'];
  for (const [n, d] of LOG_ITEMS) lines.push(`${n.padEnd(15)} ${d}`);
  lines.push('trace:PATTERN   enable trace events', '', 'Use "-d trace:help" to get a list of trace events.', '');
  return lines.join('\n');
}

export { HelpRequest } from './errors.js';

export class Builder {
  private readonly env: BuildEnv;
  readonly warnings: string[] = [];
  // Gathered state (order matters where QEMU accumulates).
  private machineOpts = new QemuOpts('');
  private machineWhere = '';
  private accels: { name: string; where: string }[] = [];
  private cpuSpec: { text: string; where: string } | null = null;
  private smpOpts: QemuOpts | null = null;
  private memOpts = new QemuOpts('');
  private memWhere = '';
  private bootOpts: QemuOpts | null = null;
  private drives: PendingDrive[] = [];
  private snapshotAll = false;
  private devices: { opts: QemuOpts; where: string; source: string }[] = [];
  private nets: PendingNet[] = [];
  private chardevs: ChardevInfo[] = [];
  private serialSpecs: { spec: string; where: string }[] = [];
  private parallelSpecs: { spec: string; where: string }[] = [];
  private monitorSpecs: { spec: string; mode: 'readline' | 'control'; pretty: boolean; where: string }[] = [];
  private monOpts: { opts: QemuOpts; where: string }[] = [];
  private debugconSpecs: { spec: string; where: string }[] = [];
  private vga: { type: string; where: string } | null = null;
  private display: DisplayInfo | null = null;
  private vnc: { display: string; options: Record<string, string> } | null = null;
  private nographic = false;
  private fullScreen = false;
  private kernel: string | null = null;
  private initrd: string | null = null;
  private append: string | null = null;
  private bios: string | null = null;
  private lDirs: string[] = [];
  private optionRoms: { file: string; bootindex: number | null; romfile: string | null }[] = [];
  private rtc = { base: 'utc', clock: 'host' as 'host' | 'rt' | 'vm', driftfix: 'none' as 'none' | 'slew' };
  private name: string | null = null;
  private uuid: string | null = null;
  private pidfile: string | null = null;
  private gdb: string | null = null;
  private loadvm: string | null = null;
  private icount: Record<string, string> | null = null;
  private keyboard: string | null = null;
  private usb = false;
  private usbDevices: string[] = [];
  private soundhw: string[] = [];
  private globals: { driver: string; property: string; value: string; where: string }[] = [];
  private logItems: string[] = [];
  private logFile: string | null = null;
  private flags = { startPaused: false, noReboot: false, noShutdown: false, daemonize: false, nodefaults: false, noUserConfig: false, win2kHack: false };
  private noAcpi = false;
  private noHpet = false;
  private noFdBootchk = false;
  private hdachs: string | null = null;

  constructor(env: BuildEnv) {
    this.env = env;
  }

  private warn(msg: string): void {
    this.warnings.push(msg);
    this.env.warn(msg);
  }

  private legacy(where: string, instead: string): void {
    this.warn(`${where}: warning: deprecated option (not in current QEMU); ${instead}`);
  }

  /** Handle one option. Throws CliError or HelpRequest. */
  apply(it: ArgItem): void {
    if (findOption(it.name)?.status === 'ignored') return;
    withOption(it.where, () => this.applyInner(it));
  }

  private opts(it: ArgItem, implied?: string): QemuOpts {
    return parseQemuOpts(it.arg ?? '', implied, (m) => this.warn(`${it.where}: warning: ${m}`));
  }

  private applyInner(it: ArgItem): void {
    const a = it.arg ?? '';
    switch (it.name) {
      case 'machine':
      case 'M': {
        const o = this.opts(it, 'type');
        if (o.help || o.get('type') === 'help' || o.get('type') === '?') throw new HelpRequest('@machine');
        // QEMU merges repeated -machine options; a later type replaces the earlier one.
        this.machineOpts.entries.push(...o.entries);
        this.machineWhere = it.where;
        const acc = o.get('accel');
        if (acc !== undefined) this.accels = acc.split(':').map((n) => ({ name: n, where: it.where }));
        return;
      }
      case 'accel': {
        const o = this.opts(it, 'accel');
        if (o.help) throw new HelpRequest('Accelerators supported in QEMU binary:\ntcg\n');
        const n = o.get('accel') ?? '';
        o.check(['accel', 'thread', 'tb-size', 'split-wx', 'one-insn-per-tb']);
        this.accels.push({ name: n, where: it.where });
        return;
      }
      case 'enable-kvm':
        this.accels.push({ name: 'kvm', where: it.where });
        return;
      case 'cpu':
        if (a === 'help' || a === '?') throw new HelpRequest('@cpu');
        this.cpuSpec = { text: a, where: it.where };
        return;
      case 'smp':
        this.smpOpts = this.opts(it, 'cpus');
        this.smpOpts.check(['cpus', 'maxcpus', 'sockets', 'dies', 'clusters', 'cores', 'threads']);
        return;
      case 'm': {
        const o = this.opts(it, 'size');
        o.check(['size', 'slots', 'maxmem']);
        this.memOpts.entries.push(...o.entries);
        this.memWhere = it.where;
        return;
      }
      case 'boot': {
        const o = this.opts(it, 'order');
        o.check(['order', 'once', 'menu', 'splash', 'splash-time', 'reboot-timeout', 'strict']);
        this.bootOpts = this.bootOpts ?? new QemuOpts('');
        this.bootOpts.entries.push(...o.entries);
        return;
      }
      case 'hda': case 'hdb': case 'hdc': case 'hdd': {
        const idx = it.name.charCodeAt(2) - 97;
        this.addLegacyDrive(it, `index=${idx},media=disk`, 'default');
        return;
      }
      case 'cdrom':
        this.addLegacyDrive(it, 'index=2,media=cdrom', 'default');
        return;
      case 'fda': case 'fdb':
        this.addLegacyDrive(it, `index=${it.name === 'fda' ? 0 : 1}`, 'floppy');
        return;
      case 'drive': {
        const o = this.opts(it);
        this.drives.push({ opts: o, where: it.where, source: '-drive' });
        return;
      }
      case 'snapshot':
        this.snapshotAll = true;
        return;
      case 'device': {
        const o = this.opts(it, 'driver');
        const drv = o.get('driver') ?? '';
        if (o.help && !drv) throw new HelpRequest('@device');
        if (drv === 'help' || drv === '?') throw new HelpRequest('@device');
        const model = this.deviceModel(drv);
        if (o.help) throw new HelpRequest('@device:' + model.name);
        this.devices.push({ opts: o, where: it.where, source: '-device' });
        return;
      }
      case 'netdev': {
        const o = this.opts(it, 'type');
        if (o.help || o.get('type') === 'help') throw new HelpRequest('@netdev');
        this.nets.push({ kind: 'netdev', opts: o, where: it.where });
        return;
      }
      case 'net': {
        const o = this.opts(it, 'type');
        if (o.help || o.get('type') === 'help') throw new HelpRequest('@netdev');
        if (o.has('vlan')) this.legacy(it.where, 'vlan= is read as the hub number (use -netdev and -device)');
        if (o.get('type') === 'dump') this.legacy(it.where, 'recorded as a packet dump of the hub (QEMU now uses -object filter-dump)');
        this.nets.push({ kind: 'net', opts: o, where: it.where });
        return;
      }
      case 'nic': {
        const o = this.opts(it, 'type');
        if (o.help) throw new HelpRequest('@netdev');
        this.nets.push({ kind: 'nic', opts: o, where: it.where });
        return;
      }
      case 'chardev': {
        const o = this.opts(it, 'backend');
        if (o.help || o.get('backend') === 'help') {
          throw new HelpRequest('Available chardev backend types: \n  ' + ['null', 'stdio', 'file', 'pipe', 'pty', 'vc', 'socket', 'udp', 'serial', 'tty', 'parallel', 'parport', 'msmouse', 'braille', 'ringbuf', 'memory'].join('\n  ') + '\n');
        }
        const cd = chardevFromOpts(o);
        if (this.chardevs.some((c) => c.id === cd.id)) throw new CliError(`Duplicate ID '${cd.id}' for chardev`);
        this.chardevs.push(cd);
        return;
      }
      case 'serial':
        this.serialSpecs.push({ spec: a, where: it.where });
        return;
      case 'parallel':
        this.parallelSpecs.push({ spec: a, where: it.where });
        if (this.parallelSpecs.length > PARALLEL_IO.length) throw new CliError('too many parallel ports');
        return;
      case 'monitor':
        this.monitorSpecs.push({ spec: a, mode: 'readline', pretty: false, where: it.where });
        return;
      case 'qmp':
      case 'qmp-pretty':
        if (a === 'none') throw new CliError("'none' is not a valid char driver");
        this.monitorSpecs.push({ spec: a, mode: 'control', pretty: it.name === 'qmp-pretty', where: it.where });
        return;
      case 'mon': {
        const o = this.opts(it, 'chardev');
        o.check(['chardev', 'mode', 'pretty', 'id']);
        const mode = o.get('mode') ?? 'readline';
        if (mode !== 'readline' && mode !== 'control') throw new CliError(`Parameter 'mode' does not accept value '${mode}'`);
        if (!o.get('chardev')) throw new CliError("Parameter 'chardev' is missing");
        o.getBool('pretty', false);
        this.monOpts.push({ opts: o, where: it.where });
        return;
      }
      case 'debugcon':
        if (a === 'none') throw new CliError("'none' is not a valid char driver");
        this.debugconSpecs.push({ spec: a, where: it.where });
        return;
      case 'vga':
        if (a === 'help' || a === '?') throw new HelpRequest('@vga');
        this.setVga(a, it.where);
        return;
      case 'std-vga':
        this.legacy(it.where, 'use -vga std');
        this.setVga('std', it.where);
        return;
      case 'cirrusvga':
        this.legacy(it.where, 'use -vga cirrus');
        this.setVga('cirrus', it.where);
        return;
      case 'display':
        this.setDisplay(it);
        return;
      case 'nographic':
        this.nographic = true;
        return;
      case 'curses':
        this.display = { type: 'curses', vnc: null, nographic: false, fullScreen: false, options: {} };
        return;
      case 'sdl':
        this.display = { type: 'sdl', vnc: null, nographic: false, fullScreen: false, options: {} };
        return;
      case 'full-screen':
        this.fullScreen = true;
        return;
      case 'vnc':
        this.vnc = this.parseVnc(a);
        return;
      case 'k':
        this.keyboard = a;
        return;
      case 'kernel': this.kernel = a; return;
      case 'initrd': this.initrd = a; return;
      case 'append': this.append = a; return;
      case 'bios': this.bios = a; return;
      case 'L':
        if (a === 'help') throw new HelpRequest('@L');
        this.lDirs.push(a);
        return;
      case 'option-rom': {
        const o = this.opts(it, 'romfile');
        o.check(['romfile', 'bootindex']);
        const bi = o.get('bootindex');
        if (!o.get('romfile')) throw new CliError('Option ROM file is not specified');
        this.optionRoms.push({ file: o.get('romfile')!, bootindex: bi === undefined ? null : parseInt64(bi, 'bootindex'), romfile: null });
        return;
      }
      case 'rtc':
        this.parseRtc(this.opts(it, 'base'));
        return;
      case 'localtime':
        this.legacy(it.where, 'use -rtc base=localtime');
        this.rtc.base = 'localtime';
        return;
      case 'tdf':
      case 'rtc-td-hack':
        this.legacy(it.where, 'use -rtc driftfix=slew');
        this.rtc.driftfix = 'slew';
        return;
      case 'name': {
        const o = this.opts(it, 'guest');
        o.check(['guest', 'process', 'debug-threads']);
        o.getBool('debug-threads', false);
        this.name = o.get('guest') ?? null;
        return;
      }
      case 'uuid':
        if (!/^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$/.test(a)) {
          throw new CliError('failed to parse UUID string: wrong format');
        }
        this.uuid = a.toLowerCase();
        return;
      case 'pidfile': this.pidfile = a; return;
      case 'daemonize': this.flags.daemonize = true; return;
      case 'no-reboot': this.flags.noReboot = true; return;
      case 'no-shutdown': this.flags.noShutdown = true; return;
      case 'action': {
        const o = this.opts(it);
        o.check(['reboot', 'shutdown', 'panic', 'watchdog']);
        const r = o.get('reboot');
        if (r !== undefined) {
          if (r !== 'reset' && r !== 'shutdown') throw new CliError(`Parameter 'reboot' does not accept value '${r}'`);
          this.flags.noReboot = r === 'shutdown';
        }
        const s = o.get('shutdown');
        if (s !== undefined) {
          if (s !== 'poweroff' && s !== 'pause') throw new CliError(`Parameter 'shutdown' does not accept value '${s}'`);
          this.flags.noShutdown = s === 'pause';
        }
        return;
      }
      case 'S': this.flags.startPaused = true; return;
      case 's': this.gdb = 'tcp::1234'; return;
      case 'gdb':
        if (a === 'none') this.gdb = null;
        else if (/^\d+$/.test(a)) {
          if (Number(a) === 0 || Number(a) > 65535) throw new CliError(`'${a}' is not a valid char driver`);
          this.gdb = `tcp::${a}`;
        } else {
          chardevFromLegacy('gdb', a);
          this.gdb = a;
        }
        return;
      case 'd': {
        const items = a.split(',');
        if (items.includes('help') || items.includes('?')) throw new HelpRequest(logHelp(), 1); // QEMU 7.2 exits 1 here too
        for (const x of items) {
          if (!LOG_ITEMS.some(([n]) => n === x) && !x.startsWith('trace:')) throw new HelpRequest(logHelp(), 1);
        }
        for (const x of items) if (!this.logItems.includes(x)) this.logItems.push(x);
        return;
      }
      case 'D': this.logFile = a; return;
      case 'nodefaults': this.flags.nodefaults = true; return;
      case 'no-user-config': this.flags.noUserConfig = true; return;
      case 'nodefconfig':
        this.legacy(it.where, 'use -no-user-config');
        this.flags.noUserConfig = true;
        return;
      case 'no-acpi': this.noAcpi = true; return;
      case 'no-hpet': this.noHpet = true; return;
      case 'no-fd-bootchk': this.noFdBootchk = true; return;
      case 'usb': this.usb = true; return;
      case 'usbdevice':
        this.usb = true;
        if (!/^(tablet|mouse|keyboard|braille|wacom-tablet|disk:.+|host:.+|serial:.+|net:.+)$/.test(a)) {
          throw new CliError(`could not add USB device '${a}'`);
        }
        this.usbDevices.push(a);
        return;
      case 'loadvm': this.loadvm = a; return;
      case 'icount': {
        const o = this.opts(it, 'shift');
        o.check(['shift', 'align', 'sleep', 'rr', 'rrfile', 'rrsnapshot']);
        const sh = o.get('shift');
        if (sh !== undefined && sh !== 'auto' && parseUint(sh) === null) throw new CliError("Parameter 'shift' expects a number");
        this.icount = o.toRecord();
        return;
      }
      case 'global': {
        if (!a.includes('=')) throw new CliError(`Invalid parameter '${a}'`);
        const o = this.opts(it);
        let driver: string, property: string, value: string;
        if (o.has('driver') || o.has('property')) {
          o.check(['driver', 'property', 'value']);
          driver = o.get('driver') ?? '';
          property = o.get('property') ?? '';
          value = o.get('value') ?? '';
        } else {
          const e = o.entries[0];
          const dot = e ? e.key.indexOf('.') : -1;
          if (!e || dot <= 0 || o.entries.length !== 1) throw new CliError(`Invalid parameter '${e ? e.key : a}'`);
          driver = e.key.slice(0, dot);
          property = e.key.slice(dot + 1);
          value = e.value;
        }
        this.globals.push({ driver, property, value, where: it.where });
        return;
      }
      case 'soundhw': {
        this.legacy(it.where, 'use -device sb16 / -device adlib');
        if (a === 'help' || a === '?') throw new HelpRequest('Valid sound card names (comma separated):\nadlib       Yamaha YM3812 (OPL2)\nsb16        Creative Sound Blaster 16\n\n-soundhw all will enable all of the above\n');
        const list = a === 'all' ? ['sb16', 'adlib'] : a.split(',');
        for (const c of list) {
          if (c !== 'sb16' && c !== 'adlib') throw new CliError(`Unknown sound card name (too big to show)`.replace('(too big to show)', `'${c}'`));
          this.soundhw.push(c);
        }
        return;
      }
      case 'win2k-hack':
        this.legacy(it.where, 'accepted; it has no effect (IDE writes are always complete)');
        this.flags.win2kHack = true;
        return;
      case 'kernel-kqemu': case 'enable-kqemu': case 'no-kqemu':
        this.legacy(it.where, 'kqemu no longer exists; ignored');
        return;
      case 'no-kvm': case 'no-kvm-irqchip': case 'no-kvm-pit': case 'enable-nesting':
        this.legacy(it.where, 'qemu-ts never uses KVM; ignored');
        return;
      case 'no-frame': case 'show-cursor': case 'clock': case 'realtime': case 'tb-size':
        this.legacy(it.where, 'ignored');
        return;
      case 'hdachs':
        this.legacy(it.where, 'use -device ide-hd,cyls=,heads=,secs=');
        if (!/^\d+,\d+,\d+(,(none|lba|auto))?$/.test(a)) throw new CliError('invalid physical CHS format');
        this.hdachs = a;
        return;
      case 'echr':
        // QEMU takes any text here (a number or a character); nothing for the description.
        return;
      case 'writeconfig':
        // Handled by the caller (needs the parsed option groups); nothing to map here.
        return;
      default:
        throw new CliError('option not handled');
    }
  }

  private addLegacyDrive(it: ArgItem, extra: string, iface: string): void {
    const o = parseQemuOpts(`if=${iface},${extra}`);
    o.entries.push({ key: 'file', value: it.arg ?? '' });
    this.drives.push({ opts: o, where: it.where, source: '-' + it.name });
  }

  private deviceModel(drv: string): DeviceModel {
    const m = findDevice(drv);
    if (m) return m;
    if (QEMU_ONLY_DEVICES.includes(drv)) throw new CliError(`device '${drv}' is not supported by qemu-ts yet`);
    throw new CliError(`'${drv}' is not a valid device model name`);
  }

  private setVga(t: string, where: string): void {
    const known = ['std', 'cirrus', 'none', 'vmware', 'qxl', 'virtio'];
    if (!known.includes(t)) throw CliError.bare(`unknown vga type: ${t}`);
    if (t === 'vmware' || t === 'qxl' || t === 'virtio') throw new CliError(`vga type '${t}' is not supported by qemu-ts (use std or cirrus)`);
    this.vga = { type: t, where };
  }

  private parseVnc(spec: string): { display: string; options: Record<string, string> } {
    const comma = spec.indexOf(',');
    const disp = comma < 0 ? spec : spec.slice(0, comma);
    const options = comma < 0 ? {} : parseQemuOpts(spec.slice(comma + 1)).toRecord();
    if (disp !== 'none' && !disp.includes(':')) throw new CliError('no vnc port specified');
    if (disp.includes(':') && !disp.startsWith('unix:')) {
      const port = disp.slice(disp.lastIndexOf(':') + 1);
      if (!/^\d+$/.test(port)) throw new CliError(`can't convert to a number: ${port}`);
    }
    return { display: disp, options };
  }

  private setDisplay(it: ArgItem): void {
    const o = this.opts(it, 'type');
    if (o.help || o.get('type') === 'help') throw new HelpRequest('@display');
    const t = o.get('type') ?? '';
    const rest = o.toRecord(['type']);
    if (o.entries[0]?.key === 'vnc') {
      // `-display vnc=:1` is the same as `-vnc :1`.
      this.vnc = this.parseVnc(o.entries[0].value);
      this.display = { type: 'vnc', vnc: null, nographic: false, fullScreen: false, options: o.toRecord(['vnc']) };
      return;
    }
    const types = ['none', 'sdl', 'gtk', 'curses', 'egl-headless', 'dbus', 'spice-app', 'cocoa'];
    if (!types.includes(t)) throw new CliError(`Parameter 'type' does not accept value '${t}'`);
    if (t === 'dbus' || t === 'spice-app' || t === 'cocoa' || t === 'egl-headless') throw new CliError(`display '${t}' is not supported by qemu-ts`);
    const fs = o.get('full-screen');
    this.display = { type: t as DisplayInfo['type'], vnc: null, nographic: false, fullScreen: fs !== undefined && parseBool(fs, 'full-screen'), options: rest };
  }

  private parseRtc(o: QemuOpts): void {
    o.check(['base', 'clock', 'driftfix']);
    const base = o.get('base');
    if (base !== undefined) {
      if (base === 'utc' || base === 'localtime') this.rtc.base = base;
      else if (/^\d{4}-\d{2}-\d{2}(T\d{2}:\d{2}:\d{2})?$/.test(base) && !Number.isNaN(Date.parse(base.length === 10 ? base + 'T00:00:00Z' : base + 'Z'))) this.rtc.base = base;
      else throw CliError.bare('invalid datetime format', "valid formats: '2006-06-17T16:01:21' or '2006-06-17'");
    }
    const clock = o.get('clock');
    if (clock !== undefined) {
      if (clock !== 'host' && clock !== 'rt' && clock !== 'vm') throw CliError.bare(`invalid option value '${clock}'`);
      this.rtc.clock = clock;
    }
    const df = o.get('driftfix');
    if (df !== undefined) {
      if (df !== 'none' && df !== 'slew') throw CliError.bare(`invalid option value '${df}'`);
      this.rtc.driftfix = df;
    }
  }

  // ---------------------------------------------------------------------------------------------
  // Finalisation

  finish(): MachineDescription {
    const mt = this.resolveMachine();
    const pci = mt.kind === 'pc';
    this.resolveAccel();
    const cpu = resolveCpu(this.cpuSpec, mt.kind === 'isapc' ? '486' : 'qemu64');
    const smp = resolveSmp(this.smpOpts, mt, (m) => this.warn(m));
    const memory = resolveMemory(this.memOpts, this.memWhere);
    // Memory hotplug (slots/maxmem) arrived with pc-i440fx-2.1; isapc never had it.
    if ((memory.slots > 0 || memory.maxBytes > memory.sizeBytes) && (mt.kind === 'isapc' || /^pc-i440fx-(1\.|2\.0$)/.test(mt.name))) {
      throw CliError.bare(`"-memory 'slots|maxmem'" is not supported by: ${mt.name}`);
    }
    const boot = resolveBoot(this.bootOpts);

    const nd = this.flags.nodefaults;
    const chardevs = [...this.chardevs];
    const findChardev = (id: string) => chardevs.find((c) => c.id === id);
    const addLegacyChardev = (id: string, spec: string, where: string, what: string): { id: string; monitor: boolean } | null => {
      const r = withOption(where, () => {
        try {
          return chardevFromLegacy(id, spec);
        } catch (e) {
          if (e instanceof CliError) {
            throw new CliError(e.message, null, `${'qemu-ts-system-x86_64'}: ${where}: could not connect ${what} device to character backend '${spec}'`);
          }
          throw e;
        }
      });
      if (!r) return null;
      if (r.dev.options['@ref'] !== undefined) {
        const ref = r.dev.options['@ref']!;
        if (!findChardev(ref)) throw new CliError(`chardev '${ref}' not found`, where);
        return { id: ref, monitor: r.monitor };
      }
      if (r.dev.backend === 'stdio' && chardevs.some((c) => c.backend === 'stdio')) {
        throw new CliError('cannot use stdio by multiple character devices', where,
          `qemu-ts-system-x86_64: ${where}: could not connect ${what} device to character backend '${spec}'`);
      }
      chardevs.push(r.dev);
      return { id, monitor: r.monitor };
    };

    // Serial / parallel / monitor defaults (vl.c rules).
    let defaultSerial = !nd && this.serialSpecs.length === 0;
    const defaultParallel = !nd && this.parallelSpecs.length === 0;
    let defaultMonitor = !nd && this.monitorSpecs.length === 0 && this.monOpts.length === 0 &&
      ![...this.serialSpecs, ...this.parallelSpecs].some((x) => x.spec.startsWith('mon:'));
    if (this.nographic && this.flags.daemonize) throw CliError.bare('-nographic cannot be used with -daemonize');
    if (mt.kind === 'isapc' && this.usbDevices.length > 0) {
      const u = this.usbDevices[0]!;
      throw new CliError(`Error: no usb bus to attach usbdevice ${u}, please try -machine usb=on and check that the machine model supports USB`,
        `-usbdevice ${u}`, `qemu-ts-system-x86_64: -usbdevice ${u}: could not add USB device '${u}'`);
    }
    const serialSpecs = [...this.serialSpecs];
    const parallelSpecs = [...this.parallelSpecs];
    const monitorSpecs = [...this.monitorSpecs];
    if (this.nographic) {
      if (defaultParallel) parallelSpecs.push({ spec: 'null', where: '-nographic' });
      if (defaultSerial && defaultMonitor) {
        serialSpecs.push({ spec: 'mon:stdio', where: '-nographic' });
        defaultSerial = false;
        defaultMonitor = false;
      } else {
        if (defaultSerial) serialSpecs.push({ spec: 'stdio', where: '-nographic' });
        if (defaultMonitor) monitorSpecs.push({ spec: 'stdio', mode: 'readline', pretty: false, where: '-nographic' });
      }
    } else {
      if (defaultSerial) serialSpecs.push({ spec: 'vc:80Cx24C', where: 'default' });
      if (defaultParallel) parallelSpecs.push({ spec: 'vc:80Cx24C', where: 'default' });
      if (defaultMonitor) monitorSpecs.push({ spec: 'vc:80Cx24C', mode: 'readline', pretty: false, where: 'default' });
    }

    const monitor: MonitorInfo[] = [];
    const qmp: MonitorInfo[] = [];
    // QEMU creates the monitors' backends before the serial and parallel ones.
    monitorSpecs.forEach((m, i) => {
      const id = i === 0 ? 'compat_monitor0' : `compat_monitor${i}`;
      const r = addLegacyChardev(id, m.spec, m.where, 'monitor');
      if (!r) return;
      (m.mode === 'control' ? qmp : monitor).push({ chardev: r.id, mode: m.mode, pretty: m.pretty });
    });
    const serial: PortInfo[] = [];
    serialSpecs.forEach((s, i) => {
      const r = addLegacyChardev(`serial${i}`, s.spec, s.where, 'serial');
      if (!r) return;
      if (r.monitor) monitor.push({ chardev: r.id, mode: 'readline', pretty: false });
      if (i < SERIAL_IO.length) serial.push({ chardev: r.id, index: i, iobase: SERIAL_IO[i]!, irq: SERIAL_IRQ[i]! });
      else this.warn(`${s.where}: only ${SERIAL_IO.length} ISA serial ports exist; this one is not connected`);
    });
    const parallel: PortInfo[] = [];
    parallelSpecs.forEach((s, i) => {
      const r = addLegacyChardev(`parallel${i}`, s.spec, s.where, 'parallel');
      if (r) parallel.push({ chardev: r.id, index: i, iobase: PARALLEL_IO[i]!, irq: 7 });
    });
    for (const m of this.monOpts) {
      const id = m.opts.get('chardev')!;
      if (!findChardev(id)) throw new CliError(`chardev "${id}" not found`, m.where);
      const mode = (m.opts.get('mode') ?? 'readline') as 'readline' | 'control';
      (mode === 'control' ? qmp : monitor).push({ chardev: id, mode, pretty: m.opts.getBool('pretty', false) });
    }

    // Drives.
    let drives: DriveInfo[];
    try {
      drives = resolveDrives(this.drives, mt, { snapshotAll: this.snapshotAll, nodefaults: nd, hdachs: this.hdachs });
    } catch (e) {
      throw e;
    }

    // Devices.
    const devices: DeviceInfo[] = [];
    this.debugconSpecs.forEach((d, i) => {
      const r = addLegacyChardev(i === 0 ? 'debugcon' : `debugcon${i}`, d.spec, d.where, 'debugcon');
      if (r) devices.push(this.isaDevice('isa-debugcon', { chardev: r.id }, null, r.id, 'debugcon'));
    });
    const net = new NetworkBuilder(mt);
    net.apply(this.nets, nd);
    const { nics, netdevs, netDumps } = net;

    // -device list.
    let hasDisplayDevice = false;
    const usedDrives = new Set<string>();
    const ideTaken = new Set(drives.filter((d) => d.interface === 'ide').map((d) => `${d.bus}:${d.unit}`));
    let serialIndex = serial.length;
    let parallelIndex = parallel.length;
    for (const d of this.devices) {
      withOption(d.where, () => {
        const o = d.opts;
        const model = this.deviceModel(o.get('driver')!);
        const props: Record<string, string> = {};
        for (const e of o.entries) {
          if (e.key === 'driver' || e.key === 'id' || e.key === 'bus') continue;
          const t = model.props[e.key];
          if (t === undefined) throw new CliError(`Property '${model.name}.${e.key}' not found`);
          this.checkProp(model, e.key, e.value, t);
          props[e.key] = e.value;
        }
        if (model.bus === 'PCI' && !pci) throw new CliError(`No 'PCI' bus found for device '${model.name}'`);
        const id = o.get('id') ?? null;
        const cdev = props.chardev ?? null;
        if (cdev !== null && !findChardev(cdev)) throw new CliError(`Property '${model.name}.chardev' can't find value '${cdev}'`);
        const ndev = props.netdev ?? null;
        if (ndev !== null && !netdevs.some((x) => x.id === ndev)) throw new CliError(`Property '${model.name}.netdev' can't find value '${ndev}'`);
        const drv = props.drive ?? null;
        if (model.category === 'Display') hasDisplayDevice = true;
        if (drv === null && model.name === 'ide-hd') throw new CliError('No drive specified');
        if (model.category === 'Storage' && model.bus !== 'ISA' && model.bus !== 'PCI') {
          // ide-hd, ide-cd, floppy: described on their drive (drives[].device, bus, unit, deviceProps).
          const driveId = drv ?? emptyDriveFor(model, id, drives, d.where);
          attachDrive(model, driveId, props, o.get('bus') ?? null, drives, usedDrives, ideTaken, id);
          return;
        }
        if (model.category === 'Network') {
          net.addNic(model.name, props.mac, ndev, null, id, '-device', props, d.where);
          return;
        }
        const info = this.isaDevice(model.name, props, id, cdev, '-device');
        info.bus = o.get('bus') ?? null;
        info.drive = drv;
        if (model.name === 'isa-serial') {
          const idx = props.index !== undefined ? parseUint(props.index)! : serialIndex;
          serialIndex = Math.max(serialIndex, idx + 1);
          info.iobase = props.iobase !== undefined ? parseUint(props.iobase) : SERIAL_IO[idx] ?? null;
          info.irq = props.irq !== undefined ? parseUint(props.irq) : SERIAL_IRQ[idx] ?? null;
          if (info.iobase === null) throw new CliError(`Max. supported number of ISA serial ports is ${SERIAL_IO.length}.`);
        }
        if (model.name === 'isa-parallel') {
          const idx = props.index !== undefined ? parseUint(props.index)! : parallelIndex;
          parallelIndex = Math.max(parallelIndex, idx + 1);
          info.iobase = props.iobase !== undefined ? parseUint(props.iobase) : PARALLEL_IO[idx] ?? null;
          info.irq = props.irq !== undefined ? parseUint(props.irq) : 7;
          if (info.iobase === null) throw new CliError(`Max. supported number of parallel ports is ${PARALLEL_IO.length}.`);
        }
        devices.push(info);
      });
    }
    for (const s of this.soundhw) devices.push(this.isaDevice(s, {}, null, null, '-soundhw'));

    net.peerWarnings((m) => this.warn(m));

    // VGA.
    let vgaType = this.vga?.type ?? (nd || hasDisplayDevice ? 'none' : mt.defaultVga);
    const vgaDevice = vgaType === 'none' ? null : pci ? (vgaType === 'std' ? 'VGA' : 'cirrus-vga') : vgaType === 'std' ? 'isa-vga' : 'isa-cirrus-vga';
    const vgaRomOf = (dev: string | null): string | null =>
      dev === 'VGA' ? 'vgabios-stdvga.bin' : dev === 'isa-vga' ? 'vgabios.bin' : dev === 'cirrus-vga' || dev === 'isa-cirrus-vga' ? 'vgabios-cirrus.bin' : null;
    let vgaBios = vgaRomOf(vgaDevice);
    if (vgaDevice === null) {
      const dd = devices.find((d) => findDevice(d.driver)?.category === 'Display');
      if (dd) vgaBios = vgaRomOf(dd.driver);
      vgaType = this.vga?.type ?? 'none';
    }

    // Display.
    let display: DisplayInfo;
    if (this.nographic) display = { type: 'none', vnc: this.vnc, nographic: true, fullScreen: false, options: {} };
    else if (this.display) display = { ...this.display, vnc: this.vnc ?? this.display.vnc, fullScreen: this.display.fullScreen || this.fullScreen };
    else if (this.vnc) display = { type: 'vnc', vnc: this.vnc, nographic: false, fullScreen: false, options: {} };
    else display = { type: 'default', vnc: null, nographic: false, fullScreen: this.fullScreen, options: {} };
    if (display.type === 'vnc' && !display.vnc) display.vnc = this.vnc;

    if (this.initrd !== null && this.kernel === null) throw CliError.bare('-initrd only allowed with -kernel option');
    if (this.append !== null && this.kernel === null) throw CliError.bare('-append only allowed with -kernel option');

    // Globals: known driver → property must exist.
    for (const g of this.globals) {
      const m = findDevice(g.driver);
      if (m && m.props[g.property] === undefined && !['iobase', 'irq'].includes(g.property)) {
        throw CliError.bare(`can't apply global ${g.driver}.${g.property}=${g.value}: Property '${g.driver}.${g.property}' not found`);
      }
      if (!m) this.warn(`warning: global ${g.driver}.${g.property} has invalid class name`);
    }

    const mprops = this.machineOpts.toRecord(['type', 'accel']);
    const acpiProp = mprops.acpi;
    const hpetProp = mprops.hpet;
    return {
      schemaVersion: 1,
      machine: {
        type: mt.kind,
        versionedType: mt.aliasOf ?? mt.name,
        requested: mt.name,
        accel: 'tcg',
        acpi: pci && !this.noAcpi && acpiProp !== 'off',
        hpet: pci && !this.noHpet && hpetProp !== 'off' && hpetProp !== 'false',
        pci,
        ideController: pci ? 'piix3-ide' : 'isa-ide',
        props: mprops,
      },
      cpu,
      smp,
      memory,
      boot,
      firmware: {
        searchPath: [],
        bios: this.bios ?? mt.bios,
        biosPath: null,
        vgaBios,
        vgaBiosPath: null,
        optionRoms: this.optionRoms.map((r) => ({ ...r, path: null })),
      },
      drives,
      nics,
      netdevs,
      netDumps,
      chardevs,
      serial,
      parallel,
      monitor,
      qmp,
      devices,
      vga: { type: vgaType, device: vgaDevice },
      display,
      kernel: this.kernel,
      initrd: this.initrd,
      append: this.append,
      rtc: { ...this.rtc },
      name: this.name,
      uuid: this.uuid,
      pidfile: this.pidfile,
      gdb: this.gdb,
      loadvm: this.loadvm,
      icount: this.icount,
      keyboardLayout: this.keyboard,
      usb: { enabled: this.usb || mprops.usb === 'on' || mprops.usb === 'yes' || mprops.usb === 'true', devices: this.usbDevices },
      audio: { soundhw: this.soundhw },
      globals: this.globals.map(({ driver, property, value }) => ({ driver, property, value })),
      logging: { items: this.logItems, file: this.logFile },
      flags: { ...this.flags, snapshot: this.snapshotAll, noFdBootchk: this.noFdBootchk },
      warnings: this.warnings,
    };
  }

  /** LDirs for the firmware search (used by validate). */
  get firmwareDirs(): readonly string[] {
    return this.lDirs;
  }

  private isaDevice(driver: string, props: Record<string, string>, id: string | null, chardev: string | null, source: string): DeviceInfo {
    const m = findDevice(driver);
    const num = (k: string): number | null => (props[k] !== undefined ? parseUint(props[k]!) : m?.defaults?.[k] ?? null);
    return {
      driver, id, bus: null, props, iobase: num('iobase'), iosize: num('iosize'), irq: num('irq'),
      chardev, drive: props.drive ?? null, netdev: props.netdev ?? null, source,
    };
  }

  private checkProp(model: DeviceModel, key: string, value: string, t: string): void {
    switch (t) {
      case 'uint':
        if (parseUint(value) === null) throw new CliError(`Parameter '${key}' expects integer`);
        break;
      case 'int':
        parseInt64(value, key);
        break;
      case 'bool':
        parseBool(value, key);
        break;
      case 'onoffauto':
        if (!['on', 'off', 'auto'].includes(value)) throw new CliError(`Parameter '${key}' does not accept value '${value}'`);
        break;
      case 'mac':
        if (!parseMac(value)) throw new CliError(`Property '${model.name}.${key}' doesn't take value '${value}'`);
        break;
      case 'pciaddr':
        if (!/^(0[xX])?[0-9a-fA-F]{1,2}(\.[0-7])?$/.test(value)) throw new CliError(`Property '${model.name}.${key}' doesn't take value '${value}'`);
        break;
    }
  }

  private resolveMachine(): MachineType {
    const name = this.machineOpts.get('type');
    const r: ReturnType<typeof findMachine> = name === undefined || name === '' ? { ok: true, type: defaultMachine() } : findMachine(name);
    if (!r.ok) {
      if (r.notYet) {
        throw CliError.bare(`machine type '${name!}' is not supported by qemu-ts yet`, 'Use -machine help to list supported machines (pc, isapc)');
      }
      throw CliError.bare('unsupported machine type', 'Use -machine help to list supported machines');
    }
    if (r.type.deprecated) this.warn(`warning: Machine type '${r.type.name}' is deprecated: old and unattended - use a newer version instead`);
    // Machine properties.
    for (const e of this.machineOpts.entries) {
      if (e.key === 'type') continue;
      const kind = MACHINE_PROPS[e.key];
      if (!kind) throw CliError.bare(`Property '${r.type.aliasOf ?? r.type.name}-machine.${e.key}' not found`);
      if (kind === 'bool' && ![...TRUE_FALSE].includes(e.value)) throw CliError.bare(`Parameter '${e.key}' expects 'on' or 'off'`);
      if (kind === 'onoffauto' && !['on', 'off', 'auto'].includes(e.value)) throw CliError.bare(`Parameter '${e.key}' does not accept value '${e.value}'`);
      if (kind === 'size' && strToSize(e.value) === null) throw CliError.bare(`Parameter '${e.key}' expects a non-negative number below 2^64`, SIZE_HINT);
    }
    return r.type;
  }

  private resolveAccel(): void {
    if (this.accels.length === 0) return;
    const known = ['tcg', 'kvm', 'xen', 'hax', 'whpx', 'hvf', 'nvmm', 'qtest'];
    for (const a of this.accels) {
      if (!known.includes(a.name)) throw new CliError(`invalid accelerator ${a.name}`, a.where);
    }
    const firstTcg = this.accels.findIndex((a) => a.name === 'tcg');
    if (firstTcg < 0) {
      const a = this.accels[0]!;
      if (a.name === 'kvm') {
        throw CliError.bare('failed to initialize kvm: qemu-ts has no KVM support',
          `qemu-ts emulates the CPU itself (like QEMU's TCG). Remove ${a.where === '-enable-kvm' ? '-enable-kvm' : 'the kvm accelerator'} or use -accel tcg.`);
      }
      throw CliError.bare(`accelerator '${a.name}' is not available in qemu-ts (only tcg)`);
    }
    for (const a of this.accels.slice(0, firstTcg)) this.warn(`warning: accelerator ${a.name} is not available in qemu-ts; falling back to tcg`);
  }

}
