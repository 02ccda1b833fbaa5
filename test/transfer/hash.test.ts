// The resumable SHA-1 against a real local S3 (s3rver): slices, deadline stops, resume.
import { createHash } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { makeHashObjectHandler } from '../../functions/hashObject.ts';
import { makePrepareHandler } from '../../functions/prepare.ts';
import type { BoxClientLike } from '../../src/transfer/boxPort.ts';
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
/** Of Box, Prepare's direct path only looks the destination folder up. */
const folderOnlyBox = { folders: { getFolder: async (id: string) => ({ type: 'folder', id, path_collection: { total_count: 0, entries: [] } }) } } as unknown as BoxClientLike;

beforeAll(async () => {
  s3 = await startTestS3([BUCKET]);
  await s3.put(BUCKET, 'dir/obj.bin', bytes);
  await s3.put(BUCKET, 'empty.bin', new Uint8Array(0));
  // Prepare pins the object (direct mode for this size; the source is what HashObject needs).
  const prepare = makePrepareHandler({ s3: s3.s3, box: async () => folderOnlyBox, logger: silentLogger });
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

/** The 64-byte block area of a saved state is cleared, and no 8 bytes of the object appear anywhere in it. */
function expectNoObjectBytes(state: string | undefined, object: Uint8Array): void {
  expect(state).toBeDefined();
  const raw = Buffer.from(state as string, 'base64');
  expect(raw.byteLength).toBe(96);
  expect(raw.subarray(32).every((b) => b === 0)).toBe(true);
  const haystack = Buffer.from(object.buffer, object.byteOffset, object.byteLength);
  for (let i = 0; i + 8 <= raw.byteLength; i++) {
    const window = raw.subarray(i, i + 8);
    if (window.every((b) => b === 0)) continue; // the cleared block, not object bytes
    expect(haystack.indexOf(window)).toBe(-1);
  }
}

describe('HashObject over s3rver', () => {
  it('hashes in slices across invocations with hash-wasm, saving states that hold no object bytes', async () => {
    const handler = makeHashObjectHandler({
      s3: s3.s3,
      logger: silentLogger,
      settings: { hashRangeBytes: 256 * 1024, hashRangesInFlight: 3, hashSliceBytes: 1024 * 1024 },
    });
    const { last, steps } = await hashAll(handler, transfer);
    expect(steps).toHaveLength(6);
    expect(steps.slice(0, 5).every((s) => !s.done && s.state !== undefined && s.engine === 'hash-wasm')).toBe(true);
    for (const step of steps.slice(0, 5)) expectNoObjectBytes(step.state, bytes);
    expect(steps.map((s) => s.offset)).toEqual([1, 2, 3, 4, 5].map((m) => m * 1024 * 1024).concat([SIZE]));
    expect(last).toMatchObject({ done: true, sha1: expected, via: 'computed', invocations: 6, offset: SIZE });
  });

  it('slices of odd sizes still stop on 64-byte blocks, and no saved state holds object bytes', async () => {
    const handler = makeHashObjectHandler({
      s3: s3.s3,
      logger: silentLogger,
      // Neither size is a multiple of 64: reads and slices are rounded down to whole blocks.
      settings: { hashRangeBytes: 100_003, hashRangesInFlight: 2, hashSliceBytes: 333_333 },
    });
    const { last, steps } = await hashAll(handler, transfer);
    expect(steps.length).toBeGreaterThan(10);
    for (const step of steps.slice(0, -1)) {
      expect(step.offset % 64).toBe(0);
      expectNoObjectBytes(step.state, bytes);
    }
    expect(last).toMatchObject({ done: true, sha1: expected, offset: SIZE });
  });

  it('hashes with node:crypto in one invocation when the object fits its deadline', async () => {
    const handler = makeHashObjectHandler({ s3: s3.s3, logger: silentLogger, settings: { hashRangeBytes: 1024 * 1024 } });
    const { last, steps } = await hashAll(handler, transfer);
    expect(steps).toHaveLength(1);
    expect(last).toMatchObject({ done: true, sha1: expected, engine: 'node:crypto', offset: SIZE, invocations: 1 });
    expect(last.state).toBeUndefined();
    expect(last.bytesPerSecond).toBeGreaterThan(0);
  });

  it('measures over a probe when the floor rate does not fit, then keeps the hasher the measured rate allows', async () => {
    const settings = { hashRangeBytes: 512 * 1024, hashRangesInFlight: 2, hashFloorBytesPerSecond: 1, hashProbeBytes: 1024 * 1024, hashSafetyMarginMs: 10_000 };
    const handler = makeHashObjectHandler({ s3: s3.s3, logger: silentLogger, settings });
    // Ten minutes left: the probe's rate fits easily, node:crypto finishes.
    const roomy = await hashAll(handler, transfer);
    expect(roomy.steps).toHaveLength(1);
    expect(roomy.last).toMatchObject({ done: true, sha1: expected, engine: 'node:crypto' });
    // 5 ms beyond the margin: nothing fits "well within", so hash-wasm goes on (and the clock never runs out;
    // the request budget, 5 s short of the Lambda's end, leaves the reads 5 s).
    const tight = await hashAll(handler, transfer, lambdaContext(() => 10_005));
    expect(tight.last).toMatchObject({ done: true, sha1: expected, engine: 'hash-wasm' });
  });

  it('a node:crypto pass that falls behind gives up at once; hash-wasm resumes with slices that stop before the deadline', async () => {
    const handler = makeHashObjectHandler({
      s3: s3.s3,
      logger: silentLogger,
      settings: { hashRangeBytes: 128 * 1024, hashRangesInFlight: 4, hashSafetyMarginMs: 13_000 },
    });
    // A fake clock: each look at the deadline costs 1 s of a 12 s budget per invocation (beyond the safety
    // margin; the request budget, 5 s short of the Lambda's end, always leaves the reads a few seconds).
    let calls = 0;
    const ctx = lambdaContext(() => 20_000 - 1000 * (calls++ % 12));
    const { last, steps } = await hashAll(handler, transfer, ctx);
    // The first invocation chose node:crypto (5 MiB at the 10 MiB/s floor fits), then its projection failed.
    expect(steps[0]).toMatchObject({ offset: 0, done: false, engine: 'node:crypto', wasmOnly: true });
    expect(steps[0]!.state).toBeUndefined();
    const wasm = steps.slice(1, -1);
    expect(wasm.length).toBeGreaterThan(1);
    for (const step of wasm) {
      expect(step).toMatchObject({ engine: 'hash-wasm', wasmOnly: true, done: false });
      expect(step.offset % (128 * 1024)).toBe(0);
      expectNoObjectBytes(step.state, bytes);
    }
    expect(wasm[0]!.offset).toBeGreaterThan(0);
    expect(last).toMatchObject({ done: true, sha1: expected, offset: SIZE, engine: 'hash-wasm' });
  });

  it('makes progress even when the deadline is already inside the safety margin', async () => {
    const handler = makeHashObjectHandler({
      s3: s3.s3,
      logger: silentLogger,
      settings: { hashRangeBytes: 2 * 1024 * 1024, hashRangesInFlight: 2, hashSafetyMarginMs: 30_000 },
    });
    // 20 s left: inside the hash's 30 s margin, outside the request budget's 5 s (none of the reads is cut).
    const { last, steps } = await hashAll(handler, transfer, lambdaContext(() => 20_000));
    expect(steps.map((s) => s.offset)).toEqual([2 * 1024 * 1024, 4 * 1024 * 1024, SIZE]);
    expect(steps.map((s) => s.engine)).toEqual(['hash-wasm', 'hash-wasm', 'hash-wasm']);
    expect(last.sha1).toBe(expected);
  });

  it('hashes an empty object without reading it', async () => {
    const handler = makeHashObjectHandler({ s3: s3.s3, logger: silentLogger });
    const empty = { ...transfer, source: { ...transfer.source, key: 'empty.bin', size: 0 } };
    const r = (await handler({ transfer: empty }, lambdaContext())) as HashProgress;
    expect(r).toMatchObject({ done: true, offset: 0, sha1: createHash('sha1').digest('base64') });
  });

  it('a source overwritten after Prepare fails with Transfer.SourceChanged', async () => {
    await s3.put(BUCKET, 'changing.bin', testBytes(300_000, 1));
    const prepare = makePrepareHandler({ s3: s3.s3, box: async () => folderOnlyBox, logger: silentLogger });
    const r = (await prepare({ source: { bucket: BUCKET, key: 'changing.bin' }, destination: { folderId: '0' } }, lambdaContext())) as PrepareResult;
    await s3.put(BUCKET, 'changing.bin', testBytes(300_000, 2));
    const handler = makeHashObjectHandler({ s3: s3.s3, logger: silentLogger });
    await expect(handler({ transfer: r.transfer }, lambdaContext())).rejects.toMatchObject({ name: 'Transfer.SourceChanged' });
  });
});
