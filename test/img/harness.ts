/**
 * Differential harness: run the real qemu-img and our main() on the same
 * inputs, in twin temp directories prepared by the same shell script, and
 * return both results. Our stderr has `qemu-ts-img: ` turned back into
 * `qemu-img: ` so outputs compare byte for byte.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { main } from '../../src/img/main.js';
import type { IO } from '../../src/img/common.js';

export interface Result { rc: number; out: string; err: string }

export function tmp(prefix = 'qti-'): string {
  return mkdtempSync(join(tmpdir(), prefix));
}

export function cleanup(dir: string): void {
  rmSync(dir, { recursive: true, force: true });
}

/** Run a bash script (qemu-img / qemu-io commands) in dir; throws on failure. */
export function sh(dir: string, script: string): string {
  if (!script) return '';
  const r = spawnSync('bash', ['-e', '-c', script], { cwd: dir, encoding: 'utf8', env: { ...process.env, LC_ALL: 'C', TZ: 'UTC' } });
  if (r.status !== 0) throw new Error(`setup failed: ${script}\n${r.stderr}`);
  return r.stdout;
}

export function runQemu(dir: string, args: string[]): Result {
  const r = spawnSync('qemu-img', args, { cwd: dir, encoding: 'utf8', env: { ...process.env, LC_ALL: 'C', TZ: 'UTC' } });
  return { rc: r.status ?? -1, out: r.stdout, err: r.stderr };
}

export async function runOurs(dir: string, args: string[]): Promise<Result> {
  let out = '';
  let err = '';
  const io: IO = { out: (s) => { out += s; }, err: (s) => { err += s; }, stdoutTTY: false };
  const old = process.cwd();
  process.chdir(dir);
  try {
    const rc = await main(args, io);
    return { rc, out, err: err.replace(/^qemu-ts-img: /gm, 'qemu-img: ') };
  } finally {
    process.chdir(old);
  }
}

export interface Twin { q: Result; t: Result; qdir: string; tdir: string }

/** Prepare two dirs with `setup`, run qemu-img in one and ours in the other. */
export async function twin(setup: string, args: string[]): Promise<Twin> {
  const qdir = tmp('qti-q-');
  const tdir = tmp('qti-t-');
  sh(qdir, setup);
  sh(tdir, setup);
  const q = runQemu(qdir, args);
  const t = await runOurs(tdir, args);
  return { q, t, qdir, tdir };
}

export function dispose(t: Twin): void {
  cleanup(t.qdir);
  cleanup(t.tdir);
}

/** Split a shell-like argument string (single quotes only). */
export function argv(s: string): string[] {
  const out: string[] = [];
  const re = /'([^']*)'|(\S+)/g;
  let m: RegExpExecArray | null;
  while ((m = re.exec(s))) out.push(m[1] ?? m[2]!);
  return out;
}

/** qemu-img's own view of an image (for comparing results). */
export function qemuInfo(path: string, fmt?: string): Record<string, unknown> {
  const r = spawnSync('qemu-img', ['info', '--output=json', ...(fmt ? ['-f', fmt] : []), path], { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(r.stderr);
  return JSON.parse(r.stdout) as Record<string, unknown>;
}

export function qemuMap(path: string, fmt?: string): Array<Record<string, unknown>> {
  const r = spawnSync('qemu-img', ['map', '--output=json', ...(fmt ? ['-f', fmt] : []), path], { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(r.stderr);
  // host offsets depend on allocation order: drop them and merge what becomes adjacent
  const merged: Array<Record<string, number | boolean>> = [];
  for (const e of JSON.parse(r.stdout) as Array<Record<string, number | boolean>>) {
    const { offset: _o, ...rest } = e;
    const last = merged[merged.length - 1];
    if (last && last['depth'] === rest['depth'] && last['present'] === rest['present'] && last['zero'] === rest['zero'] &&
      last['data'] === rest['data'] && (last['start'] as number) + (last['length'] as number) === rest['start']) {
      last['length'] = (last['length'] as number) + (rest['length'] as number);
    } else merged.push(rest);
  }
  return merged;
}

export function qemuCompare(a: string, b: string, fa?: string, fb?: string): Result {
  const args = ['compare', ...(fa ? ['-f', fa] : []), ...(fb ? ['-F', fb] : []), a, b];
  const r = spawnSync('qemu-img', args, { encoding: 'utf8' });
  return { rc: r.status ?? -1, out: r.stdout, err: r.stderr };
}

export function qemuCheck(path: string): Result {
  const r = spawnSync('qemu-img', ['check', path], { encoding: 'utf8' });
  return { rc: r.status ?? -1, out: r.stdout, err: r.stderr };
}
