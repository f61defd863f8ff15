import { describe, it, expect, afterAll } from 'vitest';
import { writeFileSync, readFileSync } from 'node:fs';
import { openImage, createImage, BlockError, isProbedRaw } from '../../src/block/index.js';
import { tempDir, qemuImg } from './helpers.js';

const t = tempDir('errors');
afterAll(() => t.cleanup());

async function openErr(file: string, format?: string): Promise<string> {
  try {
    const n = await openImage(file, { readOnly: true, format });
    await n.close();
    return 'opened';
  } catch (e) {
    expect(e).toBeInstanceOf(BlockError);
    return (e as Error).message;
  }
}

/** The message qemu-img prints for `info` (after "qemu-img: "), rc 1. */
function realErr(file: string, format?: string): string {
  const r = qemuImg(['info', ...(format ? ['-f', format] : []), file], t.dir);
  return r.stderr.replace(/^qemu-img: /, '').replace(/\n$/, '');
}

describe('openImage errors match qemu-img', () => {
  it('missing file', async () => {
    const f = t.path('nope.qcow2');
    expect(await openErr(f)).toBe(`Could not open '${f}': Could not open '${f}': No such file or directory`);
    expect(await openErr(f)).toBe(realErr(f));
  });
  it('unknown driver', async () => {
    const f = t.path('r.raw');
    writeFileSync(f, Buffer.alloc(1024));
    expect(await openErr(f, 'bogus')).toBe(realErr(f, 'bogus'));
  });
  it('directory', async () => {
    expect(await openErr(t.dir)).toBe(realErr(t.dir));
  });
  it('wrong forced format', async () => {
    const f = t.path('r2.raw');
    writeFileSync(f, Buffer.alloc(1024));
    expect(await openErr(f, 'qcow2')).toBe(`Could not open '${f}': Image is not in qcow2 format`);
    expect(await openErr(f, 'qcow2')).toBe(realErr(f, 'qcow2'));
  });
  it('missing backing file', async () => {
    qemuImg(['create', '-f', 'qcow2', 'bb.qcow2', '1M'], t.dir);
    qemuImg(['create', '-f', 'qcow2', '-b', 'bb.qcow2', '-F', 'qcow2', 'top.qcow2'], t.dir);
    qemuImg(['rebase', '-u', '-b', 'gone.qcow2', '-F', 'qcow2', 'top.qcow2'], t.dir);
    const f = t.path('top.qcow2');
    const real = qemuImg(['check', f]).stderr.replace(/^qemu-img: /, '').trim();
    expect(await openErr(f)).toBe(real);
    expect(real).toContain('Could not open backing file: Could not open');
  });
  it('backing loop is refused', async () => {
    qemuImg(['create', '-f', 'qcow2', 'la.qcow2', '1M'], t.dir);
    qemuImg(['create', '-f', 'qcow2', '-b', 'la.qcow2', '-F', 'qcow2', 'lb.qcow2'], t.dir);
    qemuImg(['rebase', '-u', '-b', 'lb.qcow2', '-F', 'qcow2', 'la.qcow2'], t.dir);
    const msg = await openErr(t.path('lb.qcow2'));
    expect(msg).toBe(`Backing file '${t.path('lb.qcow2')}' creates an infinite loop.`);
    // qemu-img info --backing-chain reports the same text (with its relative name).
    expect(qemuImg(['info', '--backing-chain', 'lb.qcow2'], t.dir).stderr).toBe("qemu-img: Backing file 'lb.qcow2' creates an infinite loop.\n");
  });
  it('header validation texts', async () => {
    const f = t.path('h.qcow2');
    const mk = (patch: (b: Buffer) => void, size = 0) => {
      qemuImg(['create', '-f', 'qcow2', f, '1M']);
      const b = readFileSync(f);
      patch(b);
      writeFileSync(f, size ? b.subarray(0, size) : b);
    };
    const cases: [(b: Buffer) => void, number][] = [
      [(b) => b.writeUInt32BE(4, 4), 0],
      [(b) => b.writeUInt32BE(99, 4), 0],
      [(b) => b.writeUInt32BE(0x20, 76), 0],
      [(b) => b.writeUInt32BE(8, 20), 0],
      [(b) => b.writeUInt32BE(22, 20), 0],
      [(b) => b.writeUInt32BE(7, 96), 0],
      [(b) => b.writeUInt32BE(50, 100), 0],
      [(b) => b.writeUInt32BE(1000000, 100), 0],
      [(b) => b.writeUInt32BE(0x30200, 44), 0],
      [(b) => b.writeUInt32BE(0, 36), 0],
      [(b) => b.writeUInt32BE(100000000, 36), 0],
      [(b) => b.writeUInt32BE(8, 76), 0],
      [(b) => b.writeUInt32BE(8, 76), 0],
      [(b) => { b.writeUInt32BE(8, 76); b[104] = 1; b.writeUInt32BE(0, 76); }, 0],
      [(b) => b.writeUInt32BE(0x1000000, 60), 0],
      [(b) => b.writeUInt32BE(0x10200, 52), 0],
      [(b) => { b.writeUInt32BE(1, 60); b.writeUInt32BE(0x10200, 68); }, 0],
      [(b) => b.writeUInt32BE(0x10000, 56), 0],
      [(b) => b.writeUInt32BE(0, 56), 0],
      [(b) => b.writeUInt32BE(3, 32), 0],
      [() => undefined, 50],
      [() => undefined, 100],
    ];
    for (const [p, size] of cases) {
      mk(p, size);
      const real = realErr(f);
      expect(real).toMatch(/^Could not open/);
      expect(await openErr(f)).toBe(real);
    }
  });
});

