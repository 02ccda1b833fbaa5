// The whole-file SHA-1 with node:crypto on a worker thread fed through a shared ring (src/transfer/hash-worker.ts),
// and hashSlice's large ranged reads looked at every step: the digest over real s3rver for sizes around the
// ring's, the steps' and the ranges' edges, on the worker and on the calling thread; a worker that fails is a
// named error; a deadline in the middle of a range saves a state that resumes exactly.
import { createHash } from 'node:crypto';
import { availableParallelism } from 'node:os';
import type { S3Client } from '@aws-sdk/client-s3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { HashProgress, SourceObject } from '../../src/transfer/contract.ts';
import { hashSlice, lambdaVcpus, sha1OnWorker } from '../../src/transfer/hash.ts';
import type { HashSettings } from '../../src/transfer/hash.ts';
import { inThreadSha1, workerSha1 } from '../../src/transfer/hash-worker.ts';
import type { Sha1Sink } from '../../src/transfer/hash-worker.ts';
import { pinSource } from '../../src/transfer/s3source.ts';
import { startTestS3, testBytes } from './helpers.ts';
import type { TestS3 } from './helpers.ts';

const KiB = 1024;
const RING = 64 * KiB;
const sha1 = (b: Uint8Array): string => createHash('sha1').update(b).digest('base64');

/** Hands `bytes` to the sink in chunks of the given sizes (repeated), waiting when it asks to. */
async function feed(sink: Sha1Sink, bytes: Uint8Array, sizes: number[]): Promise<string> {
  let at = 0;
  for (let i = 0; at < bytes.byteLength; i++) {
    const n = Math.min(sizes[i % sizes.length] as number, bytes.byteLength - at);
    const taken = sink.update(Buffer.from(bytes.buffer, bytes.byteOffset + at, n));
    if (taken !== undefined) await taken;
    at += n;
  }
  return sink.digest();
}

describe('SHA-1 beside the reads: the worker ring and the calling thread', () => {
  // Around the ring's edges (64 KiB), in odd chunks and in chunks larger than the ring.
  const sizes = [0, 1, 63, 64, 65, RING - 1, RING, RING + 1, 2 * RING + 7, 5 * RING - 3];
  for (const [name, sink] of [
    ['worker thread', () => workerSha1(RING)],
    ['calling thread', () => inThreadSha1()],
  ] as const) {
    it(`${name}: the exact SHA-1 for sizes around the ring's edges, in odd chunks and in chunks larger than the ring`, async () => {
      for (const size of sizes) {
        const bytes = testBytes(size, size + 1);
        expect(await feed(sink(), bytes, [1, 63, 4097, 65, 1000, 7, 129])).toBe(sha1(bytes));
        expect(await feed(sink(), bytes, [3 * RING + 5, 64])).toBe(sha1(bytes));
      }
    });
  }

  it('chunks handed over while an earlier one still waits for room in the ring go after it, in order (a body may end before its last chunk is copied)', async () => {
    const bytes = testBytes(5 * RING + 11, 9);
    const sink = workerSha1(RING);
    // Not awaited: a chunk larger than the ring, then small ones, then the digest.
    const pieces = [3 * RING + 5, 7, RING, 64, bytes.byteLength - (4 * RING + 76)];
    let at = 0;
    const taken: Array<Promise<void> | undefined> = [];
    for (const n of pieces) {
      taken.push(sink.update(Buffer.from(bytes.subarray(at, at + n))));
      at += n;
    }
    expect(at).toBe(bytes.byteLength);
    expect(taken[0]).toBeInstanceOf(Promise);
    expect(await sink.digest()).toBe(sha1(bytes));
  });

  it('a worker that cannot start fails with Transfer.HashWorkerFailed', async () => {
    const sink = workerSha1(RING, { workerSource: "throw new Error('no worker today')" });
    const bytes = testBytes(10 * RING, 3);
    const err = await feed(sink, bytes, [RING]).catch((e: unknown) => e);
    expect(err).toMatchObject({ name: 'Transfer.HashWorkerFailed' });
    expect((err as Error).message).toMatch(/SHA-1 worker thread failed: no worker today/);
  });

  it('a worker that exits while the reads wait for room in the ring fails them with Transfer.HashWorkerFailed', async () => {
    // Never reads the ring, then exits: the ring fills, the next update waits, and the exit ends the wait.
    const sink = workerSha1(RING, { workerSource: 'setTimeout(() => process.exit(3), 50)' });
    const full = sink.update(Buffer.alloc(RING));
    expect(full).toBeUndefined();
    const waiting = sink.update(Buffer.alloc(RING));
    expect(waiting).toBeInstanceOf(Promise);
    await expect(waiting).rejects.toMatchObject({ name: 'Transfer.HashWorkerFailed', message: expect.stringMatching(/exited \(code 3\)/) });
    await expect(sink.digest()).rejects.toMatchObject({ name: 'Transfer.HashWorkerFailed' });
  });

  it('hashes on a worker thread in a Lambda function with a second vCPU (one per 1,769 MB), else on the reading thread, unless the settings say', () => {
    const machine = availableParallelism();
    expect(lambdaVcpus({})).toBeUndefined();
    expect(lambdaVcpus({ AWS_LAMBDA_FUNCTION_MEMORY_SIZE: '1769' })).toBe(1);
    expect(lambdaVcpus({ AWS_LAMBDA_FUNCTION_MEMORY_SIZE: '512' })).toBe(1);
    expect(lambdaVcpus({ AWS_LAMBDA_FUNCTION_MEMORY_SIZE: '3538' })).toBe(Math.min(2, machine));
    expect(lambdaVcpus({ AWS_LAMBDA_FUNCTION_MEMORY_SIZE: '10240' })).toBe(Math.min(5, machine));
    expect(sha1OnWorker({}, {})).toBe(false);
    expect(sha1OnWorker({}, { AWS_LAMBDA_FUNCTION_MEMORY_SIZE: '1769' })).toBe(false);
    expect(sha1OnWorker({}, { AWS_LAMBDA_FUNCTION_MEMORY_SIZE: '3538' })).toBe(machine > 1);
    expect(sha1OnWorker({ hashOnWorker: true }, {})).toBe(true);
    expect(sha1OnWorker({ hashOnWorker: false }, { AWS_LAMBDA_FUNCTION_MEMORY_SIZE: '3538' })).toBe(false);
  });
});

