/**
 * The monitor's view of a PcMachine: run state, registers, guest memory
 * (through paging without side effects), block devices and removable media,
 * input injection, `info` listings and QMP events. One object serves the
 * human monitor (src/monitor/hmp.ts), QMP (src/monitor/qmp.ts) and the gdb
 * stub (src/debug/gdbstub.ts), so all of them agree on the run state.
 */
import { openImage, closeChain } from '../block/index.js';
import type { BlockNode } from '../block/types.js';
import type { DriveInfo } from '../cli/machine-description.js';
import { parseKeyCombo } from '../devices/isa/keycodes.js';
import { VgaRenderer } from '../devices/vga/render.js';
import { screendump } from '../display/screendump.js';
import { readLinear, listMappings } from '../debug/page-walk.js';
import { GdbStub } from '../debug/gdbstub.js';
import { MonitorError, type BlockDeviceInfo, type MonitorTarget, type RunState } from '../monitor/hmp.js';
import type { StopReason } from './main-loop.js';
import type { PcMachine } from './pc.js';

export type QmpEventData = Record<string, unknown>;
export type EventListener = (event: string, data: QmpEventData | undefined) => void;

export interface PcMonitorOptions {
  /** Full version text for `info version` (QEMU prints e.g. "7.2.0"); default "7.2.0 (qemu-ts)". */
  version?: string;
  /** Leave the emulator (the front end stops the main loop with this reason). */
  quit: (reason: StopReason) => void;
  /** Chardevs for `info chardev`: id and QEMU's filename string (e.g. "stdio", "disconnected:tcp:..."). */
  chardevs?: () => { id: string; filename: string }[];
  /** `info vnc` text; default "None". */
  vncInfo?: () => string;
  vncPassword?: (password: string) => void;
  /** -d items at run time (`log`); throw for unknown items. */
  setLog?: (items: string[]) => void;
  /** gdbserver command: start ('tcp::1234') or stop ('none'); returns QEMU's message. */
  gdbserver?: (spec: string) => Promise<string> | string;
}

/** QEMU's -d items (the ones the monitor's `log` lists). */
export const LOG_ITEMS: [string, string][] = [
  ['none', 'remove all logs'],
  ['in_asm', 'show target assembly code for each compiled TB'],
  ['int', 'show interrupts/exceptions in short format'],
  ['exec', 'show trace before each executed TB (lots of logs)'],
  ['cpu', 'show CPU registers before entering a TB (lots of logs)'],
  ['guest_errors', 'log when the guest OS does something invalid (eg accessing a\nnon-existent register)'],
  ['unimp', 'log unimplemented functionality'],
];

const BOOT_NIBBLE: Record<string, number> = { a: 1, b: 1, c: 2, d: 3, n: 4 };
const REG32 = ['eax', 'ecx', 'edx', 'ebx', 'esp', 'ebp', 'esi', 'edi'];
const SEGS = ['es', 'cs', 'ss', 'ds', 'fs', 'gs'];
const hex = (v: number, w: number): string => (v >>> 0).toString(16).padStart(w, '0');

interface Medium { node: BlockNode | null; file: string | null; format: string | null; readOnly: boolean }

export class PcMonitorTarget implements MonitorTarget {
  private state: RunState;
  private readonly listeners: EventListener[] = [];
  private readonly media = new Map<string, Medium>();
  private renderer: VgaRenderer | null = null;
  private readonly versionText: string;
  /** Owners of a pause (monitor/QMP stop, gdb); the machine runs only when none holds it. */
  private stoppedBy = new Set<string>();

  constructor(readonly m: PcMachine, private readonly opts: PcMonitorOptions) {
    this.versionText = opts.version ?? '7.2.0 (qemu-ts)';
    this.state = m.desc.flags.startPaused ? 'prelaunch' : 'running';
    if (m.desc.flags.startPaused) this.stoppedBy.add('user');
    for (const d of m.desc.drives) {
      const open = m.drives.find((x) => x.info === d);
      this.media.set(d.id, { node: open?.node ?? null, file: d.file, format: d.format ?? (d.file ? 'raw' : null), readOnly: d.readonly || d.media === 'cdrom' });
    }
  }

