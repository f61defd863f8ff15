/**
 * A real VNC client against the server: vncsnapshot (TightVNC-based, RFB 3.3)
 * captures the screen as JPEG (quality 100), djpeg turns it into PPM, and the
 * pixels are compared with the served picture (loosely: JPEG is lossy).
 * Needs the Debian packages vncsnapshot and libjpeg-turbo-progs.
 */
import { describe, it, expect, afterEach } from 'vitest';
import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { decodePpm } from '../../../src/display/screendump.js';
import { desBlock } from '../../../src/display/vnc/des.js';
import type { VncServer } from '../../../src/display/vnc/server.js';
import { FakeScreen, RecordingSink, serve } from './fixtures.js';

const run = promisify(execFile);
const open: VncServer[] = [];
let dir = '';
afterEach(async () => {
  for (const s of open.splice(0)) await s.close();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

/** Flat blocks and a gentle gradient: JPEG at quality 100 keeps these within a few levels. */
function blocks(x: number, y: number): [number, number, number] {
  const bx = x >> 5, by = y >> 5;
  if (by === 0) return [x & 255, 128, 255 - (x & 255)];
  return [(bx * 53) & 255, (by * 97) & 255, ((bx + by) * 31) & 255];
}

async function snapshot(srv: VncServer, screen: FakeScreen, args: string[]): Promise<{ mean: number; bad: number }> {
  // vncsnapshot blocks on its own; the server refreshes on its timer meanwhile.
  const timer = setInterval(() => srv.refresh(), 30);
  try {
    const out = join(dir, `snap-${Math.random().toString(36).slice(2)}.jpg`);
    await run('vncsnapshot', ['-quiet', '-quality', '100', ...args, `127.0.0.1:${srv.port - 5900}`, out], { timeout: 20_000 });
    const ppm = (await run('djpeg', ['-pnm', out], { encoding: 'buffer', timeout: 10_000 })).stdout as Buffer;
    const img = decodePpm(ppm);
    expect([img.width, img.height]).toEqual([screen.width, screen.height]);
    let sum = 0, bad = 0;
    for (let i = 0; i < img.width * img.height; i++) {
      for (let c = 0; c < 3; c++) {
        const d = Math.abs(img.data[i * 4 + c]! - screen.data[i * 4 + c]!);
        sum += d;
        if (d > 24) bad++;
      }
    }
    return { mean: sum / (img.width * img.height * 3), bad };
  } finally { clearInterval(timer); }
}

describe('vncsnapshot (real client) against the VNC server', () => {
  for (const enc of ['raw', 'hextile', 'zlib', 'copyrect hextile']) {
    it(`captures the screen with -encodings "${enc}"`, async () => {
      dir = mkdtempSync(join(tmpdir(), 'qemu-ts-vncsnap-'));
      const screen = new FakeScreen(320, 200, blocks);
      const srv = await serve(screen, new RecordingSink());
      open.push(srv);
      srv.refresh();
      const r = await snapshot(srv, screen, ['-encodings', enc]);
      expect(r.mean).toBeLessThan(2);
      expect(r.bad).toBe(0);
    });
  }

  it('authenticates with a vncpasswd file (DES with the fixed vncpasswd key) and captures', async () => {
    dir = mkdtempSync(join(tmpdir(), 'qemu-ts-vncsnap-'));
    const screen = new FakeScreen(96, 64, blocks);
    const srv = await serve(screen, new RecordingSink(), { password: 'on' });
    open.push(srv);
    srv.setPassword('qemu-ts!');
    srv.refresh();
    // vncpasswd files hold the password DES-encrypted with a fixed key, bits of each key byte reversed as VNC does.
    const fixed = [23, 82, 107, 6, 35, 78, 88, 7].map((b) => { let r = 0; for (let i = 0; i < 8; i++) if (b & (1 << i)) r |= 0x80 >> i; return r; });
    const pw = Buffer.alloc(8); pw.write('qemu-ts!', 'latin1');
    const file = join(dir, 'passwd');
    writeFileSync(file, desBlock(Uint8Array.from(fixed), pw));
    const r = await snapshot(srv, screen, ['-passwd', file, '-encodings', 'hextile']);
    expect(r.bad).toBe(0);
    // A wrong password is refused.
    writeFileSync(file, desBlock(Uint8Array.from(fixed), Buffer.from('badpass!')));
    await expect(snapshot(srv, screen, ['-passwd', file])).rejects.toThrow();
  });
});
