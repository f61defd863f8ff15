#!/usr/bin/env node
// Times qemu-ts-img against the real qemu-img on the same files in the same run.
// Usage: node scripts/bench-img.mjs [--size-mib 512] [--data-mib 190] [--runs 3] [--dir /tmp/qemu-ts-bench]
// Needs `npm run build` first and qemu-img on PATH.
import { spawnSync } from 'node:child_process';
import { openSync, writeSync, closeSync, ftruncateSync, mkdirSync, rmSync, existsSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import { join } from 'node:path';

const args = process.argv.slice(2);
const opt = (name, dflt) => {
  const i = args.indexOf(name);
  return i >= 0 ? args[i + 1] : dflt;
};
const SIZE = Number(opt('--size-mib', 512)) << 20;
const DATA = Number(opt('--data-mib', 190)) << 20;
const RUNS = Number(opt('--runs', 3));
const DIR = opt('--dir', '/tmp/qemu-ts-bench');
const OURS = fileURLToPath(new URL('../bin/qemu-ts-img.js', import.meta.url));

function sh(cmd, argv) {
  const t0 = process.hrtime.bigint();
  const r = spawnSync(cmd, argv, { stdio: ['ignore', 'pipe', 'pipe'] });
  const secs = Number(process.hrtime.bigint() - t0) / 1e9;
  if (r.status !== 0) {
    throw new Error(`${cmd} ${argv.join(' ')} failed (${r.status}): ${r.stderr}`);
  }
  return secs;
}

function makeSource(path) {
  // 256 KiB pieces at distinct random 256 KiB slots; each 64 KiB cluster holds
  // 32 KiB of random bytes and 32 KiB of repeating text (so -c has work to do).
  const piece = 256 << 10;
  const slots = SIZE / piece;
  const want = Math.min(slots, Math.floor(DATA / piece));
  const chosen = new Set();
  while (chosen.size < want) chosen.add(Math.floor(Math.random() * slots));
  const fd = openSync(path, 'w');
  ftruncateSync(fd, SIZE);
  const text = Buffer.alloc(32 << 10, 'qemu-ts bench: the quick brown fox jumps over the lazy dog. ');
  for (const s of [...chosen].sort((a, b) => a - b)) {
    const buf = Buffer.alloc(piece);
    for (let c = 0; c < piece; c += 64 << 10) {
      randomBytes(32 << 10).copy(buf, c);
      text.copy(buf, c + (32 << 10));
    }
    writeSync(fd, buf, 0, piece, s * piece);
  }
  closeSync(fd);
}

function best(fn) {
  const times = [];
  for (let i = 0; i < RUNS; i++) times.push(fn());
  times.sort((a, b) => a - b);
  return times[0];
}

if (!existsSync(join(fileURLToPath(new URL('..', import.meta.url)), 'dist/img/main.js'))) {
  console.error('build first: npm run build');
  process.exit(1);
}
rmSync(DIR, { recursive: true, force: true });
mkdirSync(DIR, { recursive: true });
const src = join(DIR, 'src.raw');
console.log(`creating ${SIZE >> 20} MiB raw with ${DATA >> 20} MiB of scattered data in ${DIR} ...`);
makeSource(src);
sh('qemu-img', ['convert', '-O', 'qcow2', src, join(DIR, 'src.qcow2')]);
sh('sync', []);

const cases = [
  ['raw -> qcow2', ['convert', '-O', 'qcow2', src, join(DIR, 'out.qcow2')]],
  ['qcow2 -> raw', ['convert', '-O', 'raw', join(DIR, 'src.qcow2'), join(DIR, 'out.raw')]],
  ['qcow2 -> qcow2 -c', ['convert', '-c', '-O', 'qcow2', join(DIR, 'src.qcow2'), join(DIR, 'out-c.qcow2')]],
  ['raw -> raw', ['convert', '-O', 'raw', src, join(DIR, 'out2.raw')]],
];
const startup = [best(() => sh('qemu-img', ['--version'])), best(() => sh(process.execPath, [OURS, '--version']))];

const rows = [];
for (const [name, argv] of cases) {
  const q = best(() => sh('qemu-img', argv));
  const t = best(() => sh(process.execPath, [OURS, ...argv]));
  // the result must be right, not just fast
  const out = argv[argv.length - 1];
  const same = spawnSync('qemu-img', ['compare', argv.includes('-c') ? join(DIR, 'src.qcow2') : src, out]).status === 0;
  rows.push([name, q, t, same]);
}
const pad = (s, n) => String(s).padEnd(n);
console.log(`\n${pad('case', 20)}${pad('qemu-img s', 12)}${pad('qemu-ts-img s', 15)}${pad('ratio', 8)}result`);
console.log(`${pad('start-up (--version)', 20)}${pad(startup[0].toFixed(3), 12)}${pad(startup[1].toFixed(3), 15)}${pad((startup[1] / startup[0]).toFixed(2), 8)}`);
for (const [name, q, t, same] of rows) {
  console.log(`${pad(name, 20)}${pad(q.toFixed(3), 12)}${pad(t.toFixed(3), 15)}${pad((t / q).toFixed(2) + 'x', 8)}${same ? 'identical' : 'MISMATCH'}`);
}
console.log(`\n(best of ${RUNS} runs each; page cache warm; node start-up included in qemu-ts-img times)`);
