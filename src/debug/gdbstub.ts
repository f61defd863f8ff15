/**
 * The gdb stub: GDB's remote serial protocol over TCP (or a Unix socket), as
 * QEMU's -s / -gdb / `gdbserver` offer it. One client at a time; while a
 * client is attached the machine is in the "debug" run state when stopped.
 *
 * Registers follow target.xml below (i386 core with segment selectors,
 * fs/gs bases and control registers as QEMU's i386 description has them,
 * then x87 and SSE). Memory accesses use linear addresses through the guest's
 * page tables without side effects. Breakpoints never write guest memory:
 * see exec-control.ts.
 */
import * as net from 'node:net';
import * as fs from 'node:fs';
import type { Cpu } from '../cpu/cpu.js';
import type { MemoryBus } from '../memory/memory-bus.js';
import { ExecControl, type StopKind } from './exec-control.js';
import { readLinear, writeLinear } from './page-walk.js';

/** What the stub needs from the machine. */
export interface GdbMachine {
  cpu: Cpu;
  mem: MemoryBus;
  /** Stop the machine for the debugger (run state "debug"). */
  pause(): void;
  /** Let the machine run (gdb's c / s). */
  resume(): void;
  /** gdb's k: end the emulator. */
  quit(): void;
}

const FEATURES = `<?xml version="1.0"?>
<!DOCTYPE target SYSTEM "gdb-target.dtd">
<target>
<architecture>i386</architecture>
<feature name="org.gnu.gdb.i386.core">
<flags id="i386_eflags" size="4">
<field name="CF" start="0" end="0"/><field name="" start="1" end="1"/><field name="PF" start="2" end="2"/>
<field name="AF" start="4" end="4"/><field name="ZF" start="6" end="6"/><field name="SF" start="7" end="7"/>
<field name="TF" start="8" end="8"/><field name="IF" start="9" end="9"/><field name="DF" start="10" end="10"/>
<field name="OF" start="11" end="11"/><field name="NT" start="14" end="14"/><field name="RF" start="16" end="16"/>
<field name="VM" start="17" end="17"/><field name="AC" start="18" end="18"/><field name="VIF" start="19" end="19"/>
<field name="VIP" start="20" end="20"/><field name="ID" start="21" end="21"/>
</flags>
<reg name="eax" bitsize="32" type="int32"/>
<reg name="ecx" bitsize="32" type="int32"/>
<reg name="edx" bitsize="32" type="int32"/>
<reg name="ebx" bitsize="32" type="int32"/>
<reg name="esp" bitsize="32" type="data_ptr"/>
<reg name="ebp" bitsize="32" type="data_ptr"/>
<reg name="esi" bitsize="32" type="int32"/>
<reg name="edi" bitsize="32" type="int32"/>
<reg name="eip" bitsize="32" type="code_ptr"/>
<reg name="eflags" bitsize="32" type="i386_eflags"/>
<reg name="cs" bitsize="32" type="int32"/>
<reg name="ss" bitsize="32" type="int32"/>
<reg name="ds" bitsize="32" type="int32"/>
<reg name="es" bitsize="32" type="int32"/>
<reg name="fs" bitsize="32" type="int32"/>
<reg name="gs" bitsize="32" type="int32"/>
<reg name="fs_base" bitsize="32" type="int32"/>
<reg name="gs_base" bitsize="32" type="int32"/>
<reg name="k_gs_base" bitsize="32" type="int32"/>
<reg name="cr0" bitsize="32" type="int32"/>
<reg name="cr2" bitsize="32" type="int32"/>
<reg name="cr3" bitsize="32" type="int32"/>
<reg name="cr4" bitsize="32" type="int32"/>
<reg name="cr8" bitsize="32" type="int32"/>
<reg name="efer" bitsize="32" type="int32"/>
<reg name="st0" bitsize="80" type="i387_ext"/>
<reg name="st1" bitsize="80" type="i387_ext"/>
<reg name="st2" bitsize="80" type="i387_ext"/>
<reg name="st3" bitsize="80" type="i387_ext"/>
<reg name="st4" bitsize="80" type="i387_ext"/>
<reg name="st5" bitsize="80" type="i387_ext"/>
<reg name="st6" bitsize="80" type="i387_ext"/>
<reg name="st7" bitsize="80" type="i387_ext"/>
<reg name="fctrl" bitsize="32" type="int" group="float"/>
<reg name="fstat" bitsize="32" type="int" group="float"/>
<reg name="ftag" bitsize="32" type="int" group="float"/>
<reg name="fiseg" bitsize="32" type="int" group="float"/>
<reg name="fioff" bitsize="32" type="int" group="float"/>
<reg name="foseg" bitsize="32" type="int" group="float"/>
<reg name="fooff" bitsize="32" type="int" group="float"/>
<reg name="fop" bitsize="32" type="int" group="float"/>
</feature>
<feature name="org.gnu.gdb.i386.sse">
<vector id="v4f" type="ieee_single" count="4"/>
<vector id="v2d" type="ieee_double" count="2"/>
<vector id="v16i8" type="int8" count="16"/>
<vector id="v8i16" type="int16" count="8"/>
<vector id="v4i32" type="int32" count="4"/>
<vector id="v2i64" type="int64" count="2"/>
<union id="vec128"><field name="v4_float" type="v4f"/><field name="v2_double" type="v2d"/><field name="v16_int8" type="v16i8"/><field name="v8_int16" type="v8i16"/><field name="v4_int32" type="v4i32"/><field name="v2_int64" type="v2i64"/><field name="uint128" type="uint128"/></union>
<reg name="xmm0" bitsize="128" type="vec128"/>
<reg name="xmm1" bitsize="128" type="vec128"/>
<reg name="xmm2" bitsize="128" type="vec128"/>
<reg name="xmm3" bitsize="128" type="vec128"/>
<reg name="xmm4" bitsize="128" type="vec128"/>
<reg name="xmm5" bitsize="128" type="vec128"/>
<reg name="xmm6" bitsize="128" type="vec128"/>
<reg name="xmm7" bitsize="128" type="vec128"/>
<reg name="mxcsr" bitsize="32" type="int" group="vector"/>
</feature>
</target>
`;

