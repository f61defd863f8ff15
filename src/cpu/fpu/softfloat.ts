/**
 * Soft-float core for the x87: values are (sign, 15-bit biased exponent,
 * 64-bit significand with explicit integer bit J). Intermediate results are
 * exact BigInts `m * 2^x` (with lost low bits "jammed" into bit 0), rounded
 * once by {@link roundPack} to a target precision and exponent range.
 *
 * One shared result/environment object {@link R} carries the rounding control,
 * the exception masks that change the rounding outcome (OE/UE), the exception
 * flags raised and the packed result, so no operation allocates an object.
 */

/** Exception flags, bit-compatible with the x87 status word. */
export const IE = 0x01, DE = 0x02, ZE = 0x04, OE = 0x08, UE = 0x10, PE = 0x20, SF = 0x40;

export const EXT_BIAS = 16383;
export const EXT_EMAX = 0x7fff;
export const J_BIT = 0x8000000000000000n;
export const Q_BIT = 0x4000000000000000n;
export const FRAC_MASK = 0x7fffffffffffffffn;
export const INDEF_M = 0xc000000000000000n;

/** Operand classes. */
export const C_ZERO = 0, C_NORMAL = 1, C_DENORMAL = 2, C_INF = 3, C_QNAN = 4, C_SNAN = 5, C_UNSUPPORTED = 6;

export const R = {
  /** rounding control: 0 nearest-even, 1 down, 2 up, 3 toward zero */
  rc: 0,
  oeMasked: true,
  ueMasked: true,
  /** exception flags raised by the operation (IE..PE) */
  exc: 0,
  /** 1 when the last rounding increased the magnitude (x87 C1) */
  up: 0,
  /** result: sign, biased exponent, 64-bit significand */
  s: 0, e: 0, m: 0n,
};

/** Classify an 80-bit value. Pseudo-denormals count as denormal (valid operands). */
export function classify(e: number, m: bigint): number {
  if (e === 0) return m === 0n ? C_ZERO : C_DENORMAL;
  if (m < J_BIT) return C_UNSUPPORTED; // unnormal, pseudo-infinity, pseudo-NaN
  if (e === EXT_EMAX) {
    if (m === J_BIT) return C_INF;
    return (m & Q_BIT) !== 0n ? C_QNAN : C_SNAN;
  }
  return C_NORMAL;
}

/** 2^k, 2^k - 1 and BigInt(k) for shift amounts, so the rounding path allocates only its results. */
const POW2: bigint[] = [];
const MASK: bigint[] = [];
const BIGN: bigint[] = [];
for (let i = 0; i <= 1100; i++) { POW2.push(1n << BigInt(i)); MASK.push((1n << BigInt(i)) - 1n); BIGN.push(BigInt(i)); }
const big = (k: number): bigint => (k <= 1100 ? BIGN[k] : BigInt(k));
const F64 = new Float64Array(1);
const F64W = new Uint32Array(F64.buffer);

/** Number of significant bits of a non-negative BigInt (no allocation below 2^1024). */
export function bitLen(m: bigint): number {
  if (m < 0x100000000n) {
    const v = Number(m);
    return v === 0 ? 0 : 32 - Math.clz32(v);
  }
  F64[0] = Number(m); // correctly rounded: the exponent is exact unless rounding carried to the next power of two
  let n = ((F64W[1] >>> 20) & 0x7ff) - 1023 + 1;
  if (n > 1024) { // beyond double range
    n = Math.floor(Math.log2(Number(m >> 900n))) + 901;
    if ((m >> BigInt(n - 1)) === 0n) n--; else if ((m >> BigInt(n)) !== 0n) n++;
    return n;
  }
  if (m < POW2[n - 1]) n--;
  return n;
}

/** Shift right with all lost bits ORed into bit 0. */
export function shrJam(m: bigint, n: number): bigint {
  if (n <= 0) return m << BigInt(-n);
  const b = BigInt(n);
  const q = m >> b;
  return (q << b) === m ? q : q | 1n;
}

