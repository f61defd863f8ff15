/**
 * Chardev behaviour checked against real qemu-system-i386 7.2: the telnet
 * server's opening negotiation and the mux's Ctrl-A help/quit text.
 */
import { spawn, spawnSync } from 'node:child_process';
import * as net from 'node:net';
import { describe, expect, it } from 'vitest';
import { createChardev, MemoryChar, MuxChar, parseLegacyChardev, SocketChar } from '../../src/chardev/index.js';

const freePort = async () => {
  const srv = net.createServer();
  await new Promise<void>((r) => srv.listen(0, '127.0.0.1', r));
  const p = (srv.address() as net.AddressInfo).port;
  await new Promise((r) => srv.close(r));
  return p;
};

async function firstBytes(port: number, ms = 600): Promise<number[]> {
  for (let tries = 0; tries < 50; tries++) {
    try {
      return await new Promise<number[]>((resolve, reject) => {
        const s = net.connect(port, '127.0.0.1');
        const got: number[] = [];
        s.on('data', (d) => got.push(...d));
        s.on('error', reject);
        s.on('connect', () => setTimeout(() => { s.destroy(); resolve(got); }, ms));
      });
    } catch { await new Promise((r) => setTimeout(r, 100)); }
  }
  throw new Error('could not connect');
}

describe('chardev against QEMU 7.2', () => {
  it('telnet server sends the same option negotiation', async () => {
    const port = await freePort();
    const q = spawn('qemu-system-i386', ['-M', 'pc', '-S', '-display', 'none', '-nodefaults', '-monitor', 'none',
      '-serial', `telnet:127.0.0.1:${port},server=on,wait=off`], { stdio: 'ignore' });
    try {
      const qemu = await firstBytes(port);
      const ours = (await createChardev(parseLegacyChardev(`telnet:127.0.0.1:0,server=on,wait=off`))) as SocketChar;
      const mine = await firstBytes(ours.localPort);
      await ours.close();
      expect(mine).toEqual(qemu);
      expect(qemu.length).toBe(12);
    } finally { q.kill(); }
  });

  it('mux help and quit text match -nographic', () => {
    const r = spawnSync('sh', ['-c', "(printf '\\001h'; sleep 1; printf '\\001x') | qemu-system-i386 -M pc -nographic -S"], { encoding: 'latin1', timeout: 20_000 });
    const qemu = r.stdout;
    const be = new MemoryChar();
    let quit = 0;
    const mux = new MuxChar(be, { onQuit: () => quit++ });
    mux.frontend(); mux.frontend();
    be.feed('\x01h');
    const help = be.text();
    expect(qemu.startsWith(help)).toBe(true);
    be.feed('\x01x');
    expect(quit).toBe(1);
    expect(qemu.endsWith('QEMU: Terminated\n\r')).toBe(true);
    expect(be.text().endsWith('QEMU: Terminated\n\r')).toBe(true);
  });
});
