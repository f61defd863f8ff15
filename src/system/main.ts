/**
 * qemu-ts-system-x86_64 entry point: parse QEMU's command line into a machine description,
 * validate it as QEMU does before starting, then (-dump-machine) print it as JSON or run it.
 */
import { writeFileSync } from 'node:fs';
import { writeConfig } from '../cli/argv.js';
import { PROGRAM } from '../cli/errors.js';
import { CliError, CliExit, formatError, parseCommandLineFull, validateMachine } from '../cli/index.js';

export async function main(argv: string[]): Promise<number> {
  try {
    const r = parseCommandLineFull(argv);
    if (r.writeConfig) {
      const text = writeConfig(r.items);
      if (r.writeConfig.file === '-') process.stdout.write(text);
      else {
        try {
          writeFileSync(r.writeConfig.file, text);
        } catch (e) {
          throw new CliError(`Could not write config file: ${(e as Error).message}`, r.writeConfig.where);
        }
      }
    }
    await validateMachine(r.desc);
    if (r.dumpMachine) {
      process.stdout.write(JSON.stringify(r.desc, null, 2) + '\n');
      return 0;
    }
    const { runMachine } = await import('../machine/run.js');
    return await runMachine(r.desc);
  } catch (e) {
    if (e instanceof CliExit) {
      process.stdout.write(e.stdout);
      return e.code;
    }
    process.stderr.write(formatError(e, PROGRAM) + '\n');
    return 1;
  }
}
