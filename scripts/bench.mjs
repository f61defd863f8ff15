#!/usr/bin/env node
// npm run bench: runs every benchmark script side by side with its reference (real qemu-img / QEMU)
// in the same run and prints ratios. Each part is a separate script so it can be run alone.
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { dirname, join } from 'node:path';

const here = dirname(fileURLToPath(import.meta.url));
const parts = [
  ['qemu-ts-img convert throughput vs qemu-img', 'bench-img.mjs'],
  ['CPU core speed (MIPS)', 'bench-cpu.mjs'],
  ['Linux boot to shell vs QEMU', 'bench-boot.mjs'],
];
let failed = 0;
for (const [title, file] of parts) {
  const path = join(here, file);
  if (!existsSync(path)) continue;
  console.log(`\n== ${title} (${file}) ==`);
  const r = spawnSync(process.execPath, [path, ...process.argv.slice(2)], { stdio: 'inherit' });
  if (r.status !== 0) { failed++; console.log(`(${file} exited with status ${r.status})`); }
}
process.exit(failed ? 1 : 0);