/** Register sizes in bytes, in target.xml order. */
const REG_SIZES: number[] = [
  ...Array(25).fill(4), // eax..gs, fs_base, gs_base, k_gs_base, cr0, cr2, cr3, cr4, cr8, efer
  ...Array(8).fill(10), // st0-st7
  ...Array(8).fill(4), // fctrl..fop
  ...Array(8).fill(16), // xmm0-7
  4, // mxcsr
];
const SEG_ORDER = [1, 2, 3, 0, 4, 5]; // cs ss ds es fs gs → ES=0 CS=1 SS=2 DS=3 FS=4 GS=5

interface FpuSnapshot { cw: number; sw: number; top: number; tags: number[]; regs: string[]; fip: number; fcs: number; fdp: number; fds: number; fop: number; mxcsr: number; xmm: number[] }

const hexByte = (b: number): string => (b & 0xff).toString(16).padStart(2, '0');
function le(v: number, n: number): string { let s = ''; for (let i = 0; i < n; i++) s += hexByte(v >>> (8 * i)); return s; }
function fromHex(s: string): Uint8Array { const out = new Uint8Array(s.length >> 1); for (let i = 0; i < out.length; i++) out[i] = parseInt(s.substr(i * 2, 2), 16); return out; }
function toHex(b: Uint8Array): string { let s = ''; for (const x of b) s += hexByte(x); return s; }
function rdLe(b: Uint8Array, o: number): number { return (b[o]! | (b[o + 1]! << 8) | (b[o + 2]! << 16) | (b[o + 3]! << 24)) >>> 0; }

export class GdbError extends Error {}

/** Parse QEMU's gdb device: "tcp::1234", "tcp:host:port", "1234", "unix:path[,server...]". */
export function parseGdbDevice(spec: string): { host: string; port: number } | { path: string } {
  const s = spec.split(',')[0]!;
  if (s.startsWith('unix:')) return { path: s.slice(5) };
  const m = /^(?:tcp:)?(?:([^:]*):)?(\d+)$/.exec(s);
  if (m === null) throw new GdbError(`gdbstub: unsupported device '${spec}' (use tcp::PORT or unix:PATH)`);
  const port = Number(m[2]);
  if (port > 65535) throw new GdbError(`gdbstub: invalid port ${port}`);
  return { host: m[1] === undefined || m[1] === '' ? '127.0.0.1' : m[1], port };
}

export class GdbStub {
  readonly ctl: ExecControl;
  private server: net.Server | null = null;
  private sock: net.Socket | null = null;
  private rx = '';
  private noAck = false;
  /** True while gdb believes the target is running (a stop reply is owed). */
  private running = false;
  private lastStop = 'S05';
  /** The client speaks the multiprocess extensions (thread ids "p1.1"). */
  private multi = false;
  private get tid(): string { return this.multi ? 'p01.01' : '01'; }

