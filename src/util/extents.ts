/**
 * Data extents of a sparse host file, the way qemu-img finds them with
 * lseek(SEEK_DATA / SEEK_HOLE). Node has no such call, so a tiny python3
 * helper does the seeks; when python3 or the seeks are unavailable the
 * answer is null and callers read the whole file.
 */
import { spawn } from 'node:child_process';
import { stat } from 'node:fs/promises';
import { existsSync } from 'node:fs';

const HELPER = [
  'import os,sys',
  'fd=os.open(sys.argv[1],os.O_RDONLY)',
  'size=os.fstat(fd).st_size',
  'off=0',
  'out=[]',
  'while off<size:',
  '  try: d=os.lseek(fd,off,os.SEEK_DATA)',
  '  except OSError as e:',
  '    if e.errno==6: break',
  '    sys.exit(2)',
  '  h=os.lseek(fd,d,os.SEEK_HOLE)',
  '  out.append("%d %d"%(d,h))',
  '  off=h',
  'sys.stdout.write("\\n".join(out))',
].join('\n');

/**
 * The system interpreter by absolute path when there is one: a `python3`
 * found first on PATH may be a version-manager shim (pyenv) that runs dozens
 * of shell processes, seconds on a loaded machine, before python starts.
 */
let pythonPath: string | null = null;
function python(): string {
  if (pythonPath === null) {
    pythonPath = 'python3';
    for (const p of ['/usr/bin/python3', '/usr/local/bin/python3']) {
      if (existsSync(p)) {
        pythonPath = p;
        break;
      }
    }
  }
  return pythonPath;
}

/** Sorted [start, end) byte ranges holding data, or null when unknown. */
export async function dataExtents(path: string): Promise<Array<[number, number]> | null> {
  return new Promise((resolve) => {
    let out = '';
    let child;
    try {
      child = spawn(python(), ['-S', '-I', '-c', HELPER, path], { stdio: ['ignore', 'pipe', 'ignore'] });
    } catch {
      resolve(null);
      return;
    }
    child.stdout.setEncoding('utf8');
    child.stdout.on('data', (s: string) => { out += s; });
    child.on('error', () => resolve(null));
    child.on('close', (code) => {
      if (code !== 0) { resolve(null); return; }
      const list: Array<[number, number]> = [];
      for (const line of out.split('\n')) {
        if (!line) continue;
        const [a, b] = line.split(' ').map(Number) as [number, number];
        if (!(b > a)) { resolve(null); return; }
        list.push([a, b]);
      }
      resolve(list);
    });
  });
}

/**
 * Extents worth asking for: only big files with holes (the helper costs a
 * process start, about what reading 100 MiB of holes costs).
 */
export async function sparseExtents(path: string, minSize = 64 << 20): Promise<Array<[number, number]> | null> {
  try {
    const st = await stat(path);
    if (!st.isFile() || st.size < minSize || st.blocks * 512 >= st.size * 0.9) return null;
  } catch {
    return null;
  }
  return dataExtents(path);
}