let rInexact = false;
let rUp = false;
/** Round m * 2^-shift to an integer under R.rc for sign s; sets rInexact/rUp. */
function roundShift(s: number, m: bigint, shift: number): bigint {
  rInexact = false; rUp = false;
  if (shift <= 0) return m << big(-shift);
  const sh = big(shift);
  let q = m >> sh;
  const rem = shift <= 1100 ? m & MASK[shift] : m - (q << sh);
  if (rem === 0n) return q;
  rInexact = true;
  switch (R.rc) {
    case 0: {
      const half = shift <= 1101 ? POW2[shift - 1] : 1n << (sh - 1n);
      rUp = rem > half || (rem === half && (q & 1n) === 1n);
      break;
    }
    case 1: rUp = s === 1; break;
    case 2: rUp = s === 0; break;
    default: rUp = false;
  }
  if (rUp) q += 1n;
  return q;
}

/**
 * Round (-1)^s * m * 2^x to `bits` of precision in a format with exponent
 * bias `bias` and all-ones exponent `emax`; results land in R.s/R.e/R.m with
 * R.m aligned so that bit 63 is the integer bit (denormals: R.e = 0 and
 * value = R.m * 2^(1-bias-63)). Raises PE/UE/OE into R.exc, sets R.up.
 * Tininess is detected after rounding (as x86 does). With OE/UE unmasked
 * the exponent is wrapped by 3/4 of the range (24576 for extended).
 */
export function roundPack(s: number, x: number, m: bigint, bits: number, bias: number, emax: number): void {
  R.s = s;
  R.up = 0;
  if (m === 0n) { R.e = 0; R.m = 0n; return; }
  const n = bitLen(m);
  const E = x + n - 1 + bias;
  const adj = ((emax + 1) * 3) >> 2;
  // a result beyond even the wrapped range (FSCALE) with OE/UE unmasked: ±inf or ±0 whatever RC says
  if (!R.oeMasked && E >= emax + adj) { R.exc |= OE | PE; R.e = emax; R.m = J_BIT; R.up = 1; return; }
  if (!R.ueMasked && E < 1 - adj) { R.exc |= UE | PE; R.e = 0; R.m = 0n; return; }
  const oeMasked = R.oeMasked, ueMasked = R.ueMasked;
  let keep = bits;
  let tiny = false;
  if (E < 1) {
    tiny = true;
    if (E === 0) {
      const q = roundShift(s, m, n - bits);
      if (q >= POW2[bits]) tiny = false;
    }
    if (tiny && ueMasked) keep = bits - (1 - E);
  }
  const shift = n - keep;
  const q = roundShift(s, m, shift);
  const inexact = rInexact;
  if (inexact) R.exc |= PE;
  R.up = rUp ? 1 : 0;
  if (q === 0n) {
    R.e = 0; R.m = 0n;
    if (tiny) R.exc |= UE;
    return;
  }
  const nq = keep > 0 && q >= POW2[keep] ? keep + 1 : (keep > 0 ? keep : 1);
  let Ef = x + shift + nq - 1 + bias;
  if (Ef >= emax) {
    if (oeMasked) {
      R.exc |= OE | PE;
      const toInf = R.rc === 0 || (R.rc === 1 && s === 1) || (R.rc === 2 && s === 0);
      if (toInf) { R.e = emax; R.m = J_BIT; R.up = 1; }
      else { R.e = emax - 1; R.m = ((1n << BigInt(bits)) - 1n) << BigInt(64 - bits); R.up = 0; }
      return;
    }
    R.exc |= OE;
    Ef -= adj;
  }
  if (tiny) {
    if (!ueMasked) { R.exc |= UE; Ef += adj; }
    else if (inexact) R.exc |= UE;
  }
  if (Ef >= 1) {
    R.e = Ef;
    R.m = nq === 64 ? q : nq > 64 ? q >> 1n : q << BIGN[64 - nq];
  } else {
    R.e = 0;
    R.m = q << big(x + shift - (1 - bias - 63));
  }
}

