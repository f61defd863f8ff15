import { describe, it, expect, afterAll } from 'vitest';
import { readFileSync, writeFileSync, existsSync, statSync, mkdirSync } from 'node:fs';
import { spawnSync } from 'node:child_process';
import { createImage } from '../../src/block/index.js';
import { tempDir, qemuImg, info } from './helpers.js';

const t = tempDir('create');
afterAll(() => t.cleanup());

const MATRIX: [string, string][] = [
  ['3000M', ''],
  ['1M', ''],
  ['0', ''],
  ['513', ''],
  ['1G', 'cluster_size=512'],
  ['1G', 'cluster_size=4k'],
  ['5T', 'cluster_size=2M'],
  ['64M', 'compat=0.10'],
  ['64M', 'compat=v2'],
  ['64M', 'compat=1.1'],
  ['64M', 'lazy_refcounts=on'],
  ['64M', 'refcount_bits=1'],
  ['64M', 'refcount_bits=8'],
  ['64M', 'refcount_bits=64'],
  ['1G', 'refcount_bits=1,cluster_size=512'],
  ['64M', 'extended_l2=on'],
  ['64M', 'extended_l2=on,cluster_size=16k'],
  ['64M', 'compression_type=zstd'],
  ['3M', 'preallocation=metadata'],
  ['1100M', 'preallocation=metadata'],
  ['3M', 'preallocation=metadata,extended_l2=on'],
  ['3M', 'preallocation=metadata,cluster_size=4k,refcount_bits=2'],
  ['1M', 'preallocation=falloc'],
  ['1M', 'preallocation=full'],
  ['1100M', 'preallocation=falloc'],
  ['3G', 'preallocation=full'],
  ['3M', 'preallocation=falloc,extended_l2=on'],
  ['20M', 'preallocation=full,cluster_size=512'],
  ['3M', 'preallocation=falloc,cluster_size=4k,refcount_bits=2'],
  ['64M', 'data_file=DATA'],
  ['64M', 'data_file=DATA,data_file_raw=on'],
  ['64M', 'data_file=DATA,preallocation=metadata'],
];

function cmp(a: string, b: string): string {
  const r = spawnSync('cmp', [a, b], { encoding: 'utf8' });
  return r.stdout + r.stderr;
}

function optsMap(o: string, dir: string, tag: string): Map<string, string> {
  const m = new Map<string, string>();
  if (!o) return m;
  for (const kv of o.split(',')) {
    const [k, v] = kv.split('=') as [string, string];
    m.set(k, v === 'DATA' ? `${tag}.data` : v);
  }
  void dir;
  return m;
}

