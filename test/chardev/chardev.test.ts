import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as net from 'node:net';
import * as dgram from 'node:dgram';
import * as os from 'node:os';
import * as path from 'node:path';
import { PassThrough } from 'node:stream';
import { describe, expect, it } from 'vitest';
import {
  createChardev, isMux, MemoryChar, MuxChar, parseChardevOption, parseLegacyChardev, SocketChar, TelnetDecoder,
} from '../../src/chardev/index.js';
import { CharBackend } from '../../src/chardev/types.js';

const enc = (s: string) => new TextEncoder().encode(s);
const tmp = () => fs.mkdtempSync(path.join(os.tmpdir(), 'chardev-'));

function collect(sock: net.Socket) {
  const got: Buffer[] = [];
  sock.on('data', (d) => got.push(d));
  return { bytes: () => Buffer.concat(got), text: () => Buffer.concat(got).toString('latin1') };
}
const until = async (f: () => boolean, ms = 3000) => {
  const t0 = Date.now();
  while (!f()) { if (Date.now() - t0 > ms) throw new Error('timeout'); await new Promise((r) => setTimeout(r, 5)); }
};
const connect = (port: number) => new Promise<net.Socket>((res, rej) => { const s = net.connect(port, '127.0.0.1', () => res(s)); s.on('error', rej); });

describe('chardev option parsing', () => {
  it('parses legacy -serial strings like QEMU', () => {
    expect(parseLegacyChardev('stdio')).toEqual({ backend: 'stdio', options: {} });
    expect(parseLegacyChardev('file:/tmp/a,b')).toEqual({ backend: 'file', options: { path: '/tmp/a,b' } });
    expect(parseLegacyChardev('tcp::4444,server,nowait')).toEqual({ backend: 'socket', options: { host: '', port: '4444', server: 'on', wait: 'off' } });
    expect(parseLegacyChardev('tcp:127.0.0.1:5555,server=on,wait=off')).toEqual({ backend: 'socket', options: { host: '127.0.0.1', port: '5555', server: 'on', wait: 'off' } });
    expect(parseLegacyChardev('telnet:localhost:4321,server,nowait')).toEqual({ backend: 'socket', options: { host: 'localhost', port: '4321', telnet: 'on', server: 'on', wait: 'off' } });
    expect(parseLegacyChardev('unix:/tmp/s.sock,server')).toEqual({ backend: 'socket', options: { path: '/tmp/s.sock', server: 'on' } });
    expect(parseLegacyChardev('udp:192.168.0.2:4555@:4556')).toEqual({ backend: 'udp', options: { host: '192.168.0.2', port: '4555', localaddr: '', localport: '4556' } });
    expect(parseLegacyChardev('mon:stdio')).toEqual({ backend: 'stdio', options: { mux: 'on' }, monitor: true });
    expect(parseLegacyChardev('null')).toEqual({ backend: 'null', options: {} });
    expect(parseLegacyChardev('chardev:ser0')).toEqual({ backend: 'chardev', options: { id: 'ser0' } });
    expect(() => parseLegacyChardev('bogus')).toThrow("'bogus' is not a valid char driver");
  });

  it('parses -chardev option strings with ,, escapes', () => {
    expect(parseChardevOption('socket,id=mon0,host=localhost,port=4444,server=on,wait=off'))
      .toEqual({ backend: 'socket', id: 'mon0', options: { host: 'localhost', port: '4444', server: 'on', wait: 'off' } });
    expect(parseChardevOption('file,id=f,path=/tmp/x,,y')).toEqual({ backend: 'file', id: 'f', options: { path: '/tmp/x,y' } });
  });

  it('accepts the CLI flat form {id, backend, ...options}', async () => {
    const { normalizeSpec } = await import('../../src/chardev/index.js');
    expect(normalizeSpec({ id: 'c0', backend: 'socket', port: 4444, server: true, wait: false, host: '' }))
      .toEqual({ id: 'c0', backend: 'socket', options: { port: '4444', server: 'on', wait: 'off', host: '' } });
    const d = tmp(), f = path.join(d, 'flat.txt');
    const c = (await createChardev({ id: 'x', backend: 'file', path: f })) as CharBackend;
    c.write(enc('flat')); await c.close();
    expect(fs.readFileSync(f, 'utf8')).toBe('flat');
  });

  it('rejects pty with a clear message and unknown backends', async () => {
    await expect(createChardev({ backend: 'pty', options: {} })).rejects.toThrow(/not supported by qemu-ts/);
    await expect(createChardev({ backend: 'nope', options: {} })).rejects.toThrow("'nope' is not a valid char driver name");
  });
});

