/** docs/cli.md must list every option of the table with its status, so docs cannot drift. */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { OPTIONS } from '../../src/cli/options.js';

const doc = readFileSync(new URL('../../docs/cli.md', import.meta.url), 'utf8');
const schemaDoc = readFileSync(new URL('../../docs/machine-description.md', import.meta.url), 'utf8');

describe('docs/cli.md', () => {
  it('has a row for every option in src/cli/options.ts, with the same status', () => {
    const rows = new Map<string, string>();
    for (const m of doc.matchAll(/^\| `-([^\s`]+)[^`]*` \| (\w+) \|/gm)) rows.set(m[1]!, m[2]!);
    const missing = OPTIONS.filter((o) => rows.get(o.name) !== o.status).map((o) => `-${o.name} (${o.status}, doc: ${rows.get(o.name) ?? 'missing'})`);
    expect(missing).toEqual([]);
    expect(rows.size).toBe(OPTIONS.length);
  });
});

describe('docs/machine-description.md', () => {
  it('documents every top-level key of the description', async () => {
    const { parseCommandLine } = await import('../../src/cli/index.js');
    const d = parseCommandLine(['-nodefaults'], { warn: () => {}, vars: {} });
    const missing = Object.keys(d).filter((k) => !schemaDoc.includes(`\`${k}\``));
    expect(missing).toEqual([]);
  });
});
