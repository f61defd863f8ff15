/** qemu-ts-system-x86_64 entry point. */
export async function main(argv: string[]): Promise<number> {
  process.stderr.write(`qemu-ts-system-x86_64: not built yet (${argv.join(' ')})\n`);
  return 1;
}
