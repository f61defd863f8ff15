import { describe, it, expect } from 'vitest';
import { existsSync } from 'node:fs';
import { VectorHarness, VECTOR_ROOT, type FileResult } from './vectors.js';

// Secondary cross-check: 8086 vectors, one instruction each, with the 8086-only
// behaviours listed in the README skipped by rule (see VectorHarness.skipReason).
const h = new VectorHarness();
const files = h.listFiles('8086');
const meta = existsSync(VECTOR_ROOT) ? h.meta('8086') : {};
const results: FileResult[] = [];

describe('8086 test vectors (SingleStepTests by Daniel Balsom), cross-check', () => {
  it('vector folder is present', () => { expect(files.length).toBeGreaterThan(300); });
  for (const f of files) {
    const name = f.split('/').pop()!.replace('.json.gz', '');
    it(`opcode ${name}`, () => {
      const r = h.runFile(f, '8086', meta);
      results.push(r);
      expect(r.failures, `${r.passed}/${r.total - r.skipped} passed\n${r.failures.join('\n')}`).toEqual([]);
    });
  }
  it('summary', () => {
    let pass = 0, total = 0, skip = 0;
    for (const r of results) { pass += r.passed; total += r.total; skip += r.skipped; }
    console.log(`8086 vectors: ${pass} passed of ${total - skip} run, ${skip} skipped by rule, ${total} total`);
    expect(pass).toBe(total - skip);
  });
});
