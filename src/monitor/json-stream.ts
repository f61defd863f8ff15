/**
 * Splits a QMP byte stream into JSON values the way QEMU's streaming lexer
 * does: objects and arrays are complete when their brackets balance (no
 * newline needed), bare words between them are reported as errors. Bounded:
 * a value larger than `maxBytes` or nested deeper than `maxDepth` is
 * rejected and the parser resynchronises at the next newline.
 */

export type JsonItem = { ok: true; value: unknown } | { ok: false; error: string };

export class JsonStream {
  private buf: number[] = [];
  private depth = 0;
  private inString = false;
  private escape = false;
  private bare = '';
  private skipping = false;
  private readonly dec = new TextDecoder();

  constructor(private readonly emit: (item: JsonItem) => void, private readonly maxBytes = 1 << 20, private readonly maxDepth = 1024) {}

  push(data: Uint8Array): void {
    for (let i = 0; i < data.length; i++) this.byte(data[i]!);
  }

  private fail(msg: string): void {
    this.buf = []; this.depth = 0; this.inString = false; this.escape = false;
    this.skipping = true;
    this.emit({ ok: false, error: msg });
  }

  private flushBare(): void {
    if (this.bare === '') return;
    const w = this.bare; this.bare = '';
    // Scalars on their own are valid JSON but not QMP input.
    try { JSON.parse(w); this.emit({ ok: false, error: 'QMP input must be a JSON object' }); } catch {
      this.emit({ ok: false, error: `JSON parse error, invalid keyword '${w.slice(0, 64)}'` });
    }
  }

  private byte(b: number): void {
    if (this.skipping) { if (b === 0x0a) this.skipping = false; return; }
    if (this.depth === 0) {
      if (b === 0x7b || b === 0x5b) { this.flushBare(); this.buf = [b]; this.depth = 1; return; }
      if (b === 0x20 || b === 0x09 || b === 0x0a || b === 0x0d) { this.flushBare(); return; }
      if (b === 0x7d || b === 0x5d) { this.flushBare(); this.emit({ ok: false, error: 'JSON parse error, expecting value' }); return; }
      if (this.bare.length > 256) { this.bare = ''; this.fail('JSON parse error, token too long'); return; }
      this.bare += String.fromCharCode(b);
      return;
    }
    this.buf.push(b);
    if (this.buf.length > this.maxBytes) { this.fail('JSON parse error, input too large'); return; }
    if (this.inString) {
      if (this.escape) this.escape = false;
      else if (b === 0x5c) this.escape = true;
      else if (b === 0x22) this.inString = false;
      return;
    }
    if (b === 0x22) { this.inString = true; return; }
    if (b === 0x7b || b === 0x5b) {
      if (++this.depth > this.maxDepth) this.fail('JSON parse error, nesting too deep');
      return;
    }
    if (b === 0x7d || b === 0x5d) {
      if (--this.depth === 0) {
        const text = this.dec.decode(new Uint8Array(this.buf));
        this.buf = [];
        try { this.emit({ ok: true, value: JSON.parse(text) as unknown }); } catch (e) {
          this.emit({ ok: false, error: `JSON parse error, ${(e as Error).message.replace(/^Unexpected token/, 'unexpected token').slice(0, 120)}` });
        }
      }
    }
  }
}
