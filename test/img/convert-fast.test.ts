/**
 * The fast paths of convert, checked against qemu-img: runs of fresh qcow2
 * clusters written with one call (also into images where some clusters are
 * already allocated, zero-flagged or compressed), data-only reads with
 * buffers reused across windows, and -S merging of short holes the source
 * never stored.
 */
import { describe, expect, it } from 'vitest';
import { join } from 'node:path';
import { argv, dispose, qemuCheck, qemuCompare, qemuMap, twin } from './harness.js';

describe('convert fast paths match qemu-img', () => {
  it('raw -> qcow2: runs of new clusters land contiguously, image checks clean and unfragmented', async () => {
    const setup = [
      'qemu-img create -q r.raw 24M',
      // runs of several clusters, an isolated cluster, a partial cluster, a zero run inside data
      'qemu-io -f raw -c "write -P 1 0 1M" -c "write -P 2 2M 64k" -c "write -P 3 3M 100k" -c "write -P 4 5M 3M" -c "write -P 0 6M 128k" -c "write -P 5 20M 4M" r.raw >/dev/null',
    ].join(' && ');
    const t = await twin(setup, argv('convert -O qcow2 r.raw o.qcow2'));
    try {
      expect(t.t).toEqual(t.q);
      const o = join(t.tdir, 'o.qcow2');
      expect(qemuCompare(join(t.tdir, 'r.raw'), o, 'raw', 'qcow2').out).toBe('Images are identical.\n');
      expect(qemuMap(o, 'qcow2')).toEqual(qemuMap(join(t.qdir, 'o.qcow2'), 'qcow2'));
      const c = qemuCheck(o);
      expect(c.rc).toBe(0);
      expect(c.out).toContain('No errors were found on the image.');
      expect(c.out).toMatch(/ 0\.00% fragmented/);
    } finally {
      dispose(t);
    }
  });

  it('convert -n into a qcow2 with allocated, zero-flagged and compressed clusters', async () => {
    const setup = [
      'qemu-img create -q r.raw 4M',
      'qemu-io -f raw -c "write -P 7 0 4M" r.raw >/dev/null',
      'qemu-img create -q -f qcow2 o.qcow2 4M',
      'qemu-io -c "write -P 1 128k 64k" -c "write -z 256k 64k" -c "write -c -P 2 448k 64k" -c "write -P 3 1M 192k" -c "write -z -u 2M 128k" o.qcow2 >/dev/null',
    ].join(' && ');
    const t = await twin(setup, argv('convert -n -O qcow2 r.raw o.qcow2'));
    try {
      expect(t.t).toEqual(t.q);
      const o = join(t.tdir, 'o.qcow2');
      expect(qemuCompare(join(t.tdir, 'r.raw'), o, 'raw', 'qcow2').out).toBe('Images are identical.\n');
      const c = qemuCheck(o);
      expect(c.out).toContain('No errors were found on the image.');
      expect(c.rc).toBe(0);
    } finally {
      dispose(t);
    }
  });

  it('-S 64k to raw from a sparse raw over many windows: short holes become zeros, never stale buffer bytes', async () => {
    // > 64 MiB so the SEEK_DATA extents are used; data in the first windows fills
    // the reused buffers, later windows have 8 KiB holes between data.
    const writes: string[] = [];
    for (let m = 0; m < 40; m += 1) writes.push(`-c "write -P ${(m % 200) + 17} ${m}M 1M"`);
    for (let m = 48; m < 80; m += 2) writes.push(`-c "write -P 9 ${m}M 16k"`, `-c "write -P 10 ${m * 1024 + 24}k 16k"`);
    const setup = [
      'qemu-img create -q r.raw 96M',
      `qemu-io -f raw ${writes.join(' ')} r.raw >/dev/null`,
    ].join(' && ');
    const t = await twin(setup, argv('convert -S 64k -O raw r.raw o.raw'));
    try {
      expect(t.t).toEqual(t.q);
      expect(qemuCompare(join(t.tdir, 'r.raw'), join(t.tdir, 'o.raw'), 'raw', 'raw').out).toBe('Images are identical.\n');
      expect(qemuMap(join(t.tdir, 'o.raw'), 'raw')).toEqual(qemuMap(join(t.qdir, 'o.raw'), 'raw'));
    } finally {
      dispose(t);
    }
  });

  it('qcow2 -> raw reads only allocated runs: result identical to the source and to qemu-img', async () => {
    const setup = [
      'qemu-img create -q -f qcow2 s.qcow2 32M',
      'qemu-io -c "write -P 1 0 3M" -c "write -z 4M 1M" -c "write -P 2 9M 64k" -c "write -P 3 17M 5M" s.qcow2 >/dev/null',
    ].join(' && ');
    const t = await twin(setup, argv('convert -O raw s.qcow2 o.raw'));
    try {
      expect(t.t).toEqual(t.q);
      expect(qemuCompare(join(t.tdir, 's.qcow2'), join(t.tdir, 'o.raw'), 'qcow2', 'raw').out).toBe('Images are identical.\n');
      expect(qemuMap(join(t.tdir, 'o.raw'), 'raw')).toEqual(qemuMap(join(t.qdir, 'o.raw'), 'raw'));
    } finally {
      dispose(t);
    }
  });
});
