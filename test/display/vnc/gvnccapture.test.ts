/**
 * A second real client: gvnccapture (gtk-vnc) negotiates ZRLE, DesktopSize,
 * the QEMU extended key event and LED state like virt-viewer does, and writes
 * the screen as PNG; the PNG is decoded independently and compared exactly.
 * Needs the Debian package gvncviewer.
 */
import { describe, it, expect, afterEach } from 'vitest';
import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import type { VncServer } from '../../../src/display/vnc/server.js';
import { decodePngIndependently } from '../png-decode.js';
import { FakeScreen, RecordingSink, serve, pattern } from './fixtures.js';

const run = promisify(execFile);
const open: VncServer[] = [];
let dir = '';
afterEach(async () => {
  for (const s of open.splice(0)) await s.close();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

describe('gvnccapture (gtk-vnc) against the VNC server', () => {
  it('captures the screen pixel-exactly', async () => {
    dir = mkdtempSync(join(tmpdir(), 'qemu-ts-gvnc-'));
    const screen = new FakeScreen(203, 117, pattern);
    const srv = await serve(screen, new RecordingSink());
    open.push(srv);
    srv.refresh();
    const timer = setInterval(() => srv.refresh(), 30);
    const out = join(dir, 'cap.png');
    try {
      const r = await run('gvnccapture', ['--debug', `127.0.0.1:${srv.port - 5900}`, out], { timeout: 20_000, env: { ...process.env, G_MESSAGES_DEBUG: 'all' } });
      if (process.env.VNC_DEBUG) console.error(r.stdout, r.stderr);
    } finally { clearInterval(timer); }
    const png = decodePngIndependently(out);
    expect([png.width, png.height]).toEqual([203, 117]);
    const bpp = png.colourType === 6 ? 4 : 3;
    let bad = 0;
    for (let i = 0; i < 203 * 117; i++) for (let c = 0; c < 3; c++) if (png.rgb[i * bpp + c] !== screen.data[i * 4 + c]) bad++;
    expect(bad).toBe(0);
  });
});
