// The resumable SHA-1 against a real local S3 (s3rver): slices, deadline stops, resume.
import { createHash } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { makeHashObjectHandler } from '../../functions/hashObject.ts';
import { makePrepareHandler } from '../../functions/prepare.ts';
import type { HashProgress, PrepareResult, TransferContext } from '../../src/transfer/contract.ts';
import { silentLogger } from '../../src/transfer/logger.ts';
import { lambdaContext, startTestS3, testBytes } from './helpers.ts';
import type { TestS3 } from './helpers.ts';

const BUCKET = 'hash-bucket';
const SIZE = 5 * 1024 * 1024 + 123;
const bytes = testBytes(SIZE, 7);
const expected = createHash('sha1').update(bytes).digest('base64');
let s3: TestS3;
let transfer: TransferContext;

beforeAll(async () => {
  s3 = await startTestS3([BUCKET]);
  await s3.put(BUCKET, 'dir/obj.bin', bytes);
  await s3.put(BUCKET, 'empty.bin', new Uint8Array(0));
  // Prepare pins the object (direct mode for this size; the source is what HashObject needs).
  const prepare = makePrepareHandler({ s3: s3.s3, box: () => Promise.reject(new Error('no Box here')), logger: silentLogger });
  const r = (await prepare({ source: { bucket: BUCKET, key: 'dir/obj.bin' }, destination: { folderId: '0' } }, lambdaContext())) as PrepareResult;
  transfer = r.transfer;
  expect(transfer.source).toMatchObject({ bucket: BUCKET, key: 'dir/obj.bin', size: SIZE });
  expect(transfer.destination.fileName).toBe('obj.bin');
});
afterAll(async () => {
  await s3?.close();
});

async function hashAll(handler: ReturnType<typeof makeHashObjectHandler>, t: TransferContext, ctx = lambdaContext()): Promise<{ last: HashProgress; steps: HashProgress[] }> {
  const steps: HashProgress[] = [];
  let hash: HashProgress | undefined;
  do {
    hash = (await handler({ transfer: t, ...(hash ? { hash } : {}) }, ctx)) as HashProgress;
    steps.push(hash);
    // The state the state machine carries stays tiny.
    expect(JSON.stringify(hash).length).toBeLessThan(400);
  } while (!hash.done && steps.length < 100);
  return { last: hash, steps };
}

describe('HashObject over s3rver', () => {
  it('hashes in slices across invocations and matches the SHA-1 of the bytes', async () => {
    const handler = makeHashObjectHandler({
      s3: s3.s3,
      box: () => Promise.reject(new Error('unused')),
      logger: silentLogger,
      settings: { hashChunkBytes: 256 * 1024, hashReadAhead: 3, hashSliceBytes: 1024 * 1024 },
    });
    const { last, steps } = await hashAll(handler, transfer);
    expect(steps).toHaveLength(6);
    expect(steps.slice(0, 5).every((s) => !s.done && s.state !== undefined)).toBe(true);
    expect(steps.map((s) => s.offset)).toEqual([1, 2, 3, 4, 5].map((m) => m * 1024 * 1024).concat([SIZE]));
    expect(last).toMatchObject({ done: true, sha1: expected, via: 'computed', invocations: 6, offset: SIZE });
  });

  it('stops before the deadline margin and resumes where it stopped', async () => {
    const handler = makeHashObjectHandler({
      s3: s3.s3,
      box: () => Promise.reject(new Error('unused')),
      logger: silentLogger,
      settings: { hashChunkBytes: 128 * 1024, hashReadAhead: 4, hashSafetyMarginMs: 5_000 },
    });
    // A fake clock: each look at the deadline costs 1 s of a 12 s budget per invocation.
    let calls = 0;
    const ctx = lambdaContext(() => 12_000 - 1000 * (calls++ % 12));
    const { last, steps } = await hashAll(handler, transfer, ctx);
    expect(steps.length).toBeGreaterThan(2);
    expect(steps[0]!.offset).toBeGreaterThan(0);
    expect(steps[0]!.offset).toBeLessThan(SIZE);
    expect(steps[0]!.offset % (128 * 1024)).toBe(0);
    expect(last).toMatchObject({ done: true, sha1: expected, offset: SIZE });
  });

  it('makes progress even when the deadline is already inside the margin', async () => {
    const handler = makeHashObjectHandler({
      s3: s3.s3,
      box: () => Promise.reject(new Error('unused')),
      logger: silentLogger,
      settings: { hashChunkBytes: 2 * 1024 * 1024, hashReadAhead: 2, hashSafetyMarginMs: 30_000 },
    });
    const { last, steps } = await hashAll(handler, transfer, lambdaContext(() => 1_000));
    expect(steps.map((s) => s.offset)).toEqual([2 * 1024 * 1024, 4 * 1024 * 1024, SIZE]);
    expect(last.sha1).toBe(expected);
  });

  it('hashes an empty object without reading it', async () => {
    const handler = makeHashObjectHandler({ s3: s3.s3, box: () => Promise.reject(new Error('unused')), logger: silentLogger });
    const empty = { ...transfer, source: { ...transfer.source, key: 'empty.bin', size: 0 } };
    const r = (await handler({ transfer: empty }, lambdaContext())) as HashProgress;
    expect(r).toMatchObject({ done: true, offset: 0, sha1: createHash('sha1').digest('base64') });
  });

  it('a source overwritten after Prepare fails with Transfer.SourceChanged', async () => {
    await s3.put(BUCKET, 'changing.bin', testBytes(300_000, 1));
    const prepare = makePrepareHandler({ s3: s3.s3, box: () => Promise.reject(new Error('unused')), logger: silentLogger });
    const r = (await prepare({ source: { bucket: BUCKET, key: 'changing.bin' }, destination: { folderId: '0' } }, lambdaContext())) as PrepareResult;
    await s3.put(BUCKET, 'changing.bin', testBytes(300_000, 2));
    const handler = makeHashObjectHandler({ s3: s3.s3, box: () => Promise.reject(new Error('unused')), logger: silentLogger });
    await expect(handler({ transfer: r.transfer }, lambdaContext())).rejects.toMatchObject({ name: 'Transfer.SourceChanged' });
  });
});