  // ------------------------------------------------------------ events and run state
  onEvent(cb: EventListener): () => void {
    this.listeners.push(cb);
    return () => { const i = this.listeners.indexOf(cb); if (i >= 0) this.listeners.splice(i, 1); };
  }

  emit(event: string, data?: QmpEventData): void {
    for (const l of this.listeners.slice()) { try { l(event, data); } catch { /* a broken listener must not stop the machine */ } }
  }

  status(): RunState {
    if (this.state === 'running' && !this.m.loop.isRunning) return 'paused';
    return this.state;
  }

  get running(): boolean { return this.status() === 'running'; }

  /** Pause on behalf of `owner` ('user' for the monitor and QMP, 'gdb' for the debugger). */
  pause(owner: string, state: RunState = 'paused'): void {
    const wasRunning = this.stoppedBy.size === 0;
    this.stoppedBy.add(owner);
    this.m.loop.pause();
    if (wasRunning || this.state !== state) {
      if (this.state !== 'prelaunch' || owner !== 'user') this.state = state;
      if (wasRunning) this.emit('STOP');
    }
  }

  /** Release `owner`'s pause; the machine resumes when nobody else holds it. */
  resume(owner: string): void {
    this.stoppedBy.delete(owner);
    if (owner === 'user') this.stoppedBy.delete('gdb');
    if (this.stoppedBy.size !== 0) return;
    if (this.state === 'shutdown') return;
    const was = this.state;
    this.state = 'running';
    this.m.loop.resume();
    if (was !== 'running') this.emit('RESUME');
  }

  stop(): void { this.pause('user'); }
  cont(): void { this.resume('user'); }

  quit(): void {
    this.emit('SHUTDOWN', { guest: false, reason: 'host-qmp-quit' });
    this.opts.quit({ kind: 'quit', code: 0 });
  }

  /** Tell QMP clients why the machine stopped (call when PcMachine.run() resolves). */
  machineStopped(reason: StopReason): void {
    if (reason.kind === 'shutdown' || reason.kind === 'exit') this.emit('SHUTDOWN', { guest: true, reason: 'guest-shutdown' });
    else if (reason.kind === 'reset') this.emit('SHUTDOWN', { guest: true, reason: 'guest-reset' });
    else if (reason.kind === 'quit' && reason.message?.startsWith('terminating on signal')) this.emit('SHUTDOWN', { guest: false, reason: 'host-signal' });
    this.state = 'shutdown';
  }

  systemReset(): void {
    this.m.reset();
    this.emit('RESET', { guest: false, reason: 'host-qmp-system-reset' });
  }

  systemPowerdown(): void {
    this.emit('POWERDOWN');
    this.m.powerButton();
  }

  version(): string { return this.versionText; }
  registers(): string { return this.m.cpu.dumpRegs(); }

  // ------------------------------------------------------------ registers and memory
  register(name: string): bigint | undefined {
    const cpu = this.m.cpu;
    const s32 = (v: number) => BigInt(v | 0);
    let i = REG32.indexOf(name);
    if (i >= 0) return s32(cpu.r32[i]!);
    if (name === 'sp') return s32(cpu.r32[4]!);
    if (name === 'fp') return s32(cpu.r32[5]!);
    i = SEGS.indexOf(name);
    if (i >= 0) return BigInt(cpu.segSel[i]!);
    switch (name) {
      case 'eip': return BigInt(cpu.eip >>> 0);
      case 'pc': return s32(cpu.pc);
      case 'eflags': return BigInt(cpu.eflags >>> 0);
      case 'cr0': return BigInt(cpu.cr0 >>> 0);
      case 'cr2': return BigInt(cpu.cr2 >>> 0);
      case 'cr3': return BigInt(cpu.cr3 >>> 0);
      case 'cr4': return BigInt(cpu.cr4 >>> 0);
      default: return undefined;
    }
  }

  codeIs32(): boolean {
    const cpu = this.m.cpu;
    return (cpu.cr0 & 1) !== 0 && (cpu.eflags & 0x20000) === 0 && (cpu.segAR[1]! & 0x4000) !== 0;
  }