/** Round to extended format with `bits` precision (64/53/24). */
export function roundExt(s: number, x: number, m: bigint, bits: number): void {
  roundPack(s, x, m, bits, EXT_BIAS, EXT_EMAX);
}

// ---------------------------------------------------------------- unpacking

/** Unpacked finite operand: value = (-1)^us * um * 2^ux, um normalized to bit 63 (or 0). */
export let ua_s = 0, ua_x = 0, ua_m = 0n;
export let ub_s = 0, ub_x = 0, ub_m = 0n;

function unpackA(s: number, e: number, m: bigint): void {
  ua_s = s;
  if (m === 0n) { ua_x = 1 - EXT_BIAS - 63; ua_m = 0n; return; }
  let x = (e === 0 ? 1 : e) - EXT_BIAS - 63;
  if (m < J_BIT) { const sh = 64 - bitLen(m); m <<= BigInt(sh); x -= sh; }
  ua_x = x; ua_m = m;
}
function unpackB(s: number, e: number, m: bigint): void {
  ub_s = s;
  if (m === 0n) { ub_x = 1 - EXT_BIAS - 63; ub_m = 0n; return; }
  let x = (e === 0 ? 1 : e) - EXT_BIAS - 63;
  if (m < J_BIT) { const sh = 64 - bitLen(m); m <<= BigInt(sh); x -= sh; }
  ub_x = x; ub_m = m;
}

// ---------------------------------------------------------------- results

export function setIndefinite(): void { R.s = 1; R.e = EXT_EMAX; R.m = INDEF_M; R.up = 0; }
export function setInf(s: number): void { R.s = s; R.e = EXT_EMAX; R.m = J_BIT; R.up = 0; }
export function setZero(s: number): void { R.s = s; R.e = 0; R.m = 0n; R.up = 0; }
export function setVal(s: number, e: number, m: bigint): void { R.s = s; R.e = e; R.m = m; R.up = 0; }

/** x87 NaN propagation for two operands (at least one a NaN). */
export function propagateNaN(as: number, ae: number, am: bigint, ca: number,
                             bs: number, be: number, bm: bigint, cb: number): void {
  if (ca === C_SNAN || cb === C_SNAN) R.exc |= IE;
  const aNaN = ca === C_QNAN || ca === C_SNAN;
  const bNaN = cb === C_QNAN || cb === C_SNAN;
  R.up = 0;
  if (aNaN && bNaN) {
    // SNaN + QNaN: the QNaN; two of a kind: the larger significand
    let pickA: boolean;
    if (ca !== cb) pickA = ca === C_QNAN;
    else pickA = am > bm || (am === bm && as <= bs);
    if (pickA) { R.s = as; R.e = ae; R.m = am | Q_BIT; }
    else { R.s = bs; R.e = be; R.m = bm | Q_BIT; }
    return;
  }
  if (aNaN) { R.s = as; R.e = ae; R.m = am | Q_BIT; return; }
  R.s = bs; R.e = be; R.m = bm | Q_BIT;
}

// ---------------------------------------------------------------- arithmetic

export const OP_ADD = 0, OP_MUL = 1, OP_SUB = 4, OP_DIV = 6;

/**
 * a op b for op in add/sub/mul/div, rounded to `bits` (precision control).
 * Result in R; flags in R.exc.
 */
