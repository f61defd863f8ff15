/**
 * x87 transcendental and scaling instructions: FSIN, FCOS, FPTAN (tan part),
 * FPATAN, F2XM1, FYL2X, FYL2XP1, FSCALE, FPREM/FPREM1 and the FLD constants.
 *
 * The kernels run on a small binary big-float (BigInt significand truncated
 * to 256 bits, power-of-two exponent): argument reduction for sin/cos/tan is
 * done with π to 400 bits (exact reduction, unlike the 66-bit π of Intel
 * hardware), series are summed until terms drop below 2^-260 relative, and
 * the result is rounded once to 64 bits under RC with a sticky bit. Results
 * are therefore correctly rounded except in hard cases needing > 190 bits.
 */
import {
  R, IE, DE, ZE, PE, UE, EXT_BIAS, EXT_EMAX, J_BIT, Q_BIT,
  C_ZERO, C_DENORMAL, C_INF, C_QNAN, C_SNAN, C_UNSUPPORTED,
  classify, roundExt, setIndefinite, setInf, setZero, setVal, propagateNaN, bitLen, isqrt,
} from './softfloat.js';

// ------------------------------------------------------------------ big-float

const P = 256;

/** value = (-1)^s * m * 2^e */
interface BF { s: number; m: bigint; e: number }

function bf(s: number, m: bigint, e: number): BF {
  if (m === 0n) return { s, m, e: 0 };
  const n = bitLen(m);
  if (n > P) { const sh = n - P; m >>= BigInt(sh); e += sh; }
  return { s, m, e };
}
function bfExact(s: number, m: bigint, e: number): BF { return { s, m, e }; }
function mag(a: BF): number { return a.m === 0n ? -Infinity : a.e + bitLen(a.m); }
function mul(a: BF, b: BF): BF { return bf(a.s ^ b.s, a.m * b.m, a.e + b.e); }
function div(a: BF, b: BF): BF {
  const sh = P + 2 + bitLen(b.m) - bitLen(a.m);
  return bf(a.s ^ b.s, (a.m << BigInt(sh)) / b.m, a.e - sh - b.e);
}
function divInt(a: BF, k: number): BF { return bf(a.s, (a.m << 64n) / BigInt(k), a.e - 64); }
function neg(a: BF): BF { return { s: a.s ^ 1, m: a.m, e: a.e }; }
function add(a: BF, b: BF): BF {
  if (a.m === 0n) return b;
  if (b.m === 0n) return a;
  const ma = mag(a), mb = mag(b);
  if (ma - mb > P + 8) return sticky(a, b.s);
  if (mb - ma > P + 8) return sticky(b, a.s);
  const e = Math.min(a.e, b.e);
  const A = a.m << BigInt(a.e - e), B = b.m << BigInt(b.e - e);
  const va = a.s ? -A : A, vb = b.s ? -B : B;
  const v = va + vb;
  return v < 0n ? bf(1, -v, e) : bf(0, v, e);
}
/** a plus a term far below its last bit, of sign s: keeps the direction for rounding. */
function sticky(a: BF, s: number): BF {
  const k = P + 10 - bitLen(a.m);
  const A = a.m << BigInt(k);
  return { s: a.s, m: s === a.s ? A | 1n : A - 1n, e: a.e - k };
}
function sub(a: BF, b: BF): BF { return add(a, neg(b)); }
function sqrtBF(a: BF): BF {
  let m = a.m, e = a.e;
  const sh = 2 * P + 4 - bitLen(m);
  let s2 = sh > 0 ? sh : 0;
  if (((e - s2) & 1) !== 0) s2++;
  m <<= BigInt(s2); e -= s2;
  return bf(0, isqrt(m), e >> 1);
}
const ONE: BF = { s: 0, m: 1n, e: 0 };
function fromExt(s: number, e: number, m: bigint): BF { return bf(s, m, (e === 0 ? 1 : e) - EXT_BIAS - 63); }

