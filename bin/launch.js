// Shared launcher: load a compiled entry module and hand it the arguments.
// Kept tiny so a qemu-ts-img call starts fast (the entry modules import lazily).
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

export function runCompiled(tool, relPath) {
  const url = new URL(relPath, import.meta.url);
  if (!existsSync(fileURLToPath(url))) {
    process.stderr.write(`${tool}: the compiled program is missing (${fileURLToPath(url)}).\n` +
      `Run 'npm install' (or 'npm run build') in the qemu-ts folder first.\n`);
    process.exit(1);
  }
  import(url.href).then(
    (m) => m.main(process.argv.slice(2)),
    (err) => { process.stderr.write(`${tool}: failed to start: ${err && err.message}\n`); process.exit(1); },
  ).then((code) => { if (typeof code === 'number') process.exitCode = code; });
}
