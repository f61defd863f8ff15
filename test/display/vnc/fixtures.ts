/** A fake screen (renderer-shaped) and a recording InputSink for VNC tests. */
import type { InputSink } from '../../../src/display/input.js';
import { startVnc, type VncServer } from '../../../src/display/vnc/server.js';

export class FakeScreen {
  width: number; height: number;
  data: Uint8Array;
  dirty: Uint8Array;
  resized = false;
  private pendingLines = new Set<number>();
  private pendingResize = false;
  updates = 0;

  constructor(w: number, h: number, paint: (x: number, y: number) => [number, number, number] = pattern) {
    this.width = w; this.height = h;
    this.data = new Uint8Array(w * h * 4);
    this.dirty = new Uint8Array(h);
    this.paint(paint);
  }

  paint(f: (x: number, y: number) => [number, number, number], x0 = 0, y0 = 0, w = this.width, h = this.height): void {
    for (let y = y0; y < y0 + h; y++) {
      for (let x = x0; x < x0 + w; x++) {
        const [r, g, b] = f(x, y);
        const o = (y * this.width + x) * 4;
        this.data[o] = r; this.data[o + 1] = g; this.data[o + 2] = b; this.data[o + 3] = 255;
      }
      this.pendingLines.add(y);
    }
  }

  resize(w: number, h: number, f: (x: number, y: number) => [number, number, number] = pattern): void {
    this.width = w; this.height = h;
    this.data = new Uint8Array(w * h * 4);
    this.dirty = new Uint8Array(h);
    this.pendingLines.clear();
    this.paint(f);
    this.pendingResize = true;
  }

  /** Like VgaRenderer.update: flag the lines changed since the last call. */
  update(): boolean {
    this.updates++;
    this.dirty.fill(0);
    this.resized = this.pendingResize;
    this.pendingResize = false;
    for (const y of this.pendingLines) this.dirty[y] = 1;
    const any = this.pendingLines.size > 0;
    this.pendingLines.clear();
    return any;
  }

  rgb(x: number, y: number): [number, number, number] {
    const o = (y * this.width + x) * 4;
    return [this.data[o]!, this.data[o + 1]!, this.data[o + 2]!];
  }
}

/**
 * Quadrants that exercise every encoder path: a smooth gradient (many
 * colours), flat stripes, a two-colour "text" pattern and a 5-colour noise.
 */
export function pattern(x: number, y: number): [number, number, number] {
  if (y < 64) {
    if (x < 100) return [(x * 255 / 99) | 0, (y * 4) & 255, (x ^ y) & 255];
    const k = ((x >> 3) % 8);
    return [k & 1 ? 255 : 0, k & 2 ? 200 : 30, k & 4 ? 120 : 10];
  }
  if (x < 100) return ((x * 7 + y * 3) % 11) < 4 ? [250, 250, 250] : [0, 0, 170];
  const n = ((x * 2654435761) ^ (y * 40503)) >>> 0;
  const pal: Array<[number, number, number]> = [[255, 0, 0], [0, 255, 0], [0, 0, 255], [255, 255, 0], [13, 77, 200]];
  return pal[(n >>> 13) % 5]!;
}

export class RecordingSink implements InputSink {
  absolute = false;
  keys: Array<[number, boolean]> = [];
  rel: Array<[number, number, number, number]> = [];
  leds = 0;
  private cbs = new Set<(l: number) => void>();
  key(q: number, down: boolean): void { this.keys.push([q, down]); }
  pointerRel(dx: number, dy: number, dz: number, b: number): void { this.rel.push([dx, dy, dz, b]); }
  pointerAbs(): void { /* relative device */ }
  ledState(): number { return this.leds; }
  onLedChange(cb: (l: number) => void): () => void { this.cbs.add(cb); return () => this.cbs.delete(cb); }
  setLeds(l: number): void { this.leds = l; for (const c of this.cbs) c(l); }
}

/** A display number whose port range is probably free (tests use to= to skip busy ones). */
export function freeDisplay(): number {
  return 14000 + Math.floor(Math.random() * 20000);
}

export async function serve(screen: FakeScreen, sink: InputSink, options: Record<string, string> = {}, display?: string): Promise<VncServer & { logs: string[] }> {
  const logs: string[] = [];
  const d = freeDisplay();
  const srv = await startVnc({ display: display ?? `127.0.0.1:${d}`, options: display ? options : { to: String(d + 100), ...options } },
    { fb: () => screen }, sink, (m) => { logs.push(m); if (process.env.VNC_DEBUG) console.error(m); }, { timer: false });
  return Object.assign(srv, { logs });
}

export const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));