  constructor(private readonly m: GdbMachine) {
    this.ctl = new ExecControl(m.cpu, m.mem);
    this.ctl.onStop = (why) => this.stopped(why);
  }

  /** Listen on a gdb device spec; resolves with the bound TCP port (0 for Unix sockets). */
  listen(spec: string): Promise<number> {
    const where = parseGdbDevice(spec);
    const srv = net.createServer((s) => this.accept(s));
    this.server = srv;
    return new Promise((resolve, reject) => {
      srv.once('error', (e) => reject(new GdbError(`gdbstub: cannot listen on '${spec}': ${(e as Error).message}`)));
      if ('path' in where) {
        try { if (fs.statSync(where.path).isSocket()) fs.unlinkSync(where.path); } catch { /* absent */ }
        srv.listen(where.path, () => resolve(0));
      } else {
        srv.listen({ host: where.host, port: where.port }, () => {
          const a = srv.address();
          resolve(a !== null && typeof a === 'object' ? a.port : where.port);
        });
      }
    });
  }

  async close(): Promise<void> {
    this.ctl.clearAll();
    if (this.sock !== null) { this.sock.destroy(); this.sock = null; }
    const srv = this.server; this.server = null;
    if (srv !== null) await new Promise<void>((r) => srv.close(() => r()));
  }

  private accept(s: net.Socket): void {
    if (this.sock !== null) { s.destroy(); return; }
    this.sock = s;
    s.setNoDelay(true);
    this.rx = ''; this.noAck = false; this.running = false; this.multi = false;
    this.m.pause();
    this.lastStop = 'T05thread:01;';
    s.on('data', (d: Buffer) => this.input(d.toString('latin1')));
    const gone = () => {
      if (this.sock !== s) return;
      this.sock = null;
      this.ctl.clearAll();
      this.m.resume();
    };
    s.on('close', gone);
    s.on('error', gone);
  }

  private input(d: string): void {
    this.rx += d;
    if (this.rx.length > 1 << 20) { this.rx = ''; return; }
    for (;;) {
      // Skip acks and noise before a packet; a lone 0x03 is an interrupt request.
      let i = 0;
      while (i < this.rx.length && this.rx[i] !== '$') {
        if (this.rx[i] === '\x03') this.interrupt();
        i++;
      }
      this.rx = this.rx.slice(i);
      if (this.rx.length === 0) return;
      const hash = this.rx.indexOf('#');
      if (hash < 0 || this.rx.length < hash + 3) return;
      const body = this.rx.slice(1, hash);
      const sum = parseInt(this.rx.slice(hash + 1, hash + 3), 16);
      this.rx = this.rx.slice(hash + 3);
      let c = 0;
      for (let k = 0; k < body.length; k++) c = (c + body.charCodeAt(k)) & 0xff;
      if (!this.noAck) this.sock?.write(c === sum ? '+' : '-');
      if (c !== sum) continue;
      let reply: string | null;
      try { reply = this.packet(unescapeBinary(body)); } catch { reply = 'E22'; }
      if (reply !== null) this.send(reply);
    }
  }

  private send(data: string): void {
    let c = 0;
    let out = '';
    for (let k = 0; k < data.length; k++) {
      let ch = data[k]!;
      if (ch === '$' || ch === '#' || ch === '}' || ch === '*') { out += '}'; c += 0x7d; ch = String.fromCharCode(ch.charCodeAt(0) ^ 0x20); }
      out += ch; c += ch.charCodeAt(0);
    }
    this.sock?.write(`$${out}#${hexByte(c)}`, 'latin1');
  }

  private interrupt(): void {
    if (!this.running) return;
    this.running = false;
    this.ctl.cont();
    this.m.pause();
    this.lastStop = `T02thread:${this.tid};`;
    this.send(this.lastStop);
  }

  private stopped(why: StopKind): void {
    if (!this.running) return;
    this.running = false;
    this.m.pause();
    this.lastStop = why.kind === 'watch' ? `T05watch:${why.addr.toString(16)};thread:${this.tid};` : `T05thread:${this.tid};`;
    this.send(this.lastStop);
  }

  private resume(step: boolean): null {
    this.running = true;
    if (step) this.ctl.step(); else this.ctl.cont();
    this.m.resume();
    return null;
  }

  // ------------------------------------------------------------ registers
  private fpu(): FpuSnapshot | null {
    const f = this.m.cpu.fpu;
    return f === null ? null : f.saveState() as FpuSnapshot;
  }