describe('file backend', () => {
  it('writes (truncating, or appending with append=on) and reports open errors', async () => {
    const d = tmp(), f = path.join(d, 'out.txt');
    fs.writeFileSync(f, 'old');
    const c = (await createChardev({ backend: 'file', options: { path: f } })) as CharBackend;
    c.write(enc('hello ')); c.write(enc('world'));
    await c.close();
    expect(fs.readFileSync(f, 'utf8')).toBe('hello world');
    const a = (await createChardev({ backend: 'file', options: { path: f, append: 'on' } })) as CharBackend;
    a.write(enc('!')); await a.close();
    expect(fs.readFileSync(f, 'utf8')).toBe('hello world!');
    await expect(createChardev({ backend: 'file', options: { path: path.join(d, 'no/such') } }))
      .rejects.toThrow(`Could not open '${path.join(d, 'no/such')}': No such file or directory`);
  });
});

describe('pipe backend', () => {
  it('uses PATH.in/PATH.out FIFOs both ways and reports a missing path as QEMU does', async () => {
    const d = tmp(), base = path.join(d, 'guest');
    execFileSync('mkfifo', [`${base}.in`, `${base}.out`]);
    const c = (await createChardev(parseLegacyChardev(`pipe:${base}`))) as CharBackend;
    const got: string[] = [];
    c.onInput((b) => got.push(Buffer.from(b).toString()));
    const reader = fs.createReadStream(`${base}.out`);
    const out: string[] = [];
    reader.on('data', (b) => out.push(b.toString()));
    const writer = fs.createWriteStream(`${base}.in`);
    writer.write('to-guest');
    c.write(enc('from-guest'));
    await until(() => got.join('') === 'to-guest' && out.join('') === 'from-guest');
    writer.end(); reader.destroy();
    await c.close();
    await expect(createChardev(parseLegacyChardev('pipe:/nonexistent/x'))).rejects.toThrow("Could not open '/nonexistent/x': No such file or directory");
  });
});

