// Failures in a bulk run, through the real bulk state machine (local runner, Distributed Map emulated):
// the tolerated-failure threshold (below it the run succeeds with the failures in its report; above it the
// run fails with Transfer.TooManyFailures and the report is written all the same), a child workflow that
// fails as a whole past the Map's threshold, and a nested transfer that fails with its session kept: its
// report line carries the failure document, whose resumeInput finishes the object as one transfer.
import { GetObjectCommand, PutObjectCommand } from '@aws-sdk/client-s3';
import { beforeEach, describe, expect, it } from 'vitest';
import { makeBulkHandlers } from '../../functions/index.ts';
import type { LocalLambdaContext } from '../../local/runner/execution.ts';
import { putGeneratedObject } from '../../local/runner/index.ts';
import type { ObjectResult, SyncBatchEvent, SyncInput, SyncSummary } from '../../src/bulk/contract.ts';
import type { TransferInput } from '../../src/transfer/contract.ts';
import { BUCKET, boxFileAt as boxFileIn, chunkedFromOneMiBForEachTest, MiB, REPORT_BUCKET } from './harness.ts';
import type { BulkEnv } from './harness.ts';
import { rejection } from '../support/rejection.ts';
import type { BoxClientLike } from '../../src/transfer/boxPort.ts';

const bulkEnv = chunkedFromOneMiBForEachTest();
let env: BulkEnv;
beforeEach(() => {
  env = bulkEnv();
});

async function put(key: string, size: number): Promise<string> {
  return (await putGeneratedObject(env.s3.client, { bucket: BUCKET, key, size })).sha1;
}

async function readJson<T>(key: string): Promise<T> {
  const res = await env.s3.client.send(new GetObjectCommand({ Bucket: REPORT_BUCKET, Key: key }));
  return JSON.parse((await res.Body?.transformToString('utf8')) ?? 'null') as T;
}

const boxFileAt = (path: string) => boxFileIn(env.box, path);

describe('a bulk run with failed objects: the tolerated-failure threshold', () => {
  const KEYS = Array.from({ length: 10 }, (_, i) => `t/file ${i}.txt`);
  const manifestInput = (tolerated: number): SyncInput => ({
    source: { bucket: BUCKET, manifest: { bucket: BUCKET, key: 'lists/t.jsonl', format: 'jsonl' } },
    destination: { folderId: '0' },
    report: { bucket: REPORT_BUCKET, prefix: 'runs/' },
    options: { uploadsPerMinute: 100_000, objectsPerBatch: 4, toleratedFailurePercentage: tolerated },
  });
  beforeEach(async () => {
    for (const k of KEYS) await put(k, 100);
    // Eleven keys, one of them missing: 9.1 % of the objects fail.
    const lines = [...KEYS, 't/missing.txt'].map((key) => JSON.stringify({ key }));
    await env.s3.client.send(new PutObjectCommand({ Bucket: BUCKET, Key: 'lists/t.jsonl', Body: `${lines.join('\n')}\n` }));
  });

  it('below it the run succeeds; the failed object is in the report with its failure document and the input that copies it alone', async () => {
    const summary = await env.sync(manifestInput(10)).result;
    expect(summary).toMatchObject({ objects: 11, copied: 10, failed: 1 });
    const report = await env.readReport(summary.report.bucket, summary.report.key);
    expect(report).toHaveLength(11);
    expect(report.find((r) => r.key === 't/missing.txt')).toEqual({
      key: 't/missing.txt',
      outcome: 'failed',
      bytes: 0,
      path: 't/missing.txt',
      failure: { error: { name: 'Transfer.SourceNotFound', message: expect.stringContaining('t/missing.txt') }, resumable: false },
      input: { source: { bucket: BUCKET, key: 't/missing.txt' }, destination: { folderId: '0', folderPath: 't', fileName: 'missing.txt' }, onConflict: 'version' },
    });
    expect(await readJson<SyncSummary>(summary.report.key.replace(/report\.jsonl$/, 'summary.json'))).toEqual(summary);
  }, 120_000);

  it('above it the run fails with Transfer.TooManyFailures, and its report and summary are written all the same', async () => {
    const run = env.sync(manifestInput(5));
    const error = await rejection(run.result);
    expect(error.name).toBe('Transfer.TooManyFailures');
    expect(error.message).toContain('1 of 11 objects failed (9.1%), more than the 5% the run tolerates');
    const reportKey = `runs/${run.executionName}/report.jsonl`;
    expect(error.message).toContain(`report s3://${REPORT_BUCKET}/${reportKey}`);
    const report = await env.readReport(REPORT_BUCKET, reportKey);
    expect(report).toHaveLength(11);
    expect(report.filter((r) => r.outcome === 'copied')).toHaveLength(10);
    expect(await readJson<SyncSummary>(`runs/${run.executionName}/summary.json`)).toMatchObject({ objects: 11, copied: 10, failed: 1 });
    for (const k of KEYS) expect(boxFileAt(k), k).toBeDefined();
  }, 120_000);
});

