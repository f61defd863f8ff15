/**
 * In-memory layouts of the x87 environment (FNSTENV/FLDENV, first part of
 * FNSAVE/FRSTOR), Intel SDM vol. 1 §8.1.10 figures 8-9..8-12:
 *
 *   32-bit protected (28 bytes): CW, SW, TW, FIP, FCS | FOP<<16, FDP, FDS
 *     each in a 32-bit slot (upper halves of CW/SW/TW/FDS slots written 0xFFFF)
 *   32-bit real/V86 (28 bytes): CW, SW, TW, FIP[15:0], FOP | FIP[31:16]<<12,
 *     FDP[15:0], FDP[31:16]<<12 (pointers are 32-bit linear addresses)
 *   16-bit protected (14 bytes): CW, SW, TW, FIP, FCS, FDP, FDS
 *   16-bit real/V86 (14 bytes): CW, SW, TW, FIP[15:0], FIP[19:16]<<12 | FOP,
 *     FDP[15:0], FDP[19:16]<<12
 *
 * mode bit0 = 32-bit operand size, bit1 = protected mode.
 */
import type { FpuHost } from './fpu.js';

export interface EnvTarget {
  fip: number; fcs: number; fdp: number; fds: number; fop: number;
  setEnvironment(cw: number, sw: number, tw: number): void;
}

export function envSize(mode: number): number { return (mode & 1) ? 28 : 14; }

export function storeEnv(h: FpuHost, lin: number, mode: number, cw: number, sw: number, tw: number, f: EnvTarget): void {
  const prot = (mode & 2) !== 0;
  const ip = prot ? f.fip >>> 0 : ((f.fcs << 4) + f.fip) >>> 0;
  const dp = f.fdp >>> 0;
  if (mode & 1) {
    h.write32(lin + 24, prot ? (0xffff0000 | f.fds) >>> 0 : ((dp >>> 16) << 12) >>> 0);
    h.write32(lin, (0xffff0000 | cw) >>> 0);
    h.write32(lin + 4, (0xffff0000 | sw) >>> 0);
    h.write32(lin + 8, (0xffff0000 | tw) >>> 0);
    if (prot) {
      h.write32(lin + 12, ip);
      h.write32(lin + 16, ((f.fop << 16) | f.fcs) >>> 0);
      h.write32(lin + 20, dp);
    } else {
      h.write32(lin + 12, (0xffff0000 | (ip & 0xffff)) >>> 0);
      h.write32(lin + 16, (((ip >>> 16) << 12) | f.fop) >>> 0);
      h.write32(lin + 20, (0xffff0000 | (dp & 0xffff)) >>> 0);
    }
  } else {
    h.write16(lin + 12, prot ? f.fds : ((dp >>> 16) & 0xf) << 12);
    h.write16(lin, cw);
    h.write16(lin + 2, sw);
    h.write16(lin + 4, tw);
    if (prot) {
      h.write16(lin + 6, ip & 0xffff);
      h.write16(lin + 8, f.fcs);
      h.write16(lin + 10, dp & 0xffff);
    } else {
      h.write16(lin + 6, ip & 0xffff);
      h.write16(lin + 8, (((ip >>> 16) & 0xf) << 12) | f.fop);
      h.write16(lin + 10, dp & 0xffff);
    }
  }
}

/**
 * Read an environment image and apply it; `beforeTags(top)` runs after all
 * memory reads and before the tags are recomputed (FRSTOR places its
 * registers there), so a faulting read leaves the FPU unchanged.
 */
export function loadEnv(h: FpuHost, lin: number, mode: number, f: EnvTarget, beforeTags?: (top: number) => void): void {
  const prot = (mode & 2) !== 0;
  let cw: number, sw: number, tw: number, ip: number, cs: number, op: number, dp: number, ds: number;
  if (mode & 1) {
    cw = h.read16(lin); sw = h.read16(lin + 4); tw = h.read16(lin + 8);
    const a = h.read32(lin + 12) >>> 0, b = h.read32(lin + 16) >>> 0, c = h.read32(lin + 20) >>> 0, d = h.read32(lin + 24) >>> 0;
    if (prot) { ip = a; cs = b & 0xffff; op = (b >>> 16) & 0x7ff; dp = c; ds = d & 0xffff; }
    else {
      ip = ((a & 0xffff) | (((b >>> 12) & 0xffff) << 16)) >>> 0; cs = 0; op = b & 0x7ff;
      dp = ((c & 0xffff) | (((d >>> 12) & 0xffff) << 16)) >>> 0; ds = 0;
    }
  } else {
    cw = h.read16(lin); sw = h.read16(lin + 2); tw = h.read16(lin + 4);
    const a = h.read16(lin + 6), b = h.read16(lin + 8), c = h.read16(lin + 10), d = h.read16(lin + 12);
    if (prot) { ip = a; cs = b; op = 0; dp = c; ds = d; }
    else { ip = a | ((b >>> 12) << 16); cs = 0; op = b & 0x7ff; dp = c | ((d >>> 12) << 16); ds = 0; }
  }
  if (beforeTags) beforeTags((sw >> 11) & 7);
  f.setEnvironment(cw, sw, tw);
  f.fip = ip; f.fcs = cs; f.fop = op; f.fdp = dp; f.fds = ds;
}
