// Deadlines of the network Lambdas (src/box/budget.ts, functions/task.ts): every Box request of an
// invocation is bounded by its Lambda's remaining time. A retry wait that would outlast it is not waited
// (the retryable error goes to the state machine), a request still in flight is cancelled
// deadlineFinishMarginMs before the timeout (Transfer.Deadline), and another invocation in the same
// process, sharing the client, is not affected. Clocks are synthetic (getRemainingTimeInMillis) and
// Box's answers are held far beyond them, so nothing here depends on how fast the machine is.
import { afterEach, describe, expect, it } from 'vitest';
import { startBoxEmulator, type BoxEmulator } from '../../local/box-emulator/index.ts';
import { makeTaskHandlers } from '../../functions/index.ts';
import { BoxClient, DeveloperTokenAuth } from '../../src/box/index.ts';
import { withRequestBudget } from '../../src/box/budget.ts';
import type { CommitProgress, PrepareResult, TransferInput } from '../../src/transfer/contract.ts';
import { silentLogger } from '../../src/transfer/logger.ts';
import { rejection } from '../support/rejection.ts';
import { lambdaContext, startTestS3, testBytes, type TestS3 } from '../transfer/helpers.ts';

const BUCKET = 'deadline-bucket';
const PART = 64 * 1024;
const HOUR_MS = 3_600_000;

let box: BoxEmulator | undefined;
let s3: TestS3 | undefined;
let client: BoxClient | undefined;
afterEach(async () => {
  await client?.close();
  await box?.close();
  await s3?.close();
  box = s3 = client = undefined;
});

async function setUp() {
  s3 = await startTestS3([BUCKET]);
  box = await startBoxEmulator({ partSize: PART, minChunkedFileSize: 100_000 });
  // The deployed client's retry settings (functions/deps.ts): Retry-After up to 30 s is waited for.
  client = new BoxClient({ auth: new DeveloperTokenAuth(box.token), apiUrl: box.url, uploadUrl: box.uploadUrl, retry: { maxRetryAfterMs: 30_000 } });
  const c = client;
  const handlers = makeTaskHandlers({ s3: s3.s3, box: async () => c, logger: silentLogger, settings: { directUploadMax: 100_000 } });
  return { box, s3, client, handlers };
}

/** A Lambda with `ms` left (the finish margin is 5 s: the budget is ms - 5000). */
const leaving = (ms: number) => lambdaContext(() => ms);

describe('the Box client inside a request budget', () => {
  it('does not wait for a Retry-After that outlasts the budget; waits for one that fits; other budgets are their own', async () => {
    const { box, client } = await setUp();
    const never = new AbortController();
    box.faults.inject({ operation: 'getFolder', nth: 1, action: { type: 'status', status: 429, retryAfterSeconds: 20 } });
    const tight = await rejection(withRequestBudget({ remainingMs: () => 10_000, signal: never.signal }, () => client.folders.getFolder('0')));
    expect(tight).toMatchObject({ name: 'Box.RateLimited', retryAfterSeconds: 20 });
    expect(box.stats().requests.getFolder).toBe(1);

    box.faults.inject({ operation: 'getFolder', nth: 1, action: { type: 'status', status: 429, retryAfterSeconds: 0 } });
    await expect(withRequestBudget({ remainingMs: () => 10_000, signal: never.signal }, () => client.folders.getFolder('0'))).resolves.toMatchObject({ id: '0' });
    expect(box.stats().requests.getFolder).toBe(3);

    // A spent budget starts nothing; a request of another context at the same moment goes through.
    const spent = AbortSignal.abort(new Error('spent'));
    const [refused, other] = await Promise.allSettled([
      withRequestBudget({ remainingMs: () => 0, signal: spent }, () => client.folders.getFolder('0')),
      withRequestBudget({ remainingMs: () => HOUR_MS, signal: never.signal }, () => client.folders.getFolder('0')),
    ]);
    expect(refused).toMatchObject({ status: 'rejected', reason: { name: 'Box.Aborted' } });
    expect(other).toMatchObject({ status: 'fulfilled', value: { id: '0' } });
    expect(box.stats().requests.getFolder).toBe(4);
  });
});