describe('a child workflow that fails as a whole', () => {
  it('past the Map threshold: no new child starts, the run fails with Transfer.TooManyFailures, every object is reported, and a failed one copies alone from its input', async () => {
    const keys = ['p/a.txt', 'p/b.txt', 'p/sub/c.txt', 'p/sub/d.txt', 'p/sub/e.txt', 'p/sub/f.txt'];
    const sha1s = new Map<string, string>();
    for (const k of keys) sha1s.set(k, await put(k, 50));
    const real = makeBulkHandlers(env.deps);
    // The child holding p/sub/c.txt fails as a whole (an error its Retry does not cover).
    const syncBatch = async (event: SyncBatchEvent, context: LocalLambdaContext): Promise<unknown> => {
      if (event.Items.some((i) => i['Key'] === 'p/sub/c.txt')) throw Object.assign(new Error('the Box token was refused'), { name: 'Box.Unauthorized' });
      return real.syncBatch(event, context);
    };
    // One child at a time (8 objects in flight = 1 child of 8), two objects per child: 3 children.
    const run = env.sync(
      {
        source: { bucket: BUCKET, prefix: 'p/' },
        destination: { folderId: '0' },
        report: { bucket: REPORT_BUCKET, prefix: 'runs/' },
        options: { uploadsPerMinute: 100_000, objectsPerBatch: 2, objectsInFlight: 8, toleratedFailurePercentage: 10 },
      },
      { handlers: { syncBatch } },
    );
    const error = await rejection(run.result);
    expect(error.name).toBe('Transfer.TooManyFailures');
    expect(error.message).toContain('States.ExceedToleratedFailureThreshold');
    const report = await env.readReport(REPORT_BUCKET, `runs/${run.executionName}/report.jsonl`);
    const byKey = new Map(report.map((r) => [r.key, r]));
    expect([...byKey.keys()].sort()).toEqual(keys);
    expect(['p/a.txt', 'p/b.txt'].map((k) => byKey.get(k)?.outcome)).toEqual(['copied', 'copied']);
    for (const k of ['p/sub/c.txt', 'p/sub/d.txt']) {
      expect(byKey.get(k), k).toMatchObject({ outcome: 'failed', failure: { error: { name: 'Box.Unauthorized', message: 'the Box token was refused' }, resumable: false } });
    }
    // The last child never started.
    for (const k of ['p/sub/e.txt', 'p/sub/f.txt']) expect(byKey.get(k), k).toMatchObject({ outcome: 'failed', failure: { error: { name: 'States.Cancelled' } } });
    expect(boxFileAt('sub/e.txt')).toBeUndefined();

    // A failed object, alone, through the one-object state machine: into the folder the run would have used.
    const input = byKey.get('p/sub/c.txt')?.input as TransferInput;
    expect(input).toEqual({ source: { bucket: BUCKET, key: 'p/sub/c.txt' }, destination: { folderId: '0', folderPath: 'sub', fileName: 'c.txt' }, onConflict: 'version' });
    const output = await env.run(input);
    expect(output.file.sha1).toBe(sha1s.get('p/sub/c.txt'));
    expect(boxFileAt('sub/c.txt')).toEqual({ sha1: sha1s.get('p/sub/c.txt'), size: 50 });
  }, 120_000);
});

describe('a nested transfer that fails with its session kept', () => {
  it('is reported with a resumable failure document; its resumeInput finishes the object sending only the missing parts', async () => {
    const SIZE = 4 * MiB + 9; // 5 parts
    const bigSha1 = await put('r/big file.bin', SIZE);
    await put('r/small.txt', 10);
    // Box stores two parts, then answers 503 to every part upload: the nested transfer's retries run out.
    env.box.faults.inject({ operation: 'uploadPart', nth: 3, times: 1_000_000, action: { type: 'status', status: 503 } });
    const summary = await env.sync({
      source: { bucket: BUCKET, prefix: 'r/' },
      destination: { folderId: '0' },
      report: { bucket: REPORT_BUCKET, prefix: 'runs/' },
      options: { uploadsPerMinute: 100_000, concurrency: 1 },
    }).result;
    expect(summary).toMatchObject({ objects: 2, copied: 1, failed: 1 });
    const report: ObjectResult[] = await env.readReport(summary.report.bucket, summary.report.key);
    const line = report.find((r) => r.key === 'r/big file.bin');
    expect(line).toMatchObject({ outcome: 'failed', bytes: SIZE, path: 'big file.bin', failure: { error: { name: 'Box.ServerError' }, resumable: true } });
    const resumeInput = line?.failure?.resumeInput as TransferInput;
    const [session] = env.box.listSessions();
    expect(resumeInput).toMatchObject({ source: { bucket: BUCKET, key: 'r/big file.bin' }, resume: { sessionId: session?.id } });
    expect(session).toMatchObject({ status: 'open', partsUploaded: 2, totalParts: 5 });

    // Box is back: the one-object transfer resumes the session and sends the three missing parts only.
    env.box.faults.clear();
    env.box.resetStats();
    const output = await env.run(resumeInput);
    expect(output.file).toMatchObject({ name: 'big file.bin', sha1: bigSha1, size: SIZE });
    expect(boxFileAt('big file.bin')).toEqual({ sha1: bigSha1, size: SIZE });
    const stats = env.box.stats().requests;
    expect([stats.createSession, stats.uploadPart]).toEqual([0, 3]);
  }, 180_000);
});

