/**
 * Crash safety: a child process writes to a qcow2 image and is killed with
 * SIGKILL at a random moment; qemu-img check must then find no corruption
 * (leaked clusters are allowed). The block layer is compiled with tsc for the child.
 */
import { describe, it, expect, beforeAll, afterAll } from 'vitest';
import { execFileSync, spawn } from 'node:child_process';
import { mkdirSync, rmSync, writeFileSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { tempDir, qemuImg } from './helpers.js';

const t = tempDir('crash');
const out = join(process.cwd(), 'node_modules', '.cache', `qemu-ts-block-crash-${process.pid}`);
afterAll(() => {
  t.cleanup();
  rmSync(out, { recursive: true, force: true });
});

beforeAll(() => {
  mkdirSync(out, { recursive: true });
  execFileSync('npx', ['tsc', '--outDir', out, '--rootDir', 'src', '--module', 'NodeNext', '--moduleResolution', 'NodeNext',
    '--target', 'ES2022', '--skipLibCheck', '--types', 'node', 'src/block/index.ts'], { stdio: 'pipe' });
  writeFileSync(join(out, 'package.json'), '{"type":"module"}');
  writeFileSync(join(out, 'writer.mjs'), `
import { openImage } from './block/index.js';
const [file, seedArg, snapArg] = process.argv.slice(2);
let seed = Number(seedArg);
const rnd = (k) => { seed = (seed * 1103515245 + 12345) >>> 0; return seed % k; };
const n = await openImage(file, { readOnly: false });
const size = n.size();
for (let i = 0; ; i++) {
  const off = rnd(size - 300000);
  const len = 1 + rnd(200000);
  const k = rnd(10);
  if (k < 7) await n.write(off, new Uint8Array(len).fill(i & 0xff));
  else await n.writeZeroes(off, len, k === 9);
  if (i % 13 === 0) await n.flush();
  if (snapArg === 'snap' && i % 29 === 10) await n.createSnapshot('s' + i);
  if (i === 20) process.stdout.write('ready\\n');
}
`);
}, 120_000);

function runAndKill(file: string, seed: number, delayMs: number, snap = false): Promise<void> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [join(out, 'writer.mjs'), file, String(seed), snap ? 'snap' : ''], { stdio: ['ignore', 'pipe', 'inherit'] });
    child.stdout.once('data', () => setTimeout(() => child.kill('SIGKILL'), delayMs));
    child.on('exit', () => resolve());
  });
}

describe('SIGKILL during writes leaves at worst leaked clusters', () => {
  const setups: [string, string][] = [['default', ''], ['backing-extl2', 'extended_l2=on'], ['512', 'cluster_size=512']];
  for (const [name, o] of setups) {
    it(name, async () => {
      const base = t.path(`${name}-base.qcow2`);
      qemuImg(['create', '-q', '-f', 'qcow2', base, '32M']);
      for (const [i, delay] of [[1, 50], [2, 200], [3, 500]] as const) {
        const f = t.path(`${name}-${i}.qcow2`);
        const args = ['create', '-q', '-f', 'qcow2', ...(o ? ['-o', o] : [])];
        if (name.startsWith('backing')) args.push('-b', base, '-F', 'qcow2');
        qemuImg([...args, f, '32M']);
        await runAndKill(f, i * 7 + name.length, delay);
        // The killed writer left a stale lock file behind: remove it.
        const st = statSync(f, { bigint: true });
        rmSync(join(tmpdir(), `qemu-ts-lock-${st.dev.toString(16)}-${st.ino.toString(16)}`), { force: true });
        const r = qemuImg(['check', '--output=json', f]);
        const j = JSON.parse(r.stdout) as Record<string, number>;
        expect(j['corruptions'] ?? 0).toBe(0);
        expect(j['check-errors']).toBe(0);
        expect([0, 3]).toContain(r.status);
      }
    }, 120_000);
  }

  it('with snapshots being taken: only OFLAG_COPIED mismatches, which check -r all repairs', async () => {
    // Like QEMU, a crash between the refcount and L2 updates of a snapshot operation can leave
    // COPIED flags that disagree with refcounts (no data is lost); everything else must be clean.
    for (const [i, delay] of [[1, 30], [2, 150], [3, 400]] as const) {
      const f = t.path(`snap-${i}.qcow2`);
      qemuImg(['create', '-q', '-f', 'qcow2', f, '32M']);
      await runAndKill(f, i * 11, delay, true);
      const st = statSync(f, { bigint: true });
      rmSync(join(tmpdir(), `qemu-ts-lock-${st.dev.toString(16)}-${st.ino.toString(16)}`), { force: true });
      const r = qemuImg(['check', f]);
      for (const line of r.stderr.split('\n').filter(Boolean)) {
        expect(line).toMatch(/^(Leaked cluster|ERROR OFLAG_COPIED)/);
      }
      expect(qemuImg(['check', '-r', 'all', f]).status).toBe(0);
    }
  }, 120_000);
});