describe('hashSlice with large ranged reads over s3rver', () => {
  const BUCKET = 'hash-worker';
  const RANGE = 256 * KiB;
  const STEP = 64 * KiB;
  let s3: TestS3;
  /** GetObject requests sent through the client, by Range. */
  const gets: string[] = [];
  beforeAll(async () => {
    s3 = await startTestS3([BUCKET]);
    s3.s3.middlewareStack.add(
      (next, context) => (args) => {
        if ((context as { commandName?: string }).commandName === 'GetObjectCommand') gets.push(String((args.input as { Range?: string }).Range));
        return next(args);
      },
      { step: 'initialize', name: 'countHashGets' },
    );
  });
  afterAll(async () => {
    await s3?.close();
  });

  async function put(size: number): Promise<{ source: SourceObject; bytes: Uint8Array }> {
    const bytes = testBytes(size, size);
    const key = `obj-${size}.bin`;
    await s3.put(BUCKET, key, bytes);
    const source = await pinSource(s3.s3 as S3Client, { bucket: BUCKET, key });
    return { source, bytes };
  }
  const settings = (over: Partial<HashSettings>): HashSettings => ({
    hashRangeBytes: RANGE,
    hashRangesInFlight: 2,
    hashStepBytes: STEP,
    hashRingBytes: RING,
    hashSliceBytes: undefined,
    hashSafetyMarginMs: 1000,
    hashFloorBytesPerSecond: 1024 ** 3,
    hashProbeBytes: 128 * KiB,
    ...over,
  });

  for (const onWorker of [true, false]) {
    it(`node:crypto ${onWorker ? 'on the worker thread' : 'on the calling thread'}: the exact SHA-1 around ranges, steps and blocks, one GET per range, progress every step`, async () => {
      for (const size of [1, STEP - 1, STEP + 1, RANGE, RANGE + 63, RANGE + 64, 2 * RANGE + STEP + 5]) {
        const { source, bytes } = await put(size);
        gets.length = 0;
        const offsets: number[] = [];
        const done = await hashSlice(s3.s3, source, undefined, {
          settings: settings({ hashOnWorker: onWorker }),
          remainingMs: () => 600_000,
          onProgress: (e) => {
            if (e.type === 'hashed') offsets.push(e.offset);
          },
        });
        expect(done).toMatchObject({ done: true, offset: size, engine: 'node:crypto', sha1: sha1(bytes) });
        expect(gets).toEqual(Array.from({ length: Math.ceil(size / RANGE) }, (_, i) => `bytes=${i * RANGE}-${Math.min(size, (i + 1) * RANGE) - 1}`));
        expect(offsets.at(-1)).toBe(size);
        // One look per step, on the step's edge (socket chunks are split there).
        expect(offsets).toEqual(Array.from({ length: Math.ceil(size / STEP) }, (_, i) => Math.min(size, (i + 1) * STEP)));
      }
    });
  }

  it('a deadline in the middle of a range stops at the step, saves a state on a block boundary that holds no object bytes, and the next invocation finishes exactly', async () => {
    const size = 3 * RANGE + 17;
    const { source, bytes } = await put(size);
    // The floor rate never fits, and the probe never ends: hash-wasm (with node:crypto beside it) until the deadline.
    const slow = settings({ hashFloorBytesPerSecond: 1, hashProbeBytes: 10 * RANGE, hashOnWorker: true });
    let looks = 0;
    // Past the margin after a few looks: inside the first range.
    const first = await hashSlice(s3.s3, source, undefined, { settings: slow, remainingMs: () => (++looks > 3 ? 500 : 600_000) });
    expect(first).toMatchObject({ done: false, engine: 'hash-wasm' });
    expect(first.offset).toBeGreaterThan(0);
    expect(first.offset).toBeLessThan(RANGE);
    expect(first.offset % STEP).toBe(0);
    const state = Buffer.from(first.state as string, 'base64');
    expect(state.subarray(32).every((b) => b === 0)).toBe(true);
    let progress: HashProgress = first;
    const offsets = [first.offset];
    while (!progress.done && offsets.length < 50) {
      gets.length = 0;
      progress = await hashSlice(s3.s3, source, progress, { settings: slow, remainingMs: () => 600_000 });
      offsets.push(progress.offset);
      // Resumed exactly where the state ends.
      expect(gets[0]).toBe(`bytes=${offsets.at(-2)}-${Math.min(size, (offsets.at(-2) as number) + RANGE) - 1}`);
    }
    expect(progress).toMatchObject({ done: true, offset: size, sha1: sha1(bytes), engine: 'hash-wasm', invocations: 2 });
  });
});