/** Round a big-float to extended precision into R (sticky bit marks it inexact). */
function packBF(a: BF, inexact: boolean): void {
  if (a.m === 0n) { setZero(a.s); return; }
  // widen to well beyond 64 bits so the sticky bit sits far below the rounding point
  const k = Math.max(2, P + 8 - bitLen(a.m));
  roundExt(a.s, a.e - k, (a.m << BigInt(k)) | (inexact ? 1n : 0n), 64);
}

// ------------------------------------------------------------------ constants

const W = 420;
function atanInv(n: bigint): bigint { // atan(1/n) * 2^W
  let sum = 0n, k = 0n;
  let p = (1n << BigInt(W)) / n;
  const n2 = n * n;
  while (p !== 0n) {
    const t = p / (2n * k + 1n);
    sum += (k & 1n) ? -t : t;
    p /= n2; k++;
  }
  return sum;
}
function atanhInv(n: bigint): bigint { // atanh(1/n) * 2^W
  let sum = 0n, k = 0n;
  let p = (1n << BigInt(W)) / n;
  const n2 = n * n;
  while (p !== 0n) { sum += p / (2n * k + 1n); p /= n2; k++; }
  return sum;
}
const PI_W = 16n * atanInv(5n) - 4n * atanInv(239n);
const LN2_W = 2n * atanhInv(3n);
const LN10_W = 3n * LN2_W + 2n * atanhInv(9n);
const PI: BF = bfExact(0, PI_W, -W);
const PIO2: BF = bfExact(0, PI_W, -W - 1);
const PIO4: BF = bfExact(0, PI_W, -W - 2);
/** pi/2 with pi truncated to 66 significant bits, as x87 hardware uses for FSIN/FCOS/FPTAN/FSINCOS reduction */
const PIO2_66: BF = bfExact(0, PI_W >> BigInt(W - 64), -65);
const LN2: BF = bf(0, LN2_W, -W);
const INV_LN2: BF = div(ONE, bf(0, LN2_W, -W));
const SQRT2_M = isqrt(1n << 127n); // sqrt(2) * 2^63

const CONSTS: (BF | null)[] = [
  ONE,
  div(bf(0, LN10_W, -W), LN2),   // log2(10)
  INV_LN2,                        // log2(e)
  bf(0, PI_W, -W),                // pi
  div(LN2, bf(0, LN10_W, -W)),   // log10(2)
  LN2,                            // ln(2)
  null,                           // +0
];

/** FLD1, FLDL2T, FLDL2E, FLDPI, FLDLG2, FLDLN2, FLDZ (index 0..6) rounded per RC; no flags. */
export function constant(k: number): void {
  const c = CONSTS[k];
  const exc = R.exc;
  if (c === null) setZero(0);
  else packBF(c, k !== 0);
  R.exc = exc;
  R.up = 0;
}

// ------------------------------------------------------------------ helpers

/** Common one-operand screening. Returns true when the result is already in R. */
function screen1(s: number, e: number, m: bigint, c: number): boolean {
  if (c === C_UNSUPPORTED) { R.exc |= IE; setIndefinite(); return true; }
  if (c === C_SNAN) { R.exc |= IE; setVal(s, e, m | Q_BIT); return true; }
  if (c === C_QNAN) { setVal(s, e, m); return true; }
  if (c === C_DENORMAL) R.exc |= DE;
  return false;
}

function screen2(as: number, ae: number, am: bigint, ca: number, bs: number, be: number, bm: bigint, cb: number, de = true): boolean {
  if (ca === C_UNSUPPORTED || cb === C_UNSUPPORTED) { R.exc |= IE; setIndefinite(); return true; }
  if (ca >= C_QNAN || cb >= C_QNAN) { propagateNaN(as, ae, am, ca, bs, be, bm, cb); return true; }
  if (de && (ca === C_DENORMAL || cb === C_DENORMAL)) R.exc |= DE;
  return false;
}

// ------------------------------------------------------------------ trig

