// The deployment's limits applied to bulk runs, through the real bulk state machine: PlanSync refuses a
// source outside sourceBuckets (bucket or prefix) and a destination that does not exist or is not allowed
// before anything is listed; a manifest's keys outside the allowed prefixes fail one by one, unread.
import { PutObjectCommand } from '@aws-sdk/client-s3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { putGeneratedObject } from '../../local/runner/index.ts';
import type { SyncInput } from '../../src/bulk/contract.ts';
import { parseSourceRules } from '../../src/transfer/allowed.ts';
import { BUCKET, REPORT_BUCKET, startBulkEnv } from './harness.ts';
import type { BulkEnv } from './harness.ts';

let env: BulkEnv;
let allowedFolder: { id: string };
let otherFolder: { id: string };
/** Keys of the source bucket that a GetObject or HeadObject named. */
const touched: string[] = [];

beforeAll(async () => {
  env = await startBulkEnv({ settings: { allowedSources: parseSourceRules(`${BUCKET}/finance/`) } });
  env.s3.client.middlewareStack.add(
    (next, context) => async (args) => {
      const { Bucket, Key } = args.input as { Bucket?: string; Key?: string };
      if (Bucket === BUCKET && Key !== undefined && /^(Get|Head)ObjectCommand$/.test(context.commandName ?? '')) touched.push(Key);
      return next(args);
    },
    { step: 'initialize', name: 'limitsTestTouched' },
  );
  allowedFolder = await env.box.createFolder('allowed');
  otherFolder = await env.box.createFolder('other');
  env.deps.settings = { ...env.deps.settings, allowedDestinationFolders: [allowedFolder.id] };
  for (const key of ['finance/q1.csv', 'finance/q2.csv', 'hr/pay.csv']) {
    await putGeneratedObject(env.s3.client, { bucket: BUCKET, key, size: 100 });
  }
  await env.s3.client.send(
    new PutObjectCommand({ Bucket: REPORT_BUCKET, Key: 'lists/mixed.jsonl', Body: '{"key":"finance/q1.csv"}\n{"key":"hr/pay.csv"}\n' }),
  );
}, 60_000);

afterAll(async () => {
  await env?.close();
});

function input(source: SyncInput['source'], folderId = allowedFolder.id): SyncInput {
  return { source, destination: { folderId }, report: { bucket: REPORT_BUCKET, prefix: 'runs/' } };
}

/** S3 requests that list or read anything, so far. */
function listingsAndReads(): number {
  return Object.entries(env.s3Calls)
    .filter(([name]) => name.startsWith('ListObjects') || name === 'GetObjectCommand' || name === 'HeadObjectCommand')
    .reduce((n, [, count]) => n + count, 0);
}

describe('bulk runs within the deployment limits', { timeout: 60_000 }, () => {
  it.each([
    ['a bucket with no rule', { bucket: 'another-bucket', prefix: '' }, 's3://another-bucket/ (every key under it) is not an allowed source'],
    ['the whole allowed bucket when only a prefix is allowed', { bucket: BUCKET, prefix: '' }, `s3://${BUCKET}/ (every key under it) is not an allowed source`],
    ['a prefix that also lists keys outside the allowed one', { bucket: BUCKET, prefix: 'fin' }, `s3://${BUCKET}/fin (every key under it)`],
    ['a prefix beside the allowed one', { bucket: BUCKET, prefix: 'hr/' }, `s3://${BUCKET}/hr/ (every key under it)`],
    ['a manifest of a bucket with no rule', { bucket: 'another-bucket', manifest: { bucket: REPORT_BUCKET, key: 'lists/mixed.jsonl', format: 'jsonl' } }, 'bucket another-bucket is not an allowed source'],
  ] as const)('PlanSync refuses %s with Transfer.SourceNotAllowed before listing anything', async (_what, source, message) => {
    const before = listingsAndReads();
    const run = env.sync(input(source as SyncInput['source']));
    await expect(run.result).rejects.toMatchObject({ name: 'Transfer.SourceNotAllowed', message: expect.stringContaining(message) as unknown });
    expect(listingsAndReads()).toBe(before);
    expect(env.box.findFolder(allowedFolder.id, 'finance')).toBeUndefined();
  });

  it('PlanSync refuses a destination outside destinationFolders, or one that does not exist, before listing anything', async () => {
    const before = listingsAndReads();
    await expect(env.sync(input({ bucket: BUCKET, prefix: 'finance/' }, otherFolder.id)).result).rejects.toMatchObject({
      name: 'Transfer.DestinationNotAllowed',
    });
    await expect(env.sync(input({ bucket: BUCKET, prefix: 'finance/' }, '987654321')).result).rejects.toMatchObject({
      name: 'Transfer.DestinationNotFound',
      message: expect.stringContaining('Box folder 987654321 (destination.folderId) does not exist') as unknown,
    });
    expect(listingsAndReads()).toBe(before);
    expect(env.box.listSessions()).toEqual([]);
  });

  it('copies an allowed prefix; a manifest key outside the allowed prefixes fails as SourceNotAllowed without being read', async () => {
    const prefixRun = await env.sync(input({ bucket: BUCKET, prefix: 'finance/' })).result;
    expect(prefixRun).toMatchObject({ objects: 2, copied: 2, failed: 0 });

    touched.length = 0;
    const manifestRun = await env.sync(input({ bucket: BUCKET, manifest: { bucket: REPORT_BUCKET, key: 'lists/mixed.jsonl', format: 'jsonl' } })).result;
    expect(manifestRun).toMatchObject({ objects: 2, copied: 1, failed: 1 });
    const report = await env.readReport(manifestRun.report.bucket, manifestRun.report.key);
    expect(report.find((r) => r.key === 'hr/pay.csv')).toMatchObject({
      outcome: 'failed',
      failure: { error: { name: 'Transfer.SourceNotAllowed', message: expect.stringContaining(`s3://${BUCKET}/hr/pay.csv`) as unknown }, resumable: false },
    });
    // A manifest mirrors whole keys: finance/q1.csv is copied into a folder "finance"; hr/pay.csv is never touched.
    expect(report.find((r) => r.key === 'finance/q1.csv')?.outcome).toBe('copied');
    expect(touched).toContain('finance/q1.csv');
    expect(touched).not.toContain('hr/pay.csv');
    expect(env.box.findFolder(allowedFolder.id, 'hr')).toBeUndefined();
  });
});