  private readReg(n: number, fpu: FpuSnapshot | null): string {
    const cpu = this.m.cpu;
    if (n < 8) return le(cpu.r32[n]!, 4);
    if (n === 8) return le(cpu.eip, 4);
    if (n === 9) return le(cpu.eflags, 4);
    if (n < 16) return le(cpu.segSel[SEG_ORDER[n - 10]!]!, 4);
    if (n === 16) return le(cpu.segBase[4]!, 4);
    if (n === 17) return le(cpu.segBase[5]!, 4);
    if (n === 18) return le(0, 4);
    if (n < 25) return le([cpu.cr0, cpu.cr2, cpu.cr3, cpu.cr4, 0, cpu.efer][n - 19]!, 4);
    if (n < 33) {
      if (fpu === null) return '00'.repeat(10);
      const phys = (fpu.top + (n - 25)) & 7;
      const [s, e, m] = fpu.regs[phys]!.split(':');
      const mant = BigInt('0x' + (m ?? '0'));
      let out = '';
      for (let i = 0n; i < 8n; i++) out += hexByte(Number((mant >> (8n * i)) & 0xffn));
      const se = (Number(e) & 0x7fff) | (Number(s) ? 0x8000 : 0);
      return out + le(se, 2);
    }
    if (n < 41) {
      if (fpu === null) return le(n === 33 ? 0x37f : n === 35 ? 0xffff : 0, 4);
      const sw = ((fpu.sw & ~0x3800) | (fpu.top << 11)) & 0xffff;
      let tag = 0;
      for (let i = 0; i < 8; i++) tag |= ((fpu.tags[i] ?? 3) & 3) << (2 * i);
      return le([fpu.cw, sw, tag, fpu.fcs, fpu.fip, fpu.fds, fpu.fdp, fpu.fop][n - 33]!, 4);
    }
    if (n < 49) {
      if (fpu === null || fpu.xmm.length < 32) return '00'.repeat(16);
      let out = '';
      for (let i = 0; i < 4; i++) out += le(fpu.xmm[(n - 41) * 4 + i]!, 4);
      return out;
    }
    if (n === 49) return le(fpu?.mxcsr ?? 0x1f80, 4);
    throw new GdbError('bad register');
  }

  private writeReg(n: number, b: Uint8Array): void {
    const cpu = this.m.cpu;
    if (n >= REG_SIZES.length) throw new GdbError('bad register');
    if (n > 24) return; // x87/SSE state is read-only here
    const v = rdLe(b, 0);
    if (n < 8) { cpu.r32[n] = v | 0; return; }
    if (n === 8) { cpu.eip = v; return; }
    if (n === 9) { cpu.eflags = v; return; }
    if (n < 16) {
      const seg = SEG_ORDER[n - 10]!;
      if (cpu.segSel[seg] === (v & 0xffff)) return;
      // Real and V86 mode: base = selector * 16; protected mode selector loads are not done from the debugger.
      if ((cpu.cr0 & 1) === 0 || (cpu.eflags & 0x20000) !== 0) cpu.setSegmentReal(seg, v & 0xffff);
      return;
    }
    // Bases and control registers are not written from the debugger (as a descriptor load would be needed).
  }

