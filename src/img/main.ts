/**
 * qemu-ts-img entry point: qemu-img's global options, then the subcommand.
 * Subcommand modules are imported only when they run, so a call costs little
 * more than Node's own start-up.
 */
import { HelpRequest, ImgError, PROG, TRY_LINE, processIO, type IO } from './common.js';
import { Getopt } from '../util/getopt.js';

type CommandModule = { run(argv: string[], io: IO): Promise<number> };

const COMMANDS: Record<string, () => Promise<CommandModule>> = {
  amend: () => import('./cmd/amend.js'),
  bench: () => import('./cmd/bench.js'),
  bitmap: () => import('./cmd/bitmap.js'),
  check: () => import('./cmd/check.js'),
  commit: () => import('./cmd/commit.js'),
  compare: () => import('./cmd/compare.js'),
  convert: () => import('./cmd/convert.js'),
  create: () => import('./cmd/create.js'),
  dd: () => import('./cmd/dd.js'),
  info: () => import('./cmd/info.js'),
  map: () => import('./cmd/map.js'),
  measure: () => import('./cmd/measure.js'),
  snapshot: () => import('./cmd/snapshot.js'),
  rebase: () => import('./cmd/rebase.js'),
  resize: () => import('./cmd/resize.js'),
};

export const COMMAND_NAMES = Object.keys(COMMANDS);

async function printHelp(io: IO): Promise<number> {
  const { helpText } = await import('./help.js');
  io.out(helpText());
  return 0;
}

async function printVersion(io: IO): Promise<number> {
  const { versionText } = await import('./version.js');
  io.out(versionText());
  return 0;
}

/** Print an error the way qemu-img does and give the exit code. */
export function reportError(io: IO, e: unknown): number {
  if (e instanceof ImgError) {
    if (e.message !== '') io.err(`${PROG}: ${e.message}\n`);
    if (e.tail) io.err(e.tail);
    if (e.usage) io.err(TRY_LINE);
    return e.exitCode;
  }
  if (e instanceof Error && e.name === 'BlockError') {
    io.err(`${PROG}: ${e.message}\n`);
    return 1;
  }
  const code = (e as { code?: string } | null)?.code;
  if (code === 'ERR_MODULE_NOT_FOUND') {
    io.err(`${PROG}: this command is not available in this build\n`);
    return 1;
  }
  const msg = e instanceof Error ? e.message : String(e);
  io.err(`${PROG}: ${msg}\n`);
  return 1;
}

export async function main(argv: string[], io: IO = processIO()): Promise<number> {
  try {
    const args = ['qemu-img', ...argv];
    if (args.length < 2) throw new ImgError('Not enough arguments', 1, true);
    const g = new Getopt(args, '+:hVT:', [
      { name: 'help', hasArg: 0, val: 'h' },
      { name: 'version', hasArg: 0, val: 'V' },
      { name: 'trace', hasArg: 1, val: 'T' },
    ]);
    for (let r = g.next(); r !== null; r = g.next()) {
      if (r.opt === '?') throw new ImgError(`unrecognized option '${g.quote()}'`, 1, true);
      if (r.opt === ':') throw new ImgError(`missing argument for option '${g.quote()}'`, 1, true);
      if (r.opt === 'h') return await printHelp(io);
      if (r.opt === 'V') return await printVersion(io);
      // -T: tracing is accepted and ignored
    }
    const rest = args.slice(g.optind);
    if (rest.length < 1) return 0;
    const name = rest[0]!;
    const load = Object.prototype.hasOwnProperty.call(COMMANDS, name) ? COMMANDS[name] : undefined;
    if (!load) throw new ImgError(`Command not found: ${name}`, 1, true);
    const mod = await load();
    return await mod.run(rest, io);
  } catch (e) {
    if (e instanceof HelpRequest) return printHelp(io);
    return reportError(io, e);
  }
}
