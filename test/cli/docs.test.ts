/** docs/cli.md must list every option of the table with its status, so docs cannot drift. */
import { spawnSync } from 'node:child_process';
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

describe('the option table covers QEMU 7.2', () => {
  const help = spawnSync('qemu-system-x86_64', ['-h'], { encoding: 'utf8' });
  it.skipIf(help.status !== 0)('every option real qemu-system-x86_64 -h lists is in the table', () => {
    const theirs = [...new Set(help.stdout.match(/^--?[a-zA-Z0-9_-]+/gm)!.map((x) => x.replace(/^--?/, '')))];
    expect(theirs.length).toBeGreaterThan(100);
    const ours = new Set(OPTIONS.map((o) => o.name));
    expect(theirs.filter((n) => !ours.has(n))).toEqual([]);
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