  // ------------------------------------------------------------ packets
  private packet(p: string): string | null {
    const c = p[0];
    switch (c) {
      case '?': return this.lastStop.replace(/thread:[^;]*;/, `thread:${this.tid};`);
      case 'g': { const f = this.fpu(); let s = ''; for (let n = 0; n < REG_SIZES.length; n++) s += this.readReg(n, f); return s; }
      case 'G': {
        const b = fromHex(p.slice(1));
        let o = 0;
        for (let n = 0; n < REG_SIZES.length && o + REG_SIZES[n]! <= b.length; n++) { this.writeReg(n, b.subarray(o, o + REG_SIZES[n]!)); o += REG_SIZES[n]!; }
        return 'OK';
      }
      case 'p': { const n = parseInt(p.slice(1), 16); return n < REG_SIZES.length ? this.readReg(n, this.fpu()) : 'E14'; }
      case 'P': {
        const [ns, vs] = p.slice(1).split('=');
        const n = parseInt(ns!, 16);
        if (!(n < REG_SIZES.length) || vs === undefined) return 'E14';
        this.writeReg(n, fromHex(vs));
        return 'OK';
      }
      case 'm': {
        const [a, l] = p.slice(1).split(',').map((x) => parseInt(x, 16));
        if (a === undefined || l === undefined || Number.isNaN(a) || Number.isNaN(l)) return 'E22';
        const data = readLinear(this.m.cpu, this.m.mem, a, Math.min(l, 0x1000));
        return data === null ? 'E14' : toHex(data);
      }
      case 'M': case 'X': {
        const colon = p.indexOf(':');
        const [a, l] = p.slice(1, colon).split(',').map((x) => parseInt(x, 16));
        if (a === undefined || l === undefined || colon < 0) return 'E22';
        const payload = p.slice(colon + 1);
        const data = c === 'M' ? fromHex(payload) : Uint8Array.from(payload, (ch) => ch.charCodeAt(0) & 0xff);
        if (data.length !== l) return 'E22';
        return writeLinear(this.m.cpu, this.m.mem, a, data) ? 'OK' : 'E14';
      }
      case 'Z': case 'z': {
        const [type, a, kind] = p.slice(1).split(',').map((x) => parseInt(x, 16));
        if (type === undefined || a === undefined || kind === undefined) return 'E22';
        const add = c === 'Z';
        if (type === 0 || type === 1) {
          if (add) this.ctl.addBreakpoint(a, type === 1); else this.ctl.removeBreakpoint(a, type === 1);
          return 'OK';
        }
        if (type === 2) {
          if (add) this.ctl.addWatch(a, kind); else this.ctl.removeWatch(a, kind);
          return 'OK';
        }
        return ''; // read/access watchpoints: not supported (gdb falls back or reports)
      }
      case 'c': return this.resume(false);
      case 's': return this.resume(true);
      case 'C': return this.resume(false);
      case 'S': return this.resume(true);
      case 'k': this.m.quit(); return null;
      case 'D': { // "D" or "D;pid"
        this.ctl.clearAll();
        this.send('OK');
        this.running = false;
        const s = this.sock; this.sock = null;
        this.m.resume();
        s?.end();
        return null;
      }
      case 'H': case 'T': return 'OK';
      case 'v': {
        if (p === 'vCont?') return 'vCont;c;C;s;S';
        if (p.startsWith('vCont;')) {
          const action = p.slice(6).split(';')[0]!.split(':')[0]!;
          if (action === 's' || action.startsWith('S')) return this.resume(true);
          if (action === 'c' || action.startsWith('C')) return this.resume(false);
          if (action === 't') { this.interrupt(); return null; }
          return 'E22';
        }
        if (p.startsWith('vKill')) { this.m.quit(); return 'OK'; }
        return '';
      }
      case 'q': return this.query(p);
      case 'Q':
        if (p === 'QStartNoAckMode') { this.send('OK'); this.noAck = true; return null; }
        return '';
      default: return '';
    }
  }

  private query(p: string): string {
    if (p.startsWith('qSupported')) {
      this.multi = /[:;]multiprocess\+/.test(p);
      return `PacketSize=1000;qXfer:features:read+;QStartNoAckMode+;vContSupported+${this.multi ? ';multiprocess+' : ''}`;
    }
    if (p === 'qAttached' || p.startsWith('qAttached:')) return '1';
    if (p === 'qC') return this.multi ? 'QCp01.01' : 'QC1';
    if (p === 'qfThreadInfo') return this.multi ? 'mp01.01' : 'm1';
    if (p === 'qsThreadInfo') return 'l';
    if (p.startsWith('qThreadExtraInfo')) return toHex(new TextEncoder().encode(`CPU#0 [${this.m.cpu.halted ? 'halted ' : 'running'}]`));
    if (p === 'qOffsets') return '';
    if (p.startsWith('qXfer:features:read:')) {
      const m = /^qXfer:features:read:([^:]+):([0-9a-fA-F]+),([0-9a-fA-F]+)$/.exec(p);
      if (m === null) return 'E00';
      if (m[1] !== 'target.xml') return 'E00';
      const off = parseInt(m[2]!, 16), len = parseInt(m[3]!, 16);
      const chunk = FEATURES.slice(off, off + len);
      return (off + len >= FEATURES.length ? 'l' : 'm') + chunk;
    }
    if (p.startsWith('qRcmd,')) {
      return toHex(new TextEncoder().encode('monitor commands are not supported through gdb yet\n'));
    }
    return '';
  }
}

/** Undo the RSP binary escape ('}' then byte ^ 0x20) in X packets; other packets never contain '}'. */
function unescapeBinary(s: string): string {
  if (!s.includes('}')) return s;
  let out = '';
  for (let i = 0; i < s.length; i++) {
    if (s[i] === '}' && i + 1 < s.length) { out += String.fromCharCode(s.charCodeAt(++i) ^ 0x20); } else out += s[i];
  }
  return out;
}