export function arith(op: number, as: number, ae: number, am: bigint,
                      bs: number, be: number, bm: bigint, bits: number): void {
  const ca = classify(ae, am), cb = classify(be, bm);
  if (ca === C_UNSUPPORTED || cb === C_UNSUPPORTED) { R.exc |= IE; setIndefinite(); return; }
  if (ca >= C_QNAN || cb >= C_QNAN) { propagateNaN(as, ae, am, ca, bs, be, bm, cb); return; }
  if (ca === C_DENORMAL || cb === C_DENORMAL) R.exc |= DE;
  if (op === OP_SUB) { bs ^= 1; op = OP_ADD; }
  if (ca === C_INF || cb === C_INF) {
    switch (op) {
      case OP_ADD:
        if (ca === C_INF && cb === C_INF && as !== bs) { R.exc |= IE; setIndefinite(); return; }
        setInf(ca === C_INF ? as : bs); return;
      case OP_MUL:
        if (ca === C_ZERO || cb === C_ZERO) { R.exc |= IE; setIndefinite(); return; }
        setInf(as ^ bs); return;
      default: // div
        if (ca === C_INF && cb === C_INF) { R.exc |= IE; setIndefinite(); return; }
        if (ca === C_INF) setInf(as ^ bs); else setZero(as ^ bs);
        return;
    }
  }
  if (op === OP_DIV && cb === C_ZERO) {
    if (ca === C_ZERO) { R.exc |= IE; setIndefinite(); return; }
    R.exc = (R.exc & ~DE) | ZE; setInf(as ^ bs); return; // hardware reports no DE here
  }
  unpackA(as, ae, am);
  unpackB(bs, be, bm);
  switch (op) {
    case OP_ADD: addCore(bits); return;
    case OP_MUL:
      roundExt(ua_s ^ ub_s, ua_x + ub_x, ua_m * ub_m, bits); return;
    default: {
      if (ua_m === 0n) { setZero(ua_s ^ ub_s); return; }
      const num = ua_m << 128n;
      const q = num / ub_m;
      const jam = q * ub_m === num ? 0n : 1n;
      roundExt(ua_s ^ ub_s, ua_x - ub_x - 128, q | jam, bits);
    }
  }
}

/** Add the unpacked operands ua + ub. */
function addCore(bits: number): void {
  let as = ua_s, ax = ua_x, am = ua_m, bs = ub_s, bx = ub_x, bm = ub_m;
  if (am === 0n && bm === 0n) {
    setZero(as === bs ? as : (R.rc === 1 ? 1 : 0));
    return;
  }
  if (am === 0n) { roundExt(bs, bx, bm, bits); return; }
  if (bm === 0n) { roundExt(as, ax, am, bits); return; }
  if (ax < bx) { let t = as; as = bs; bs = t; t = ax; ax = bx; bx = t; const tm = am; am = bm; bm = tm; }
  const d = ax - bx;
  let A: bigint, B: bigint, x: number;
  if (d > 130) { A = am << 130n; B = 1n; x = ax - 130; }
  else { A = am << BigInt(d); B = bm; x = bx; }
  if (as === bs) { roundExt(as, x, A + B, bits); return; }
  let M = A - B;
  let s = as;
  if (M < 0n) { M = -M; s = bs; }
  if (M === 0n) { setZero(R.rc === 1 ? 1 : 0); return; }
  roundExt(s, x, M, bits);
}

/** Integer square root (floor) of a non-negative BigInt. */
export function isqrt(n: bigint): bigint {
  if (n < 2n) return n;
  const bl = bitLen(n);
  let x: bigint;
  if (bl <= 1000) {
    x = BigInt(Math.ceil(Math.sqrt(Number(n)) * (1 + 1e-12))) + 1n; // start above the root
  } else {
    x = 1n << BigInt((bl >> 1) + 1);
  }
  if (x === 0n) x = 1n;
  for (;;) {
    const y = (x + n / x) >> 1n;
    if (y >= x) break;
    x = y;
  }
  while (x * x > n) x -= 1n;
  while ((x + 1n) * (x + 1n) <= n) x += 1n;
  return x;
}

export function sqrt(as: number, ae: number, am: bigint, bits: number): void {
  const ca = classify(ae, am);
  if (ca === C_UNSUPPORTED) { R.exc |= IE; setIndefinite(); return; }
  if (ca === C_SNAN) { R.exc |= IE; setVal(as, ae, am | Q_BIT); return; }
  if (ca === C_QNAN) { setVal(as, ae, am); return; }
  if (ca === C_ZERO) { setZero(as); return; }
  if (as === 1) { R.exc |= IE; setIndefinite(); return; }
  if (ca === C_DENORMAL) R.exc |= DE;
  if (ca === C_INF) { setInf(0); return; }
  unpackA(as, ae, am);
  let x = ua_x, m = ua_m;
  // make the exponent even and give the root ~96 bits
  let k = 128;
  if (((x - k) & 1) !== 0) k++;
  m <<= BigInt(k);
  x -= k;
  const r = isqrt(m);
  const jam = r * r === m ? 0n : 1n;
  roundExt(0, x >> 1, r | jam, bits);
}

