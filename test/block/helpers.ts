/** Shared helpers for block tests: a temp dir per file and the real qemu-img/qemu-io as oracles. */
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export function tempDir(tag: string): { dir: string; path: (n: string) => string; cleanup: () => void } {
  const dir = mkdtempSync(join(tmpdir(), `qemu-ts-block-${tag}-`));
  return { dir, path: (n: string) => join(dir, n), cleanup: () => rmSync(dir, { recursive: true, force: true }) };
}

export function qemuImg(args: string[], cwd?: string): { stdout: string; stderr: string; status: number } {
  const r = spawnSync('qemu-img', args, { cwd, encoding: 'utf8', env: { ...process.env, LC_ALL: 'C', TZ: 'UTC' } });
  return { stdout: r.stdout, stderr: r.stderr, status: r.status ?? -1 };
}

export function qemuIo(file: string, cmds: string[], fmt = 'qcow2'): { stdout: string; status: number } {
  const args = ['-f', fmt];
  for (const c of cmds) args.push('-c', c);
  args.push(file);
  const r = spawnSync('qemu-io', args, { encoding: 'utf8' });
  return { stdout: r.stdout + r.stderr, status: r.status ?? -1 };
}

export function info(file: string): Record<string, unknown> {
  return JSON.parse(execFileSync('qemu-img', ['info', '--output=json', '-U', file], { encoding: 'utf8' })) as Record<string, unknown>;
}

/** Deterministic pseudo-random bytes. */
export function pattern(len: number, seed: number): Uint8Array {
  const b = new Uint8Array(len);
  let x = seed >>> 0 || 1;
  for (let i = 0; i < len; i++) {
    x ^= x << 13; x >>>= 0;
    x ^= x >>> 17;
    x ^= x << 5; x >>>= 0;
    b[i] = x & 0xff;
  }
  return b;
}
