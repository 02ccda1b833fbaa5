// RELIABILITY.md's fault matrix and test/e2e/matrix.test.ts must agree: every row with a test id names a
// test of the matrix (its name starts with the id), every matrix test has a row, and a row that is not
// tested there says why: a gap, or the other test file that proves it, which must hold a test whose title
// carries the row's id (written out, or the row of a table a loop titles its tests from with `${id}`).
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

/** Where the bracket opening at `open` closes (quoted text skipped), or -1. */
function closingBracket(text: string, open: number): number {
  const pairs: Record<string, string> = { '[': ']', '{': '}', '(': ')' };
  const stack: string[] = [];
  for (let i = open; i < text.length; i++) {
    const c = text[i] as string;
    if (c === "'" || c === '"' || c === '`') {
      for (i++; i < text.length && text[i] !== c; i++) if (text[i] === '\\') i++;
    } else if (pairs[c] !== undefined) stack.push(pairs[c]);
    else if (c === stack[stack.length - 1]) {
      stack.pop();
      if (stack.length === 0) return i;
    }
  }
  return -1;
}

/**
 * The tables of test source `text` whose rows title tests: for each `for (const [..., id, ...] of TABLE)`
 * (or `of Object.entries(TABLE)`) whose first test is titled `${id}...`, the text of TABLE (written in the
 * loop, or the `const TABLE = ...` it names).
 */
function titleTables(text: string): string[] {
  const tables: string[] = [];
  for (const loop of text.matchAll(/for \(const \[([^\]]*)\] of (Object\.entries\()?(\w+|\[)/g)) {
    if (!(loop[1] as string).split(',').some((name) => name.trim() === 'id')) continue;
    const named = loop[3] !== '[';
    let table: string;
    let bodyFrom: number;
    if (named) {
      const declared = new RegExp(`\\bconst ${loop[3]}\\b[^=]*=\\s*([[{])`).exec(text);
      if (declared === null) continue;
      const open = declared.index + declared[0].length - 1;
      table = text.slice(open, closingBracket(text, open) + 1);
      bodyFrom = (loop.index ?? 0) + loop[0].length;
    } else {
      const open = (loop.index ?? 0) + loop[0].length - 1;
      const close = closingBracket(text, open);
      if (close < 0) continue;
      table = text.slice(open, close + 1);
      bodyFrom = close;
    }
    // The loop's own test: the first one after its header, titled by the row's id.
    const firstTest = /\b(?:it|test)\(\s*(.)/.exec(text.slice(bodyFrom));
    if (firstTest !== null && text.slice(bodyFrom + firstTest.index + firstTest[0].length - 1).startsWith('`${id}')) tables.push(table);
  }
  return tables;
}

/**
 * Whether test source `text` has a test (or a describe block) whose title carries `id` as a word: written
 * out, or as the id of a table row that a `${id}` title takes (the id quoted elsewhere in the file is not one).
 */
function holdsTestOf(text: string, id: string): boolean {
  const literal = new RegExp(`\\b(?:it|test|describe)(?:\\.each\\([^)]*\\))?\\(\\s*(['"\`])(?:(?!\\1).)*\\b${id}\\b`);
  if (literal.test(text)) return true;
  return titleTables(text).some((table) => table.includes(`'${id}'`));
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
    expect(holdsTestOf("it('M17c a part refused', async () => {", 'M17')).toBe(false);
    expect(holdsTestOf("it('M17a a part', async () => {", 'M17c')).toBe(false);
    expect(holdsTestOf('// M16b is proven below\nit(\'a nested transfer\', async () => {', 'M16b')).toBe(false);
  });

  it('a table row counts only in the table a loop titles its tests from with `${id}`', () => {
    const named = "const ROWS: Record<string, string> = { 'no-body': 'M05b', text: 'M05e' };\ndescribe('answers', () => {\n  for (const [body, id] of Object.entries(ROWS)) {\n    it(`${id} commit answers 202 with ${body}`, async () => {";
    expect(holdsTestOf(named, 'M05e')).toBe(true);
    expect(holdsTestOf(named, 'M05b')).toBe(true);
    expect(holdsTestOf(named, 'M05c')).toBe(false);
    const inline = "for (const [id, status] of [\n  ['M17a', 412],\n  ['M17b', 400],\n] as const) {\n  it(`${id} a part refused (${status})`, async () => {";
    expect(holdsTestOf(inline, 'M17b')).toBe(true);
    expect(holdsTestOf(inline, 'M17c')).toBe(false);
    // The id quoted outside that table: in another constant, a comment, or a table whose tests are not titled by it.
    expect(holdsTestOf(`const OTHER = { x: 'M05c' };\n${named}`, 'M05c')).toBe(false);
    expect(holdsTestOf(`// see 'M05c'\n${inline}`, 'M05c')).toBe(false);
    expect(holdsTestOf("const IDS = { text: 'M05e' };\nfor (const [body, id] of Object.entries(IDS)) {\n  it(`commit answers 202 with ${body}`, async () => {\n    expect(id).toBeDefined();", 'M05e')).toBe(false);
    expect(holdsTestOf("const IDS = { text: 'M05e' };\nit(`${id} commit answers 202`, async () => {", 'M05e')).toBe(false);
  });

  it('every gap is explained under "Known gaps"', () => {
    const gaps = doc.slice(doc.indexOf('## Known gaps'));
    for (const row of rows().filter((r) => r.text.includes('**gap**'))) expect(gaps).toContain(`**${row.id} `);
  });
});
