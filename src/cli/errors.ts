/**
 * Errors and early exits of the system command line.
 *
 * QEMU prints `qemu-system-x86_64: -m 1024X: message` for an error tied to one option and
 * `qemu-system-x86_64: message` otherwise, then exits with status 1. `CliError` carries the
 * option text (as the user typed it) so main.ts can print the same shape.
 */
export const PROGRAM = 'qemu-ts-system-x86_64';

export class CliError extends Error {
  /** `-m 1024X` — the option and its argument as given, or null for a global error. */
  readonly where: string | null;
  /** Extra lines printed after the first (QEMU's hints). */
  readonly hint: string | null;
  /** QEMU prints this one without the option prefix even while handling an option. */
  readonly bare: boolean;
  constructor(message: string, where: string | null = null, hint: string | null = null, bare = false) {
    super(message);
    this.name = 'CliError';
    this.where = where;
    this.hint = hint;
    this.bare = bare;
  }
  /** An error QEMU reports without naming the option (`unsupported machine type`). */
  static bare(message: string, hint: string | null = null): CliError {
    return new CliError(message, null, hint, true);
  }
  /** The text QEMU would print on stderr (without the trailing newline). */
  format(program = PROGRAM): string {
    const head = this.where ? `${program}: ${this.where}: ${this.message}` : `${program}: ${this.message}`;
    return this.hint ? `${head}\n${this.hint}` : head;
  }
}

/** A request to print something and exit (help listings, -version). Not an error. */
export class CliExit extends Error {
  readonly code: number;
  readonly stdout: string;
  constructor(stdout: string, code = 0) {
    super('exit');
    this.name = 'CliExit';
    this.stdout = stdout;
    this.code = code;
  }
}

/** Attach the option context to an error raised by a helper that did not know it. */
export function withOption<T>(where: string, fn: () => T): T {
  try {
    return fn();
  } catch (e) {
    if (e instanceof CliError && e.where === null && !e.bare) throw new CliError(e.message, where, e.hint);
    throw e;
  }
}

/** A help listing requested by an option (`-M help`); `text` is the listing or an '@tag'. */
export class HelpRequest {
  constructor(readonly text: string, readonly code = 0) {}
}
