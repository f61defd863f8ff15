/**
 * One persistent zlib stream, flushed with Z_SYNC_FLUSH after each piece so
 * the client can inflate it at once while the dictionary carries over (what
 * RFB's zlib and ZRLE encodings require: one stream per encoding per client).
 */
import zlib from 'node:zlib';

export class DeflateStream {
  private readonly z: zlib.Deflate;
  private chunks: Buffer[] = [];
  private chain: Promise<unknown> = Promise.resolve();
  private closed = false;

  constructor(level = 6) {
    this.z = zlib.createDeflate({ level });
    this.z.on('data', (c: Buffer) => { this.chunks.push(c); });
    this.z.on('error', () => { this.closed = true; });
  }

  /** Compress `data` and return everything the stream produced up to a sync flush. */
  compress(data: Uint8Array): Promise<Buffer> {
    const run = (): Promise<Buffer> => new Promise((resolve, reject) => {
      if (this.closed) { reject(new Error('compression stream closed')); return; }
      this.z.write(data);
      this.z.flush(zlib.constants.Z_SYNC_FLUSH, () => {
        const out = Buffer.concat(this.chunks);
        this.chunks = [];
        resolve(out);
      });
    });
    const p = this.chain.then(run, run);
    this.chain = p.catch(() => undefined);
    return p;
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.z.destroy();
  }
}