let trigN = 0; // quadrant of the last reduction
/** Reduce |x| modulo pi/2: returns r with |r| <= pi/4, quadrant in trigN. */
function reduce(x: BF): BF {
  if (mag(x) <= -1 || sub(x, PIO4).s === 1) { trigN = 0; return x; }
  const q = div(x, PIO2_66);
  const h = add(q, bfExact(0, 1n, -1));
  const n = h.e >= 0 ? h.m << BigInt(h.e) : h.m >> BigInt(-h.e);
  trigN = Number(n & 3n);
  // exact: x and n * pi66/2 are both short binary numbers
  const e = Math.min(x.e, PIO2_66.e);
  const r = (x.m << BigInt(x.e - e)) - ((n * PIO2_66.m) << BigInt(PIO2_66.e - e));
  return r < 0n ? bf(1, -r, e) : bf(0, r, e);
}

function sinKernel(r: BF): BF { // sin r
  const z = mul(r, r);
  let term: BF = ONE, sum: BF = ONE;
  for (let k = 1; k < 200; k++) {
    term = divInt(mul(term, z), (2 * k) * (2 * k + 1));
    sum = (k & 1) ? sub(sum, term) : add(sum, term);
    if (mag(term) < -P - 8) break;
  }
  return mul(r, sum);
}
function cosKernel(r: BF): BF {
  const z = mul(r, r);
  let term: BF = ONE, sum: BF = ONE;
  for (let k = 1; k < 200; k++) {
    term = divInt(mul(term, z), (2 * k - 1) * (2 * k));
    sum = (k & 1) ? sub(sum, term) : add(sum, term);
    if (mag(term) < -P - 8) break;
  }
  return sum;
}

/** Trig prologue; returns 0 = compute, 1 = result in R, 2 = out of range (C2=1). */
function trigScreen(s: number, e: number, m: bigint, zeroIsOne: boolean): number {
  const c = classify(e, m);
  if (screen1(s, e, m, c)) return 1;
  if (c === C_INF) { R.exc |= IE; setIndefinite(); return 1; }
  if (c === C_ZERO) { if (zeroIsOne) setVal(0, EXT_BIAS, J_BIT); else setZero(s); return 1; }
  if (e >= EXT_BIAS + 63) return 2;
  return 0;
}

/** FSIN: result in R; returns true if the operand is out of range (C2 = 1, ST0 unchanged). */
export function fsin(s: number, e: number, m: bigint): boolean {
  const k = trigScreen(s, e, m, false);
  if (k !== 0) return k === 2;
  const r = reduce(fromExt(0, e, m));
  let v = (trigN & 1) ? cosKernel(r) : sinKernel(r);
  if (trigN & 2) v = neg(v);
  v.s ^= s;
  packBF(v, true);
  return false;
}

export function fcos(s: number, e: number, m: bigint): boolean {
  const k = trigScreen(s, e, m, true);
  if (k !== 0) return k === 2;
  const r = reduce(fromExt(0, e, m));
  let v = (trigN & 1) ? neg(sinKernel(r)) : cosKernel(r);
  if (trigN & 2) v = neg(v);
  packBF(v, true);
  return false;
}

/** tan part of FPTAN. */
export function ftan(s: number, e: number, m: bigint): boolean {
  const k = trigScreen(s, e, m, false);
  if (k !== 0) return k === 2;
  const r = reduce(fromExt(0, e, m));
  if (e === 0) {
    // denormal: the host behaves as if tan x were just below |x| in magnitude, except that
    // the smallest denormal comes back unchanged (observed)
    const x = m === 1n ? bfExact(s, m, 1 - EXT_BIAS - 63) : sticky(bfExact(s, m, 1 - EXT_BIAS - 63), s ^ 1);
    if (m === 1n) R.exc |= PE | (R.ueMasked ? UE : 0);
    roundExt(s, x.e, x.m, 64);
    return false;
  }
  let v: BF;
  if (mag(r) < -P / 2 - 8) v = (trigN & 1) ? neg(div(ONE, r)) : sticky(r, r.s); // tan r = r + r^3/3: just above r
  else {
    const sn = sinKernel(r), cs = cosKernel(r);
    v = (trigN & 1) ? neg(div(cs, sn)) : div(sn, cs);
  }
  v.s ^= s;
  packBF(v, true);
  return false;
}

// ------------------------------------------------------------------ exp / log