describe('qcow2 create is byte-identical to qemu-img 7.2', () => {
  MATRIX.forEach(([size, o], idx) => {
    it(`${size} ${o || '(defaults)'}`, async () => {
      // Same file names in two directories, so the images (and data files) can be compared with cmp.
      mkdirSync(t.path(`r${idx}`));
      mkdirSync(t.path(`o${idx}`));
      const ro = o.replace(/DATA/g, 'x.data');
      const args = ['create', '-q', '-f', 'qcow2'];
      if (ro) args.push('-o', ro);
      const r = qemuImg([...args, 'x.qcow2', size], t.path(`r${idx}`));
      expect(r.status).toBe(0);
      const bytes = /^\d+$/.test(size) ? Number(size) : { '3000M': 3145728000, '1M': 1 << 20, '3M': 3 << 20, '64M': 64 << 20, '1G': 1 << 30, '1100M': 1100 << 20, '3G': 3 * 2 ** 30, '20M': 20 << 20, '5T': 5 * 2 ** 40 }[size]!;
      const m = new Map<string, string>();
      if (ro) for (const kv of ro.split(',')) m.set(kv.split('=')[0]!, kv.split('=')[1]!);
      if (m.has('data_file')) m.set('data_file', t.path(`o${idx}/x.data`));
      await createImage('qcow2', t.path(`o${idx}/x.qcow2`), bytes, m);
      if (m.has('data_file')) {
        // Data file names are stored as given; compare with the name as qemu-img got it.
        const cwd = process.cwd();
        process.chdir(t.path(`o${idx}`));
        try {
          await createImage('qcow2', 'y.qcow2', bytes, new Map([...m, ['data_file', 'y.data']]));
        } finally {
          process.chdir(cwd);
        }
        // y.data / x.data have the same length, so the headers compare equal after renaming.
        writeFileSync(t.path(`o${idx}/y.qcow2`), readFileSync(t.path(`o${idx}/y.qcow2`)).toString('latin1').replace('y.data', 'x.data'), 'latin1');
        expect(cmp(t.path(`r${idx}/x.qcow2`), t.path(`o${idx}/y.qcow2`))).toBe('');
      } else expect(cmp(t.path(`r${idx}/x.qcow2`), t.path(`o${idx}/x.qcow2`))).toBe('');
      expect(qemuImg(['check', t.path(`o${idx}/x.qcow2`)]).status).toBe(0);
      if (o.includes('data_file')) expect(cmp(t.path(`r${idx}/x.data`), t.path(`o${idx}/x.data`))).toBe('');
    });
  });

  it('with a backing file (and its size)', async () => {
    qemuImg(['create', '-q', '-f', 'qcow2', 'base.qcow2', '5M'], t.dir);
    qemuImg(['create', '-q', '-f', 'qcow2', '-b', 'base.qcow2', '-F', 'qcow2', 'refb.qcow2'], t.dir);
    let seen = -1;
    await createImage('qcow2', t.path('ourb.qcow2'), null, new Map([['backing_file', 'base.qcow2'], ['backing_fmt', 'qcow2']]), {
      onFormatting: (s) => { seen = s; },
    });
    expect(seen).toBe(5 << 20);
    expect(readFileSync(t.path('ourb.qcow2')).equals(readFileSync(t.path('refb.qcow2')))).toBe(true);
    const i = info(t.path('ourb.qcow2'));
    expect(i['backing-filename']).toBe('base.qcow2');
    expect(i['backing-filename-format']).toBe('qcow2');
  });

  for (const o of ['compat=0.10', 'extended_l2=on,preallocation=metadata', 'extended_l2=on,preallocation=full', 'cluster_size=4k,refcount_bits=8']) {
    it(`with a backing file and ${o}`, async () => {
      const r = qemuImg(['create', '-q', '-f', 'qcow2', '-o', o, '-b', 'base.qcow2', '-F', 'qcow2', `refb-${o}.qcow2`], t.dir);
      expect(r.stderr).toBe('');
      const m = new Map<string, string>([['backing_file', 'base.qcow2'], ['backing_fmt', 'qcow2']]);
      for (const kv of o.split(',')) m.set(kv.split('=')[0]!, kv.split('=')[1]!);
      await createImage('qcow2', t.path(`ourb-${o}.qcow2`), null, m);
      expect(cmp(t.path(`refb-${o}.qcow2`), t.path(`ourb-${o}.qcow2`))).toBe('');
    });
  }

  it('512-byte clusters with a backing file drop the feature table', async () => {
    qemuImg(['create', '-q', '-f', 'qcow2', '-o', 'cluster_size=512', '-b', 'base.qcow2', '-F', 'qcow2', 'refc.qcow2'], t.dir);
    await createImage('qcow2', t.path('ourc.qcow2'), null, new Map([['backing_file', 'base.qcow2'], ['backing_fmt', 'qcow2'], ['cluster_size', '512']]));
    expect(readFileSync(t.path('ourc.qcow2')).equals(readFileSync(t.path('refc.qcow2')))).toBe(true);
  });

  it('refused creates leave nothing behind', async () => {
    await expect(createImage('qcow2', t.path('bad.qcow2'), 1 << 20, new Map([['cluster_size', '1000']]))).rejects.toThrow('Cluster size');
    expect(existsSync(t.path('bad.qcow2'))).toBe(false);
    await expect(createImage('qcow2', t.path('big.qcow2'), 64 * 2 ** 50, new Map())).rejects.toThrow("The image size is too large for file format 'qcow2' (try using a larger cluster size)");
    expect(existsSync(t.path('big.qcow2'))).toBe(false);
  });

  it('raw create writes a sparse file of exactly SIZE bytes', async () => {
    await createImage('raw', t.path('r.img'), 513, new Map());
    expect(statSync(t.path('r.img')).size).toBe(513);
    await createImage('raw', t.path('r2.img'), 3145728000, new Map());
    const ours = info(t.path('r2.img'));
    qemuImg(['create', '-q', '-f', 'raw', t.path('r3.img'), '3000M']);
    const real = info(t.path('r3.img'));
    expect(ours['virtual-size']).toBe(real['virtual-size']);
    expect(ours['actual-size']).toBe(real['actual-size']);
  });
});