describe('socket backend', () => {
  it('tcp server with wait=off: one client at a time, both directions, output dropped while unconnected', async () => {
    const c = (await createChardev({ backend: 'socket', options: { host: '', port: '0', server: 'on', wait: 'off' } })) as SocketChar;
    expect(c.label).toMatch(/^tcp:127\.0\.0\.1:\d+$/);
    c.write(enc('lost'));
    const got: string[] = [];
    c.onInput((d) => got.push(Buffer.from(d).toString()));
    const s = await connect(c.localPort);
    const rx = collect(s);
    await until(() => c.connected);
    c.write(enc('to-client'));
    s.write('to-guest');
    await until(() => rx.text() === 'to-client' && got.join('') === 'to-guest');
    const s2 = await connect(c.localPort);
    await new Promise((r) => s2.on('close', r)); // second client refused
    s.destroy();
    await c.close();
  });

  it('tcp server with wait=on resolves only once a client connects and says so', async () => {
    const probe = net.createServer(); await new Promise<void>((r) => probe.listen(0, '127.0.0.1', r));
    const p = (probe.address() as net.AddressInfo).port; await new Promise((r) => probe.close(r));
    const logs: string[] = [];
    let done = false;
    const pending = createChardev({ backend: 'socket', options: { port: String(p), server: 'on' } }, { log: (m) => logs.push(m) })
      .then((c) => { done = true; return c as SocketChar; });
    await until(() => logs.length > 0);
    expect(logs[0]).toBe(`info: QEMU waiting for connection on: disconnected:tcp:127.0.0.1:${p},server=on`);
    expect(done).toBe(false);
    const s = await connect(p);
    const c = await pending;
    expect(c.connected).toBe(true);
    s.destroy(); await c.close();
  });

  it('telnet server negotiates, strips IAC commands, escapes 0xFF, reports BREAK', async () => {
    const c = (await createChardev(parseLegacyChardev('telnet::0,server,nowait'))) as SocketChar;
    const got: number[] = [];
    let breaks = 0;
    c.onInput((d) => got.push(...d));
    c.onBreak!(() => breaks++);
    const s = await connect(c.localPort);
    const rx = collect(s);
    await until(() => rx.bytes().length >= 12);
    expect([...rx.bytes()]).toEqual([255, 251, 1, 255, 251, 3, 255, 251, 0, 255, 253, 0]);
    s.write(Buffer.from([0x61, 255, 253, 1, 0x62, 255, 255, 255, 250, 24, 1, 255, 240, 0x63, 255, 243]));
    await until(() => breaks === 1);
    expect(got).toEqual([0x61, 0x62, 0xff, 0x63]);
    c.write(Uint8Array.of(1, 255, 2));
    await until(() => rx.bytes().length >= 16);
    expect([...rx.bytes().subarray(12)]).toEqual([1, 255, 255, 2]);
    s.destroy(); await c.close();
  });

  it('telnet decoder keeps state across chunks', () => {
    const d = new TelnetDecoder(() => {});
    expect([...d.decode(Uint8Array.of(0x41, 255))]).toEqual([0x41]);
    expect([...d.decode(Uint8Array.of(251))]).toEqual([]);
    expect([...d.decode(Uint8Array.of(1, 0x42))]).toEqual([0x42]);
  });

  it('unix server and tcp client', async () => {
    const d = tmp(), p = path.join(d, 's.sock');
    const c = (await createChardev(parseLegacyChardev(`unix:${p},server=on,wait=off`))) as SocketChar;
    const s = net.connect(p); const rx = collect(s);
    await until(() => c.connected);
    c.write(enc('unix!'));
    await until(() => rx.text() === 'unix!');
    s.destroy(); await c.close();
    expect(fs.existsSync(p)).toBe(false);

    const srv = net.createServer((sock) => sock.write('hello client'));
    await new Promise<void>((r) => srv.listen(0, '127.0.0.1', r));
    const port = (srv.address() as net.AddressInfo).port;
    const cl = (await createChardev({ backend: 'socket', options: { host: '127.0.0.1', port: String(port) } })) as SocketChar;
    const got: string[] = [];
    cl.onInput((b) => got.push(Buffer.from(b).toString()));
    await until(() => got.join('') === 'hello client');
    await cl.close();
    await new Promise((r) => srv.close(r));
    await expect(createChardev({ backend: 'socket', options: { host: '127.0.0.1', port: String(port) } }))
      .rejects.toThrow(`Failed to connect to '127.0.0.1:${port}': Connection refused`);
  });

  it('reports unix socket errors with QEMU\'s wording', async () => {
    await expect(createChardev(parseLegacyChardev('unix:/tmp/qemu-ts-no-such-sock')))
      .rejects.toThrow("Failed to connect to '/tmp/qemu-ts-no-such-sock': No such file or directory");
    await expect(createChardev(parseLegacyChardev('unix:/nonexistent/dir/s,server=on,wait=off')))
      .rejects.toThrow('Failed to bind socket to /nonexistent/dir/s: No such file or directory');
  });

  it('reports a busy port', async () => {
    const srv = net.createServer();
    await new Promise<void>((r) => srv.listen(0, '127.0.0.1', r));
    const port = (srv.address() as net.AddressInfo).port;
    await expect(createChardev(parseLegacyChardev(`tcp:127.0.0.1:${port},server=on,wait=off`)))
      .rejects.toThrow('Failed to find an available port: Address already in use');
    await new Promise((r) => srv.close(r));
  });
});

describe('udp backend', () => {
  it('sends to the remote and receives on the local port', async () => {
    const peer = dgram.createSocket('udp4');
    await new Promise<void>((r) => peer.bind(0, '127.0.0.1', () => r()));
    const pp = peer.address().port;
    const c = await createChardev(parseLegacyChardev(`udp:127.0.0.1:${pp}@127.0.0.1:0`)) as CharBackend & { localPort: number };
    const got: string[] = [];
    peer.on('message', (m) => got.push(m.toString()));
    const back: string[] = [];
    c.onInput((d) => back.push(Buffer.from(d).toString()));
    c.write(enc('ping'));
    await until(() => got[0] === 'ping');
    peer.send('pong', c.localPort, '127.0.0.1');
    await until(() => back[0] === 'pong');
    await c.close(); peer.close();
  });
});

