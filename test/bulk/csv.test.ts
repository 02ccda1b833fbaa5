// The one CSV tokenizer behind the manifest check and the local ItemReader.
import { describe, expect, it } from 'vitest';
import { csvRows } from '../../src/bulk/csv.ts';

describe('csvRows', () => {
  it('reads quoted fields with "" escapes and line breaks, ends a CRLF row once, and marks a last row without a line break; each row says where the next starts', () => {
    expect([...csvRows('bucket,key\r\nb,"a ""q"",\nx"\nb,last')]).toEqual([
      { fields: ['bucket', 'key'], ended: true, end: 12 },
      { fields: ['b', 'a "q",\nx'], ended: true, end: 27 },
      { fields: ['b', 'last'], ended: false, end: 33 },
    ]);
  });

  it('gives no last row for nothing after the final line break', () => {
    expect([...csvRows('key\n')]).toEqual([{ fields: ['key'], ended: true, end: 4 }]);
    expect([...csvRows('')]).toEqual([]);
  });
});
