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

  // Names Box would reject, beyond what the schema's patterns see: every folderPath segment,
  // fileName and resume.fileName go through isBoxName (src/box/names.ts) and the message names the segment.
  it.each([
    [{ folderId: '1', folderPath: 'a/\u0001b' }, 'destination.folderPath segment 2 "\\u0001b" holds a \'\\\' or a control character'],
    [{ folderId: '1', folderPath: `a/${'x'.repeat(256)}/c` }, 'destination.folderPath segment 2 "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"... is 256 characters long (Box takes at most 255)'],
    [{ folderId: '1', folderPath: 'a/b\t' }, 'destination.folderPath segment 2 "b\\t" holds'],
    [{ folderId: '1', folderPath: '\tb/c' }, 'destination.folderPath segment 1 "\\tb" holds'],
    [{ folderId: '1', folderPath: 'a/\u00a0b' }, 'destination.folderPath segment 2 "\u00a0b" starts or ends with whitespace'],
    [{ folderId: '1', folderPath: 'a/./b' }, 'destination.folderPath must be folder names'],
    [{ folderId: '1', folderPath: 'a/../b' }, 'destination.folderPath must be folder names'],
    [{ folderId: '1', fileName: 'report\u0007.pdf' }, 'destination.fileName must not contain'],
    [{ folderId: '1', fileName: 'report.pdf\t' }, 'destination.fileName must not contain'],
    [{ folderId: '1', fileName: '\u2003report.pdf' }, 'destination.fileName "\u2003report.pdf" starts or ends with whitespace'],
  ])('refuses a typed name Box would reject, naming it: %j', (destination, expected) => {
    expect(messageOf({ ...good, destination })).toContain(expected);
  });

  it.each([
    ['b\t', 'resume.fileName "b\\t" holds'],
    ['\u0001', 'resume.fileName "\\u0001" holds'],
    ['x'.repeat(256), 'resume.fileName must be at most 255 characters'],
    ['..', 'resume.fileName must not contain'],
    ['.', 'resume.fileName must not contain'],
    ['\u00a0name', 'resume.fileName "\u00a0name" starts or ends with whitespace'],
  ])('refuses a resume.fileName Box would reject: %j', (fileName, expected) => {
    expect(messageOf({ ...good, resume: { sessionId: 'ABC123', fileName } })).toContain(expected);
  });

  it('accepts the names Box takes: unicode, inner spaces, + and %, 255 characters', () => {
    const destination = { folderId: '1', folderPath: `sales/2026 Q1/é+%/${'y'.repeat(255)}`, fileName: `${'z'.repeat(251)}.bin` };
    expect(validateTransferInput({ ...good, destination, resume: { sessionId: 'ABC123', fileName: 'a b+c%.bin' } })).toMatchObject({ destination });
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
    expect(Object.keys(schema.properties).sort()).toEqual(['AWS_STEP_FUNCTIONS_STARTED_BY_EXECUTION_ID', 'destination', 'onConflict', 'options', 'resume', 'source']);
  });

  it("accepts the parent's execution ARN that a nested execution carries, and nothing else in that field", () => {
    const parent = 'arn:aws:states:eu-west-1:123456789012:execution:s3-to-box-bulk-prod/CopyPrefix:0f8e';
    expect(validateTransferInput({ ...good, AWS_STEP_FUNCTIONS_STARTED_BY_EXECUTION_ID: parent })).toMatchObject({ AWS_STEP_FUNCTIONS_STARTED_BY_EXECUTION_ID: parent });
    expect(messageOf({ ...good, AWS_STEP_FUNCTIONS_STARTED_BY_EXECUTION_ID: 'my-run' })).toContain('AWS_STEP_FUNCTIONS_STARTED_BY_EXECUTION_ID');
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
  it('refuses a last segment Box would reject, saying why', () => {
    expect(() => defaultFileName('a/b\t')).toThrow(/destination.fileName is required: .* \(it holds a '\\' or a control character\)/);
    expect(() => defaultFileName(`a/${'x'.repeat(256)}`)).toThrow(/is 256 characters long/);
    expect(() => defaultFileName('a/..')).toThrow(/\(it is "\.\."\)/);
  });
});