export function f2xm1(s: number, e: number, m: bigint): void {
  const c = classify(e, m);
  if (screen1(s, e, m, c)) return;
  if (c === C_ZERO) { setZero(s); return; }
  if (c === C_INF) { if (s) setVal(1, EXT_BIAS, J_BIT); else setInf(0); return; }
  if (e >= EXT_BIAS && !(e === EXT_BIAS && m === J_BIT)) { // |x| > 1: operand returned unchanged, PE (as the host does)
    R.exc |= PE; setVal(s, e, m); return;
  }
  if (e === EXT_BIAS && m === J_BIT) {
    // ±1: the host treats them as inexact; +1 behaves as 1 - tiny (0.FFFF... under RZ/RD)
    if (s) { setVal(1, EXT_BIAS - 1, J_BIT); R.exc |= PE; } else packBF(sticky(ONE, 1), true);
    return;
  }
  const y = mul(fromExt(s, e, m), LN2);
  let term: BF = ONE, sum: BF = ONE;
  for (let k = 1; k < 2000; k++) {
    term = divInt(mul(term, y), k + 1);
    sum = add(sum, term);
    if (mag(term) < mag(sum) - P - 8) break;
  }
  packBF(mul(y, sum), true);
}

/** log2 of a positive value m * 2^x (m any length); `logExact` set when it is a power of two. */
let logExact = false;
function log2Of(m: bigint, x: number): BF {
  const n = bitLen(m);
  let E = x + n - 1; // value = (m / 2^(n-1)) * 2^E with the fraction in [1, 2)
  logExact = m === 1n << BigInt(n - 1);
  if (logExact) return bf(E < 0 ? 1 : 0, BigInt(E < 0 ? -E : E), 0);
  const one = 1n << BigInt(n - 1);
  let num: bigint, den: bigint;
  if (m * m > (one * one) << 1n) { E += 1; num = m - (one << 1n); den = m + (one << 1n); }
  else { num = m - one; den = m + one; }
  const u = div(bf(num < 0n ? 1 : 0, num < 0n ? -num : num, 0), bf(0, den, 0));
  const l2 = mul(mul(atanhSeries(u), bfExact(0, 2n, 0)), INV_LN2);
  return E === 0 ? l2 : add(bf(E < 0 ? 1 : 0, BigInt(E < 0 ? -E : E), 0), l2);
}
function log2BF(e: number, m: bigint): BF { return log2Of(m, (e === 0 ? 1 : e) - EXT_BIAS - 63); }

/** atanh(u) = u * sum u^(2k)/(2k+1) */
function atanhSeries(u: BF): BF {
  const z = mul(u, u);
  let p: BF = ONE, sum: BF = ONE;
  for (let k = 1; k < 400; k++) {
    p = mul(p, z);
    const t = divInt(p, 2 * k + 1);
    sum = add(sum, t);
    if (mag(t) < -P - 8) break;
  }
  return mul(u, sum);
}

/** FYL2X: y * log2(x) into R. */
export function fyl2x(ys: number, ye: number, ym: bigint, xs: number, xe: number, xm: bigint): void {
  const cy = classify(ye, ym), cx = classify(xe, xm);
  if (screen2(ys, ye, ym, cy, xs, xe, xm, cx, false)) return;
  if (xs === 1 && cx !== C_ZERO) { R.exc |= IE; setIndefinite(); return; }
  if ((cx === C_ZERO && cy === C_ZERO) || (cx === C_INF && cy === C_ZERO)) { R.exc |= IE; setIndefinite(); return; }
  if (cx === C_ZERO) { // like a zero divide: ZE without DE
    if (cy !== C_INF) R.exc |= ZE;
    setInf(ys ^ 1); return;
  }
  if (cx === C_DENORMAL || cy === C_DENORMAL) R.exc |= DE;
  if (cx === C_INF) { setInf(ys); return; }
  const isOne = xe === EXT_BIAS && xm === J_BIT;
  const below1 = xe < EXT_BIAS;
  if (cy === C_INF) {
    if (isOne) { R.exc |= IE; setIndefinite(); return; }
    setInf(ys ^ (below1 ? 1 : 0)); return;
  }
  if (cy === C_ZERO || isOne) { setZero(ys ^ (below1 ? 1 : 0)); return; }
  const l = log2BF(xe, xm);
  packBF(mul(fromExt(ys, ye, ym), l), !logExact);
  if (logExact) { // x a power of two: exact value, but the host still reports it inexact
    R.exc |= PE;
    if (R.e === 0 && R.m !== 0n && R.ueMasked) R.exc |= UE;
  }
}

