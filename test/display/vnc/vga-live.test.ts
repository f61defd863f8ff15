/**
 * The VNC server on the real VGA renderer: mode changes (DesktopSize), VRAM
 * writes (the renderer's dirty lines) and text mode, each compared exactly
 * with the renderer's picture through the test client.
 */
import { describe, it, expect, afterEach } from 'vitest';
import type { Framebuffer } from '../../../src/display/framebuffer.js';
import { startVnc, type VncServer } from '../../../src/display/vnc/server.js';
import { MODES, c8, egaColor, loadDac, loadFont, rig, setMode } from '../../devices/vga/helpers.js';
import { RecordingSink, freeDisplay } from './fixtures.js';
import { RfbClient, expectedPixel } from './rfb-client.js';

const open: VncServer[] = [];
afterEach(async () => { for (const s of open.splice(0)) await s.close(); });

function same(c: RfbClient, fb: Framebuffer): number {
  expect([c.width, c.height]).toEqual([fb.width, fb.height]);
  let bad = 0;
  for (let i = 0; i < fb.width * fb.height; i++) {
    if (c.fb[i] !== expectedPixel(c.pf, fb.data[i * 4]!, fb.data[i * 4 + 1]!, fb.data[i * 4 + 2]!)) bad++;
  }
  return bad;
}

/** Refresh and read updates until the client's copy matches (bounded). */
async function settle(c: RfbClient, srv: VncServer, fb: () => Framebuffer): Promise<number> {
  for (let i = 0; i < 6; i++) {
    c.request(true);
    srv.refresh();
    await c.readUpdate();
    if (c.width === fb().width && c.height === fb().height && same(c, fb()) === 0) return 0;
  }
  return same(c, fb());
}

describe('VNC on the VGA renderer', () => {
  it('follows mode 13h drawing, a switch to text mode and back', async () => {
    const { io, mem, r } = rig();
    setMode(io, MODES['13']!);
    loadDac(io, (i) => [i & 63, (i >> 2) & 63, (255 - i) & 63]);
    for (let y = 0; y < 200; y++) for (let x = 0; x < 320; x++) mem.write8(0xa0000 + y * 320 + x, (x + y) & 255);
    const d = freeDisplay();
    const srv = await startVnc({ display: `127.0.0.1:${d}`, options: { to: String(d + 100) } }, { fb: () => r }, new RecordingSink(), () => {}, { timer: false });
    open.push(srv);
    const c = await RfbClient.connect({ port: srv.port });
    await c.handshake('3.8');
    expect([c.width, c.height]).toEqual([640, 400]);
    c.setEncodings([16, -223]);
    c.request(false);
    await c.readUpdate();
    expect(same(c, r)).toBe(0);
    expect(c.fb[0]).toBe(expectedPixel(c.pf, c8(0), c8(0), c8(63)));

    // A few pixels change: only their neighbourhood is sent.
    c.request(true);
    for (let x = 100; x < 110; x++) mem.write8(0xa0000 + 50 * 320 + x, 7);
    srv.refresh();
    const rects = await c.readUpdate();
    expect(rects.reduce((a, q) => a + q.w * q.h, 0)).toBeLessThanOrEqual(3 * 16 * 16);
    expect(same(c, r)).toBe(0);

    // Text mode: 720x400, announced with DesktopSize.
    setMode(io, MODES['03']!);
    loadDac(io, egaColor);
    loadFont(io, mem, 16, (ch, row) => (ch * 37 + row * 11) & 0xff);
    for (let i = 0; i < 80 * 25; i++) { mem.write8(0xb8000 + i * 2, (i * 7) & 255); mem.write8(0xb8001 + i * 2, (i % 15) + 1); }
    expect(await settle(c, srv, () => r)).toBe(0);
    expect([c.width, c.height]).toEqual([720, 400]);

    // And back to mode 13h (VRAM was rewritten by the text mode, so redraw a pattern).
    setMode(io, MODES['13']!);
    for (let y = 0; y < 200; y++) for (let x = 0; x < 320; x++) mem.write8(0xa0000 + y * 320 + x, (x * y) & 255);
    expect(await settle(c, srv, () => r)).toBe(0);
    expect([c.width, c.height]).toEqual([640, 400]);
  });
});
