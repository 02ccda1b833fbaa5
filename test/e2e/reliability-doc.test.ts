// RELIABILITY.md's fault matrix and test/e2e/matrix.test.ts must agree: every row with a test id names a
// test of the matrix (its name starts with the id), every matrix test has a row, and a row that is not
// tested there says why: a gap, or the other test file that proves it.
import { existsSync, readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';

const doc = readFileSync(new URL('../../RELIABILITY.md', import.meta.url), 'utf8');
const tests = readFileSync(new URL('./matrix.test.ts', import.meta.url), 'utf8');

/** Rows of the matrix table: id and the rest of the row. */
function rows(): Array<{ id: string; text: string }> {
  return doc
    .split('\n')
    .map((line) => /^\| (M\d+[a-z]?) \|(.*)$/.exec(line))
    .filter((m): m is RegExpExecArray => m !== null)
    .map((m) => ({ id: m[1]!, text: m[2]! }));
}

/** Ids the matrix tests carry: `it('M01 ...` and the ids of a `for` table (`['M03a', ...]`). */
function testIds(): Set<string> {
  const ids = new Set<string>();
  for (const m of tests.matchAll(/it\(\s*['`](M\d+[a-z]?) /g)) ids.add(m[1]!);
  for (const m of tests.matchAll(/\[\s*'(M\d+[a-z]?)',/g)) ids.add(m[1]!);
  return ids;
}

describe('RELIABILITY.md', () => {
  it('has a matrix with unique ids', () => {
    const ids = rows().map((r) => r.id);
    expect(ids.length).toBeGreaterThanOrEqual(15);
    expect(new Set(ids).size).toBe(ids.length);
  });

  it('every tested row names a matrix test, and every matrix test has a row', () => {
    const tested = testIds();
    expect(tested.size).toBeGreaterThan(0);
    for (const row of rows()) {
      const elsewhere = /tested in \[`(test\/[^`]+\.test\.ts)`\]/.exec(row.text)?.[1];
      if (elsewhere !== undefined) expect(existsSync(new URL(`../../${elsewhere}`, import.meta.url)), `${row.id}: ${elsewhere} exists`).toBe(true);
      const untested = row.text.includes('**gap**') || elsewhere !== undefined;
      expect({ id: row.id, tested: tested.has(row.id) }).toEqual({ id: row.id, tested: !untested });
    }
    const documented = new Set(rows().map((r) => r.id));
    for (const id of tested) expect(documented.has(id), `${id} has a row in RELIABILITY.md`).toBe(true);
  });

  it('every gap is explained under "Known gaps"', () => {
    const gaps = doc.slice(doc.indexOf('## Known gaps'));
    for (const row of rows().filter((r) => r.text.includes('**gap**'))) expect(gaps).toContain(`**${row.id} `);
  });
});