/** FYL2XP1: y * log2(1 + x) into R. */
export function fyl2xp1(ys: number, ye: number, ym: bigint, xs: number, xe: number, xm: bigint): void {
  const cy = classify(ye, ym), cx = classify(xe, xm);
  if (screen2(ys, ye, ym, cy, xs, xe, xm, cx, false)) return;
  if (cx === C_ZERO && cy === C_INF) { R.exc |= IE; setIndefinite(); return; }
  if (cx === C_INF && (xs || cy === C_ZERO)) { R.exc |= IE; setIndefinite(); return; }
  if (cx === C_DENORMAL || cy === C_DENORMAL) R.exc |= DE;
  if (cx === C_ZERO || cy === C_ZERO) { setZero(ys ^ xs); return; }
  if (cx === C_INF) { setInf(ys); return; }
  if (cy === C_INF) { setInf(ys ^ xs); return; }
  const x = fromExt(xs, xe, xm);
  const onePlus = add(ONE, x);
  if (onePlus.s === 1 || onePlus.m === 0n) { // 1 + x <= 0: the host returns x, inexact
    R.exc |= PE; setVal(xs, xe, xm); return;
  }
  let l2: BF;
  if (mag(x) <= -2) {
    // ln(1+x) = 2 atanh(x / (2 + x)), accurate for small x
    const u = div(x, add(bfExact(0, 2n, 0), x));
    l2 = mul(mul(atanhSeries(u), bfExact(0, 2n, 0)), INV_LN2);
  } else {
    l2 = log2Of(onePlus.m, onePlus.e);
  }
  packBF(mul(fromExt(ys, ye, ym), l2), true);
}

// ------------------------------------------------------------------ atan

function atanSeries(t: BF): BF { // |t| small
  const z = mul(t, t);
  let p: BF = ONE, sum: BF = ONE;
  for (let k = 1; k < 400; k++) {
    p = mul(p, z);
    const term = divInt(p, 2 * k + 1);
    sum = (k & 1) ? sub(sum, term) : add(sum, term);
    if (mag(term) < -P - 8) break;
  }
  return mul(t, sum);
}
function atanBF(t: BF): BF { // 0 < t <= 1
  let k = 0;
  while (mag(t) > -3 && k < 4) {
    t = div(t, add(ONE, sqrtBF(add(ONE, mul(t, t)))));
    k++;
  }
  const a = atanSeries(t);
  return { s: a.s, m: a.m, e: a.e + k };
}

/** FPATAN: atan2(y = ST1, x = ST0) into R. */
export function fpatan(ys: number, ye: number, ym: bigint, xs: number, xe: number, xm: bigint): void {
  const cy = classify(ye, ym), cx = classify(xe, xm);
  if (screen2(ys, ye, ym, cy, xs, xe, xm, cx)) return;
  let v: BF;
  if (cy === C_ZERO) {
    if (xs === 0) { setZero(ys); return; }
    v = PI;
  } else if (cy === C_INF) {
    if (cx === C_INF) v = xs ? mul(PIO4, bfExact(0, 3n, 0)) : PIO4;
    else v = PIO2;
  } else if (cx === C_INF) {
    if (xs === 0) { setZero(ys); return; }
    v = PI;
  } else if (cx === C_ZERO) {
    v = PIO2;
  } else {
    const a = fromExt(0, ye, ym), b = fromExt(0, xe, xm);
    const yBig = sub(a, b).s === 0 && sub(a, b).m !== 0n;
    v = yBig ? sub(PIO2, atanBF(div(b, a))) : atanBF(div(a, b));
    if (xs) v = sub(PI, v);
  }
  v = { s: ys, m: v.m, e: v.e };
  packBF(v, true);
}

// ------------------------------------------------------------------ fscale / fprem

