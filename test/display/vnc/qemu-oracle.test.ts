/**
 * Real QEMU as the oracle: the same scripted RFB exchanges run against
 * qemu-system-x86_64 -vnc (stopped with -S, so its screen is the blank 640x480
 * VGA picture) and against qemu-ts's server showing a 640x480 picture. The
 * bytes the server sends (version, security lists and results, failure
 * reasons, ServerInit, pseudo-encoding acknowledgements) must be identical.
 */
import { describe, it, expect, afterAll } from 'vitest';
import { spawn, type ChildProcess } from 'node:child_process';
import { createConnection, type Socket } from 'node:net';
import { existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { VncServer } from '../../../src/display/vnc/server.js';
import { RfbClient } from './rfb-client.js';
import { FakeScreen, RecordingSink, serve, sleep, freeDisplay } from './fixtures.js';

type Step = { send: Buffer } | { recv: number; mask?: boolean } | { recvAll: number };

/** Run a script; returns the received bytes as hex, with masked (random) parts as "??". */
async function transcript(port: number, steps: Step[]): Promise<string[]> {
  const s: Socket = createConnection(port, '127.0.0.1');
  let buf = Buffer.alloc(0);
  let closed = false;
  s.on('data', (b: Buffer) => { buf = Buffer.concat([buf, b]); });
  s.on('close', () => { closed = true; });
  s.on('error', () => { closed = true; });
  await new Promise<void>((r) => s.once('connect', () => r()));
  const out: string[] = [];
  for (const st of steps) {
    if ('send' in st) { s.write(st.send); continue; }
    const n = 'recv' in st ? st.recv : st.recvAll;
    const t0 = Date.now();
    // recvAll: wait a moment for everything the server sends now, up to n bytes.
    while (buf.length < n && !closed && Date.now() - t0 < ('recv' in st ? 3000 : 400)) await sleep(10);
    const take = buf.subarray(0, Math.min(n, buf.length));
    buf = buf.subarray(take.length);
    out.push('recv' in st && st.mask ? `??x${take.length}` : take.toString('hex'));
  }
  await sleep(100);
  out.push(closed || s.destroyed ? 'closed' : 'open');
  s.destroy();
  return out;
}

const qemus: ChildProcess[] = [];
const servers: VncServer[] = [];
afterAll(async () => {
  for (const q of qemus) q.kill('SIGKILL');
  for (const s of servers) await s.close();
});

async function startQemu(opts: string): Promise<number> {
  const d = freeDisplay();
  const q = spawn('qemu-system-x86_64', ['-S', '-nodefaults', '-vga', 'std', '-display', 'none', '-vnc', `127.0.0.1:${d}${opts}`], { stdio: 'ignore' });
  qemus.push(q);
  for (let i = 0; i < 100; i++) {
    const ok = await new Promise<boolean>((r) => {
      const c = createConnection(5900 + d, '127.0.0.1');
      c.once('connect', () => { c.destroy(); r(true); });
      c.once('error', () => r(false));
    });
    if (ok) return 5900 + d;
    await sleep(50);
  }
  throw new Error('QEMU did not start listening');
}

async function startOurs(options: Record<string, string>): Promise<number> {
  const srv = await serve(new FakeScreen(640, 480, () => [0, 0, 0]), new RecordingSink(), options);
  servers.push(srv);
  return srv.port;
}

/** `info vnc` through a QEMU human monitor on a Unix socket. */
async function qemuInfoVnc(sock: string): Promise<string> {
  const c = createConnection(sock);
  let text = '';
  c.on('data', (b: Buffer) => { text += b.toString('latin1'); });
  await new Promise<void>((r) => c.once('connect', () => r()));
  for (let i = 0; i < 50 && !text.includes('(qemu)'); i++) await sleep(20);
  text = '';
  c.write('info vnc\n');
  for (let i = 0; i < 100 && !/\r\n\(qemu\) $/.test(text); i++) await sleep(20);
  c.destroy();
  const body = text.slice(text.indexOf('\r\n') + 2, text.lastIndexOf('(qemu)'));
  return body.replace(/\r\n/g, '\n').trimEnd();
}

const B = (...b: number[]) => Buffer.from(b);
const v = (s: string) => Buffer.from(`RFB 003.00${s}\n`, 'latin1');
const enc = (...e: number[]) => { const b = Buffer.alloc(4 + e.length * 4); b[0] = 2; b.writeUInt16BE(e.length, 2); e.forEach((x, i) => b.writeInt32BE(x, 4 + i * 4)); return b; };

const HELLO: Step[] = [{ recv: 12 }, { send: v('8') }, { recv: 2 }, { send: B(1) }, { recv: 4 }, { send: B(1) }, { recv: 28 }];

const SCRIPTS: Record<string, Step[]> = {
  'RFB 3.8, no auth, ServerInit': [{ recv: 12 }, { send: v('8') }, { recv: 2 }, { send: B(1) }, { recv: 4 }, { send: B(1) }, { recv: 28 }],
  'RFB 3.7, no auth': [{ recv: 12 }, { send: v('7') }, { recv: 2 }, { send: B(1) }, { send: B(1) }, { recv: 28 }],
  'RFB 3.3, no auth': [{ recv: 12 }, { send: v('3') }, { recv: 4 }, { send: B(1) }, { recv: 28 }],
  'RFB 3.5 is served as 3.3': [{ recv: 12 }, { send: v('5') }, { recv: 4 }, { send: B(1) }, { recv: 28 }],
  'bad version closes': [{ recv: 12 }, { send: Buffer.from('RFB 004.000\n') }, { recvAll: 100 }],
  'unknown client message type closes': [...HELLO, { send: B(77, 0, 0, 0) }, { recvAll: 64 }],
  'SetPixelFormat with 24 bpp closes': [...HELLO, { send: B(0, 0, 0, 0, 24, 24, 0, 1, 0, 255, 0, 255, 0, 255, 16, 8, 0, 0, 0, 0) }, { recvAll: 64 }],
  'client cut text over 1 MiB closes': [...HELLO, { send: B(6, 0, 0, 0, 0, 0x10, 0, 1) }, { recvAll: 64 }],
  'client cut text of 1 MiB is accepted': [...HELLO, { send: Buffer.concat([B(6, 0, 0, 0, 0, 0x10, 0, 0), Buffer.alloc(1 << 20, 0x61)]) }, { recvAll: 64 }],
  'extended key event and LED state acknowledgements': [
    { recv: 12 }, { send: v('8') }, { recv: 2 }, { send: B(1) }, { recv: 4 }, { send: B(1) }, { recv: 28 },
    { send: enc(-258) }, { recvAll: 64 }, { send: enc(-258, -261) }, { recvAll: 64 }, { send: enc(-261, -258, 16) }, { recvAll: 64 }, { send: enc(16, -223, -258, -261, -257) }, { recvAll: 80 }, { send: enc(-257) }, { recvAll: 64 },
  ],
};

const AUTH_SCRIPTS: Record<string, Step[]> = {
  'RFB 3.8, wrong password': [{ recv: 12 }, { send: v('8') }, { recv: 2 }, { send: B(2) }, { recv: 16, mask: true }, { send: Buffer.alloc(16) }, { recvAll: 64 }],
  'RFB 3.3, wrong password': [{ recv: 12 }, { send: v('3') }, { recv: 4 }, { recv: 16, mask: true }, { send: Buffer.alloc(16) }, { recvAll: 64 }],
  'RFB 3.8, security type not offered': [{ recv: 12 }, { send: v('8') }, { recv: 2 }, { send: B(1) }, { recvAll: 64 }],
};

describe('info vnc matches QEMU 7.2', () => {
  for (const pw of [false, true]) {
    it(pw ? 'with password=on and no client' : 'with one client connected', async () => {
      const d = freeDisplay();
      const mon = join(tmpdir(), `qemu-ts-vnc-mon-${process.pid}-${d}.sock`);
      const q = spawn('qemu-system-x86_64', ['-S', '-nodefaults', '-vga', 'std', '-display', 'none', '-vnc', `127.0.0.1:${d}${pw ? ',password=on' : ''}`,
        '-monitor', `unix:${mon},server=on,wait=off`], { stdio: 'ignore' });
      qemus.push(q);
      for (let i = 0; i < 100 && !existsSync(mon); i++) await sleep(50);
      await sleep(300);
      const srv = await serve(new FakeScreen(640, 480, () => [0, 0, 0]), new RecordingSink(), pw ? { password: 'on' } : {});
      servers.push(srv);
      const clients: RfbClient[] = [];
      if (!pw) {
        for (const port of [5900 + d, srv.port]) { const c = await RfbClient.connect({ port }); await c.handshake('3.8'); clients.push(c); }
        await sleep(100);
      }
      const norm = (t: string) => t.replace(/:\d+ \(/g, ':PORT (');
      expect(norm(srv.info())).toBe(norm(await qemuInfoVnc(mon)));
      for (const c of clients) c.close();
    });
  }
});

describe('RFB exchanges match QEMU 7.2 byte for byte', () => {
  it.each(Object.keys(SCRIPTS))('%s', async (name) => {
    const [q, o] = await Promise.all([startQemu(''), startOurs({})]);
    const steps = SCRIPTS[name]!;
    expect(await transcript(o, steps)).toEqual(await transcript(q, steps));
  });
  it.each(Object.keys(AUTH_SCRIPTS))('password=on: %s', async (name) => {
    const [q, o] = await Promise.all([startQemu(',password=on'), startOurs({ password: 'on' })]);
    const steps = AUTH_SCRIPTS[name]!;
    expect(await transcript(o, steps)).toEqual(await transcript(q, steps));
  });
});
