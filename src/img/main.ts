/** qemu-ts-img entry point. Subcommands are loaded lazily to keep start-up small. */
export async function main(argv: string[]): Promise<number> {
  process.stderr.write(`qemu-ts-img: not built yet (${argv.join(' ')})\n`);
  return 1;
}
