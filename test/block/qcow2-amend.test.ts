import { describe, it, expect, afterAll } from 'vitest';
import { readFileSync, copyFileSync } from 'node:fs';
import { openImage, closeChain } from '../../src/block/index.js';
import type { BlockNode } from '../../src/block/types.js';
import { tempDir, qemuImg, qemuIo, info } from './helpers.js';

const t = tempDir('amend');
afterAll(() => t.cleanup());

type Node = BlockNode & {
  amend(o: Map<string, string>, force: boolean): Promise<void>;
  changeBackingFile(f: string | null, fmt: string | null): Promise<void>;
  makeEmpty(): Promise<void>;
  openSnapshotView(s: string): Promise<BlockNode>;
};
const open = async (f: string) => (await openImage(f, { readOnly: false })) as Node;

function content(f: string, extra: string[] = []): Buffer {
  const out = `${f}.${extra.length}.raw`;
  const r = qemuImg(['convert', ...extra, '-O', 'raw', f, out]);
  expect(r.stderr).toBe('');
  return readFileSync(out);
}
function check(f: string): void {
  const r = qemuImg(['check', f]);
  expect(r.stderr).toBe('');
  expect(r.status).toBe(0);
}
function img(name: string, opts = ''): string {
  const f = t.path(name);
  qemuImg(['create', '-q', '-f', 'qcow2', ...(opts ? ['-o', opts] : []), f, '16M']);
  qemuIo(f, ['write -P 1 0 1M', 'write -c -P 2 2M 128k', 'write -z 3M 64k', 'write -P 3 5M 100k']);
  return f;
}
type FS = { data: Record<string, unknown> };

describe('amend', () => {
  for (const o of ['compat=1.1', 'lazy_refcounts=on', 'compat=0.10']) {
    it(`${o}: same result as qemu-img amend`, async () => {
      const src = img(`a-${o}.qcow2`, o === 'compat=1.1' ? 'compat=0.10' : '');
      const before = content(src);
      const ref = t.path(`a-${o}-ref.qcow2`);
      copyFileSync(src, ref);
      expect(qemuImg(['amend', '-o', o, ref]).status).toBe(0);
      const n = await open(src);
      const [k, v] = o.split('=') as [string, string];
      await n.amend(new Map([[k, v]]), false);
      await n.close();
      check(src);
      expect(content(src).equals(before)).toBe(true);
      const a = info(src);
      const b = info(ref);
      expect((a['format-specific'] as FS).data).toEqual((b['format-specific'] as FS).data);
      if (o !== 'compat=0.10') expect(readFileSync(src).equals(readFileSync(ref))).toBe(true);
    });
  }
  for (const bits of ['8', '64', '1']) {
    it(`refcount_bits=${bits}`, async () => {
      const src = img(`rb${bits}.qcow2`);
      const before = content(src);
      const n = await open(src);
      if (bits === '1') {
        await expect(n.amend(new Map([['refcount_bits', bits]]), false)).rejects.toThrow(/Cannot decrease refcount entry width to 1 bits/);
        await n.close();
        return;
      }
      await n.amend(new Map([['refcount_bits', bits]]), false);
      await n.write(8 << 20, new Uint8Array(200000).fill(9));
      await n.close();
      check(src);
      expect(((info(src)['format-specific'] as FS).data)['refcount-bits']).toBe(Number(bits));
      const exp = Buffer.from(before);
      exp.fill(9, 8 << 20, (8 << 20) + 200000);
      expect(content(src).equals(exp)).toBe(true);
    });
  }
  it('creation-only options are refused with qemu-img text', async () => {
    const src = img('co.qcow2');
    const n = await open(src);
    const real = qemuImg(['amend', '-o', 'cluster_size=4k', src]).stderr.replace(/^qemu-img: /, '').trim();
    await expect(n.amend(new Map([['cluster_size', '4k']]), false)).rejects.toThrow(real);
    await n.close();
  });
});

describe('rebase/commit hooks and snapshot views', () => {
  it('changeBackingFile is byte-identical to qemu-img rebase -u', async () => {
    const b = img('base.qcow2');
    qemuImg(['create', '-q', '-f', 'qcow2', t.path('nb.qcow2'), '16M']);
    const top = t.path('top.qcow2');
    qemuImg(['create', '-q', '-f', 'qcow2', '-b', b, '-F', 'qcow2', top]);
    const ref = t.path('top-ref.qcow2');
    copyFileSync(top, ref);
    qemuImg(['rebase', '-u', '-b', 'nb.qcow2', '-F', 'qcow2', ref]);
    const n = await open(top);
    await n.changeBackingFile('nb.qcow2', 'qcow2');
    await n.close();
    expect(readFileSync(top).equals(readFileSync(ref))).toBe(true);
    qemuImg(['rebase', '-u', '-b', '', ref]);
    const n2 = await open(top);
    await n2.changeBackingFile(null, null);
    await n2.close();
    expect(readFileSync(top).equals(readFileSync(ref))).toBe(true);
  });
  it('makeEmpty lets reads fall through to the backing file', async () => {
    const b = img('mb.qcow2');
    const top = t.path('mt.qcow2');
    qemuImg(['create', '-q', '-f', 'qcow2', '-b', b, '-F', 'qcow2', top]);
    qemuIo(top, ['write -P 7 0 3M']);
    const n = await open(top);
    await n.makeEmpty();
    await closeChain(n);
    check(top);
    expect(content(top).equals(content(b))).toBe(true);
  });
  it('openSnapshotView reads what qemu-img convert -l reads', async () => {
    const f = img('sv.qcow2');
    qemuImg(['snapshot', '-c', 'one', f]);
    qemuIo(f, ['write -P 8 0 2M']);
    const expected = content(f, ['-l', 'one']);
    const n = await open(f);
    const v = await n.openSnapshotView('one');
    const buf = new Uint8Array(v.size());
    await v.read(0, buf);
    await v.close();
    await n.close();
    expect(Buffer.from(buf).equals(expected)).toBe(true);
  });
});
