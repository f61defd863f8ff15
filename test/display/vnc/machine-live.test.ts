/**
 * End to end: the whole qemu-ts pc (SeaBIOS, std VGA, no disks) served over
 * VNC, captured by a real client (gvnccapture) once SeaBIOS has given up
 * booting, compared with the renderer's own picture.
 */
import { describe, it, expect } from 'vitest';
import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { splitArgv } from '../../../src/cli/argv.js';
import { Builder } from '../../../src/cli/build.js';
import { firmwareSearchPath } from '../../../src/cli/firmware.js';
import { validateMachine } from '../../../src/cli/validate.js';
import { PcMachine } from '../../../src/machine/pc.js';
import { VgaRenderer } from '../../../src/devices/vga/render.js';
import { startVnc } from '../../../src/display/vnc/server.js';
import { Ps2InputSink } from '../../../src/display/input.js';
import { decodePngIndependently } from '../png-decode.js';
import { freeDisplay, sleep } from './fixtures.js';

const run = promisify(execFile);

describe('qemu-ts pc over VNC', () => {
  it('shows SeaBIOS\'s "No bootable device." to gvnccapture', async () => {
    const disp = freeDisplay();
    const b = new Builder({ warn: () => {} });
    for (const a of splitArgv(['-m', '32', '-vga', 'std', '-vnc', `127.0.0.1:${disp},to=${disp + 100}`])) b.apply(a);
    const d = b.finish();
    if (d.firmware.searchPath.length === 0) d.firmware.searchPath = firmwareSearchPath([], process.env, process.cwd());
    const m = await PcMachine.create(await validateMachine(d), { chardev: () => null, log: () => {} });
    const r = new VgaRenderer(m.vga!);
    const vnc = await startVnc(d.display.vnc!, { fb: () => r }, new Ps2InputSink(m.i8042), () => {}, { keymap: d.keyboardLayout });
    const dir = mkdtempSync(join(tmpdir(), 'qemu-ts-vnc-live-'));
    const running = m.run();
    try {
      const t0 = Date.now();
      while (!r.getTextScreen().chars.join('\n').includes('No bootable device') && Date.now() - t0 < 60_000) await sleep(200);
      expect(r.getTextScreen().chars.join('\n')).toContain('No bootable device');
      m.loop.pause();
      await sleep(100);
      const out = join(dir, 'screen.png');
      await run('gvnccapture', ['--quiet', `127.0.0.1:${vnc.port - 5900}`, out], { timeout: 20_000 });
      r.update();
      const png = decodePngIndependently(out);
      expect([png.width, png.height]).toEqual([r.width, r.height]);
      const bpp = png.colourType === 6 ? 4 : 3;
      let differ = 0, lit = 0;
      for (let i = 0; i < r.width * r.height; i++) {
        const same = png.rgb[i * bpp] === r.data[i * 4] && png.rgb[i * bpp + 1] === r.data[i * 4 + 1] && png.rgb[i * bpp + 2] === r.data[i * 4 + 2];
        if (!same) differ++;
        if (png.rgb[i * bpp]! > 128) lit++;
      }
      expect(lit).toBeGreaterThan(2000); // text is there
      expect(differ).toBeLessThanOrEqual(9 * 16); // at most the blinking cursor cell
    } finally {
      m.stop({ kind: 'quit', code: 0 });
      await running;
      await vnc.close();
      await m.close();
      rmSync(dir, { recursive: true, force: true });
    }
  }, 120_000);
});
