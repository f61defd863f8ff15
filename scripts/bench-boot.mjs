#!/usr/bin/env node
// Boots the Linux -kernel test guest (scripts/guest/build-linux-guest.sh) to its shell prompt
// on real QEMU (TCG) and on qemu-ts in the same run and prints both times and their ratio.
// qemu-ts runs from dist/ (run `npm run build` first), in this process, with its serial
// console captured; QEMU runs as qemu-system-i386 -nographic.
// Usage: node scripts/bench-boot.mjs [--append "kernel args"] [--timeout SECONDS] [--qemu PATH] [--only qemu|qemu-ts]
import { spawn, execFileSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const fast = readFileSync(join(root, 'scripts/guest/fast-append.txt'), 'utf8').trim();
const opts = { append: `console=ttyS0 ${fast}`, timeout: 900, qemu: '/usr/bin/qemu-system-i386', only: '' };
const argv = process.argv.slice(2);
for (let i = 0; i < argv.length; i++) {
  const k = argv[i];
  const v = argv[i + 1];
  if (k === '--append' && v !== undefined) { opts.append = v; i++; }
  else if (k === '--timeout' && v !== undefined) { opts.timeout = Number(v); i++; }
  else if (k === '--qemu' && v !== undefined) { opts.qemu = v; i++; }
  else if (k === '--only' && (v === 'qemu' || v === 'qemu-ts')) { opts.only = v; i++; }
  else { console.error(`bench-boot: unknown or incomplete option '${k}'\nusage: node scripts/bench-boot.mjs [--append ARGS] [--timeout S] [--qemu PATH] [--only qemu|qemu-ts]`); process.exit(2); }
}
if (!(opts.timeout > 0)) { console.error('bench-boot: --timeout needs a positive number of seconds'); process.exit(2); }

const guestDir = execFileSync('bash', [join(root, 'scripts/guest/build-linux-guest.sh')], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'] }).trim().split('\n').pop();
const kernel = join(guestDir, 'vmlinuz');
const initrd = join(guestDir, 'initramfs.gz');
const args = ['-m', '128', '-cpu', 'pentium3', '-kernel', kernel, '-initrd', initrd, '-append', opts.append, '-nographic', '-no-reboot', '-net', 'none'];
const PROMPT = '/ # ';

/** Real QEMU: seconds from spawn to the shell prompt on the serial console. */
function bootQemu() {
  return new Promise((resolve, reject) => {
    const t0 = process.hrtime.bigint();
    const p = spawn(opts.qemu, args, { stdio: ['pipe', 'pipe', 'pipe'] });
    let out = '';
    let seen = false;
    p.stdin.on('error', () => {});
    const timer = setTimeout(() => { p.kill('SIGKILL'); reject(new Error(`QEMU: no shell prompt within ${opts.timeout} s; output tail:\n${out.slice(-1000)}`)); }, opts.timeout * 1000);
    p.stdout.on('data', (d) => {
      out += d.toString('latin1');
      if (!seen && out.includes(PROMPT)) {
        seen = true;
        const s = Number(process.hrtime.bigint() - t0) / 1e9;
        clearTimeout(timer);
        p.stdin.write('poweroff -f\n');
        p.on('exit', () => resolve({ seconds: s }));
        setTimeout(() => p.kill('SIGKILL'), 20_000).unref();
      }
    });
    p.on('error', (e) => { clearTimeout(timer); reject(e); });
  });
}

/** qemu-ts from dist/: seconds from creating the machine to the shell prompt, and instructions run. */
async function bootQemuTs() {
  const need = ['cli/argv.js', 'cli/build.js', 'cli/firmware.js', 'cli/validate.js', 'machine/pc.js'].map((f) => join(root, 'dist', f));
  for (const f of need) if (!existsSync(f)) throw new Error(`${f} is missing: run \`npm run build\` first`);
  const imp = (f) => import(pathToFileURL(join(root, 'dist', f)).href);
  const [{ splitArgv }, { Builder }, { firmwareSearchPath }, { validateMachine }, { PcMachine }] = await Promise.all(
    ['cli/argv.js', 'cli/build.js', 'cli/firmware.js', 'cli/validate.js', 'machine/pc.js'].map(imp));
  const b = new Builder({ warn: () => {} });
  for (const a of splitArgv(args)) b.apply(a);
  const d = b.finish();
  if (d.firmware.searchPath.length === 0) d.firmware.searchPath = firmwareSearchPath([], process.env, process.cwd());
  let out = '';
  let input = null;
  let result = null;
  const t0 = process.hrtime.bigint();
  let m = null;
  const chr = {
    write(data) {
      out += Buffer.from(data).toString('latin1');
      if (result === null && out.includes(PROMPT)) {
        result = { seconds: Number(process.hrtime.bigint() - t0) / 1e9, instructions: m.loop.instructions };
        input?.(Buffer.from('poweroff -f\n'));
      }
    },
    onInput(cb) { input = cb; },
    async close() {},
  };
  m = await PcMachine.create(await validateMachine(d), { chardev: () => chr, log: (s) => process.stderr.write(`qemu-ts: ${s}\n`) });
  const timer = setTimeout(() => m.stop({ kind: 'quit', code: 1 }), opts.timeout * 1000);
  const beat = setInterval(() => process.stderr.write(`  qemu-ts: ${(Number(process.hrtime.bigint() - t0) / 1e9).toFixed(0)} s, ${(m.loop.instructions / 1e9).toFixed(2)} G instructions\r`), 10_000);
  try { await m.run(); } finally { clearTimeout(timer); clearInterval(beat); await m.close(); process.stderr.write('\n'); }
  if (result === null) throw new Error(`qemu-ts: no shell prompt within ${opts.timeout} s; output tail:\n${out.slice(-1500)}`);
  return result;
}

const rows = [];
let q = null, t = null;
try {
  if (opts.only !== 'qemu-ts') { q = await bootQemu(); rows.push(`QEMU (TCG)  ${q.seconds.toFixed(2)} s`); }
  if (opts.only !== 'qemu') {
    t = await bootQemuTs();
    rows.push(`qemu-ts     ${t.seconds.toFixed(2)} s  (${(t.instructions / 1e9).toFixed(2)} G instructions, ${(t.instructions / t.seconds / 1e6).toFixed(1)} MIPS)`);
  }
} catch (e) {
  for (const r of rows) console.log(r);
  console.error(`bench-boot: ${e.message}`);
  process.exit(1);
}
console.log(`Linux -kernel boot to the shell prompt (append: ${opts.append})`);
for (const r of rows) console.log(r);
if (q && t) console.log(`ratio qemu-ts / QEMU: ${(t.seconds / q.seconds).toFixed(1)}x`);
