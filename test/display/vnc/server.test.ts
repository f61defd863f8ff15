import { describe, it, expect, afterEach } from 'vitest';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { vncAuthResponse } from '../../../src/display/vnc/des.js';
import { parseVncSpec, type VncServer } from '../../../src/display/vnc/server.js';
import { FakeScreen, RecordingSink, serve, sleep } from './fixtures.js';
import { RfbClient, PF32, expectedPixel, type ClientPF } from './rfb-client.js';

const open: Array<VncServer> = [];
afterEach(async () => { for (const s of open.splice(0)) await s.close(); });

async function setup(w = 203, h = 117, options: Record<string, string> = {}) {
  const screen = new FakeScreen(w, h);
  const sink = new RecordingSink();
  const srv = await serve(screen, sink, options);
  open.push(srv);
  srv.refresh();
  return { screen, sink, srv };
}

/** Every pixel of the client's copy equals the screen converted to the client's format. */
function mismatches(c: RfbClient, screen: FakeScreen): number {
  let bad = 0;
  expect([c.width, c.height]).toEqual([screen.width, screen.height]);
  for (let y = 0; y < screen.height; y++) {
    for (let x = 0; x < screen.width; x++) {
      const [r, g, b] = screen.rgb(x, y);
      if (c.fb[y * screen.width + x] !== expectedPixel(c.pf, r, g, b)) bad++;
    }
  }
  return bad;
}

const FORMATS: Array<[string, ClientPF]> = [
  ['32bpp little endian', PF32],
  ['32bpp little endian, BGR', { ...PF32, redShift: 0, greenShift: 8, blueShift: 16 }],
  ['32bpp big endian, BGR', { ...PF32, bigEndian: true, redShift: 0, greenShift: 8, blueShift: 16 }],
  ['32bpp colour in the high bytes', { ...PF32, redShift: 24, greenShift: 16, blueShift: 8 }],
  ['16bpp 565 little endian', { bpp: 16, depth: 16, bigEndian: false, trueColour: true, redMax: 31, greenMax: 63, blueMax: 31, redShift: 11, greenShift: 5, blueShift: 0 }],
  ['16bpp 555 big endian', { bpp: 16, depth: 15, bigEndian: true, trueColour: true, redMax: 31, greenMax: 31, blueMax: 31, redShift: 10, greenShift: 5, blueShift: 0 }],
  ['8bpp 332 true colour', { bpp: 8, depth: 8, bigEndian: false, trueColour: true, redMax: 7, greenMax: 7, blueMax: 3, redShift: 5, greenShift: 2, blueShift: 0 }],
];
const ENCODINGS: Array<[string, number]> = [['Raw', 0], ['Hextile', 5], ['zlib', 6], ['ZRLE', 16]];

