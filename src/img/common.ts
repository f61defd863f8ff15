/**
 * What every qemu-ts-img subcommand shares: output streams, errors that end a
 * command with qemu-img's exact text, getopt with qemu-img's error messages,
 * and small parsers (--output, -o lists, size arguments).
 */
import { Getopt, type LongOption } from '../util/getopt.js';
import { cvtnum } from '../util/size.js';

export const PROG = 'qemu-ts-img';
/** qemu-img's usage hint; kept byte-identical (only the message prefix is renamed). */
export const TRY_LINE = "Try 'qemu-img --help' for more information\n";

export interface IO {
  out(s: string): void;
  err(s: string): void;
  /** stdout is a terminal (progress may be drawn with a spinner). */
  stdoutTTY: boolean;
}

export function processIO(): IO {
  return {
    out: (s) => { process.stdout.write(s); },
    err: (s) => { process.stderr.write(s); },
    stdoutTTY: !!process.stdout.isTTY,
  };
}

/**
 * Ends a command. `lines` are printed to stderr, each prefixed `qemu-ts-img: `
 * (rawTail lines are printed without the prefix); `usage` adds the Try line.
 */
export class ImgError extends Error {
  constructor(
    message: string,
    readonly exitCode = 1,
    readonly usage = false,
    /** Text printed after the message lines, without prefix (e.g. a no-newline tail). */
    readonly tail = '',
  ) {
    super(message);
    this.name = 'ImgError';
  }
}

export function usageError(message: string): ImgError {
  return new ImgError(message, 1, true);
}

/** Print `qemu-ts-img: msg` (message may hold newlines; only the first line is prefixed). */
export function report(io: IO, message: string): void {
  io.err(`${PROG}: ${message}\n`);
}

/** Signals `-h`: main prints the help text and returns 0. */
export class HelpRequest extends Error {}

/**
 * Iterate the options of a subcommand. argv[0] is the subcommand name.
 * Unknown options and missing arguments throw qemu-img's usage errors; `-h`
 * / `--help` throw HelpRequest.
 */
export function* options(argv: string[], shortopts: string, longopts: LongOption[] = []):
  Generator<{ opt: string; arg: string }, string[], void> {
  const g = new Getopt(argv, shortopts, [{ name: 'help', hasArg: 0, val: 'h' }, ...longopts]);
  for (;;) {
    const r = g.next();
    if (r === null) return g.operands();
    if (r.opt === '?') throw usageError(`unrecognized option '${g.quote()}'`);
    if (r.opt === ':') throw usageError(`missing argument for option '${g.quote()}'`);
    if (r.opt === 'h') throw new HelpRequest();
    yield { opt: r.opt, arg: r.arg ?? '' };
  }
}

/** Run the option generator to its end with a handler; returns the operands. */
export function parseArgs(argv: string[], shortopts: string, longopts: LongOption[],
  handle: (opt: string, arg: string) => void): string[] {
  const it = options(argv, shortopts, longopts);
  for (;;) {
    const r = it.next();
    if (r.done) return r.value;
    handle(r.value.opt, r.value.arg);
  }
}

export type OutputFormat = 'human' | 'json';

export function parseOutput(arg: string): OutputFormat {
  if (arg === 'human' || arg === 'json') return arg;
  throw new ImgError('--output must be used with human or json as argument.');
}

/** Size argument with cvtnum's messages (create, measure, dd, bench...). */
export function sizeArg(io: IO, name: string, s: string, min: bigint, max: bigint): number {
  const r = cvtnum(name, s, min, max);
  if (!r.ok) throw new ImgError(r.lines.join(`\n${PROG}: `));
  if (r.warning) report(io, r.warning);
  return Number(r.value);
}

/**
 * Split a QemuOpts list `a=1,b=2` (`,,` is a literal comma). A bare word
 * becomes key=`on`-less: returned with value undefined (qemu's implied "on"
 * for bools, "help" for help).
 */
export function splitOptList(s: string): Array<[string, string | undefined]> {
  const out: Array<[string, string | undefined]> = [];
  let i = 0;
  while (i < s.length) {
    let key = '';
    while (i < s.length && s[i] !== '=' && s[i] !== ',') key += s[i++];
    let val: string | undefined;
    if (s[i] === '=') {
      i++;
      val = '';
      while (i < s.length) {
        if (s[i] === ',') {
          if (s[i + 1] === ',') { val += ','; i += 2; continue; }
          break;
        }
        val += s[i++];
      }
    }
    if (s[i] === ',') i++;
    out.push([key, val]);
  }
  return out;
}

/** `-o help` / `-o ?` anywhere in an option list. */
export function wantsHelp(list: string | undefined): boolean {
  if (list === undefined) return false;
  return splitOptList(list).some(([k, v]) => v === undefined && (k === 'help' || k === '?'));
}

/** Accumulate repeated -o arguments the way qemu-img does (joined with ','). */
export function addOpt(prev: string | undefined, next: string): string {
  return prev === undefined ? next : `${prev},${next}`;
}

/** Format a progress value as qemu-img does: `    (12.34/100%)\r`. */
export function progressText(pct: number): string {
  return `    (${pct.toFixed(2)}/100%)\r`;
}

/** Formats qemu-img 7.2 handles that qemu-ts-img does not implement (yet). */
export const OTHER_QEMU_FORMATS = ['vmdk', 'vdi', 'vpc', 'vhdx', 'qcow', 'qed', 'luks', 'parallels', 'bochs', 'cloop', 'dmg', 'vvfat'];

/** The error for a format without a driver: qemu-img's text, or a clear "not supported yet". */
export function unknownFormat(fmt: string): string {
  if (OTHER_QEMU_FORMATS.includes(fmt)) return `Format '${fmt}' is not supported by qemu-ts-img yet (supported: qcow2, raw)`;
  return `Unknown file format '${fmt}'`;
}
