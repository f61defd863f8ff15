/**
 * A rendered screen: `width` x `height` pixels, 4 bytes each in R, G, B, A
 * order (A always 255), rows top to bottom with no padding. This is what
 * display back ends (screendump, VNC, SDL) consume.
 */
export interface Framebuffer {
  readonly width: number;
  readonly height: number;
  /** RGBA bytes, length width * height * 4. */
  readonly data: Uint8Array;
}

/** Pack an opaque colour as the little-endian 32-bit word of an RGBA pixel. */
export function rgba(r: number, g: number, b: number): number {
  return ((0xff << 24) | (b << 16) | (g << 8) | r) >>> 0;
}
