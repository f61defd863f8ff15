/** `qemu-ts-img --help` / `--version` (commander renders the help page). */
import { Command } from 'commander';

import { versionText } from './version.js';

const SYNTAX: Array<[string, string]> = [
  ['amend', '[-p] [-q] [-f fmt] [--force] -o options filename'],
  ['bench', '[-c count] [-d depth] [-f fmt] [--flush-interval=flush_interval] [-n] [--no-drain] [-o offset] [--pattern=pattern] [-q] [-s buffer_size] [-S step_size] [-t cache] [-w] [-U] filename'],
  ['bitmap', '(not supported by qemu-ts-img)'],
  ['check', '[-q] [-f fmt] [--output=ofmt] [-r [leaks | all]] [-U] filename'],
  ['commit', '[-q] [-f fmt] [-t cache] [-b base] [-d] [-p] filename'],
  ['compare', '[-f fmt] [-F fmt] [-p] [-q] [-s] [-U] filename1 filename2'],
  ['convert', '[-U] [-c] [-p] [-q] [-n] [-f fmt] [-O output_fmt] [-B backing_file [-F backing_fmt]] [-o options] [-l snapshot_param] [-S sparse_size] [-m num_coroutines] [-W] filename [filename2 [...]] output_filename'],
  ['create', '[-q] [-f fmt] [-b backing_file [-F backing_fmt]] [-u] [-o options] filename [size]'],
  ['dd', '[-U] [-f fmt] [-O output_fmt] [bs=block_size] [count=blocks] [skip=blocks] if=input of=output'],
  ['info', '[-f fmt] [--output=ofmt] [--backing-chain] [-U] filename'],
  ['map', '[-f fmt] [--start-offset=offset] [--max-length=len] [--output=ofmt] [-U] filename'],
  ['measure', '[--output=ofmt] [-O output_fmt] [-o options] [--size N | [-f fmt] [-l snapshot_param] filename]'],
  ['snapshot', '[-U] [-q] [-l | -a snapshot | -c snapshot | -d snapshot] filename'],
  ['rebase', '[-U] [-q] [-f fmt] [-t cache] [-T src_cache] [-p] [-u] -b backing_file [-F backing_fmt] filename'],
  ['resize', '[-f fmt] [--preallocation=prealloc] [-q] [--shrink] filename [+ | -]size'],
];

export function helpText(): string {
  const program = new Command('qemu-ts-img')
    .usage('[standard options] command [command options]')
    .description('QEMU disk image utility (qemu-img 7.2 compatible)')
    .helpOption('-h, --help', 'display this help and exit')
    .option('-V, --version', 'output version information and exit')
    .option('-T, --trace <opts>', 'accepted and ignored');
  const syntax = SYNTAX.map(([n, s]) => `  ${n} ${s}`).join('\n');
  let text = versionText() + program.helpInformation();
  text += `\nCommand syntax:\n${syntax}\n\n` +
    "'size' is the disk image size in bytes. Optional suffixes 'k' or 'K' (kilobyte, 1024),\n" +
    "'M' (megabyte, 1024k), 'G', 'T', 'P' and 'E' are supported. 'b' is ignored.\n\n" +
    'Supported formats: qcow2 raw\n';
  return text;
}