describe('mux backend (Ctrl-A escapes)', () => {
  function mk() {
    const be = new MemoryChar();
    let quit = 0;
    const mux = new MuxChar(be, { onQuit: () => quit++ });
    const serial = mux.frontend(), mon = mux.frontend();
    const sIn: number[] = [], mIn: number[] = [];
    serial.onInput((d) => sIn.push(...d)); mon.onInput((d) => mIn.push(...d));
    return { be, mux, serial, mon, sIn, mIn, quits: () => quit };
  }

  it('routes input to the focused frontend and switches with C-a c', () => {
    const { be, sIn, mIn, mux } = mk();
    be.feed('ab\x01cxy\x01cz');
    expect(String.fromCharCode(...sIn)).toBe('abz');
    expect(String.fromCharCode(...mIn)).toBe('xy');
    expect(mux.focus).toBe(0);
  });

  it('C-a C-a sends one C-a; unknown escapes are swallowed; escape split across chunks works', () => {
    const { be, sIn } = mk();
    be.feed('1\x01\x012\x01q3\x01');
    be.feed('\x014');
    expect([...sIn]).toEqual([0x31, 0x01, 0x32, 0x33, 0x01, 0x34]);
  });

  it('C-a h prints help, C-a x terminates', () => {
    const { be, quits } = mk();
    be.feed('\x01h');
    expect(be.text()).toContain('C-a x    exit emulator');
    expect(be.text()).toContain('C-a c    switch between console and monitor');
    be.feed('\x01x');
    expect(be.text().endsWith('QEMU: Terminated\n\r')).toBe(true);
    expect(quits()).toBe(1);
  });

  it('all frontends write to the backend; C-a b sends break to the focused one; timestamps toggle', () => {
    const be = new MemoryChar();
    let ns = 3_723_456_000_000;
    const mux = new MuxChar(be, { now: () => ns });
    const a = mux.frontend(), b = mux.frontend();
    let brk = 0;
    a.onBreak!(() => brk++);
    a.write(enc('A')); b.write(enc('B'));
    expect(be.text()).toBe('AB');
    be.feed('\x01b');
    expect(brk).toBe(1);
    be.feed('\x01t');
    a.write(enc('x\ny'));
    expect(be.text()).toBe('AB[01:02:03.456] x\n[01:02:03.456] y');
    ns = 0;
  });

  it('createChardev returns a mux for mux=on', async () => {
    const c = await createChardev({ backend: 'null', options: { mux: 'on' } });
    expect(isMux(c)).toBe(true);
  });
});

describe('stdio backend', () => {
  it('puts a terminal in raw mode, restores it on close, Ctrl-C interrupts with signal=on', async () => {
    const stdin = Object.assign(new PassThrough(), { isTTY: true, modes: [] as boolean[], setRawMode(b: boolean) { this.modes.push(b); return this; } });
    const stdout = new PassThrough();
    let ints = 0;
    const c = (await createChardev({ backend: 'stdio', options: {} }, { streams: { stdin: stdin as unknown as NodeJS.ReadStream, stdout }, onInterrupt: () => ints++ })) as CharBackend;
    expect(stdin.modes).toEqual([true]);
    await expect(createChardev({ backend: 'stdio', options: {} }, { streams: { stdin: new PassThrough(), stdout } })).rejects.toThrow('cannot use stdio by multiple character devices');
    const got: number[] = [];
    c.onInput((d) => got.push(...d));
    stdin.write('hi');
    await until(() => got.length === 2);
    c.write(enc('o')); c.write(enc('ut'));
    await Promise.resolve(); // writes are gathered until the current job ends
    expect(stdout.read().toString()).toBe('out');
    stdin.write('\x03');
    await until(() => ints === 1);
    expect(stdin.modes).toEqual([true, false]);
    await c.close();
  });

  it('passes Ctrl-C through with signal=off', async () => {
    const stdin = Object.assign(new PassThrough(), { isTTY: true, setRawMode() { return this; } });
    let ints = 0;
    const c = (await createChardev({ backend: 'stdio', options: { signal: 'off' } }, { streams: { stdin: stdin as unknown as NodeJS.ReadStream, stdout: new PassThrough() }, onInterrupt: () => ints++ })) as CharBackend;
    const got: number[] = [];
    c.onInput((d) => got.push(...d));
    stdin.write('\x03');
    await until(() => got.length === 1);
    expect(got).toEqual([3]);
    expect(ints).toBe(0);
    await c.close();
  });
});

describe('write coalescing', () => {
  it('hands one chunk per job to the sink, bounded, and flushes on demand', async () => {
    const { WriteCoalescer } = await import('../../src/chardev/types.js');
    const got: string[] = [];
    const w = new WriteCoalescer((d) => got.push(Buffer.from(d).toString()), 10);
    for (const ch of 'hello') w.push(enc(ch));
    expect(got).toEqual([]);
    await Promise.resolve();
    expect(got).toEqual(['hello']);
    w.push(enc('0123456789')); w.push(enc('dropped'));
    w.flush();
    expect(got).toEqual(['hello', '0123456789']);
    await Promise.resolve();
    expect(got.length).toBe(2);
  });
});