describe('a small object Box stored but whose answer was lost', () => {
  for (const action of [{ type: 'storeThenFail', status: 500 }, { type: 'storeThenReset' }] as const) {
    it(`(${action.type}) is handed to a nested transfer that takes the stored file: one file, one version, no rename`, async () => {
      const sha1 = await put('d/a.txt', 5_000);
      // SyncBatch's own upload is stored but its answer lost; it hands the object over to a one-object transfer,
      // a new execution whose first try meets 409 on the file that already holds these bytes.
      env.box.faults.inject({ operation: 'uploadFile', nth: 1, action });
      const summary = await env.sync({
        source: { bucket: BUCKET, prefix: 'd/' },
        destination: { folderId: '0' },
        report: { bucket: REPORT_BUCKET, prefix: 'runs/' },
        options: { uploadsPerMinute: 100_000 },
      }).result;
      expect(summary).toMatchObject({ objects: 1, copied: 1, failed: 0 });
      const file = env.box.findFile('0', 'a.txt');
      expect(file).toMatchObject({ sequence_id: '0', sha1, size: 5_000 });
      expect(boxFileAt('a.txt')).toEqual({ sha1, size: 5_000 });
      expect(env.box.findFile('0', 'a (1).txt')).toBeUndefined();
      // SyncBatch's upload (stored), the nested transfer's (409: ours); never a new version.
      expect(env.box.stats().requests).toMatchObject({ uploadFile: 2, uploadFileVersion: 0 });
      const report: ObjectResult[] = await env.readReport(summary.report.bucket, summary.report.key);
      expect(report).toEqual([expect.objectContaining({ key: 'd/a.txt', outcome: 'copied', fileId: file!.id, sha1 })]);
    }, 120_000);
  }
});

describe('a small object whose upload Box stored when the batch ran out of time', () => {
  it('is handed to a nested transfer (the request cut by the invocation budget is Box.Aborted), which takes the stored file', async () => {
    const sha1 = await put('e/a.txt', 5_000);
    const client = await env.deps.box();
    // SyncBatch's upload is stored and answered; the answer then waits on a Box request held at Box until the
    // invocation's request budget cancels it: to SyncBatch, the upload was cut by its deadline after Box stored it.
    let letGo!: () => void;
    const never = new Promise<void>((resolve) => (letGo = resolve));
    env.box.faults.inject({ operation: 'getFile', nth: 1, action: { type: 'hold', until: never } });
    const files = new Proxy(client.files, {
      get(target, prop) {
        if (prop !== 'uploadFile') return (Reflect.get(target, prop) as (...a: unknown[]) => unknown).bind(target);
        return async (...args: Parameters<BoxClientLike['files']['uploadFile']>) => {
          const stored = await target.uploadFile(...args);
          await target.getFile(stored.id);
          return stored;
        };
      },
    });
    const cutting = new Proxy(client, { get: (target, prop) => (prop === 'files' ? files : Reflect.get(target, prop)) });
    // The batch's Lambda says 64 s remain (objects still start: more than its 60 s margin), and its request
    // budget ends 4 s after it starts (deadlineFinishMarginMs 60 s), cutting the held request.
    const real = makeBulkHandlers({ ...env.deps, box: async () => cutting, settings: { ...env.deps.settings, deadlineFinishMarginMs: 60_000 } });
    const syncBatch = (event: SyncBatchEvent, context: LocalLambdaContext): Promise<unknown> =>
      real.syncBatch(event, Object.assign(Object.create(context) as LocalLambdaContext, { getRemainingTimeInMillis: () => 64_000 }));
    try {
      const summary = await env.sync(
        { source: { bucket: BUCKET, prefix: 'e/' }, destination: { folderId: '0' }, report: { bucket: REPORT_BUCKET, prefix: 'runs/' }, options: { uploadsPerMinute: 100_000 } },
        { handlers: { syncBatch } },
      ).result;
      expect(summary).toMatchObject({ objects: 1, copied: 1, failed: 0 });
      expect(env.box.findFile('0', 'a.txt')).toMatchObject({ sequence_id: '0', sha1, size: 5_000 });
      expect(env.box.findFile('0', 'a (1).txt')).toBeUndefined();
      // SyncBatch's upload (stored), the nested transfer's (409: ours, read with getFile); never a new version.
      expect(env.box.stats().requests).toMatchObject({ uploadFile: 2, uploadFileVersion: 0, getFile: 2 });
    } finally {
      letGo();
    }
  }, 120_000);
});
