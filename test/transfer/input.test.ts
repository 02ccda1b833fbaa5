import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { defaultFileName, validateTransferInput } from '../../src/transfer/input.ts';

const good = {
  source: { bucket: 'my-bucket', key: 'exports/2026/big file.bin', versionId: 'v1' },
  destination: { folderId: '12345', fileName: 'big file.bin', fileId: '678' },
  onConflict: 'rename',
  options: { concurrency: 16, partsPerBatch: 100 },
};

function messageOf(input: unknown): string {
  try {
    validateTransferInput(input);
  } catch (err) {
    expect((err as Error).name).toBe('Transfer.InvalidInput');
    return (err as Error).message;
  }
  throw new Error('expected Transfer.InvalidInput');
}

describe('validateTransferInput', () => {
  it('accepts a full valid input and a minimal one', () => {
    expect(validateTransferInput(good)).toEqual(good);
    const minimal = { source: { bucket: 'b-1', key: 'k' }, destination: { folderId: '0' } };
    expect(validateTransferInput(minimal)).toEqual(minimal);
  });

  it.each([
    [{ ...good, destination: { folderId: 'abc' } }, 'destination.folderId must be a string of digits'],
    [{ ...good, destination: { folderId: 123 } }, 'destination.folderId must be a string'],
    [{ ...good, destination: { folderId: '1', fileId: '12a' } }, 'destination.fileId must be a string of digits'],
    [{ ...good, destination: { folderId: '1', fileName: 'a/b' } }, 'destination.fileName must not contain'],
    [{ ...good, destination: { folderId: '1', fileName: ' lead' } }, 'destination.fileName must not contain'],
    [{ ...good, destination: { folderId: '1', fileName: '..' } }, 'destination.fileName must not contain'],
    [{ ...good, destination: { folderId: '1', fileName: '' } }, 'destination.fileName must not be empty'],
    [{ ...good, destination: { folderId: '1', fileName: 'x'.repeat(256) } }, 'destination.fileName must be at most 255 characters'],
    [{ ...good, destination: {} }, 'destination.folderId is required'],
    [{ source: good.source }, 'destination is required'],
    [{ ...good, source: { key: 'k' } }, 'source.bucket is required'],
    [{ ...good, source: { bucket: 'b', key: '' } }, 'source.key must not be empty'],
    [{ ...good, source: { bucket: 'b', key: 'k', versionId: 7 } }, 'source.versionId must be a string'],
    [{ ...good, onConflict: 'overwrite' }, 'onConflict must be one of "version", "rename", "fail"'],
    [{ ...good, options: { concurrency: 0 } }, 'options.concurrency must be >= 1'],
    [{ ...good, options: { concurrency: 2.5 } }, 'options.concurrency must be an integer'],
    [{ ...good, options: { partsPerBatch: '10' } }, 'options.partsPerBatch must be an integer'],
    [{ ...good, options: { parallel: 3 } }, 'options.parallel is not a known field'],
    [{ ...good, destination: { folderID: '1' } }, 'destination.folderID is not a known field'],
    [{ ...good, extra: true }, 'extra is not a known field'],
    ['just a string', 'the input must be an object'],
  ])('names the bad field: %j', (input, expected) => {
    expect(messageOf(input)).toContain(expected);
  });

  it('reports every bad field at once', () => {
    const msg = messageOf({ source: { bucket: 'b' }, destination: { folderId: 'x' }, onConflict: 'nope' });
    expect(msg).toContain('source.key is required');
    expect(msg).toContain('destination.folderId must be a string of digits');
    expect(msg).toContain('onConflict must be one of');
  });

  it('publishes the schema as a JSON file that matches what is enforced', () => {
    const schema = JSON.parse(readFileSync(new URL('../../src/transfer/input.schema.json', import.meta.url), 'utf8')) as {
      required: string[];
      properties: Record<string, unknown>;
    };
    expect(schema.required).toEqual(['source', 'destination']);
    expect(Object.keys(schema.properties).sort()).toEqual(['destination', 'onConflict', 'options', 'resume', 'source']);
  });
});

describe('defaultFileName', () => {
  it('takes the last key segment', () => {
    expect(defaultFileName('a/b/c d é.bin')).toBe('c d é.bin');
    expect(defaultFileName('top.txt')).toBe('top.txt');
  });
  it('refuses a key that ends with a slash', () => {
    expect(() => defaultFileName('folder/')).toThrow(/destination.fileName is required/);
  });
});
