// README's deployment parameter table and serverless.yml must agree: every parameter the template uses
// (`${param:NAME}`, and `param:NAME` resolved by the iam/ helpers) has a row, every row names a parameter the
// template declares under params.default, and each row's default is the declared one.
import { readdirSync, readFileSync } from 'node:fs';
import { load } from 'js-yaml';
import { describe, expect, it } from 'vitest';

const ROOT = new URL('../../', import.meta.url);
const readme = readFileSync(new URL('README.md', ROOT), 'utf8');
const template = readFileSync(new URL('serverless.yml', ROOT), 'utf8');
const iamHelpers = readdirSync(new URL('iam/', ROOT))
  .filter((f) => f.endsWith('.cjs'))
  .map((f) => readFileSync(new URL(`iam/${f}`, ROOT), 'utf8'));

/** The parameters used: `${param:NAME}` in serverless.yml, `'param:NAME'` resolved by the iam/ helpers. */
function usedParams(): Set<string> {
  const used = new Set<string>();
  for (const m of template.matchAll(/\$\{param:([A-Za-z0-9_]+)\}/g)) used.add(m[1]!);
  for (const text of iamHelpers) for (const m of text.matchAll(/['"`]param:([A-Za-z0-9_]+)['"`]/g)) used.add(m[1]!);
  return used;
}

/** The rows of README's parameter table: the names of each row's first cell (`a`, `b`) and its default cell. */
function documentedRows(): Array<{ names: string[]; defaultCell: string }> {
  const lines = readme.split('\n');
  const header = lines.findIndex((l) => /^\| parameter \(`--param="name=value"`\) \| default \| meaning \|$/.test(l));
  expect(header, 'README has the parameter table').toBeGreaterThanOrEqual(0);
  const rows: Array<{ names: string[]; defaultCell: string }> = [];
  for (const line of lines.slice(header + 2)) {
    if (!line.startsWith('|')) break;
    const [first = '', second = ''] = line.split('|').slice(1, 3);
    rows.push({ names: [...first.matchAll(/`([A-Za-z0-9_]+)`/g)].map((m) => m[1]!), defaultCell: second.trim() });
  }
  return rows;
}

describe("README's deployment parameters", () => {
  const declared = (load(template) as { params: { default: Record<string, unknown> } }).params.default;
  const rows = documentedRows();
  const documented = new Set(rows.flatMap((r) => r.names));

  it('has a row for every parameter serverless.yml uses and declares', () => {
    expect(usedParams().size).toBeGreaterThan(10);
    expect([...usedParams()].filter((p) => !documented.has(p)).sort(), 'used, no README row').toEqual([]);
    expect(Object.keys(declared).filter((p) => !documented.has(p)).sort(), 'declared, no README row').toEqual([]);
  });

  it('names in each row only parameters that serverless.yml declares and uses', () => {
    expect(rows.length).toBeGreaterThan(5);
    for (const row of rows) {
      expect(row.names.length, JSON.stringify(row)).toBeGreaterThan(0);
      for (const name of row.names) {
        expect(Object.keys(declared), `README row ${name}: not in params.default`).toContain(name);
        expect([...usedParams()], `README row ${name}: not used by the template`).toContain(name);
      }
    }
  });

  it("gives each parameter's declared default (a row of several: each, in order)", () => {
    for (const row of rows) {
      const cell = row.defaultCell;
      const values = row.names.map((n) => String(declared[n]));
      if (values.every((v) => v === '')) {
        expect(cell, `${row.names.join(', ')}: declared empty`).toMatch(/^(empty|\*\*required\*\*|Box's)/);
      } else {
        const quoted = [...cell.matchAll(/`([^`]*)`/g)].map((m) => m[1]);
        expect(quoted, `${row.names.join(', ')}: default`).toEqual(values);
      }
    }
  });
});