  readMemory(addr: number, len: number, physical: boolean): Uint8Array | null {
    const mem = this.m.mem;
    if (!physical) return readLinear(this.m.cpu, mem, addr, len);
    if (addr + len > 0x100000000) return null;
    for (let a = addr - (addr % 4096); a < addr + len; a += 4096) if (mem.describe(a) === 'unassigned') return null;
    const out = new Uint8Array(len);
    mem.readBytes(addr, out);
    return out;
  }

  // ------------------------------------------------------------ block devices
  private driveInfo(device: string): DriveInfo {
    const d = this.m.desc.drives.find((x) => x.id === device);
    if (d === undefined) throw Object.assign(new Error(`Device '${device}' not found`), { errorClass: 'DeviceNotFound' });
    return d;
  }

  private qdevOf(device: string): string {
    return `/machine/unattached/device[${20 + this.m.desc.drives.findIndex((d) => d.id === device)}]`;
  }

  blockDevices(): BlockDeviceInfo[] {
    return this.m.desc.drives.map((d, idx) => {
      const md = this.media.get(d.id)!;
      const cd = d.interface === 'ide' ? this.m.ideChannels[d.bus]?.drives[d.unit]?.cd ?? null : null;
      const removable = d.media === 'cdrom' || d.interface === 'floppy';
      return {
        device: d.id,
        qdev: this.qdevOf(d.id),
        type: d.media === 'cdrom' ? 'cdrom' : d.interface === 'floppy' ? 'floppy' : 'hd',
        removable,
        locked: cd?.trayLocked ?? false,
        trayOpen: cd?.trayOpen ?? false,
        file: md.file,
        nodeName: md.file === null ? null : `#block${100 + idx * 2}`,
        format: md.format,
        readOnly: md.readOnly,
        cache: d.cache === 'none' || d.cache === 'directsync' ? d.cache : 'writeback',
      } satisfies BlockDeviceInfo;
    });
  }

  blockSize(device: string): number | null {
    const md = this.media.get(device);
    return md?.node ? md.node.size() : null;
  }

  chardevList(): { id: string; filename: string }[] {
    if (this.opts.chardevs !== undefined) return this.opts.chardevs();
    // Default: QEMU's filename strings derived from the -chardev options.
    return this.m.desc.chardevs.map((c) => {
      const o = c.options;
      let filename: string = c.backend;
      if (c.backend === 'socket') filename = o['path'] !== undefined ? `unix:${o['path']}` : `tcp:${o['host'] ?? ''}:${o['port'] ?? ''}`;
      if (c.backend === 'socket' && o['server'] === 'on') filename = `disconnected:${filename},server=on`;
      else if (c.backend === 'file') filename = o['path'] ?? 'file';
      return { id: c.id, filename };
    });
  }

  /** Report a guest I/O error to QMP clients (for the block layer / IDE to call). */
  blockIoError(device: string, operation: 'read' | 'write', action: 'report' | 'ignore' | 'stop', reason: string, nospace = false): void {
    const md = this.media.get(device);
    this.emit('BLOCK_IO_ERROR', { device, 'node-name': md?.file ? device : '', operation, action, nospace, reason });
    if (action === 'stop') this.pause('user', 'paused');
  }

  blockInfo(): string[] {
    return this.blockDevices().map((d) => `${d.device}: ${d.file ?? '[not inserted]'}${d.file ? ` (${d.format ?? 'raw'}${d.readOnly ? ', read-only' : ''})` : ''}`);
  }

  private cdOf(device: string): { ch: number; unit: 0 | 1 } {
    const d = this.driveInfo(device);
    if (d.interface !== 'ide' || d.media !== 'cdrom') {
      if (d.interface === 'floppy') throw new Error(`Device '${device}': floppy media changes are not supported yet`);
      throw new Error(`Device '${device}' is not removable`);
    }
    return { ch: d.bus, unit: d.unit as 0 | 1 };
  }

