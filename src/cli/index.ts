/**
 * Public entry points of the system command line:
 *   parseCommandLine(argv, env)  → MachineDescription (pure parsing + QEMU defaults; no file access
 *                                   except -readconfig)
 *   validateMachine(desc, env)   → the pre-start checks (files, formats, locks, firmware)
 */
import { readConfigFile, splitArgv } from './argv.js';
import { Builder, HelpRequest, type ArgItem } from './build.js';
import { CliError, CliExit } from './errors.js';
import { printWarning } from './validate.js';
import { firmwareSearchPath } from './firmware.js';
import { helpFor } from './help.js';
import type { MachineDescription } from './machine-description.js';

export { CliError, CliExit } from './errors.js';
export type { MachineDescription } from './machine-description.js';
export { printWarning, validateMachine } from './validate.js';

export interface ParseEnv {
  /** Working directory for relative paths (default process.cwd()). */
  cwd?: string;
  /** Environment variables (default process.env): QEMU_TS_FIRMWARE_PATH. */
  vars?: Record<string, string | undefined>;
  /** Where warnings go (default: stderr). They are also kept in desc.warnings. */
  warn?: (msg: string) => void;
}

export interface ParseResult {
  desc: MachineDescription;
  /** The option occurrences, in order (after -readconfig expansion). */
  items: ArgItem[];
  /** -dump-machine was given. */
  dumpMachine: boolean;
  /** -writeconfig FILE, or null. */
  writeConfig: { file: string; where: string } | null;
}

/** Parse with the details main.ts needs. Throws CliError (bad line) or CliExit (help/version). */
export function parseCommandLineFull(argv: readonly string[], env: ParseEnv = {}): ParseResult {
  const cwd = env.cwd ?? process.cwd();
  const warn = env.warn ?? printWarning;
  const b = new Builder({ warn });
  const items: ArgItem[] = [];
  let dumpMachine = false;
  let writeCfg: ParseResult['writeConfig'] = null;
  const lDirs: string[] = [];
  const run = (list: ArgItem[]) => {
    for (const it of list) {
      if (it.name === 'h' || it.name === 'help') throw new CliExit(helpFor('@help'));
      if (it.name === 'version') throw new CliExit(helpFor('@version'));
      if (it.name === 'dump-machine') {
        dumpMachine = true;
        continue;
      }
      if (it.name === 'readconfig') {
        run(readConfigFile(it.arg!, it.where));
        continue;
      }
      if (it.name === 'writeconfig') {
        b.apply({ ...it, name: 'writeconfig' });
        writeCfg = { file: it.arg!, where: it.where };
        continue;
      }
      if (it.name === 'L' && it.arg !== 'help') lDirs.push(it.arg!);
      items.push(it);
      try {
        b.apply(it);
      } catch (e) {
        if (e instanceof HelpRequest) {
          if (e.text === '@L') throw new CliExit(firmwareSearchPath(lDirs, env.vars ?? process.env, cwd).join('\n') + '\n');
          throw new CliExit(helpFor(e.text), e.code);
        }
        throw e;
      }
    }
  };
  run(splitArgv(argv));
  let desc: MachineDescription;
  try {
    desc = b.finish();
  } catch (e) {
    if (e instanceof HelpRequest) throw new CliExit(helpFor(e.text), e.code);
    throw e;
  }
  desc.firmware.searchPath = firmwareSearchPath(lDirs, env.vars ?? process.env, cwd);
  return { desc, items, dumpMachine, writeConfig: writeCfg };
}

/** argv (without the program name) → machine description. Throws CliError or CliExit. */
export function parseCommandLine(argv: readonly string[], env: ParseEnv = {}): MachineDescription {
  return parseCommandLineFull(argv, env).desc;
}

/** Format any thrown value as QEMU would print it; never a stack trace. */
export function formatError(e: unknown, program: string): string {
  if (e instanceof CliError) return e.format(program);
  const msg = e instanceof Error ? e.message : String(e);
  return `${program}: internal error: ${msg}`;
}
