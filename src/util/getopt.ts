/**
 * GNU getopt_long, as qemu-img uses it: argument permutation, a leading ':'
 * in the option string (no messages of its own, ':' for a missing argument),
 * `--` ends options, unique prefixes of long options are accepted.
 *
 * qemu-img reports errors by quoting `argv[optind - 1]`; because optind is
 * not advanced while the scanner is inside a cluster of short options, and
 * because permutation happens lazily, that quote is sometimes the word
 * before the offending option (`create x.img -5M` -> 'x.img'). `Getopt`
 * keeps the same state machine so `quote()` reproduces it exactly.
 */

export interface LongOption {
  name: string;
  /** 0 = no argument, 1 = required, 2 = optional (only as --name=value) */
  hasArg: 0 | 1 | 2;
  /** Value returned for the option (a short letter or any tag string). */
  val: string;
}

export interface OptResult {
  /** The option letter / long tag, '?' for unknown, ':' for a missing argument. */
  opt: string;
  arg?: string;
}

export class Getopt {
  readonly argv: string[];
  optind = 1;
  private nextchar = '';
  private firstNonopt = 1;
  private lastNonopt = 1;
  private readonly shortArgs = new Map<string, 0 | 1 | 2>();

  constructor(argv: readonly string[], shortopts: string, private readonly longopts: LongOption[] = []) {
    this.argv = argv.slice();
    let s = shortopts;
    if (s.startsWith('+') || s.startsWith('-')) s = s.slice(1);
    if (s.startsWith(':')) s = s.slice(1);
    for (let i = 0; i < s.length; i++) {
      const c = s[i]!;
      let kind: 0 | 1 | 2 = 0;
      if (s[i + 1] === ':') {
        kind = 1;
        i++;
        if (s[i + 1] === ':') { kind = 2; i++; }
      }
      this.shortArgs.set(c, kind);
    }
    this.permute = !shortopts.startsWith('+');
  }

  private readonly permute: boolean;

  /** The word qemu-img quotes in its error messages: argv[optind - 1]. */
  quote(): string {
    return this.argv[this.optind - 1] ?? '';
  }

  private exchange(): void {
    const a = this.argv;
    const nonopts = a.slice(this.firstNonopt, this.lastNonopt);
    const opts = a.slice(this.lastNonopt, this.optind);
    a.splice(this.firstNonopt, this.optind - this.firstNonopt, ...opts, ...nonopts);
    this.firstNonopt += this.optind - this.lastNonopt;
    this.lastNonopt = this.optind;
  }

  private static isNonopt(s: string): boolean {
    return s[0] !== '-' || s.length === 1;
  }

  /** Next option, or null at the end (then `operands()` gives the rest). */
  next(): OptResult | null {
    const argv = this.argv;
    const argc = argv.length;
    if (this.nextchar === '') {
      if (this.lastNonopt > this.optind) this.lastNonopt = this.optind;
      if (this.firstNonopt > this.optind) this.firstNonopt = this.optind;
      if (this.permute) {
        if (this.firstNonopt !== this.lastNonopt && this.lastNonopt !== this.optind) this.exchange();
        else if (this.lastNonopt !== this.optind) this.firstNonopt = this.optind;
        while (this.optind < argc && Getopt.isNonopt(argv[this.optind]!)) this.optind++;
        this.lastNonopt = this.optind;
      }
      if (this.optind !== argc && argv[this.optind] === '--') {
        this.optind++;
        if (this.firstNonopt !== this.lastNonopt && this.lastNonopt !== this.optind) this.exchange();
        else if (this.firstNonopt === this.lastNonopt) this.firstNonopt = this.optind;
        this.lastNonopt = argc;
        this.optind = argc;
      }
      if (this.optind === argc) {
        if (this.firstNonopt !== this.lastNonopt) this.optind = this.firstNonopt;
        return null;
      }
      const cur = argv[this.optind]!;
      if (Getopt.isNonopt(cur)) {
        // only reached without permutation ('+'): stop at the first operand
        return null;
      }
      if (cur.startsWith('--')) return this.long(cur.slice(2));
      this.nextchar = cur.slice(1);
    }
    const c = this.nextchar[0]!;
    this.nextchar = this.nextchar.slice(1);
    if (this.nextchar === '') this.optind++;
    const kind = this.shortArgs.get(c);
    if (kind === undefined || c === ':') return { opt: '?' };
    if (kind === 0) return { opt: c };
    if (this.nextchar !== '') {
      const arg = this.nextchar;
      this.nextchar = '';
      this.optind++;
      return { opt: c, arg };
    }
    if (kind === 2) return { opt: c };
    if (this.optind === argc) return { opt: ':' };
    return { opt: c, arg: argv[this.optind++]! };
  }

  private long(body: string): OptResult {
    const eq = body.indexOf('=');
    const name = eq < 0 ? body : body.slice(0, eq);
    let found: LongOption | undefined = this.longopts.find((o) => o.name === name);
    if (!found) {
      const cands = this.longopts.filter((o) => o.name.startsWith(name));
      const distinct = new Set(cands.map((o) => `${o.hasArg}/${o.val}`));
      if (cands.length > 0 && distinct.size === 1) found = cands[0];
    }
    this.optind++;
    if (!found || name === '') return { opt: '?' };
    if (eq >= 0) {
      if (found.hasArg === 0) return { opt: '?' };
      return { opt: found.val, arg: body.slice(eq + 1) };
    }
    if (found.hasArg === 1) {
      if (this.optind >= this.argv.length) return { opt: ':' };
      return { opt: found.val, arg: this.argv[this.optind++]! };
    }
    return { opt: found.val };
  }

  /** Operands left after the options (valid once next() returned null). */
  operands(): string[] {
    return this.argv.slice(this.optind);
  }
}