describe('VNC server with an RFB 3.8 test client', () => {
  it('sends ServerInit with the screen size, QEMU\'s x8r8g8b8 format and name', async () => {
    const { srv } = await setup();
    const c = await RfbClient.connect({ port: srv.port });
    await c.handshake('3.8');
    expect([c.width, c.height, c.name]).toEqual([203, 117, 'QEMU']);
    expect(c.pf).toEqual(PF32);
    c.close();
  });

  for (const [encName, enc] of ENCODINGS) {
    for (const [pfName, pf] of FORMATS) {
      it(`${encName} in ${pfName} decodes to exactly the screen`, async () => {
        const { screen, srv } = await setup();
        const c = await RfbClient.connect({ port: srv.port });
        await c.handshake('3.8');
        c.setPixelFormat(pf);
        c.setEncodings([enc]);
        c.request(false);
        const rects = await c.readUpdate();
        expect(rects.every((r) => r.enc === enc)).toBe(true);
        expect(mismatches(c, screen)).toBe(0);
        // Incremental: change a 30x10 patch; only its tiles come back, and they decode exactly (zlib/ZRLE streams continue).
        c.request(true);
        screen.paint((x, y) => [(x * 3) & 255, 255 - y, 77], 150, 70, 30, 10);
        srv.refresh();
        const inc = await c.readUpdate();
        const area = inc.reduce((a, r) => a + r.w * r.h, 0);
        expect(area).toBeLessThanOrEqual(64 * 32);
        expect(area).toBeGreaterThanOrEqual(30 * 10);
        expect(mismatches(c, screen)).toBe(0);
        c.close();
      });
    }
  }

  it('honours the CompressLevel pseudo-encoding for zlib (level 0 stores, level 9 compresses)', async () => {
    const { screen, srv } = await setup(96, 64);
    const sizes: number[] = [];
    for (const level of [0, 9]) {
      const c = await RfbClient.connect({ port: srv.port });
      await c.handshake('3.8');
      c.setEncodings([6, -256 + level]);
      c.request(false);
      await c.readUpdate();
      expect(mismatches(c, screen)).toBe(0);
      sizes.push(c.compressedBytes);
      c.close();
    }
    expect(sizes[0]).toBeGreaterThan(96 * 64 * 4); // stored blocks: raw size plus framing
    expect(sizes[1]).toBeLessThan(sizes[0]! * 0.85);
  });

  it('serves an 8-bit colour-map client with a 3:3:2 map', async () => {
    const { screen, srv } = await setup(64, 32);
    const c = await RfbClient.connect({ port: srv.port });
    await c.handshake('3.8');
    c.setPixelFormat({ bpp: 8, depth: 8, bigEndian: false, trueColour: false, redMax: 0, greenMax: 0, blueMax: 0, redShift: 0, greenShift: 0, blueShift: 0 });
    c.setEncodings([0]);
    c.request(false);
    await c.readUpdate();
    expect(c.colourMap).not.toBeNull();
    // Each pixel's colour-map entry is the screen colour to within the 3:3:2 quantisation.
    for (let y = 0; y < 32; y++) for (let x = 0; x < 64; x++) {
      const i = c.fb[y * 64 + x]!;
      const [r, g, b] = screen.rgb(x, y);
      expect(Math.abs(c.colourMap![i * 3]! - r)).toBeLessThan(40);
      expect(Math.abs(c.colourMap![i * 3 + 1]! - g)).toBeLessThan(40);
      expect(Math.abs(c.colourMap![i * 3 + 2]! - b)).toBeLessThan(90);
    }
    c.close();
  });

  it('speaks RFB 3.3 and 3.7 too', async () => {
    const { screen, srv } = await setup(40, 20);
    for (const v of ['3.3', '3.7'] as const) {
      const c = await RfbClient.connect({ port: srv.port });
      await c.handshake(v);
      c.request(false);
      await c.readUpdate();
      expect(mismatches(c, screen)).toBe(0);
      c.close();
    }
  });

  it('tells a DesktopSize client about a new resolution and sends the new picture', async () => {
    const { screen, srv } = await setup(80, 50);
    const c = await RfbClient.connect({ port: srv.port });
    await c.handshake('3.8');
    c.setEncodings([16, -223]);
    c.request(false);
    await c.readUpdate();
    screen.resize(120, 70, (x, y) => [x * 2, y * 3, 9]);
    srv.refresh();
    const rects = await c.readUpdate();
    expect(rects[0]).toMatchObject({ enc: -223, w: 120, h: 70 });
    expect([c.width, c.height]).toEqual([120, 70]);
    let tries = 0;
    while (mismatches(c, screen) !== 0 && tries++ < 3) { c.request(false); srv.refresh(); await c.readUpdate(); }
    expect(mismatches(c, screen)).toBe(0);
    c.close();
  });

  it('delivers keys (keysyms through the en-us map, QEMU extended key events as scancodes) and releases them on disconnect', async () => {
    const { sink, srv } = await setup(16, 16);
    const c = await RfbClient.connect({ port: srv.port });
    await c.handshake('3.8');
    c.setEncodings([0, -258]);
    c.request(false);
    const r = await c.readUpdate();
    expect(r.some((x) => x.enc === -258)).toBe(true); // QEMU acknowledges the extended key event
    c.key(true, 0x61); c.key(false, 0x61); // a
    c.key(true, 0xff52); c.key(false, 0xff52); // Up
    c.extKey(true, 0xff8d, 0x9c); c.extKey(false, 0xff8d, 0x9c); // keypad Enter by scancode
    c.extKey(true, 0x7a, 0); c.extKey(false, 0x7a, 0); // no keycode: falls back to the keysym (z)
    c.key(true, 0xffe1); // Shift held when the client goes away
    await sleep(50);
    c.close();
    await c.closedPromise;
    await expect.poll(() => sink.keys).toEqual([[0x1e, true], [0x1e, false], [0xc8, true], [0xc8, false], [0x9c, true], [0x9c, false], [0x2c, true], [0x2c, false], [0x2a, true], [0x2a, false]]);
  });

  it('toggles the guest\'s Num Lock when a keypad keysym disagrees with it', async () => {
    const { sink, srv } = await setup(16, 16);
    const c = await RfbClient.connect({ port: srv.port });
    await c.handshake('3.8');
    c.key(true, 0xffb1); c.key(false, 0xffb1); // KP_1 while the guest's Num Lock is off
    await expect.poll(() => sink.keys).toEqual([[0x45, true], [0x45, false], [0x4f, true], [0x4f, false]]);
    sink.keys = []; sink.leds = 2;
    c.key(true, 0xffb1); c.key(false, 0xffb1); // now on: no toggle
    c.key(true, 0xff9c); c.key(false, 0xff9c); // KP_End with Num Lock on: toggle off first
    c.key(true, 0xffab); c.key(false, 0xffab); // KP_Add does not depend on Num Lock
    await expect.poll(() => sink.keys).toEqual([[0x4f, true], [0x4f, false], [0x45, true], [0x45, false], [0x4f, true], [0x4f, false], [0x4e, true], [0x4e, false]]);
    c.close();
  });

  it('toggles the guest\'s Caps Lock when a letter keysym\'s case disagrees with Shift and the LED', async () => {
    const { sink, srv } = await setup(16, 16);
    const c = await RfbClient.connect({ port: srv.port });
    await c.handshake('3.8');
    c.key(true, 0x61); c.key(false, 0x61); // a: caps off, no shift: fine
    c.key(true, 0x41); c.key(false, 0x41); // A without Shift (client's Caps Lock on): toggle first
    await expect.poll(() => sink.keys).toEqual([[0x1e, true], [0x1e, false], [0x3a, true], [0x3a, false], [0x1e, true], [0x1e, false]]);
    sink.keys = []; sink.leds = 4; // the guest turned Caps Lock on
    c.key(true, 0x42); c.key(false, 0x42); // B: right already
    c.key(true, 0xffe1); c.key(true, 0x62); c.key(false, 0x62); c.key(false, 0xffe1); // Shift+b with Caps on gives b: right
    c.key(true, 0x31); c.key(false, 0x31); // digits are left alone
    await expect.poll(() => sink.keys).toEqual([[0x30, true], [0x30, false], [0x2a, true], [0x30, true], [0x30, false], [0x2a, false], [0x02, true], [0x02, false]]);
    c.close();
  });

  it('turns absolute pointer events into PS/2 motion, buttons and wheel', async () => {
    const { sink, srv } = await setup(100, 100);
    const c = await RfbClient.connect({ port: srv.port });
    await c.handshake('3.8');
    c.pointer(0, 50, 50);
    c.pointer(0, 60, 45);
    c.pointer(1, 60, 45); // left down
    c.pointer(4, 60, 45); // right only
    c.pointer(8, 60, 45); c.pointer(0, 60, 45); // wheel up notch
    c.pointer(16, 60, 45); // wheel down
    await expect.poll(() => sink.rel).toEqual([[10, -5, 0, 0], [0, 0, 0, 1], [0, 0, 0, 2], [0, 0, -1, 0], [0, 0, 1, 0]]);
    c.close();
  });

  it('with the QEMU pointer type extension (-257) takes relative motion offset by 0x7FFF', async () => {
    const { sink, srv } = await setup(100, 100);
    const c = await RfbClient.connect({ port: srv.port });
    await c.handshake('3.8');
    c.setEncodings([0, -257]);
    const r = await c.readUpdate();
    expect(r[0]).toMatchObject({ enc: -257, x: 0 }); // x = 0: relative (PS/2)
    c.pointer(0, 0x7fff + 3, 0x7fff - 2);
    c.pointer(2, 0x7fff, 0x7fff);
    await expect.poll(() => sink.rel).toEqual([[3, -2, 0, 0], [0, 0, 0, 4]]);
    c.close();
  });

  it('sends LED state on request and when the guest changes it', async () => {
    const { sink, srv } = await setup(16, 16);
    sink.leds = 2;
    const c = await RfbClient.connect({ port: srv.port });
    await c.handshake('3.8');
    c.setEncodings([0, -261]);
    c.request(false);
    // The LED state may come in its own update or with the pixels.
    const nextLed = async (): Promise<number | undefined> => {
      for (let i = 0; i < 3; i++) {
        const led = (await c.readUpdate()).find((r) => r.enc === -261)?.led;
        if (led !== undefined) return led;
      }
      return undefined;
    };
    expect(await nextLed()).toBe(2);
    sink.setLeds(4 | 1);
    expect(await nextLed()).toBe(5);
    sink.setLeds(5); // unchanged: nothing sent
    sink.setLeds(0);
    expect(await nextLed()).toBe(0);
    c.close();
  });

  it('authenticates with VNC Authentication and refuses a wrong or unset password', async () => {
    const { screen, srv } = await setup(32, 16, { password: 'on' });
    // No password set yet: QEMU refuses every client.
    let c = await RfbClient.connect({ port: srv.port });
    await expect(c.handshake('3.8', (ch) => vncAuthResponse('', ch))).rejects.toThrow(/Authentication failed/);
    srv.setPassword('secret12extra');
    c = await RfbClient.connect({ port: srv.port });
    await expect(c.handshake('3.8', (ch) => vncAuthResponse('wrong', ch))).rejects.toThrow(/Authentication failed/);
    c = await RfbClient.connect({ port: srv.port });
    await c.handshake('3.8', (ch) => vncAuthResponse('secret12', ch)); // only 8 characters count
    c.request(false);
    await c.readUpdate();
    expect(mismatches(c, screen)).toBe(0);
    c.close();
    c = await RfbClient.connect({ port: srv.port });
    await c.handshake('3.3', (ch) => vncAuthResponse('secret12', ch));
    c.close();
  });

  it('setPassword fails without password=on, as QEMU\'s change vnc password does', async () => {
    const { srv } = await setup(8, 8);
    expect(() => srv.setPassword('x')).toThrow('Could not set password');
  });

  it('closes clients that send garbage and keeps serving the others', async () => {
    const { screen, srv } = await setup(32, 16);
    const good = await RfbClient.connect({ port: srv.port });
    await good.handshake('3.8');
    const cases: Array<(c: RfbClient) => Promise<void>> = [
      async (c) => { await c.r.read(12); c.send(Buffer.from('HTTP/1.1 GET\n')); },
      async (c) => { await c.r.read(12); c.send(Buffer.from('RFB 004.000\n')); },
      async (c) => { await c.handshake('3.8'); c.send(Buffer.from([77, 1, 2, 3])); },
      async (c) => { await c.handshake('3.8'); c.cutText((1 << 20) + 1); },
      async (c) => { await c.handshake('3.8'); c.send(Buffer.from([0, 0, 0, 0, 24, 24, 0, 1, 0, 255, 0, 255, 0, 255, 16, 8, 0, 0, 0, 0])); },
      async (c) => { await c.handshake('3.8'); c.send(Buffer.from([255, 7])); },
    ];
    for (const f of cases) {
      const c = await RfbClient.connect({ port: srv.port });
      await f(c);
      await c.closedPromise; // the server hung up
    }
    // A cut text of exactly 1 MiB is fine.
    const ok = await RfbClient.connect({ port: srv.port });
    await ok.handshake('3.8');
    ok.cutText(1 << 20, Buffer.alloc(1 << 20, 0x41));
    ok.request(false);
    await ok.readUpdate();
    good.request(false);
    await good.readUpdate();
    expect(mismatches(good, screen)).toBe(0);
    expect(srv.clients().length).toBe(2);
    good.close(); ok.close();
  });

  it('leaves the renderer alone without clients and resynchronises when one connects', async () => {
    const { screen, srv } = await setup(64, 32);
    const before = screen.updates;
    for (let i = 0; i < 5; i++) srv.refresh();
    expect(screen.updates).toBe(before);
    const a = await RfbClient.connect({ port: srv.port });
    await a.handshake('3.8');
    a.request(false); await a.readUpdate();
    a.close(); await a.closedPromise; await sleep(20);
    // While nobody watches, a line changes to Y; a new client sees Y, then the line goes back to X.
    const x = screen.rgb(5, 5);
    screen.paint(() => [1, 2, 3], 0, 5, 64, 1);
    srv.refresh();
    const b = await RfbClient.connect({ port: srv.port });
    await b.handshake('3.8');
    b.setEncodings([16]);
    b.request(false); await b.readUpdate();
    srv.refresh();
    screen.paint(() => x, 0, 5, 64, 1);
    for (let i = 0; i < 4 && mismatches(b, screen) !== 0; i++) { b.request(true); srv.refresh(); await b.readUpdate(); }
    expect(mismatches(b, screen)).toBe(0);
    b.close();
  });

  it('survives random bytes from 150 clients (before and after the handshake)', async () => {
    const { screen, srv } = await setup(48, 40);
    let seed = 12345;
    const rnd = (n: number) => { seed = (seed * 1103515245 + 12345) >>> 0; return (seed >>> 8) % n; };
    for (let k = 0; k < 150; k++) {
      const c = await RfbClient.connect({ port: srv.port });
      if (k % 2 === 0) await c.handshake('3.8'); else await c.r.read(12);
      const junk = Buffer.alloc(1 + rnd(300));
      for (let i = 0; i < junk.length; i++) junk[i] = rnd(256);
      if (k % 5 === 0) junk[0] = rnd(7); // a plausible message type with random fields
      c.send(junk);
      if (k % 3 === 0) { c.request(false); srv.refresh(); }
      await sleep(2);
      c.close();
    }
    const good = await RfbClient.connect({ port: srv.port });
    await good.handshake('3.8');
    good.setEncodings([5]);
    good.request(false);
    await good.readUpdate();
    expect(mismatches(good, screen)).toBe(0);
    good.close();
  });

  it('a client that never reads does not stall updates to another client', async () => {
    const { screen, srv } = await setup(640, 480);
    const slow = await RfbClient.connect({ port: srv.port });
    await slow.handshake('3.8');
    slow.setEncodings([0]); // raw: 1.2 MB per frame
    const fast = await RfbClient.connect({ port: srv.port });
    await fast.handshake('3.8');
    fast.setEncodings([16]);
    slow.pauseReading();
    let frames = 0;
    const t0 = Date.now();
    for (let i = 0; i < 40; i++) {
      slow.request(false);
      fast.request(true);
      screen.paint((x, y) => [(x + i * 7) & 255, (y * 3 + i) & 255, i * 5], 0, 0, 640, 480);
      const t = Date.now();
      srv.refresh();
      expect(Date.now() - t).toBeLessThan(2000); // refresh never waits for a socket
      await fast.readUpdate();
      frames++;
    }
    expect(frames).toBe(40);
    expect(mismatches(fast, screen)).toBe(0);
    expect(Date.now() - t0).toBeLessThan(30_000);
    // The slow client still gets a correct picture once it reads.
    slow.r.takeAll();
    slow.close();
    fast.close();
  });

  it('a stalled client has at most one update in flight', async () => {
    const { screen, srv } = await setup(640, 480);
    const slow = await RfbClient.connect({ port: srv.port });
    await slow.handshake('3.8');
    slow.setEncodings([0]);
    slow.pauseReading();
    const sess = () => [...(srv as unknown as { sessions: Set<{ updatesSent: number; t: { pending: number } }> }).sessions][0]!;
    for (let i = 0; i < 30; i++) {
      slow.request(false);
      screen.paint((x, y) => [(x + i) & 255, y & 255, i], 0, 0, 640, 480);
      srv.refresh();
      await sleep(10);
    }
    // The kernel buffers take a few frames; after that nothing more is produced or buffered in user space.
    expect(sess().updatesSent).toBeLessThan(10);
    expect(sess().t.pending).toBeLessThanOrEqual(640 * 480 * 4 + 64);
    slow.close();
  });
});

