// The README's section on the Box client documents every operation of the ChunkedUploadsManager and of
// the direct upload, so that a method added to the client without its behaviour on errors is noticed.
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { ChunkedUploadsManager } from '../../src/box/chunkedUploads.ts';

const readme = readFileSync(new URL('../../README.md', import.meta.url), 'utf8');
const section = readme.slice(readme.indexOf('## The Box client'), readme.indexOf('## The Box upload emulator'));

describe('README, The Box client', () => {
  it('names every public ChunkedUploadsManager operation in the table of what each does on errors', () => {
    const operations = Object.getOwnPropertyNames(ChunkedUploadsManager.prototype).filter((name) => name !== 'constructor');
    expect(operations.length).toBeGreaterThanOrEqual(15);
    const errorTable = section.slice(section.indexOf('| operation | what it does | on errors |'));
    for (const name of operations) {
      const short = name.replace(/(ByUrl|ById)$/, '');
      expect(errorTable, name).toMatch(new RegExp(`\`(${name}|${short}(ByUrl)?)\`(?: / \`(ById|ByUrl|[A-Za-z]+)\`)?`));
    }
  });

  it('says that a direct upload is not resent after a 5xx, and documents listPartsUrl', () => {
    expect(section).toContain('**A direct upload is not sent again after a `5xx` or a network error**');
    expect(section).toContain('`listPartsUrl`');
  });
});
