#!/usr/bin/env node
// Times qemu-ts-img against the real qemu-img on the same files in the same run.
// Usage: node scripts/bench-img.mjs [--size-mib 512] [--data-mib 190] [--runs 3] [--dir /tmp/qemu-ts-bench]
//          [--large] (then also a 2048 MiB image with 800 MiB of data, -c left out)
// Needs `npm run build` first and qemu-img on PATH.
// Wall time on a shared machine mostly measures the other processes; the CPU
// ratio (user+sys, GNU time) is the steadier figure. Both are printed.
import { spawnSync } from 'node:child_process';
import { openSync, writeSync, closeSync, ftruncateSync, mkdirSync, rmSync, existsSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import { join } from 'node:path';
import { loadavg } from 'node:os';

const args = process.argv.slice(2);
const opt = (name, dflt) => {
  const i = args.indexOf(name);
  return i >= 0 ? args[i + 1] : dflt;
};
let SIZE = Number(opt('--size-mib', 512)) * 2 ** 20;
let DATA = Number(opt('--data-mib', 190)) * 2 ** 20;
const LARGE = args.includes('--large');
const RUNS = Number(opt('--runs', 3));
const DIR = opt('--dir', '/tmp/qemu-ts-bench');
const OURS = fileURLToPath(new URL('../bin/qemu-ts-img.js', import.meta.url));

// CPU time (user+sys) is measured with GNU time when present: on a busy machine
// wall-clock time mostly measures the other processes.
const GNU_TIME = existsSync('/usr/bin/time') ? '/usr/bin/time' : null;
let lastCpu = NaN;

function sh(cmd, argv) {
  const t0 = process.hrtime.bigint();
  const r = GNU_TIME
    ? spawnSync(GNU_TIME, ['-f', '@@cpu %U %S', cmd, ...argv], { stdio: ['ignore', 'pipe', 'pipe'], encoding: 'utf8' })
    : spawnSync(cmd, argv, { stdio: ['ignore', 'pipe', 'pipe'], encoding: 'utf8' });
  const secs = Number(process.hrtime.bigint() - t0) / 1e9;
  if (r.status !== 0) {
    throw new Error(`${cmd} ${argv.join(' ')} failed (${r.status}): ${r.stderr}`);
  }
  const m = /@@cpu ([0-9.]+) ([0-9.]+)/.exec(r.stderr ?? '');
  lastCpu = m ? Number(m[1]) + Number(m[2]) : NaN;
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

/** One run: wall and CPU seconds. */
function once(fn) {
  const wall = fn();
  return { wall, cpu: lastCpu };
}

/** Best wall time and lowest CPU time of several runs. */
function bestOf(list) {
  return { wall: Math.min(...list.map((x) => x.wall)), cpu: Math.min(...list.map((x) => x.cpu)) };
}

/** Best wall time of RUNS runs, and the lowest CPU time seen. */
function best(fn) {
  const times = [];
  let cpu = Infinity;
  for (let i = 0; i < RUNS; i++) {
    times.push(fn());
    cpu = Math.min(cpu, lastCpu);
  }
  times.sort((a, b) => a - b);
  return { wall: times[0], cpu };
}

if (!existsSync(join(fileURLToPath(new URL('..', import.meta.url)), 'dist/img/main.js'))) {
  console.error('build first: npm run build');
  process.exit(1);
}
const pad = (s, n) => String(s).padEnd(n);
const f = (x) => (Number.isFinite(x) ? x.toFixed(3) : '-');
const ratio = (a, b) => (b > 0 && Number.isFinite(a) ? (a / b).toFixed(2) + 'x' : '-');
const row = (name, q, t, res) => console.log(`${pad(name, 21)}${pad(`${f(q.wall)} / ${f(q.cpu)}`, 21)}` +
  `${pad(`${f(t.wall)} / ${f(t.cpu)}`, 24)}${pad(ratio(t.wall, q.wall), 11)}${pad(ratio(t.cpu, q.cpu), 10)}${res}`);

function benchOne(withCompress) {
  rmSync(DIR, { recursive: true, force: true });
  mkdirSync(DIR, { recursive: true });
  const src = join(DIR, 'src.raw');
  console.log(`\ncreating ${SIZE / 2 ** 20} MiB raw with ${DATA / 2 ** 20} MiB of scattered data in ${DIR} ...`);
  makeSource(src);
  sh('qemu-img', ['convert', '-O', 'qcow2', src, join(DIR, 'src.qcow2')]);
  sh('sync', []);

  const cases = [
    ['raw -> qcow2', ['convert', '-O', 'qcow2', src, join(DIR, 'out.qcow2')]],
    ['qcow2 -> raw', ['convert', '-O', 'raw', join(DIR, 'src.qcow2'), join(DIR, 'out.raw')]],
    ...(withCompress ? [['qcow2 -> qcow2 -c', ['convert', '-c', '-O', 'qcow2', join(DIR, 'src.qcow2'), join(DIR, 'out-c.qcow2')]]] : []),
    ['raw -> raw', ['convert', '-O', 'raw', src, join(DIR, 'out2.raw')]],
  ];
  const startup = [best(() => sh('qemu-img', ['--version'])), best(() => sh(process.execPath, [OURS, '--version']))];
  const load0 = loadavg()[0];

  const rows = [];
  for (const [name, argv] of cases) {
    // Interleaved (q t t q q t ...): each run leaves hundreds of MiB of dirty
    // pages whose writeback the next writer pays for, so neither program
    // should always run right after the other.
    const qs = [];
    const ts = [];
    for (let r = 0; r < RUNS; r++) {
      const pair = [() => qs.push(once(() => sh('qemu-img', argv))), () => ts.push(once(() => sh(process.execPath, [OURS, ...argv])))];
      if (r % 2) pair.reverse();
      pair[0]();
      pair[1]();
    }
    const q = bestOf(qs);
    const t = bestOf(ts);
    // the result must be right, not just fast
    const out = argv[argv.length - 1];
    const same = spawnSync('qemu-img', ['compare', argv.includes('-c') ? join(DIR, 'src.qcow2') : src, out]).status === 0;
    rows.push([name, q, t, same]);
  }
  console.log(`\n${SIZE / 2 ** 20} MiB image, ${DATA / 2 ** 20} MiB data`);
  console.log(`${pad('case', 21)}${pad('qemu-img wall/cpu s', 21)}${pad('qemu-ts-img wall/cpu s', 24)}${pad('wall ratio', 11)}${pad('cpu ratio', 10)}result`);
  row('start-up (--version)', startup[0], startup[1], '');
  for (const [name, q, t, same] of rows) row(name, q, t, same ? 'identical' : 'MISMATCH');
  console.log(`(best of ${RUNS} interleaved runs each; page cache warm; node start-up included; load average ${load0.toFixed(1)} -> ${loadavg()[0].toFixed(1)})`);
}

benchOne(true);
if (LARGE) {
  SIZE = 2048 * 2 ** 20;
  DATA = 800 * 2 ** 20;
  benchOne(false);
}
rmSync(DIR, { recursive: true, force: true });
