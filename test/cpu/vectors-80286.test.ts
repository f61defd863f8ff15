import { describe, it, expect } from 'vitest';
import { existsSync } from 'node:fs';
import { VectorHarness, VECTOR_ROOT, type FileResult } from './vectors.js';

const h = new VectorHarness();
const files = h.listFiles('80286');
const meta = existsSync(VECTOR_ROOT) ? h.meta('80286') : {};
const results: FileResult[] = [];

describe('80286 real-mode test vectors (SingleStepTests by Daniel Balsom)', () => {
  it('vector folder is present', () => { expect(files.length).toBeGreaterThan(300); });
  for (const f of files) {
    const name = f.split('/').pop()!.replace('.json.gz', '');
    it(`opcode ${name}`, () => {
      const r = h.runFile(f, '80286', meta);
      results.push(r);
      expect(r.failures, `${r.passed}/${r.total - r.skipped} passed\n${r.failures.join('\n')}`).toEqual([]);
    });
  }
  it('summary', () => {
    let pass = 0, total = 0, skip = 0;
    const lines: string[] = [];
    for (const r of results) {
      pass += r.passed; total += r.total; skip += r.skipped;
      lines.push(`${r.file.padEnd(6)} ${String(r.passed).padStart(4)}/${String(r.total - r.skipped).padStart(4)}${r.skipped ? ` (${r.skipped} skipped by rule)` : ''}`);
    }
    console.log(`80286 vectors: ${pass} passed of ${total - skip} run, ${skip} skipped by rule, ${total} total\n${lines.join('\n')}`);
    expect(pass).toBe(total - skip);
  });
});
