/**
 * The human monitor (HMP): QEMU's `(qemu)` prompt on a chardev.
 *
 * Commands live in one table (name, arguments help, description, handler), so
 * `help` and the documentation come from the same place. This first set covers
 * what scripts and tests lean on: status, registers, block devices, stop/cont,
 * reset, power-down, quit and screendump (PPM as QEMU writes it, or PNG).
 */
import type { CharBackend } from '../chardev/types.js';

export interface MonitorTarget {
  status(): 'running' | 'paused' | 'shutdown';
  stop(): void;
  cont(): void;
  quit(): void;
  systemReset(): void;
  systemPowerdown(): void;
  registers(): string;
  blockInfo(): string[];
  screendump(file: string, format: 'ppm' | 'png'): void;
  version(): string;
}

interface Command {
  name: string;
  aliases?: string[];
  args: string;
  help: string;
  run(args: string[], out: (s: string) => void): void;
}

export class MonitorError extends Error {}

export function monitorCommands(t: MonitorTarget): Command[] {
  const cmds: Command[] = [
    { name: 'help', aliases: ['?'], args: '[cmd]', help: 'show the help', run: (a, out) => {
      for (const c of cmds) if (a.length === 0 || c.name === a[0]) out(`${[c.name, ...(c.aliases ?? [])].join('|')} ${c.args} -- ${c.help}\n`);
    } },
    { name: 'info', args: '[subcommand]', help: 'show various information about the system state', run: (a, out) => {
      switch (a[0]) {
        case 'status': out(`VM status: ${t.status()}\n`); break;
        case 'version': out(`${t.version()}\n`); break;
        case 'registers': out(t.registers().replace(/\n?$/, '\n')); break;
        case 'block': for (const l of t.blockInfo()) out(l + '\n'); break;
        case undefined: out('info status|version|registers|block\n'); break;
        default: throw new MonitorError(`info ${a[0]}: not supported yet (info status, version, registers, block are)`);
      }
    } },
    { name: 'stop', aliases: ['s'], args: '', help: 'stop emulation', run: () => t.stop() },
    { name: 'cont', aliases: ['c'], args: '', help: 'resume emulation', run: () => t.cont() },
    { name: 'system_reset', args: '', help: 'reset the system', run: () => t.systemReset() },
    { name: 'system_powerdown', args: '', help: 'send system power down event', run: () => t.systemPowerdown() },
    { name: 'quit', aliases: ['q'], args: '', help: 'quit the emulator', run: () => t.quit() },
    { name: 'screendump', args: '[-f format] filename', help: 'save screen to a file (format ppm or png; default ppm)', run: (a) => {
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
  ];
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

export class HumanMonitor {
  private line = '';
  private readonly cmds: Command[];
  private readonly enc = new TextEncoder();

  constructor(private readonly chr: CharBackend, target: MonitorTarget, banner = true) {
    this.cmds = monitorCommands(target);
    chr.onInput((d) => this.input(d));
    if (banner) this.print(`QEMU ${target.version()} monitor - type 'help' for more information\n`);
    this.print('(qemu) ');
  }

  private print(s: string): void { this.chr.write(this.enc.encode(s.replace(/\r?\n/g, '\r\n'))); }

  private input(d: Uint8Array): void {
    for (const b of d) {
      if (b === 0x0d || b === 0x0a) {
        if (b === 0x0a && this.lastWasCr) { this.lastWasCr = false; continue; }
        this.lastWasCr = b === 0x0d;
        this.print('\n');
        const l = this.line; this.line = '';
        this.execute(l);
        this.print('(qemu) ');
      } else if (b === 0x7f || b === 0x08) {
        this.lastWasCr = false;
        if (this.line.length > 0) { this.line = this.line.slice(0, -1); this.print('\b \b'); }
      } else if (b >= 0x20 && b < 0x7f) {
        this.lastWasCr = false;
        if (this.line.length < 4096) { this.line += String.fromCharCode(b); this.print(String.fromCharCode(b)); }
      }
    }
  }
  private lastWasCr = false;

  /** Run one command line; errors are printed, never thrown. */
  execute(line: string): void {
    const w = words(line.trim());
    if (w.length === 0) return;
    const c = this.cmds.find((x) => x.name === w[0] || (x.aliases ?? []).includes(w[0]!));
    if (c === undefined) { this.print(`unknown command: '${w[0]}'\n`); return; }
    try {
      c.run(w.slice(1), (s) => this.print(s));
    } catch (e) {
      this.print(`${(e as Error).message}\n`);
    }
  }
}