describe('Prepare, Commit, DirectUpload and AbortSession near their Lambda timeout', () => {
  async function prepared(key: string, size: number) {
    const env = await setUp();
    await env.s3.put(BUCKET, key, testBytes(size, 5));
    const folder = await env.box.createFolder(`f-${key}`);
    const input: TransferInput = { source: { bucket: BUCKET, key }, destination: { folderId: folder.id } };
    return { ...env, input, folder };
  }

  it('a 429 whose Retry-After outlasts the invocation fails at once with the retried Box.RateLimited (one request each; Commit waits it in the state machine)', async () => {
    const { box, handlers, input } = await prepared('big.bin', 3 * PART + 1);
    const ctx = leaving(60_000);
    box.faults.inject({ operation: 'createSession', nth: 1, action: { type: 'status', status: 429, retryAfterSeconds: 29 } });
    // 29 s fits the client's cap but not a Lambda with 30 s left (25 s of budget).
    expect(await rejection(handlers.Prepare(input, leaving(30_000)))).toMatchObject({ name: 'Box.RateLimited' });
    expect(box.stats().requests.createSession).toBe(1);

    const p = (await handlers.Prepare(input, ctx)) as PrepareResult;
    for (const batch of p.batches) await handlers.UploadBatch({ transfer: p.transfer, batch }, leaving(600_000));
    box.faults.inject({ operation: 'listParts', nth: 1, action: { type: 'status', status: 429, retryAfterSeconds: 29 } });
    const sha1 = (await import('node:crypto')).createHash('sha1').update(testBytes(3 * PART + 1, 5)).digest('base64');
    const before = box.stats().requests.listParts;
    // A 429 cannot have committed: Commit answers processing with Box's Retry-After (the Wait state waits),
    // and the next try, not a retry, commits without looking for a landed commit (no preflight check, no folder listing).
    const waited = await handlers.Commit({ transfer: p.transfer, sha1 }, leaving(30_000));
    expect(waited).toMatchObject({ status: 'processing', retryAfterSeconds: 29, attempts: 1 });
    expect(waited).not.toHaveProperty('answerLost');
    expect(box.stats().requests.listParts).toBe(before + 1);
    const looksBefore = { preflightCheck: box.stats().requests.preflightCheck, listFolderItems: box.stats().requests.listFolderItems };
    await expect(handlers.Commit({ transfer: p.transfer, sha1, commit: waited as CommitProgress, retryCount: 0 }, leaving(60_000))).resolves.toMatchObject({
      status: 'committed',
      attempts: 2,
    });
    expect({ preflightCheck: box.stats().requests.preflightCheck, listFolderItems: box.stats().requests.listFolderItems }).toEqual(looksBefore);

    box.faults.inject({ operation: 'abortSession', nth: 1, action: { type: 'status', status: 429, retryAfterSeconds: 29 } });
    const abortEvent = { transfer: p.transfer, error: { Error: 'X', Cause: 'y' } };
    expect(await rejection(handlers.AbortSession(abortEvent, leaving(30_000)))).toMatchObject({ name: 'Box.RateLimited' });
    expect(box.stats().requests.abortSession).toBe(1);
    await expect(handlers.AbortSession(abortEvent, ctx)).resolves.toEqual({ aborted: true });
  });

  it('DirectUpload: the same, and the retried upload is not sent twice', async () => {
    const { box, handlers, input } = await prepared('small.bin', 50_000);
    const p = (await handlers.Prepare(input, leaving(60_000))) as PrepareResult;
    box.faults.inject({ operation: 'uploadFile', nth: 1, action: { type: 'status', status: 429, retryAfterSeconds: 29 } });
    expect(await rejection(handlers.DirectUpload({ ...p, retryCount: 0 }, leaving(30_000)))).toMatchObject({ name: 'Box.RateLimited' });
    expect(box.stats().requests.uploadFile).toBe(1);
    await expect(handlers.DirectUpload({ ...p, retryCount: 1 }, leaving(60_000))).resolves.toMatchObject({ mode: 'direct', bytes: 50_000 });
    expect(box.stats().requests.uploadFile).toBe(2);
  });

  it('a request still in flight at deadlineFinishMarginMs before the timeout is cancelled: Transfer.Deadline (retried)', async () => {
    const { box, handlers, input } = await prepared('hang.bin', 3 * PART + 1);
    const p = (await handlers.Prepare(input, leaving(60_000))) as PrepareResult;
    // Box holds the answer for an hour; the Lambda has 8 s left, so the budget ends 3 s from now, and the
    // request must have reached Box by then (counted): it is cancelled in flight, not refused before it left.
    box.faults.inject({ operation: 'listParts', nth: 1, action: { type: 'latency', ms: HOUR_MS } });
    const listedBefore = box.stats().requests.listParts;
    const err = await rejection(handlers.Commit({ transfer: p.transfer, sha1: 'AAAAAAAAAAAAAAAAAAAAAAAAAAA=' }, leaving(8_000)));
    expect(err).toMatchObject({ name: 'Transfer.Deadline', message: expect.stringContaining('Commit') });
    expect(box.stats().requests.listParts).toBe(listedBefore + 1);
    box.faults.inject({ operation: 'abortSession', nth: 1, action: { type: 'latency', ms: HOUR_MS } });
    expect(await rejection(handlers.AbortSession({ transfer: p.transfer, error: { Error: 'X', Cause: 'y' } }, leaving(8_000)))).toMatchObject({
      name: 'Transfer.Deadline',
    });
    expect(box.stats().requests.abortSession).toBe(1);
    // With no time left at all, nothing is started.
    const listed = box.stats().requests.listParts;
    expect(await rejection(handlers.Commit({ transfer: p.transfer, sha1: 'AAAAAAAAAAAAAAAAAAAAAAAAAAA=' }, leaving(4_000)))).toMatchObject({ name: 'Transfer.Deadline' });
    expect(box.stats().requests.listParts).toBe(listed);
  });
});
