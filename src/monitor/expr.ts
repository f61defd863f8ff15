/**
 * Monitor expressions, as QEMU's HMP evaluates them for `print`, `x`, `xp`,
 * `memsave`...: 64-bit integers, `+ - * / % & | ^ ~`, parentheses, numbers
 * in C notation (0x hex, leading 0 octal), 'c' character constants and
 * `$reg` CPU registers. Precedence (QEMU's, not C's): sums bind loosest,
 * then the bitwise operators, then products, then unary operators.
 */

export class ExprError extends Error {}

/** Register values by name (lower case, without `$`); undefined = unknown register. */
export type RegisterLookup = (name: string) => bigint | undefined;

const M64 = (1n << 64n) - 1n;
const wrap = (v: bigint): bigint => BigInt.asIntN(64, v & M64);

class Parser {
  i = 0;
  constructor(private readonly s: string, private readonly reg: RegisterLookup) {}

  private skip(): void { while (this.i < this.s.length && /\s/.test(this.s[this.i]!)) this.i++; }
  private peek(): string { this.skip(); return this.s[this.i] ?? ''; }

  sum(): bigint {
    let v = this.logic();
    for (;;) {
      const c = this.peek();
      if (c !== '+' && c !== '-') return v;
      this.i++;
      const r = this.logic();
      v = wrap(c === '+' ? v + r : v - r);
    }
  }

  private prod(): bigint {
    let v = this.unary();
    for (;;) {
      const c = this.peek();
      if (c !== '*' && c !== '/' && c !== '%') return v;
      this.i++;
      const r = this.unary();
      if (c === '*') v = wrap(v * r);
      else {
        if (r === 0n) throw new ExprError('division by zero');
        v = wrap(c === '/' ? v / r : v % r);
      }
    }
  }

  private logic(): bigint {
    let v = this.prod();
    for (;;) {
      const c = this.peek();
      if (c !== '&' && c !== '|' && c !== '^') return v;
      this.i++;
      const r = this.prod();
      v = wrap(c === '&' ? v & r : c === '|' ? v | r : v ^ r);
    }
  }

  private unary(): bigint {
    const c = this.peek();
    switch (c) {
      case '+': this.i++; return this.unary();
      case '-': this.i++; return wrap(-this.unary());
      case '~': this.i++; return wrap(~this.unary());
      case '(': {
        this.i++;
        const v = this.sum();
        if (this.peek() !== ')') throw new ExprError("')' expected");
        this.i++;
        return v;
      }
      case "'": {
        const ch = this.s[this.i + 1];
        if (ch === undefined) throw new ExprError('character constant expected');
        if (this.s[this.i + 2] !== "'") throw new ExprError('missing terminating \' character');
        this.i += 3;
        return BigInt(ch.charCodeAt(0));
      }
      case '$': {
        this.i++;
        const m = /^[A-Za-z_][A-Za-z0-9_.]*/.exec(this.s.slice(this.i));
        if (m === null) throw new ExprError('unknown register');
        this.i += m[0].length;
        const v = this.reg(m[0].toLowerCase());
        if (v === undefined) throw new ExprError('unknown register');
        return v;
      }
      case '': throw new ExprError('unexpected end of expression');
      default: {
        const m = /^(0[xX][0-9a-fA-F]+|0[0-7]*|[1-9][0-9]*)/.exec(this.s.slice(this.i));
        if (m === null) throw new ExprError(`invalid char '${c}' in expression`);
        this.i += m[0].length;
        const t = m[0];
        let v: bigint;
        if (/^0[xX]/.test(t)) v = BigInt(t);
        else if (t.length > 1 && t[0] === '0') v = BigInt('0o' + t.slice(1));
        else v = BigInt(t);
        if (v > M64) throw new ExprError('number too large');
        return wrap(v);
      }
    }
  }

  rest(): string { this.skip(); return this.s.slice(this.i); }
}

/** Evaluate one expression at the start of `s`; returns the value and what follows it. */
export function evalExpr(s: string, reg: RegisterLookup): { value: bigint; rest: string } {
  const p = new Parser(s, reg);
  const value = p.sum();
  return { value, rest: p.rest() };
}

/** Evaluate an expression that must be all of `s`. */
export function evalWhole(s: string, reg: RegisterLookup, what: string): bigint {
  const { value, rest } = evalExpr(s, reg);
  if (rest !== '') throw new ExprError(`${what}: extraneous characters at the end of line`);
  return value;
}