describe('createImage errors', () => {
  const cerr = async (fmt: string, name: string, size: number | null, o: Record<string, string>) => {
    try {
      await createImage(fmt, t.path(name), size, new Map(Object.entries(o)));
      return 'created';
    } catch (e) {
      return (e as Error).message;
    }
  };
  it('match qemu-img texts', async () => {
    const cases: [string, Record<string, string>][] = [
      ['compat=2', { compat: '2' }],
      ['preallocation=bogus', { preallocation: 'bogus' }],
      ['lazy_refcounts=maybe', { lazy_refcounts: 'maybe' }],
      ['cluster_size=1000', { cluster_size: '1000' }],
      ['refcount_bits=3', { refcount_bits: '3' }],
      ['compat=0.10,refcount_bits=8', { compat: '0.10', refcount_bits: '8' }],
      ['compat=0.10,lazy_refcounts=on', { compat: '0.10', lazy_refcounts: 'on' }],
      ['compat=0.10,compression_type=zstd', { compat: '0.10', compression_type: 'zstd' }],
      ['cluster_size=4k,extended_l2=on', { cluster_size: '4k', extended_l2: 'on' }],
      ['bogus=1', { bogus: '1' }],
    ];
    for (const [o, m] of cases) {
      const real = qemuImg(['create', '-f', 'qcow2', '-o', o, 'c.qcow2', '1M'], t.dir).stderr.replace(/^qemu-img: c\.qcow2: /, '').trim();
      expect(await cerr('qcow2', 'c.qcow2', 1048576, m)).toBe(real);
    }
    expect(await cerr('bogus', 'c.qcow2', 1048576, {})).toBe("Unknown file format 'bogus'");
    expect(await cerr('qcow2', 'nodir/x.qcow2', 1048576, {})).toBe(`Could not create '${t.path('nodir/x.qcow2')}': No such file or directory`);
    expect(await cerr('qcow2', 'm.qcow2', null, { backing_file: 'missing.qcow2', backing_fmt: 'qcow2' }))
      .toBe(`Could not open '${t.path('missing.qcow2')}': No such file or directory\nCould not open backing image.`);
    qemuImg(['create', '-f', 'qcow2', 'base.qcow2', '1M'], t.dir);
    expect(await cerr('qcow2', 'm.qcow2', null, { backing_file: 'base.qcow2' })).toBe('Backing file specified without backing format\nDetected format of qcow2.');
    expect(await cerr('raw', 'm.raw', 1024, { backing_file: 'base.qcow2', backing_fmt: 'qcow2' })).toBe("Backing file not supported for file format 'raw'");
    expect(await cerr('qcow2', 'm.qcow2', 1024, { backing_fmt: 'qcow2' })).toBe('Backing format cannot be used without backing file');
  });
});

describe('probed raw', () => {
  it('is flagged so the tool can warn', async () => {
    const f = t.path('p.raw');
    writeFileSync(f, Buffer.alloc(4096));
    const n = await openImage(f, { readOnly: false });
    expect(isProbedRaw(n)).toBe(true);
    expect(n.size()).toBe(4096);
    await n.close();
    const n2 = await openImage(f, { readOnly: true, format: 'raw' });
    expect(isProbedRaw(n2)).toBe(false);
    await n2.close();
  });
});

describe('encrypted images', () => {
  it('are refused with a clear message', async () => {
    const f = t.path('enc.qcow2');
    qemuImg(['create', '-q', '-f', 'qcow2', f, '1M']);
    const b = readFileSync(f);
    b.writeUInt32BE(1, 32);
    writeFileSync(f, b);
    expect(await openErr(f)).toBe(`Could not open '${f}': encrypted qcow2 images are not supported`);
  });
});

describe('-f file', () => {
  it('opens the host file as a format, like qemu-img', async () => {
    const f = t.path('ff.raw');
    writeFileSync(f, Buffer.alloc(513));
    const n = await openImage(f, { readOnly: true, format: 'file' });
    const real = JSON.parse(qemuImg(['info', '-f', 'file', '--output=json', f]).stdout) as Record<string, unknown>;
    expect(n.driver.name).toBe(real['format']);
    expect(n.size()).toBe(real['virtual-size']);
    await n.close();
  });
});