// ---------------------------------------------------------------- comparisons

/** Compare two non-NaN, supported values: -1, 0, 1. */
export function cmpValues(as: number, ae: number, am: bigint, bs: number, be: number, bm: bigint): number {
  const az = am === 0n, bz = bm === 0n;
  if (az && bz) return 0;
  if (az) return bs ? 1 : -1;
  if (bz) return as ? -1 : 1;
  if (as !== bs) return as ? -1 : 1;
  const ea = ae === 0 ? 1 : ae, eb = be === 0 ? 1 : be;
  let c = 0;
  if (ea !== eb) c = ea > eb ? 1 : -1;
  else if (am !== bm) c = am > bm ? 1 : -1;
  return as ? -c : c;
}

// ---------------------------------------------------------------- integer rounding

/**
 * Round a finite value to an integer under R.rc. Returns the magnitude;
 * sets R.up and raises PE. (value = m * 2^(max(e,1)-16383-63))
 */
export function roundToIntMag(s: number, e: number, m: bigint): bigint {
  R.up = 0;
  if (m === 0n) return 0n;
  const x = (e === 0 ? 1 : e) - EXT_BIAS - 63;
  if (x >= 0) return x > 200 ? (1n << 200n) : m << BigInt(x);
  // far below one: only the sign and stickiness matter, so 1*2^-130 rounds the same
  const q = -x > 130 ? roundShift(s, 1n, 130) : roundShift(s, m, -x);
  if (rInexact) R.exc |= PE;
  R.up = rUp ? 1 : 0;
  return q;
}

/** Pack an integer magnitude (any size) as an exact extended value into R. */
export function fromInt(s: number, mag: bigint): void {
  R.up = 0;
  if (mag === 0n) { setZero(s); return; }
  const n = bitLen(mag);
  R.s = s;
  if (n <= 64) { R.e = EXT_BIAS + n - 1; R.m = mag << BigInt(64 - n); }
  else roundExt(s, 0, mag, 64);
}

// ---------------------------------------------------------------- memory formats

/** Load an IEEE single (bits as uint32) into R as extended, exactly; raises DE for a denormal (an SNaN stays an SNaN). */
export function loadF32(v: number): void {
  const s = v >>> 31, e = (v >>> 23) & 0xff, f = BigInt(v & 0x7fffff);
  R.s = s; R.up = 0;
  if (e === 0) {
    if (f === 0n) { R.e = 0; R.m = 0n; return; }
    R.exc |= DE;
    const n = bitLen(f);
    R.m = f << BigInt(64 - n);
    R.e = 1 - 127 - 23 + (n - 1) + EXT_BIAS;
    return;
  }
  if (e === 0xff) { R.e = EXT_EMAX; R.m = J_BIT | (f << 40n); return; }
  R.e = e - 127 + EXT_BIAS; R.m = J_BIT | (f << 40n);
}

/** Scratch 64-bit word with 32-bit halves: builds/splits significands without BigInt arithmetic. */
const W64 = new BigUint64Array(1);
const W32 = new Uint32Array(W64.buffer);

