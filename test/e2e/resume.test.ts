// An outage longer than the retries, then a resume, through the whole local state machine: the first run
// fails with a resumable failure document and leaves the session open with the parts stored so far; the
// resumed run (the document's resumeInput, as is) sends only the missing parts into the same session and
// commits the exact bytes. The emulator's counters show that no stored part was sent again.
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { TransferExecutionError } from '../../local/runner/index.ts';
import type { Operation } from '../../local/box-emulator/index.ts';
import { PutObjectCommand } from '@aws-sdk/client-s3';
import { BUCKET, inputFor, startEnv, taskRuns } from './harness.ts';
import type { E2eEnv } from './harness.ts';

const PART = 64 * 1024;
const PARTS = 20;
const SIZE = PARTS * PART - 1234;
const STORED_BEFORE_OUTAGE = 8;
const PARTS_PER_BATCH = 5;

describe('resume after an outage', () => {
  let env: E2eEnv;
  let requests: { operation: Operation | undefined; status: number }[];
  beforeEach(async () => {
    requests = [];
    env = await startEnv({
      emulator: { partSize: PART, minChunkedFileSize: 100_000, onRequest: (r) => requests.push({ operation: r.operation, status: r.status }) },
      settings: { directUploadMax: 100_000 },
    });
  });
  afterEach(async () => {
    await env?.close();
  });

  it('M15 keeps the session through an outage, and the resumed run sends only the missing parts: byte-exact, same session', async () => {
    const folder = await env.box.createFolder('outage');
    const put = await env.put('exports/outage.bin', SIZE);
    // Box stores 8 parts, then answers every part upload 503 for longer than the client's and the state machine's retries.
    env.box.faults.inject({ operation: 'uploadPart', nth: STORED_BEFORE_OUTAGE + 1, times: 1_000_000, action: { type: 'status', status: 503, code: 'unavailable' } });
    const input = inputFor('exports/outage.bin', folder.id, { options: { concurrency: 4, partsPerBatch: PARTS_PER_BATCH } });
    const first = env.start(input);
    const error = (await first.result.catch((e: unknown) => e)) as TransferExecutionError;
    expect(error).toBeInstanceOf(TransferExecutionError);
    expect(error.name).toBe('Box.ServerError');
    expect(taskRuns(first.events)['AbortSession']).toBeUndefined();

    const [session] = env.box.listSessions();
    expect(env.box.listSessions()).toHaveLength(1);
    expect(session!.status).toBe('open');
    const stored = await env.client.chunkedUploads.getFileUploadSessionParts(session!.id);
    expect(stored.total_count).toBe(STORED_BEFORE_OUTAGE);
    expect(error.failure).toMatchObject({ resumable: true, resumeInput: { ...input, resume: { sessionId: session!.id, fileName: 'outage.bin' } } });

    // Invocations still running when the execution failed end as they would in AWS (the outage goes on
    // meanwhile); nothing new starts, and Box is done with every request they sent (a part they cancelled
    // after sending it whole would still be stored). Then Box is back: resume with the printed input, as is.
    await first.idle;
    await env.box.settled();
    expect(await env.client.chunkedUploads.getFileUploadSessionParts(session!.id)).toMatchObject({ total_count: STORED_BEFORE_OUTAGE });
    env.box.faults.clear();
    env.box.resetStats();
    requests.length = 0;
    const resumed = env.start(error.failure!.resumeInput!);
    const output = await resumed.result;
    expect(output).toMatchObject({ mode: 'chunked', parts: PARTS, bytes: SIZE, file: { name: 'outage.bin', parentId: folder.id } });
    expect(await env.download(output.file.id)).toEqual({ sha1: put.sha1, size: SIZE });

    // The same session, now committed; no other session was opened.
    expect(env.box.listSessions().map((s) => [s.id, s.status])).toEqual([[session!.id, 'committed']]);
    // No stored part was sent again: exactly the missing parts were uploaded, each accepted at once (no 416 overlap).
    const stats = env.box.stats().requests;
    expect(stats.uploadPart).toBe(PARTS - STORED_BEFORE_OUTAGE);
    expect(stats.createSession ?? 0).toBe(0);
    expect(stats.getSession).toBe(1);
    const partAnswers = requests.filter((r) => r.operation === 'uploadPart').map((r) => r.status);
    expect(partAnswers).toEqual(Array(PARTS - STORED_BEFORE_OUTAGE).fill(200));
    // The progress shows the stored parts as already uploaded. Which 8 parts were stored depends on how the
    // first run's concurrent batches interleaved: a batch Box holds in full is not run again, every other
    // batch runs once and reports its stored parts as already uploaded.
    const storedPerBatch = new Map<number, number>();
    for (const part of stored.entries) {
      const batch = Math.floor(part.offset / PART / PARTS_PER_BATCH);
      storedPerBatch.set(batch, (storedPerBatch.get(batch) ?? 0) + 1);
    }
    const complete = [...storedPerBatch.values()].filter((n) => n === PARTS_PER_BATCH).length;
    const done = resumed.events.filter((e) => e.type === 'batch-done');
    expect(done.reduce((n, e) => n + (e.type === 'batch-done' ? e.alreadyUploaded : 0), 0)).toBe(STORED_BEFORE_OUTAGE - complete * PARTS_PER_BATCH);
    expect(taskRuns(resumed.events)['UploadBatch']).toBe(PARTS / PARTS_PER_BATCH - complete);
  });

  it('without a pin, an object overwritten with the same size is caught at commit: Box.DigestMismatch, the session aborted, no file', async () => {
    const folder = await env.box.createFolder('changed');
    await env.put('exports/changed.bin', SIZE);
    env.box.faults.inject({ operation: 'uploadPart', nth: STORED_BEFORE_OUTAGE + 1, times: 1_000_000, action: { type: 'status', status: 503, code: 'unavailable' } });
    const input = inputFor('exports/changed.bin', folder.id, { options: { concurrency: 4, partsPerBatch: PARTS_PER_BATCH } });
    const first = env.start(input);
    const error = (await first.result.catch((e: unknown) => e)) as TransferExecutionError;
    expect(error.failure?.resumable).toBe(true);
    await first.idle;
    await env.box.settled();
    const [session] = env.box.listSessions();
    expect(session).toMatchObject({ status: 'open', partsUploaded: STORED_BEFORE_OUTAGE });

    // Overwritten meanwhile with other bytes of the same size; resumed by session id alone (no ETag pin),
    // as a hand-written input might: Prepare cannot tell, so the missing parts go up from the new bytes,
    // and Box's whole-file digest check at commit refuses the mix.
    await env.s3.client.send(new PutObjectCommand({ Bucket: BUCKET, Key: 'exports/changed.bin', Body: Buffer.alloc(SIZE, 7) }));
    env.box.faults.clear();
    const resumed = env.start({ ...input, resume: { sessionId: session!.id } });
    const refused = (await resumed.result.catch((e: unknown) => e)) as TransferExecutionError;
    expect(refused).toBeInstanceOf(TransferExecutionError);
    expect(refused).toMatchObject({ name: 'Box.DigestMismatch', failure: { resumable: false } });
    expect(refused.cause).toContain('digest');
    expect(taskRuns(resumed.events)['AbortSession']).toBe(1);
    expect(env.box.listSessions().map((s) => [s.id, s.status])).toEqual([[session!.id, 'aborted']]);
    expect(env.box.findFile(folder.id, 'changed.bin')).toBeUndefined();
  });
});