describe('VNC listeners and options', () => {
  it('parses -vnc displays like QEMU (5900+N, to=, unix:, websocket=)', () => {
    expect(parseVncSpec({ display: ':1', options: {} })).toMatchObject({ kind: 'tcp', host: '127.0.0.1', port: 5901, lastPort: 5901, ws: null });
    expect(parseVncSpec({ display: '0.0.0.0:3', options: { to: '5' } })).toMatchObject({ host: '0.0.0.0', port: 5903, lastPort: 5905 });
    expect(parseVncSpec({ display: '[::1]:0', options: { websocket: 'on' } })).toMatchObject({ host: '::1', port: 5900, ws: { host: '::1', port: 5700 } });
    expect(parseVncSpec({ display: ':2', options: { websocket: '6080' } }).ws).toEqual({ host: '127.0.0.1', port: 6080 });
    expect(parseVncSpec({ display: 'unix:/tmp/x.sock', options: {} })).toMatchObject({ kind: 'unix', path: '/tmp/x.sock' });
    expect(parseVncSpec({ display: 'none', options: {} }).kind).toBe('none');
    expect(() => parseVncSpec({ display: ':x', options: {} })).toThrow("can't convert to a number: x");
    expect(() => parseVncSpec({ display: ':0', options: { bogus: 'on' } })).toThrow("Invalid parameter 'bogus'");
    expect(() => parseVncSpec({ display: ':0', options: { 'tls-creds': 'x' } })).toThrow(/not supported/);
  });

  it('moves on to the next port with to= when one is busy, and reports a busy port without to=', async () => {
    const blocker = createServer();
    const base = 14000 + Math.floor(Math.random() * 20000);
    await new Promise<void>((r) => blocker.listen(5900 + base, '127.0.0.1', () => r()));
    try {
      const screen = new FakeScreen(8, 8);
      const srv = await serve(screen, new RecordingSink(), { to: String(base + 3) }, `127.0.0.1:${base}`);
      open.push(srv);
      expect(srv.port).toBe(5901 + base);
      await expect(serve(screen, new RecordingSink(), {}, `127.0.0.1:${base}`)).rejects.toThrow(/Failed to start VNC server: .*EADDRINUSE/);
    } finally { blocker.close(); }
  });

  it('listens on a Unix socket', async () => {
    const path = join(tmpdir(), `qemu-ts-vnc-${process.pid}-${Date.now()}.sock`);
    const screen = new FakeScreen(24, 24);
    const srv = await serve(screen, new RecordingSink(), {}, `unix:${path}`);
    open.push(srv);
    expect(srv.address).toBe(`unix:${path}`);
    srv.refresh();
    const c = await RfbClient.connect({ path });
    await c.handshake('3.8');
    c.setEncodings([5]);
    c.request(false);
    await c.readUpdate();
    expect(mismatches(c, screen)).toBe(0);
    c.close();
  });

  it('speaks RFB over WebSocket (binary subprotocol, fragmented client frames) and drops bad frames', async () => {
    const { screen, sink, srv } = await setup(150, 90, { websocket: String(20000 + Math.floor(Math.random() * 20000)) });
    expect(srv.wsPort).toBeGreaterThan(0);
    const c = await RfbClient.connectWs(srv.wsPort);
    await c.handshake('3.8');
    c.setEncodings([16]);
    c.request(false);
    await c.readUpdate();
    expect(mismatches(c, screen)).toBe(0);
    const k = Buffer.alloc(8); k[0] = 4; k[1] = 1; k.writeUInt32BE(0x62, 4); // b down, sent in 3 fragments
    c.send(k, 3);
    await expect.poll(() => sink.keys).toEqual([[0x30, true]]);
    c.sendUnmasked(Buffer.from([3, 1, 0, 0, 0, 0, 0, 1, 0, 1]));
    await c.closedPromise;
    // No subprotocol offered also works (noVNC offers "binary"; others offer none).
    const d = await RfbClient.connectWs(srv.wsPort, '');
    await d.handshake('3.8');
    d.close();
  });
});