  eject(device: string, force: boolean): void {
    const { ch, unit } = this.cdOf(device);
    const chan = this.m.ideChannels[ch]!;
    if (!chan.eject(unit, force)) {
      throw new Error(`Device '${device}' is locked and force was not specified, wait for tray to open and try again`);
    }
    const md = this.media.get(device)!;
    const old = md.node;
    md.node = null; md.file = null; md.format = null;
    this.emit('DEVICE_TRAY_MOVED', { device, 'tray-open': true, id: this.qdevOf(device) });
    if (old !== null) void closeChain(old).catch(() => { /* closing an ejected medium */ });
  }

  async changeMedium(device: string, file: string, format: string | null): Promise<void> {
    const { ch, unit } = this.cdOf(device);
    let node: BlockNode;
    try {
      node = await openImage(file, { readOnly: true, ...(format ? { format } : {}) });
    } catch (e) {
      throw new Error(`Could not open '${file}': ${(e as Error).message}`);
    }
    const chan = this.m.ideChannels[ch]!;
    const md = this.media.get(device)!;
    const old = md.node;
    if (old !== null && !chan.eject(unit, true)) { /* forced eject always succeeds */ }
    chan.insertMedia(unit, node);
    md.node = node; md.file = file; md.format = format ?? 'raw'; md.readOnly = true;
    this.emit('DEVICE_TRAY_MOVED', { device, 'tray-open': false, id: this.qdevOf(device) });
    if (old !== null) void closeChain(old).catch(() => { /* closing the replaced medium */ });
  }

  async commit(device: string): Promise<void> {
    if (device !== 'all') this.driveInfo(device);
    const snap = this.m.drives.filter((d) => (device === 'all' || d.info.id === device) && (d.info.snapshot || this.m.desc.flags.snapshot) && d.info.media !== 'cdrom');
    if (snap.length > 0) throw new Error('commit of -snapshot overlays is not supported yet');
    for (const d of this.m.drives) if (device === 'all' || d.info.id === device) await d.node.flush();
  }

  bootSet(order: string): void {
    if (order.length > 3) throw new MonitorError('Too many boot devices for PC');
    const nib = [0, 0, 0];
    for (let i = 0; i < order.length; i++) {
      const n = BOOT_NIBBLE[order[i]!];
      if (n === undefined) throw new MonitorError(`Invalid boot device for PC: '${order[i]}'`);
      nib[i] = n;
    }
    const c = this.m.rtc.cmos;
    c[0x3d] = (nib[1]! << 4) | nib[0]!;
    c[0x38] = (nib[2]! << 4) | (c[0x38]! & 0x0f);
  }

  // ------------------------------------------------------------ input, display
  sendKey(keys: string, holdMs: number): void {
    let codes: number[];
    try { codes = parseKeyCombo(keys); } catch { throw new MonitorError(`invalid parameter: ${keys.split('-').find((k) => { try { parseKeyCombo(k); return false; } catch { return true; } }) ?? keys}`); }
    this.m.i8042.keyboard.sendKeyCombo(codes, holdMs * 1e6);
    this.m.loop.kick();
  }

  private buttons = 0;
  mouseMove(dx: number, dy: number, dz: number): void { this.m.i8042.mouse.move(dx, dy, dz, this.buttons); this.m.loop.kick(); }
  mouseButton(state: number): void { this.buttons = state & 7; this.m.i8042.mouse.move(0, 0, 0, this.buttonsPs2()); this.m.loop.kick(); }
  /** QEMU's mouse_button bits are 1=L 2=M 4=R; the PS/2 model takes bit0 L, bit1 R, bit2 M. */
  private buttonsPs2(): number { const b = this.buttons; return (b & 1) | ((b & 4) >> 1) | ((b & 2) << 1); }

  screendump(file: string, format: 'ppm' | 'png'): void {
    if (this.m.vga === null) throw new Error('no display device to take a screendump of');
    if (this.renderer === null) this.renderer = new VgaRenderer(this.m.vga);
    this.renderer.update();
    screendump(this.renderer, file, format);
  }

  vncPassword(password: string): void {
    if (this.opts.vncPassword === undefined) throw new Error('Could not set password');
    this.opts.vncPassword(password);
  }

