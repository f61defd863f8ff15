/**
 * The gdb stub against Debian's gdb in batch mode: the same gdb script runs
 * against real `qemu-system-i386 -S -gdb` and against qemu-ts; gdb's output
 * (breakpoint hit, registers, memory, stepi, hardware watchpoint, register
 * and memory writes, kill) must be identical.
 */
import { describe, it, expect } from 'vitest';
import { execFileSync, spawn } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import * as net from 'node:net';
import { join } from 'node:path';
import { startMachine, TMP } from '../monitor/helpers.js';
import { parseGdbDevice } from '../../src/debug/gdbstub.js';

const bios = join(TMP, 'flat32.bin');
execFileSync('nasm', ['-f', 'bin', '-o', bios, join(import.meta.dirname, 'asm', 'flat32.asm')]);

const SCRIPT = (port: number) => `set architecture i386
set pagination off
target remote 127.0.0.1:${port}
info registers eip
break *0xf0200
continue
info registers eip ecx
x/2xw 0x500
stepi
info registers eip edx
watch *(int*)0x520
continue
p/x $eip
p/x $cr0
p $cs
p $ss
set var $eax = 0x99
p/x $eax
set var *(int*)0x600 = 0x1234
x/xw 0x600
delete
stepi
p/x $eip
x/2xb 0xf0200
kill
`;

/** Run gdb in its own session (it needs no terminal) without blocking this process's event loop. */
function gdb(port: number): Promise<string> {
  const file = join(TMP, `script-${port}.gdb`);
  writeFileSync(file, SCRIPT(port));
  return new Promise((resolve) => {
    const p = spawn('setsid', ['gdb', '-batch', '-nx', '-x', file], { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    p.stdout.on('data', (d: Buffer) => { out += d.toString(); });
    p.stderr.on('data', (d: Buffer) => { out += d.toString(); });
    const t = setTimeout(() => p.kill(), 30000);
    p.on('exit', () => { clearTimeout(t); resolve(out); });
  });
}

const freePort = (): Promise<number> => new Promise((r) => {
  const s = net.createServer();
  s.listen(0, '127.0.0.1', () => { const a = s.address() as net.AddressInfo; s.close(() => r(a.port)); });
});

describe('gdb stub', () => {
  it('gdb sees the same as with qemu-system-i386 (breakpoint, registers, memory, stepi, watchpoint, writes, kill)', async () => {
    const qport = await freePort();
    const q = spawn('qemu-system-i386', ['-bios', bios, '-S', '-gdb', `tcp:127.0.0.1:${qport}`, '-display', 'none', '-nodefaults'], { stdio: 'ignore' });
    await new Promise((r) => setTimeout(r, 400));
    const real = await gdb(qport);
    q.kill();

    const ours = await startMachine(['-bios', bios, '-S', '-nodefaults', '-vga', 'none']);
    const port = await ours.target.startGdb('tcp:127.0.0.1:0');
    const mine = await gdb(port);
    const reason = await ours.done;
    await ours.target.close();
    const norm = (s: string) => s.replace(/qemu-system-i386: QEMU: Terminated via GDBstub\n?/, '').replace(/\n+$/, '');
    expect(norm(mine)).toBe(norm(real));
    expect(mine).toContain('Breakpoint 1, 0x000f0200 in ?? ()');
    expect(mine).toContain('New value = 51966');
    expect(reason.kind).toBe('quit');
  }, 90000);

  it('answers the protocol basics and Ctrl-C interrupts a running guest', async () => {
    const ours = await startMachine(['-bios', bios, '-S', '-nodefaults', '-vga', 'none']);
    const port = await ours.target.startGdb('tcp::0');
    const sock = net.connect(port, '127.0.0.1');
    let rx = '';
    sock.on('data', (d: Buffer) => { rx += d.toString('latin1'); });
    const packet = async (body: string): Promise<string> => {
      let c = 0;
      for (const ch of body) c = (c + ch.charCodeAt(0)) & 0xff;
      rx = '';
      sock.write(`$${body}#${c.toString(16).padStart(2, '0')}`);
      const end = Date.now() + 5000;
      while (!/\$[^#]*#[0-9a-f]{2}/.test(rx) && Date.now() < end) await new Promise((r) => setTimeout(r, 5));
      return /\$([^#]*)#/.exec(rx)?.[1] ?? '(no reply)';
    };
    try {
      await new Promise((r) => sock.once('connect', r));
      expect(ours.target.status()).toBe('debug');
      expect(await packet('qSupported:multiprocess+')).toContain('PacketSize=');
      expect(await packet('qAttached')).toBe('1');
      expect(await packet('qC')).toBe('QCp01.01');
      expect(await packet('qfThreadInfo')).toBe('mp01.01');
      expect(await packet('qsThreadInfo')).toBe('l');
      expect(await packet('vCont?')).toBe('vCont;c;C;s;S');
      const xml = await packet('qXfer:features:read:target.xml:0,ffff');
      expect(xml.startsWith('l')).toBe(true);
      for (const r of ['cs', 'ss', 'fs_base', 'cr0', 'cr3', 'efer', 'st7', 'mxcsr']) expect(xml).toContain(`name="${r}"`);
      expect(await packet('p8')).toBe('f0ff0000'); // EIP 0xfff0 after reset
      expect(await packet('m500,4')).toMatch(/^[0-9a-f]{8}$/);
      // Let it run, then interrupt with Ctrl-C.
      rx = '';
      sock.write('$c#63');
      await new Promise((r) => setTimeout(r, 300));
      expect(ours.target.status()).toBe('running');
      sock.write('\x03');
      const end = Date.now() + 5000;
      while (!rx.includes('T02') && Date.now() < end) await new Promise((r) => setTimeout(r, 5));
      expect(rx).toContain('T02thread:p01.01;');
      expect(ours.target.status()).toBe('debug');
      expect(await packet('p1')).toBe('e8030000'); // ECX = 1000: the loop finished
      expect(await packet('D')).toBe('OK');
      await new Promise((r) => setTimeout(r, 100));
      expect(ours.target.status()).toBe('running');
    } finally {
      sock.destroy();
      await ours.target.close();
      await ours.stop();
    }
  }, 30000);

  it('parses QEMU gdb device specs', () => {
    expect(parseGdbDevice('tcp::1234')).toEqual({ host: '127.0.0.1', port: 1234 });
    expect(parseGdbDevice('tcp:0.0.0.0:99')).toEqual({ host: '0.0.0.0', port: 99 });
    expect(parseGdbDevice('1234')).toEqual({ host: '127.0.0.1', port: 1234 });
    expect(parseGdbDevice('unix:/tmp/g.sock,server')).toEqual({ path: '/tmp/g.sock' });
    expect(() => parseGdbDevice('serial:/dev/ttyS0')).toThrow(/unsupported device/);
  });
});