export function fscale(as: number, ae: number, am: bigint, bs: number, be: number, bm: bigint): void {
  const ca = classify(ae, am), cb = classify(be, bm);
  if (screen2(as, ae, am, ca, bs, be, bm, cb)) return;
  if (cb === C_INF) {
    if (ca === C_ZERO) { if (bs === 0) { R.exc |= IE; setIndefinite(); } else setZero(as); return; }
    if (ca === C_INF) { if (bs === 1) { R.exc |= IE; setIndefinite(); } else setInf(as); return; }
    if (bs === 0) setInf(as); else setZero(as);
    return;
  }
  if (ca === C_INF || ca === C_ZERO) { setVal(as, ae, am); return; }
  // n = trunc(ST1), clamped far outside the exponent range
  let n = 0;
  if (cb !== C_ZERO && be >= EXT_BIAS) {
    const sh = be - EXT_BIAS;
    n = sh > 20 ? 1 << 21 : Number(bm >> BigInt(63 - sh));
    if (bs) n = -n;
  }
  const x = (ae === 0 ? 1 : ae) - EXT_BIAS - 63;
  roundExt(as, x + n, am, 64);
}

export const PREM_SPECIAL = 8;

/** Pass a finite operand through rounding (pseudo-denormals become normal). */
function repack(s: number, e: number, m: bigint): void {
  if (m === 0n) { setZero(s); return; }
  roundExt(s, (e === 0 ? 1 : e) - EXT_BIAS - 63, m, 64);
}

/**
 * FPREM (ieee=false, truncating) / FPREM1 (round to nearest) of a = ST0 by
 * b = ST1 into R. Returns the low three quotient bits (q2 q1 q0 as bit 2..0),
 * -1 for a partial remainder (C2 = 1) or PREM_SPECIAL when condition codes
 * other than C2=0 are left unchanged.
 */
export function fprem(as: number, ae: number, am: bigint, bs: number, be: number, bm: bigint, ieee: boolean): number {
  const ca = classify(ae, am), cb = classify(be, bm);
  if (screen2(as, ae, am, ca, bs, be, bm, cb)) return PREM_SPECIAL;
  if (ca === C_INF || cb === C_ZERO) { R.exc = (R.exc & ~DE) | IE; setIndefinite(); return PREM_SPECIAL; }
  if (ca === C_ZERO || cb === C_INF) { repack(as, ae, am); return 0; }
  let xa = (ae === 0 ? 1 : ae) - EXT_BIAS - 63, ma = am;
  if (ma < J_BIT) { const sh = 64 - bitLen(ma); ma <<= BigInt(sh); xa -= sh; }
  let xb = (be === 0 ? 1 : be) - EXT_BIAS - 63, mb = bm;
  if (mb < J_BIT) { const sh = 64 - bitLen(mb); mb <<= BigInt(sh); xb -= sh; }
  const d = xa - xb;
  if (d >= 64) {
    // partial remainder: reduce the exponent difference by 32..63
    const nShift = d - (32 + (d & 31));
    const A = ma << BigInt(d - nShift);
    const q = A / mb;
    const r = A - q * mb;
    roundExt(as, xb + nShift, r, 64);
    if (r === 0n) setZero(as);
    return -1;
  }
  if (d < -1 || (d < 0 && !ieee)) { repack(as, ae, am); return 0; }
  const xmin = Math.min(xa, xb);
  const A = ma << BigInt(xa - xmin), B = mb << BigInt(xb - xmin);
  let q = A / B;
  let r = A - q * B;
  let s = as;
  if (ieee) {
    const r2 = r * 2n;
    if (r2 > B || (r2 === B && (q & 1n) === 1n)) { q += 1n; r = B - r; s ^= 1; }
  }
  if (r === 0n) setZero(as);
  else roundExt(s, xmin, r, 64);
  return qbits(q);
}

/** Map quotient bits to the return convention: bit2 = C0 (q2), bit1 = C3 (q1), bit0 = C1 (q0). */
function qbits(q: bigint): number {
  const q0 = Number(q & 1n), q1 = Number((q >> 1n) & 1n), q2 = Number((q >> 2n) & 1n);
  return (q2 << 2) | (q1 << 1) | q0;
}

