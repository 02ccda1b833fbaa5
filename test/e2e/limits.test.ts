// The deployment's limits, end to end through the real state machine: allowed sources (buckets and
// key prefixes), allowed destination folders (with their subfolders, from Box's folder ancestry), the
// largest object, and a destination that does not exist. Each refusal is a named error from Prepare,
// before any session or file exists in Box.
import { createRequire } from 'node:module';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { ConfigurationError } from '../../src/transfer/errors.ts';
import { checkSourceAllowed, parseFolderIds, parseSourceRules } from '../../src/transfer/allowed.ts';
import { settingsFromEnv } from '../../src/transfer/settings.ts';
import { BUCKET, inputFor, startEnv, taskRuns } from './harness.ts';
import type { E2eEnv } from './harness.ts';

const require = createRequire(import.meta.url);
const grants = require('../../iam/source-grants.cjs') as {
  parseSourceBuckets(text: string): { bucket: string; prefix: string }[];
  objectArnsOf(text: string): { 'Fn::Sub': string }[];
  listBucketPolicyOf(text: string): { Statement: Array<{ Resource: unknown; Condition?: unknown }> };
};

describe('sourceBuckets: one syntax for the IAM grant (package time) and Prepare (run time)', () => {
  const accepted = ['exports', 'exports,backups/finance/', ' a-b.c , x1y/2024-  ', 'exports/key with spaces/', 'b.u.k/ünïcode/+%'];
  const refused = ['', '  ', '*', 'exports/*', 'Exports', 'ex', 'exports/', 'exports,,backups', 'exports/${AWS::Region}', 'exports/a?b', 'arn:aws:s3:::x'];

  it.each(accepted)('parses %j the same way in both', (text) => {
    expect(parseSourceRules(text)).toEqual(grants.parseSourceBuckets(text));
  });

  it.each(refused)('refuses %j in both, saying what to fix', (text) => {
    expect(() => grants.parseSourceBuckets(text)).toThrow(/sourceBuckets/);
    expect(() => parseSourceRules(text)).toThrow(ConfigurationError);
    expect(() => parseSourceRules(text)).toThrow(/sourceBuckets/);
  });

  it('grants exactly the keys Prepare allows (bucket/prefix*), never a neighbouring bucket', () => {
    expect(grants.objectArnsOf('exports,backups/finance/')).toEqual([
      { 'Fn::Sub': 'arn:${AWS::Partition}:s3:::exports/*' },
      { 'Fn::Sub': 'arn:${AWS::Partition}:s3:::backups/finance/*' },
    ]);
    const rules = parseSourceRules('exports,backups/finance/');
    expect(() => checkSourceAllowed(rules, 'exports', 'any/key.bin')).not.toThrow();
    expect(() => checkSourceAllowed(rules, 'backups', 'finance/2024/q1.csv')).not.toThrow();
    expect(() => checkSourceAllowed(rules, 'backups', 'finance')).toThrow(expect.objectContaining({ name: 'Transfer.SourceNotAllowed' }));
    expect(() => checkSourceAllowed(rules, 'backups', 'hr/pay.csv')).toThrow(/s3:\/\/backups\/hr\/pay\.csv is not an allowed source.*exports\/, backups\/finance\//);
    expect(() => checkSourceAllowed(rules, 'exports-2', 'a')).toThrow(expect.objectContaining({ name: 'Transfer.SourceNotAllowed' }));
    expect(() => checkSourceAllowed(undefined, 'anything', 'a')).not.toThrow(); // no limit configured (local runs)
  });

  it("lets a bulk run list a bucket allowed whole, and a bucket allowed below prefixes only inside them (s3:prefix)", () => {
    const arn = (bucket: string) => ({ 'Fn::Sub': `arn:\${AWS::Partition}:s3:::${bucket}` });
    expect(grants.listBucketPolicyOf('exports, backups/finance/, backups/hr/2024-, backups/finance/, logs/x/, logs').Statement).toEqual([
      // logs is allowed whole as well as below x/: whole wins.
      { Effect: 'Allow', Action: ['s3:ListBucket'], Resource: [arn('exports'), arn('logs')] },
      { Effect: 'Allow', Action: ['s3:ListBucket'], Resource: arn('backups'), Condition: { StringLike: { 's3:prefix': ['finance/*', 'hr/2024-*'] } } },
    ]);
    expect(grants.listBucketPolicyOf('backups/finance/').Statement).toEqual([
      { Effect: 'Allow', Action: ['s3:ListBucket'], Resource: arn('backups'), Condition: { StringLike: { 's3:prefix': ['finance/*'] } } },
    ]);
  });

  it('reads the limits from the environment, and a malformed one is a configuration error, never dropped', () => {
    expect(settingsFromEnv({ TRANSFER_SOURCES: 'exports', TRANSFER_DESTINATION_FOLDERS: '12, 34', TRANSFER_MAX_FILE_SIZE: '1000' })).toMatchObject({
      allowedSources: [{ bucket: 'exports', prefix: '' }],
      allowedDestinationFolders: ['12', '34'],
      maxFileSize: 1000,
    });
    expect(settingsFromEnv({ TRANSFER_DESTINATION_FOLDERS: '' }).allowedDestinationFolders).toBeUndefined();
    expect(() => settingsFromEnv({ TRANSFER_SOURCES: '' })).toThrow(ConfigurationError);
    expect(() => parseFolderIds('12,abc')).toThrow(/destinationFolders entry "abc"/);
  });
});

describe('limits applied by Prepare, end to end', () => {
  let env: E2eEnv;
  let allowed: { id: string };
  let inside: { id: string };
  let other: { id: string };

  beforeEach(async () => {
    env = await startEnv({ emulator: { partSize: 64 * 1024, minChunkedFileSize: 100_000 } });
    allowed = await env.box.createFolder('allowed');
    const middle = await env.box.createFolder('2024', allowed.id);
    inside = await env.box.createFolder('q1', middle.id);
    other = await env.box.createFolder('other');
  });
  afterEach(async () => {
    await env?.close();
  });

  function limited(extra: Record<string, unknown> = {}): E2eEnv['deps'] {
    return {
      ...env.deps,
      settings: {
        directUploadMax: 100_000,
        allowedSources: parseSourceRules(`${BUCKET}/finance/`),
        allowedDestinationFolders: [allowed.id],
        ...extra,
      },
    };
  }

  /** Nothing reached Box but reads: no session, no file, no upload. */
  function nothingUploaded(): void {
    const r = env.box.stats().requests;
    expect({ createSession: r.createSession, createVersionSession: r.createVersionSession, uploadFile: r.uploadFile, uploadFileVersion: r.uploadFileVersion, uploadPart: r.uploadPart }).toEqual({
      createSession: 0,
      createVersionSession: 0,
      uploadFile: 0,
      uploadFileVersion: 0,
      uploadPart: 0,
    });
    expect(env.box.listSessions()).toEqual([]);
  }

  it('copies an allowed source into a subfolder of an allowed folder (chunked and direct)', async () => {
    await env.put('finance/big.bin', 300_000);
    await env.put('finance/small.bin', 1000);
    const big = await env.run(inputFor('finance/big.bin', inside.id), { deps: limited() });
    const small = await env.run(inputFor('finance/small.bin', allowed.id), { deps: limited() });
    expect(big.file.size).toBe(300_000);
    expect(small.file.size).toBe(1000);
    expect(env.box.findFile(inside.id, 'big.bin')).toBeDefined();
    expect(env.box.stats().requests.getFolder).toBe(2);
  });

  it.each([
    ['another prefix of the bucket', 'hr/pay.bin'],
    ['a key that only starts like the prefix', 'finance-old/x.bin'],
  ])('refuses %s with Transfer.SourceNotAllowed, before reading it or calling Box', async (_what, key) => {
    await env.put(key, 1000);
    const execution = env.start(inputFor(key, allowed.id), { deps: limited() });
    await expect(execution.result).rejects.toMatchObject({ name: 'Transfer.SourceNotAllowed' });
    expect(taskRuns(execution.events)).toEqual({ Prepare: 1, DescribeFailure: 1 }); // no upload task ran
    expect(env.box.stats().requests.getFolder).toBe(0);
    nothingUploaded();
  });

  it('refuses another bucket with Transfer.SourceNotAllowed whatever the input says', async () => {
    const execution = env.start({ source: { bucket: 'someone-elses-bucket', key: 'finance/x.bin' }, destination: { folderId: allowed.id } }, { deps: limited() });
    await expect(execution.result).rejects.toMatchObject({ name: 'Transfer.SourceNotAllowed', message: expect.stringContaining('sourceBuckets') });
    nothingUploaded();
  });

  it('refuses a folder outside the allowed ones (and a file version outside them) with Transfer.DestinationNotAllowed', async () => {
    await env.put('finance/big.bin', 300_000);
    await expect(env.run(inputFor('finance/big.bin', other.id), { deps: limited() })).rejects.toMatchObject({
      name: 'Transfer.DestinationNotAllowed',
      message: expect.stringContaining(`Box folder ${other.id} is not in an allowed destination folder`),
    });
    await expect(env.run(inputFor('finance/big.bin', '0'), { deps: limited() })).rejects.toMatchObject({ name: 'Transfer.DestinationNotAllowed' });
    nothingUploaded();
    // A new version of a file that lives outside: its parent decides.
    const outside = await env.run(inputFor('finance/big.bin', other.id), { deps: limited({ allowedDestinationFolders: undefined }) });
    const before = env.box.stats().requests.createVersionSession;
    await expect(
      env.run({ source: { bucket: BUCKET, key: 'finance/big.bin' }, destination: { folderId: allowed.id, fileId: outside.file.id } }, { deps: limited() }),
    ).rejects.toMatchObject({ name: 'Transfer.DestinationNotAllowed', message: expect.stringContaining(`Box file ${outside.file.id}`) });
    expect(env.box.stats().requests.createVersionSession).toBe(before);
  });

  it('creates destination.folderPath only below an allowed folder, after checking it', async () => {
    await env.put('finance/small.bin', 1000);
    const created = env.box.stats().requests.createFolder;
    await expect(env.run(inputFor('finance/small.bin', other.id, { destination: { folderId: other.id, folderPath: 'a/b' } }), { deps: limited() })).rejects.toMatchObject({
      name: 'Transfer.DestinationNotAllowed',
    });
    expect(env.box.stats().requests.createFolder).toBe(created); // nothing created outside
    const out = await env.run(inputFor('finance/small.bin', allowed.id, { destination: { folderId: allowed.id, folderPath: 'a/b' } }), { deps: limited() });
    expect(out.file.size).toBe(1000);
    expect(env.box.stats().requests.createFolder).toBe(created + 2);
  });

  it('refuses a folder or file that does not exist with Transfer.DestinationNotFound', async () => {
    await env.put('finance/big.bin', 300_000);
    await env.put('finance/small.bin', 1000);
    await expect(env.run(inputFor('finance/big.bin', '987654321'), { deps: limited({ allowedDestinationFolders: undefined }) })).rejects.toMatchObject({
      name: 'Transfer.DestinationNotFound',
      message: expect.stringContaining('Box folder 987654321 (destination.folderId) does not exist'),
    });
    await expect(env.run(inputFor('finance/small.bin', '987654321'), { deps: limited({ allowedDestinationFolders: undefined }) })).rejects.toMatchObject({
      name: 'Transfer.DestinationNotFound',
    });
    await expect(
      env.run({ source: { bucket: BUCKET, key: 'finance/small.bin' }, destination: { folderId: '0', fileId: '55555' } }, { deps: limited({ allowedDestinationFolders: undefined }) }),
    ).rejects.toMatchObject({ name: 'Transfer.DestinationNotFound', message: expect.stringContaining('Box file 55555') });
    nothingUploaded();
  });

  it('refuses an object above maxFileSize with Transfer.SourceTooLarge, before Box is called', async () => {
    await env.put('finance/big.bin', 300_000);
    const execution = env.start(inputFor('finance/big.bin', allowed.id), { deps: limited({ maxFileSize: 299_999 }) });
    await expect(execution.result).rejects.toMatchObject({
      name: 'Transfer.SourceTooLarge',
      message: expect.stringContaining('has 300000 bytes, more than this deployment\'s maximum of 299999 (maxFileSize)'),
    });
    expect(env.box.stats().requests.getFolder).toBe(0);
    nothingUploaded();
    // At the limit exactly: accepted.
    await expect(env.run(inputFor('finance/big.bin', allowed.id), { deps: limited({ maxFileSize: 300_000 }) })).resolves.toMatchObject({ file: { size: 300_000 } });
  });
});