export function loadF64(lo: number, hi: number): void {
  const s = hi >>> 31, e = (hi >>> 20) & 0x7ff;
  if (e !== 0 && e !== 0x7ff) { // fast path: normal double → J | fraction << 11, one BigInt
    W32[0] = (lo << 11) >>> 0;
    W32[1] = (0x80000000 | ((hi & 0xfffff) << 11) | (lo >>> 21)) >>> 0;
    R.s = s; R.up = 0; R.e = e - 1023 + EXT_BIAS; R.m = W64[0];
    return;
  }
  const f = (BigInt(hi & 0xfffff) << 32n) | BigInt(lo >>> 0);
  R.s = s; R.up = 0;
  if (e === 0) {
    if (f === 0n) { R.e = 0; R.m = 0n; return; }
    R.exc |= DE;
    const n = bitLen(f);
    R.m = f << BigInt(64 - n);
    R.e = 1 - 1023 - 52 + (n - 1) + EXT_BIAS;
    return;
  }
  if (e === 0x7ff) { R.e = EXT_EMAX; R.m = J_BIT | (f << 11n); return; }
  R.e = e - 1023 + EXT_BIAS; R.m = J_BIT | (f << 11n);
}

/**
 * Convert an extended value to a smaller IEEE format (bits 24 or 53).
 * Unsupported operands and SNaNs raise IE (results: indefinite / quieted NaN). The
 * result is in R with R.e in the target's bias (0..emax) and R.m aligned
 * with the integer bit at bit 63 (denormals shifted accordingly).
 */
export function toSmall(s: number, e: number, m: bigint, bits: number, bias: number, emax: number): void {
  const c = classify(e, m);
  switch (c) {
    case C_UNSUPPORTED: R.exc |= IE; R.s = 1; R.e = emax; R.m = INDEF_M; R.up = 0; return;
    case C_SNAN: R.exc |= IE; R.s = s; R.e = emax; R.m = m | Q_BIT; R.up = 0; return;
    case C_QNAN: R.s = s; R.e = emax; R.m = m; R.up = 0; return;
    case C_INF: R.s = s; R.e = emax; R.m = J_BIT; R.up = 0; return;
    case C_ZERO: R.s = s; R.e = 0; R.m = 0n; R.up = 0; return;
  }
  roundPack(s, (e === 0 ? 1 : e) - EXT_BIAS - 63, m, bits, bias, emax); // (no DE on stores)
}

export function packF32(): number {
  let f: number;
  if (R.e === 0xff) f = Number((R.m >> 40n) & 0x7fffffn);
  else f = Number(R.m >> 40n) & 0x7fffff;
  return ((R.s << 31) | (R.e << 23) | f) >>> 0;
}

/**
 * Fast FST m64 of a normal extended value whose result is a normal double:
 * rounds at bit 11 with 32-bit arithmetic. Returns false (nothing done) when
 * the slow path is needed (exponent out of the double's normal range).
 */
export function storeF64Fast(s: number, e: number, m: bigint, out: Uint32Array): boolean {
  const E = e - EXT_BIAS + 1023;
  if (E < 1 || E > 0x7fe || m < J_BIT) return false;
  W64[0] = m;
  let lo = W32[0], hi = W32[1];
  const rem = lo & 0x7ff;
  let up = false;
  if (rem !== 0) {
    switch (R.rc) {
      case 0: up = rem > 0x400 || (rem === 0x400 && (lo & 0x800) !== 0); break;
      case 1: up = s === 1; break;
      case 2: up = s === 0; break;
    }
  }
  let Ef = E;
  lo = (lo >>> 11) | ((hi << 21) >>> 0);
  hi = hi >>> 11; // includes the J bit at bit 20
  if (up) {
    lo = (lo + 1) >>> 0;
    if (lo === 0) { hi++; if (hi === 0x200000) { hi = 0x100000; Ef++; } }
    if (Ef > 0x7fe) return false;
  }
  if (rem !== 0) R.exc |= PE;
  R.up = up ? 1 : 0;
  out[0] = lo >>> 0;
  out[1] = ((s << 31) | (Ef << 20) | (hi & 0xfffff)) >>> 0;
  return true;
}

/** Returns [lo, hi] of the IEEE double in R (written to the two-slot array). */
export function packF64(out: Uint32Array): void {
  const f = (R.m >> 11n) & 0xfffffffffffffn;
  out[0] = Number(f & 0xffffffffn);
  out[1] = ((R.s << 31) | (R.e << 20) | Number(f >> 32n)) >>> 0;
}