  private gdb: GdbStub | null = null;

  /** Start the gdb stub on a device ('tcp::1234'); resolves with the TCP port bound. Replaces a running stub. */
  async startGdb(spec: string): Promise<number> {
    await this.stopGdb();
    const stub = new GdbStub({
      cpu: this.m.cpu, mem: this.m.mem,
      pause: () => this.pause('gdb', 'debug'),
      resume: () => this.resume('user'),
      quit: () => this.quit(),
    });
    const port = await stub.listen(spec);
    this.gdb = stub;
    return port;
  }

  async stopGdb(): Promise<void> {
    const g = this.gdb; this.gdb = null;
    if (g !== null) await g.close();
  }

  async gdbserver(spec: string): Promise<string> {
    if (this.opts.gdbserver !== undefined) return this.opts.gdbserver(spec);
    if (spec === 'none') { await this.stopGdb(); return 'Disabled gdbserver'; }
    try { await this.startGdb(spec); } catch (e) { throw new MonitorError(`Could not open gdbserver on device '${spec}'`, { cause: e }); }
    return `Waiting for gdb connection on device '${spec}'`;
  }

  /** Close the gdb stub and QMP-visible resources (call once the machine has stopped). */
  async close(): Promise<void> { await this.stopGdb(); }

  log(items: string): void {
    const list = items.split(',');
    for (const i of list) if (!LOG_ITEMS.some(([n]) => n === i)) throw new MonitorError(`unknown log item ${i}`);
    const on = list.includes('none') ? [] : list;
    if (this.opts.setLog !== undefined) { this.opts.setLog(on); return; }
    // Default: switch the CPU's trace points (their lines go to the CPU's trace.log sink).
    const t = this.m.cpu.trace;
    t.inAsm = on.includes('in_asm'); t.int = on.includes('int'); t.cpu = on.includes('cpu'); t.exec = on.includes('exec');
  }

  logItems(): string {
    return 'Log items (comma separated):\n' + LOG_ITEMS.map(([n, h]) => `${n.padEnd(15)} ${h}\n`).join('');
  }

  // ------------------------------------------------------------ info
  info(what: string): string | undefined {
    const m = this.m;
    switch (what) {
      case 'cpus': return `* CPU #0: thread_id=${process.pid}\n`;
      case 'chardev': return this.chardevList().map((c) => `${c.id}: filename=${c.filename}\n`).join('');
      case 'vnc': return (this.opts.vncInfo?.() ?? 'None') + '\n';
      case 'mice': return '* Mouse #2: QEMU PS/2 Mouse\n';
      case 'network': return m.desc.nics.length === 0 && m.desc.netdevs.length === 0 ? '' : 'network devices are not emulated yet\n';
      case 'pic': {
        const c = (name: string, p: typeof m.pic.master) =>
          `${name}: irr=${hex(p.irr, 2)} imr=${hex(p.imr, 2)} isr=${hex(p.isr, 2)} hprio=${p.prio} irq_base=${hex(p.base, 2)} rr_sel=${p.readIsr ? 1 : 0} elcr=${hex(p.elcr, 2)} fnm=${p.sfnm ? 1 : 0}\n`;
        return c('pic1', m.pic.slave) + c('pic0', m.pic.master);
      }
      case 'irq': return 'IRQ statistics not available.\n';
      case 'tlb': return this.infoTlb();
      case 'mem': return this.infoMem();
      case 'mtree': return this.infoMtree();
      case 'qtree': return this.infoQtree();
      case 'roms': return this.infoRoms();
      default: return undefined;
    }
  }

  private infoTlb(): string {
    const cpu = this.m.cpu;
    if ((cpu.cr0 & 0x80000000) === 0) return 'PG disabled\n';
    const pae = (cpu.cr4 & 0x20) !== 0;
    return listMappings(cpu, this.m.mem).map((p) => {
      const f = p.flags;
      const bits = `${f & 0x100 ? 'G' : '-'}${p.size > 4096 ? 'P' : '-'}${f & 0x40 ? 'D' : '-'}${f & 0x20 ? 'A' : '-'}${f & 0x10 ? 'C' : '-'}${f & 0x8 ? 'T' : '-'}${f & 4 ? 'U' : '-'}${f & 2 ? 'W' : '-'}`;
      return pae ? `${hex(p.lin, 16)}: ${hex(p.phys, 16)} X${bits}\n` : `${hex(p.lin, 8)}: ${hex(p.phys, 8)} ${bits}\n`;
    }).join('');
  }

