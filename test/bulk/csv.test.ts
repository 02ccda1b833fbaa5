// The one CSV tokenizer behind the manifest check and the local ItemReader.
import { describe, expect, it } from 'vitest';
import { csvRows } from '../../src/bulk/csv.ts';

describe('csvRows', () => {
  it('reads quoted fields with "" escapes and line breaks, ends a CRLF row once, and marks a last row without a line break', () => {
    expect([...csvRows('bucket,key\r\nb,"a ""q"",\nx"\nb,last')]).toEqual([
      { fields: ['bucket', 'key'], ended: true },
      { fields: ['b', 'a "q",\nx'], ended: true },
      { fields: ['b', 'last'], ended: false },
    ]);
  });

  it('gives no last row for nothing after the final line break', () => {
    expect([...csvRows('key\n')]).toEqual([{ fields: ['key'], ended: true }]);
    expect([...csvRows('')]).toEqual([]);
  });
});
