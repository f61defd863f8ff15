/**
 * CRT timing derived from the CRTC registers, used for Input Status 1
 * (0x3BA/0x3DA): bit 3 = vertical retrace, bit 0 = display disabled
 * (horizontal or vertical blanking). Software that waits for retrace polls
 * these bits, so they follow the virtual clock as a real monitor would:
 * the frame repeats every `vtotal` lines of `htotal` character clocks.
 */

/** Dot clocks selected by Miscellaneous Output bits 3:2 (Hz). */
const DOT_CLOCKS = [25_175_000, 28_322_000, 25_175_000, 25_175_000];

export interface CrtTiming {
  /** Duration of one scan line, ns. */
  lineNs: number;
  /** Scan lines per frame. */
  vtotal: number;
  /** First line after the displayed area. */
  vdisplay: number;
  /** First line of vertical retrace and its length in lines. */
  vretraceStart: number;
  vretraceLength: number;
  /** Fraction of a line during which pixels are displayed. */
  hdisplayFraction: number;
}

/** A 640x400 at 70 Hz frame, used when the registers do not describe a sane one. */
const FALLBACK: CrtTiming = {
  lineNs: 31_778, vtotal: 449, vdisplay: 400, vretraceStart: 412, vretraceLength: 2, hdisplayFraction: 0.8,
};

export function crtTiming(misc: number, sr1: number, cr: Uint8Array): CrtTiming {
  const cr7 = cr[0x07]!;
  const charWidth = (sr1 & 1) !== 0 ? 8 : 9;
  const dotClock = DOT_CLOCKS[(misc >> 2) & 3]! / ((sr1 & 8) !== 0 ? 2 : 1);
  const htotal = cr[0x00]! + 5;
  const hdisp = cr[0x01]! + 1;
  const vtotal = (cr[0x06]! | ((cr7 & 0x01) << 8) | ((cr7 & 0x20) << 4)) + 2;
  const vdisplay = (cr[0x12]! | ((cr7 & 0x02) << 7) | ((cr7 & 0x40) << 3)) + 1;
  const vrs = cr[0x10]! | ((cr7 & 0x04) << 6) | ((cr7 & 0x80) << 2);
  const vre = cr[0x11]! & 0x0f;
  if (htotal < 8 || hdisp >= htotal || vtotal < 4 || vrs >= vtotal || vdisplay > vtotal) return FALLBACK;
  const len = ((vre - vrs) & 0x0f) || 16;
  return {
    lineNs: (htotal * charWidth * 1e9) / dotClock,
    vtotal,
    vdisplay,
    vretraceStart: vrs,
    vretraceLength: len,
    hdisplayFraction: hdisp / htotal,
  };
}

/** Bits 3 and 0 of Input Status 1 at virtual time `ns`. */
export function retraceBits(t: CrtTiming, ns: number): number {
  const frameNs = t.lineNs * t.vtotal;
  const inFrame = ns % frameNs;
  const line = Math.floor(inFrame / t.lineNs);
  const inLine = inFrame - line * t.lineNs;
  let v = 0;
  if (line >= t.vretraceStart && line < t.vretraceStart + t.vretraceLength) v |= 0x08;
  if (line >= t.vdisplay || inLine >= t.lineNs * t.hdisplayFraction) v |= 0x01;
  return v;
}

/** Frame period in ns (for blink timing). */
export function frameNs(t: CrtTiming): number { return t.lineNs * t.vtotal; }