  private infoMem(): string {
    const cpu = this.m.cpu;
    if ((cpu.cr0 & 0x80000000) === 0) return 'PG disabled\n';
    // Merge contiguous linear ranges with the same protection, as QEMU does.
    const maps = listMappings(cpu, this.m.mem);
    const out: string[] = [];
    let start = -1, end = 0, prot = -1;
    const flush = () => {
      if (start < 0) return;
      const w = (cpu.cr4 & 0x20) !== 0 ? 16 : 8;
      out.push(`${hex(start, w)}-${hex(end, w)} ${hex(end - start, w)} ${prot & 4 ? 'u' : '-'}r${prot & 2 ? 'w' : '-'}\n`);
    };
    for (const p of maps) {
      const pr = p.flags & 6;
      if (start >= 0 && p.lin === end && pr === prot) { end = p.lin + p.size; continue; }
      flush();
      start = p.lin; end = p.lin + p.size; prot = pr;
    }
    flush();
    return out.join('');
  }

  private infoMtree(): string {
    const mem = this.m.mem;
    const lines = ['address-space: memory\n', '  0000000000000000-ffffffffffffffff (prio 0, i/o): system\n'];
    let start = 0, kind = mem.describe(0);
    for (let a = 4096; a <= 0x100000000; a += 4096) {
      const k = a === 0x100000000 ? '' : mem.describe(a);
      if (k === kind) continue;
      if (kind !== 'unassigned') {
        const t = kind.startsWith('ram') ? (kind === 'ram' ? 'ram' : 'romd') : kind === 'rom' ? 'rom' : 'i/o';
        lines.push(`    ${hex(start, 16)}-${hex(a - 1, 16)} (prio 1, ${t}): ${kind}\n`);
      }
      start = a; kind = k;
    }
    lines.push('\naddress-space: I/O\n', '  0000000000000000-000000000000ffff (prio 0, i/o): io\n');
    return lines.join('');
  }

  private infoQtree(): string {
    const m = this.m;
    const pci = m.desc.machine.type === 'pc';
    const out = ['bus: main-system-bus\n', '  type System\n'];
    const dev = (name: string, ind = '  ') => out.push(`${ind}dev: ${name}, id ""\n`);
    if (pci) {
      dev('i440FX-pcihost');
      out.push('    bus: pci.0\n', '      type PCI\n');
      for (const n of ['i440FX', 'PIIX3', 'piix3-ide', ...(m.desc.machine.acpi ? ['PIIX4_PM'] : []), ...(m.vga ? ['VGA'] : [])]) dev(n, '      ');
    }
    for (const n of ['isa-i8259', 'isa-pit', 'mc146818rtc', 'i8042', 'isa-fdc', ...m.serial.map(() => 'isa-serial')]) dev(n);
    if (!pci) { dev('isa-ide'); dev('isa-ide'); if (m.vga) dev('isa-vga'); }
    return out.join('');
  }

  private infoRoms(): string {
    const m = this.m;
    const out: string[] = [];
    const bios = m.desc.firmware.biosPath;
    if (bios) {
      const name = bios.split('/').pop()!;
      out.push(`addr=${hex(0x100000000 - this.biosSize(), 16)} size=0x${hex(this.biosSize(), 6)} mem=rom name="${name}"\n`);
    }
    return out.join('');
  }

  private biosSize(): number {
    // The BIOS image is mapped up to 4 GiB; find where the ROM mapping starts.
    let a = 0x100000000 - 4096;
    while (a > 0xfff00000 && this.m.mem.describe(a - 4096) === 'rom') a -= 4096;
    return 0x100000000 - a;
  }
}
