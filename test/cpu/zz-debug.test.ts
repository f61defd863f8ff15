import { it } from 'vitest';
import { VectorHarness } from '/work/main/test/cpu/vectors.js';
it('dbg', () => {
  const h = new VectorHarness();
  const meta = h.meta('80286');
  const only = (process.env.ONLY ?? '').split(',').filter(Boolean);
  for (const f of h.listFiles('80286')) {
    const n = f.split('/').pop()!.replace('.json.gz', '');
    if (only.length && !only.includes(n)) continue;
    const r = h.runFile(f, '80286', meta, 3);
    if (r.failures.length) console.log(n, r.passed, '/', r.total - r.skipped, '\n  ' + r.failures.join('\n  '));
  }
});
