/**
 * Cluster compression for qcow2: raw deflate (compression_type zlib; 4 KiB
 * window on write like QEMU, any window on read) and zstd.
 */
import { deflateRaw, deflateRawSync, inflateRawSync, constants } from 'node:zlib';
import { Decompress } from 'fzstd';
import { BlockError } from '../errors.js';

export const COMPRESSION_ZLIB = 0;
export const COMPRESSION_ZSTD = 1;

/** Inflate one compressed cluster (input may carry trailing sector padding). */
export function decompressCluster(type: number, input: Uint8Array, clusterSize: number): Uint8Array {
  if (type === COMPRESSION_ZLIB) {
    let out: Buffer;
    try {
      out = inflateRawSync(input, { maxOutputLength: clusterSize, finishFlush: constants.Z_SYNC_FLUSH });
    } catch {
      throw new BlockError('Input/output error');
    }
    if (out.length < clusterSize) throw new BlockError('Input/output error');
    return new Uint8Array(out.buffer, out.byteOffset, clusterSize);
  }
  const res = new Uint8Array(clusterSize);
  let got = 0;
  const d = new Decompress((chunk: Uint8Array) => {
    const n = Math.min(chunk.length, clusterSize - got);
    res.set(chunk.subarray(0, n), got);
    got += n;
  });
  try {
    d.push(input, true);
  } catch {
    /* trailing padding after the frame; the output is what counts */
  }
  if (got < clusterSize) throw new BlockError('Input/output error');
  return res;
}

type ZstdModule = { init(): Promise<void>; compress(buf: Uint8Array, level?: number): Uint8Array };
let zstd: ZstdModule | null = null;

/** Load the zstd encoder (WebAssembly) once; needed before compressCluster with zstd. */
export async function initZstd(): Promise<void> {
  if (zstd) return;
  const m = (await import('@bokuweb/zstd-wasm')) as unknown as ZstdModule;
  await m.init();
  zstd = m;
}

/** Compress a cluster; null when the result would not be smaller than the cluster. */
export function compressCluster(type: number, data: Uint8Array): Uint8Array | null {
  let out: Uint8Array;
  if (type === COMPRESSION_ZLIB) {
    out = deflateRawSync(data, ZLIB_OPTS);
  } else {
    if (!zstd) throw new BlockError('zstd compression is not initialised');
    out = zstd.compress(data, 3);
  }
  return out.length < data.length ? out : null;
}

const ZLIB_OPTS = { level: constants.Z_DEFAULT_COMPRESSION, windowBits: 12, memLevel: 9 };

/**
 * compressCluster off the main thread (zlib runs in the libuv pool, so
 * several clusters compress at once on a multi-core host); zstd compresses
 * inline. Same output as compressCluster.
 */
export function compressClusterAsync(type: number, data: Uint8Array): Promise<Uint8Array | null> {
  if (type !== COMPRESSION_ZLIB) {
    try {
      return Promise.resolve(compressCluster(type, data));
    } catch (e) {
      return Promise.reject(e);
    }
  }
  return new Promise((resolve, reject) => {
    deflateRaw(data, ZLIB_OPTS, (err, out) => {
      if (err) reject(new BlockError('Input/output error'));
      else resolve(out.length < data.length ? out : null);
    });
  });
}
