// Failure and waiting paths end to end: parts that keep failing end in a Fail with the original error and a
// resumable failure document, the session kept; a terminal error aborts the session; transient errors are
// retried by the state machine; Box's 202 commit loops through the Wait state; a source object changed
// mid-transfer fails clearly and aborts the session.
import { PutObjectCommand } from '@aws-sdk/client-s3';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { makeTaskHandlers } from '../../functions/index.ts';
import { TransferExecutionError } from '../../local/runner/index.ts';
import type { TaskHandler } from '../../local/runner/index.ts';
import { BUCKET, inputFor, startEnv, taskRuns } from './harness.ts';
import type { E2eEnv } from './harness.ts';

const partSize = 64 * 1024;
const SIZE = 6 * partSize + 100; // 7 parts

describe('failures, retries and waits', () => {
  let env: E2eEnv;
  beforeEach(async () => {
    env = await startEnv({
      emulator: { partSize, minChunkedFileSize: 100_000, commitProcessing: { mode: 'count', times: 2, retryAfterSeconds: 3 } },
      settings: { directUploadMax: 100_000 },
    });
  });
  afterEach(async () => {
    await env?.close();
  });

  it('parts that keep failing (an outage longer than the retries): retried, then a Fail with the original error; the session is kept and resumable', async () => {
    const folder = await env.box.createFolder('broken-parts');
    await env.put('broken.bin', SIZE);
    env.box.faults.inject({ operation: 'uploadPart', action: { type: 'status', status: 500, code: 'internal_server_error' } });
    const input = inputFor('broken.bin', folder.id, { options: { partsPerBatch: 4 } });
    const execution = env.start(input);
    const error = await execution.result.catch((e: unknown) => e);
    expect(error).toBeInstanceOf(TransferExecutionError);
    expect(error).toMatchObject({ name: 'Box.ServerError', error: 'Box.ServerError' });

    const runs = taskRuns(execution.events);
    expect(runs['UploadBatch']).toBeGreaterThanOrEqual(1 + 5); // the first batch to fail used all its retries
    expect(runs['AbortSession']).toBeUndefined();
    expect(runs['Commit']).toBeUndefined();
    expect(runs['DescribeFailure']).toBe(1);
    const sessions = env.box.listSessions();
    expect(sessions).toHaveLength(1);
    expect(sessions[0]!.status).toBe('open');
    expect(env.box.findFile(folder.id, 'broken.bin')).toBeUndefined();

    // The Cause is the failure document: resumable, with the input that continues this session.
    const failure = (error as TransferExecutionError).failure;
    expect(failure).toMatchObject({ error: { name: 'Box.ServerError' }, resumable: true });
    expect(failure?.error.message).toContain('500');
    expect(failure?.resumeInput).toEqual({ ...input, resume: { sessionId: sessions[0]!.id, etag: expect.any(String) as unknown, fileName: 'broken.bin' } });

    const history = await execution.history;
    expect(history.events.at(-1)).toMatchObject({ type: 'ExecutionFailed', Error: 'Box.ServerError' });
    expect(history.awsEventTypes['FailStateEntered']).toBe(1);
  });

  it('a terminal part error (403) is not retried: AbortSession, Fail with that error, not resumable', async () => {
    const folder = await env.box.createFolder('forbidden-parts');
    await env.put('forbidden.bin', SIZE);
    env.box.faults.inject({ operation: 'uploadPart', action: { type: 'status', status: 403, code: 'access_denied_insufficient_permissions' } });
    const execution = env.start(inputFor('forbidden.bin', folder.id, { options: { partsPerBatch: 7 } }));
    await expect(execution.result).rejects.toMatchObject({ name: 'Box.Forbidden' });
    expect(taskRuns(execution.events)).toMatchObject({ Prepare: 1, UploadBatch: 1, AbortSession: 1 });
    expect(env.box.listSessions().map((s) => s.status)).toEqual(['aborted']);
    await expect(execution.result).rejects.toMatchObject({ failure: { error: { name: 'Box.Forbidden' }, resumable: false } });
  });

  it('a transient error past the client\'s own retries is retried by the state machine', async () => {
    const folder = await env.box.createFolder('rate-limited');
    const put = await env.put('limited.bin', SIZE);
    // The client tries 3 times; the 4 throttled answers make one UploadBatch invocation fail with Box.RateLimited.
    env.box.faults.inject({ operation: 'uploadPart', nth: 1, times: 4, action: { type: 'status', status: 429, retryAfterSeconds: 0 } });
    const execution = env.start(inputFor('limited.bin', folder.id, { options: { partsPerBatch: 7, concurrency: 1 } }));
    const output = await execution.result;
    expect(output.file.sha1).toBe(put.sha1);
    expect(await env.download(output.file.id)).toEqual({ sha1: put.sha1, size: SIZE });
    expect(execution.events).toContainEqual(expect.objectContaining({ type: 'state-failed', state: 'UploadBatch', error: 'Box.RateLimited' }));
    expect(execution.events).toContainEqual(expect.objectContaining({ type: 'state-retried', state: 'UploadBatch', attempt: 1 }));
    expect(taskRuns(execution.events)['UploadBatch']).toBe(2);
  });

  it('Box answers 202 to the commit: the state machine waits Retry-After in the Wait state and commits again', async () => {
    const folder = await env.box.createFolder('processing');
    const put = await env.put('slow-commit.bin', SIZE);
    // Scaled waits: 3 s of Retry-After become 30 ms.
    const execution = env.start(inputFor('slow-commit.bin', folder.id), { waitTimeScale: 0.01 });
    const output = await execution.result;
    expect(await env.download(output.file.id)).toEqual({ sha1: put.sha1, size: SIZE });
    const waits = execution.events.filter((e) => e.type === 'commit-wait');
    expect(waits).toEqual([
      { type: 'commit-wait', seconds: 3, waitMs: 30, attempts: 1, waitedSeconds: 3, reason: 'box-processing' },
      { type: 'commit-wait', seconds: 3, waitMs: 30, attempts: 2, waitedSeconds: 6, reason: 'box-processing' },
    ]);
    expect(taskRuns(execution.events)['Commit']).toBe(3);
    const history = await execution.history;
    expect(history.awsEventTypes['WaitStateEntered']).toBe(2);
    expect(history.awsEventTypes['WaitStateExited']).toBe(2);
    expect(env.box.stats().requests.commit).toBe(3);
  });

  it('a commit wait says why it waits: a transient parts_mismatch, then a 429 (nothing committed), each waited in the Wait state', async () => {
    const folder = await env.box.createFolder('commit-waits');
    const put = await env.put('waits.bin', SIZE);
    env.box.faults.inject({ operation: 'commit', nth: 1, action: { type: 'partsMismatch' } });
    // Past the client's 3 attempts (this env's retry setting): Box.RateLimited reaches Commit.
    env.box.faults.inject({ operation: 'commit', nth: 2, times: 3, action: { type: 'status', status: 429, retryAfterSeconds: 0 } });
    const execution = env.start(inputFor('waits.bin', folder.id), { waitTimeScale: 0.01 });
    const output = await execution.result;
    expect(await env.download(output.file.id)).toEqual({ sha1: put.sha1, size: SIZE });
    const waits = execution.events.filter((e) => e.type === 'commit-wait');
    // Then this env's two 202s.
    expect(waits.map((e) => e.type === 'commit-wait' && [e.reason, e.attempts])).toEqual([
      ['parts-mismatch', 1],
      ['throttled', 2],
      ['box-processing', 3],
      ['box-processing', 4],
    ]);
    expect(env.box.stats().requests.commit).toBe(7);
  });

  it('an object overwritten in S3 mid-transfer fails with Transfer.SourceChanged and the session is aborted', async () => {
    const folder = await env.box.createFolder('changed');
    await env.put('changing.bin', SIZE);
    const real = makeTaskHandlers(env.deps);
    let overwritten = false;
    const uploadBatch: TaskHandler = async (event, context) => {
      if (!overwritten) {
        overwritten = true;
        await env.s3.client.send(new PutObjectCommand({ Bucket: BUCKET, Key: 'changing.bin', Body: Buffer.alloc(SIZE, 7) }));
      }
      return real.UploadBatch(event, context);
    };
    const execution = env.start(inputFor('changing.bin', folder.id, { options: { partsPerBatch: 7 } }), { handlers: { UploadBatch: uploadBatch } });
    await expect(execution.result).rejects.toMatchObject({ name: 'Transfer.SourceChanged' });
    expect(env.box.listSessions().map((s) => s.status)).toEqual(['aborted']);
    expect(env.box.findFile(folder.id, 'changing.bin')).toBeUndefined();
  });
});
