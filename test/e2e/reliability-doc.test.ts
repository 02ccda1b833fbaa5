// RELIABILITY.md's fault matrix and test/e2e/matrix.test.ts must agree: every row with a test id names a
// test of the matrix (its name starts with the id), every matrix test has a row, and a row that is not
// tested there says why: a gap, or the other test file that proves it, which must hold a test whose title
// carries the row's id.
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

/** Whether test source `text` has a test (or a describe block) whose title carries `id` as a word: written out, or as a table value that a `${id}` title takes. */
function holdsTestOf(text: string, id: string): boolean {
  const literal = new RegExp(`\\b(?:it|test|describe)(?:\\.each\\([^)]*\\))?\\(\\s*(['"\`])(?:(?!\\1).)*\\b${id}\\b`);
  if (literal.test(text)) return true;
  return new RegExp(`'${id}'`).test(text) && /\b(?:it|test)\(\s*`\$\{id\}/.test(text);
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
      if (elsewhere !== undefined) {
        const file = new URL(`../../${elsewhere}`, import.meta.url);
        expect(existsSync(file), `${row.id}: ${elsewhere} exists`).toBe(true);
        expect(holdsTestOf(readFileSync(file, 'utf8'), row.id), `${row.id}: ${elsewhere} has a test titled with ${row.id}`).toBe(true);
      }
      const untested = row.text.includes('**gap**') || elsewhere !== undefined;
      expect({ id: row.id, tested: tested.has(row.id) }).toEqual({ id: row.id, tested: !untested });
    }
    const documented = new Set(rows().map((r) => r.id));
    for (const id of tested) expect(documented.has(id), `${id} has a row in RELIABILITY.md`).toBe(true);
  });

  it('a test of another file is found by its id in a title, written out or through a table, and only by that id', () => {
    expect(holdsTestOf("it('M17c a part refused', async () => {", 'M17c')).toBe(true);
    expect(holdsTestOf("describe('M12b: S3 requests', () => {", 'M12b')).toBe(true);
    expect(holdsTestOf("const IDS = { text: 'M05e' };\n  it(`${id} commit answers 202`, async () => {", 'M05e')).toBe(true);
    expect(holdsTestOf("it('M17c a part refused', async () => {", 'M17')).toBe(false);
    expect(holdsTestOf("it('M17a a part', async () => {", 'M17c')).toBe(false);
    expect(holdsTestOf('// M16b is proven below\nit(\'a nested transfer\', async () => {', 'M16b')).toBe(false);
    expect(holdsTestOf("const IDS = { text: 'M05e' };", 'M05e')).toBe(false);
  });

  it('every gap is explained under "Known gaps"', () => {
    const gaps = doc.slice(doc.indexOf('## Known gaps'));
    for (const row of rows().filter((r) => r.text.includes('**gap**'))) expect(gaps).toContain(`**${row.id} `);
  });
});
