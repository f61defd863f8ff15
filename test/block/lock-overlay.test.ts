import { describe, it, expect, afterAll } from 'vitest';
import { statSync, writeFileSync, existsSync, unlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, dirname } from 'node:path';
import { openImage, createImage, openOverlay } from '../../src/block/index.js';
import { tempDir, qemuImg, qemuIo } from './helpers.js';

const t = tempDir('lock');
afterAll(() => t.cleanup());

function lockFileOf(f: string): string {
  const st = statSync(f, { bigint: true });
  return join(tmpdir(), `qemu-ts-lock-${st.dev.toString(16)}-${st.ino.toString(16)}`);
}

describe('write locks', () => {
  it('a second writer is refused with qemu-img text; readers are not', async () => {
    const f = t.path('l.qcow2');
    await createImage('qcow2', f, 1 << 20, new Map());
    const a = await openImage(f, { readOnly: false });
    await expect(openImage(f, { readOnly: false })).rejects.toThrow(
      `Could not open '${f}': Failed to get "write" lock\nIs another process using the image [${f}]?`);
    const r = await openImage(f, { readOnly: true });
    await r.close();
    await a.close();
    const b = await openImage(f, { readOnly: false });
    await b.close();
    expect(existsSync(lockFileOf(f))).toBe(false);
  });

  it('a lock held by another live process blocks; a stale one is taken over', async () => {
    const f = t.path('l2.raw');
    writeFileSync(f, Buffer.alloc(4096));
    const lf = lockFileOf(f);
    writeFileSync(lf, `${process.ppid}\n`);
    await expect(openImage(f, { readOnly: false, format: 'raw' })).rejects.toThrow('Failed to get "write" lock');
    // A live pid whose start time differs is a reused pid: the lock is stale.
    writeFileSync(lf, `${process.ppid} 1\n`);
    const m = await openImage(f, { readOnly: false, format: 'raw' });
    await m.close();
    writeFileSync(lf, '999999999\n');
    const n = await openImage(f, { readOnly: false, format: 'raw' });
    await n.close();
    expect(existsSync(lf)).toBe(false);
    if (existsSync(lf)) unlinkSync(lf);
  });
});

describe('creating over an image that is open', () => {
  it('is refused before anything is truncated (convert src src)', async () => {
    const f = t.path('src.qcow2');
    qemuImg(['create', '-q', '-f', 'qcow2', f, '1M']);
    qemuIo(f, ['write -P 5 0 64k']);
    const real = qemuImg(['convert', '-O', 'raw', f, f]);
    const src = await openImage(f, { readOnly: true });
    await expect(createImage('raw', f, 1 << 20, new Map())).rejects.toThrow(`Failed to get "write" lock\nIs another process using the image [${f}]?`);
    expect(real.stderr).toContain(`Failed to get "write" lock\nIs another process using the image [${f}]?`);
    await src.close();
    expect(qemuIo(f, ['read -P 5 0 64k']).stdout).not.toContain('failed');
  });
});

describe('-snapshot overlay', () => {
  it('writes go to a temporary qcow2 that is deleted on close; the base is untouched', async () => {
    const base = t.path('base.qcow2');
    qemuImg(['create', '-q', '-f', 'qcow2', base, '4M']);
    qemuIo(base, ['write -P 0x61 0 4M']);
    const before = statSync(base).mtimeMs;
    const b = await openImage(base, { readOnly: true });
    const ov = await openOverlay(b);
    expect(ov.size()).toBe(4 << 20);
    await ov.write(512, new Uint8Array(1024).fill(0x62));
    const buf = new Uint8Array(2048);
    await ov.read(0, buf);
    expect(buf[0]).toBe(0x61);
    expect(buf[512]).toBe(0x62);
    expect(buf[1536]).toBe(0x61);
    const path = (ov as unknown as { filename: string }).filename;
    expect(existsSync(path)).toBe(true);
    await ov.close();
    expect(existsSync(path)).toBe(false);
    expect(existsSync(dirname(path))).toBe(false);
    await b.close();
    expect(statSync(base).mtimeMs).toBe(before);
    expect(qemuIo(base, ['read -P 0x61 0 4M']).stdout).not.toContain('failed');
  });
});
