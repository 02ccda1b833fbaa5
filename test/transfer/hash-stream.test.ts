// hashSlice hashes each ranged GET's socket chunks as they arrive. The chunks an S3 connection hands over
// have any sizes, so these tests drive it with an S3 whose bodies come in odd chunks (a stand-in for
// the SDK's send: the bodies are real streams, the chunk sizes chosen), to check the digest, the
// 64-byte blocks a saved hash-wasm state needs, the ranges read ahead at once into bounded buffers, and a
// read ahead that fails (which ends the slice at once, cancelling the head).
// The last tests cut a range in the middle of its body, as the invocation's request budget does.
import { createHash } from 'node:crypto';
import { Readable } from 'node:stream';
import type { S3Client } from '@aws-sdk/client-s3';
import { describe, expect, it } from 'vitest';
import type { HashProgress, SourceObject } from '../../src/transfer/contract.ts';
import { withRequestBudget } from '../../src/box/budget.ts';
import { hashSlice } from '../../src/transfer/hash.ts';
import type { HashReadEvent, HashSettings } from '../../src/transfer/hash.ts';
import { spendableBudget } from '../support/spendable-budget.ts';
import { testBytes } from './helpers.ts';

const SIZE = 300_007;
const object = Buffer.from(testBytes(SIZE, 11));
const expected = createHash('sha1').update(object).digest('base64');
const source: SourceObject = { bucket: 'b', key: 'k', etag: '"e"', size: SIZE, lastModified: new Date(0).toISOString() };
/** Chunk sizes that are never whole 64-byte blocks, repeated. */
const ODD = [1, 63, 65, 1000, 4097, 7, 129];

interface FakeS3 {
  client: S3Client;
  /** Ranges asked for, in order. */
  ranges: string[];
  /** Body bytes handed to the reader so far, per range. */
  consumed: Map<string, number>;
  /** Told after each chunk a body hands over. */
  onConsumed?: () => void;
  /** Every body handed out, in order. */
  bodies: Readable[];
}

function fakeS3(
  opts: { failRange?: string; chunkSizes?: number[]; stall?: { range: string; bytes: number; then: () => void }; holdUntil?: { range: string; until: Promise<void> } } = {},
): FakeS3 {
  const ranges: string[] = [];
  const consumed = new Map<string, number>();
  const bodies: Readable[] = [];
  const fake: FakeS3 = { client: undefined as unknown as S3Client, ranges, consumed, bodies };
  const sizes = opts.chunkSizes ?? ODD;
  let stalled = false;
  const send = async (command: { input: { Range?: string } }, options?: { abortSignal?: AbortSignal }): Promise<unknown> => {
    const range = command.input.Range as string;
    ranges.push(range);
    const stall = opts.stall !== undefined && !stalled && range === opts.stall.range ? opts.stall : undefined;
    if (stall !== undefined) stalled = true;
    const [from, to] = (/bytes=(\d+)-(\d+)/.exec(range) ?? []).slice(1).map(Number) as [number, number];
    if (range === opts.failRange) {
      // A connection reset while the answer waits to be read.
      const body = new Readable({ read() {} });
      setImmediate(() => body.destroy(Object.assign(new Error('socket hang up'), { code: 'ECONNRESET' })));
      bodies.push(body);
      return { Body: body, ETag: source.etag, ContentRange: `bytes ${from}-${to}/${SIZE}` };
    }
    let at = from;
    let i = 0;
    // A held body hands over nothing until `until` settles (then what was asked for meanwhile).
    let held = opts.holdUntil !== undefined && range === opts.holdUntil.range;
    let asked = false;
    if (held) {
      void opts.holdUntil?.until.then(() => {
        held = false;
        if (asked) body._read(0);
      });
    }
    const body = new Readable({
      read() {
        if (held) return void (asked = true);
        if (stall !== undefined && at - from >= stall.bytes) {
          // Asked for more once the first bytes were taken: stall, and spend the budget.
          stall.then();
          return;
        }
        if (at > to) return void this.push(null);
        const n = Math.min(stall?.bytes ?? (sizes[i++ % sizes.length] as number), to + 1 - at);
        consumed.set(range, (consumed.get(range) ?? 0) + n);
        this.push(object.subarray(at, at + n));
        at += n;
        fake.onConsumed?.();
      },
    });
    // As the SDK does: an aborted request destroys its body.
    options?.abortSignal?.addEventListener('abort', () => body.destroy(Object.assign(new Error('aborted'), { name: 'AbortError' })), { once: true });
    bodies.push(body);
    return { Body: body, ETag: source.etag, ContentRange: `bytes ${from}-${to}/${SIZE}` };
  };
  fake.client = { send } as unknown as S3Client;
  return fake;
}

const settings = (over: Partial<HashSettings> = {}): HashSettings => ({
  hashRangeBytes: 64 * 1024,
  hashRangesInFlight: 3,
  hashSliceBytes: undefined,
  hashSafetyMarginMs: 1000,
  hashFloorBytesPerSecond: 1,
  hashProbeBytes: 128 * 1024,
  ...over,
});

describe('hashSlice over chunks of any size', () => {
  it('hashes the whole object with node:crypto from odd chunks', async () => {
    const s3 = fakeS3();
    const done = await hashSlice(s3.client, source, undefined, { settings: settings({ hashFloorBytesPerSecond: 1024 ** 3 }), remainingMs: () => 600_000 });
    expect(done).toMatchObject({ done: true, sha1: expected, engine: 'node:crypto', offset: SIZE });
    expect(s3.ranges).toEqual([0, 1, 2, 3, 4].map((i) => `bytes=${i * 65536}-${Math.min(SIZE, (i + 1) * 65536) - 1}`));
  });

  it('resumable slices over odd chunks save their states on 64-byte blocks, holding no object bytes, and give the right digest', async () => {
    const s3 = fakeS3();
    // Slices of 100,000 bytes (cut to 99,968, a whole number of blocks) that do not fall on chunk edges.
    let progress: HashProgress | undefined;
    const offsets: number[] = [];
    do {
      progress = await hashSlice(s3.client, source, progress, { settings: settings({ hashSliceBytes: 100_000, hashRangeBytes: 30_000 }), remainingMs: () => 600_000 });
      offsets.push(progress.offset);
      if (!progress.done) {
        expect(progress.offset % 64).toBe(0);
        expect(progress.engine).toBe('hash-wasm');
        // The saved block buffer is cleared (no object bytes): only possible when nothing is carried.
        expect(Buffer.from(progress.state as string, 'base64').subarray(32).every((b) => b === 0)).toBe(true);
      }
    } while (!progress.done && offsets.length < 10);
    expect(offsets).toEqual([99_968, 199_936, 299_904, SIZE]);
    expect(progress).toMatchObject({ done: true, sha1: expected, engine: 'hash-wasm', invocations: 4 });
  });

  it('reads the ranges ahead at once into at most k - 1 buffers while the head waits, and hashes them in order', async () => {
    // The head's body hands over nothing until every range ahead of it was read whole.
    let releaseHead = (): void => {};
    const headHeld = new Promise<void>((resolve) => (releaseHead = resolve));
    const s3 = fakeS3({ chunkSizes: [4096], holdUntil: { range: 'bytes=0-65535', until: headHeld } });
    const aheadRead = (): boolean => [1, 2].every((i) => s3.consumed.get(`bytes=${i * 65536}-${(i + 1) * 65536 - 1}`) === 65536);
    s3.onConsumed = () => {
      if (aheadRead()) releaseHead();
    };
    const reads: HashReadEvent[] = [];
    const done = await hashSlice(s3.client, source, undefined, {
      settings: settings({ hashFloorBytesPerSecond: 1024 ** 3 }),
      remainingMs: () => 600_000,
      onRead: (e) => reads.push(e),
    });
    // Finishing at all proves the ranges ahead were read whole while the head was held (it is released only then).
    expect(done).toMatchObject({ done: true, sha1: expected, offset: SIZE });
    expect(s3.ranges).toEqual([0, 1, 2, 3, 4].map((i) => `bytes=${i * 65536}-${Math.min(SIZE, (i + 1) * 65536) - 1}`));
    // The held head leaves the thread idle: the reader opens more ranges (it starts with one) up to three
    // (hashRangesInFlight), and the two ahead of the head fill two reused buffers of one range each. This is
    // the one test on the deployed signal (the event loop's utilization): it asserts no timing, only that a
    // thread with nothing to do but wait sees an idle window at some point (else it never finishes).
    expect(reads.map((r) => r.inFlight).slice(0, 3)).toEqual([1, 2, 3]);
    expect(Math.max(...reads.map((r) => r.inFlight))).toBe(3);
    expect(Math.max(...reads.map((r) => r.buffers))).toBe(2);
    expect(new Set(reads.map((r) => r.bufferBytes))).toEqual(new Set([65536]));
  });

  it('ranges of odd sizes, one range in flight or many, give the same digest', async () => {
    for (const [rangeBytes, inFlight] of [[30_000, 1], [30_000, 5], [1000, 8], [SIZE * 2, 8]] as const) {
      const s3 = fakeS3();
      const reads: HashReadEvent[] = [];
      // All k from the start: this fake S3 answers at once, so the adaptive reader alone would stay at one.
      const done = await hashSlice(s3.client, source, undefined, {
        settings: settings({ hashRangeBytes: rangeBytes, hashRangesInFlight: inFlight, hashRangesAtStart: inFlight, hashFloorBytesPerSecond: 1024 ** 3 }),
        remainingMs: () => 600_000,
        onRead: (e) => reads.push(e),
      });
      expect(done, `${rangeBytes} x ${inFlight}`).toMatchObject({ done: true, sha1: expected, offset: SIZE });
      // Whole 64-byte blocks per range, end to end, the last one short.
      const size = Math.min(rangeBytes - (rangeBytes % 64), SIZE);
      expect(reads.map((r) => r.offset)).toEqual(Array.from({ length: Math.ceil(SIZE / size) }, (_, i) => i * size));
      expect(Math.max(...reads.map((r) => r.inFlight))).toBe(Math.min(inFlight, reads.length));
      expect(Math.max(...reads.map((r) => r.buffers))).toBeLessThanOrEqual(inFlight - 1);
    }
  });

  it('a read ahead whose connection fails while it waits fails the slice with a named error, nothing unhandled', async () => {
    const s3 = fakeS3({ failRange: `bytes=${2 * 65536}-${3 * 65536 - 1}` });
    await expect(hashSlice(s3.client, source, undefined, { settings: settings({ hashFloorBytesPerSecond: 1024 ** 3 }), remainingMs: () => 600_000 })).rejects.toMatchObject({
      name: 'Transfer.S3Throttled',
    });
  });

  it('a read ahead that fails ends the slice at once: the head, still waiting for its body, is cancelled', async () => {
    // The head never answers on its own: only the failure ahead can end the slice.
    const s3 = fakeS3({ failRange: `bytes=${2 * 65536}-${3 * 65536 - 1}`, holdUntil: { range: 'bytes=0-65535', until: new Promise<void>(() => {}) } });
    await expect(hashSlice(s3.client, source, undefined, { settings: settings({ hashFloorBytesPerSecond: 1024 ** 3 }), remainingMs: () => 600_000 })).rejects.toMatchObject({
      name: 'Transfer.S3Throttled',
      message: expect.stringMatching(/ECONNRESET|socket hang up|S3 throttled/),
    });
    // Every body was ended (destroyed by the cancel, or read whole) before hashSlice returned.
    expect(s3.bodies.length).toBe(3);
    for (const body of s3.bodies) expect(body.destroyed).toBe(true);
  });
});

describe('hashSlice cut by the request budget in the middle of a range', () => {
  it('hash-wasm keeps the whole blocks it took before the cut, and the next invocation finishes with the right digest', async () => {
    const budget = spendableBudget();
    // The first range's body hands over 1,000 bytes, then stalls; the budget is spent once they were taken.
    const s3 = fakeS3({ stall: { range: 'bytes=0-65535', bytes: 1000, then: () => budget.spend() } });
    const sliceSettings = settings({ hashSliceBytes: 200_000 });
    const first = await withRequestBudget(budget, () => hashSlice(s3.client, source, undefined, { settings: sliceSettings, remainingMs: () => 600_000 }));
    // 15 whole blocks (960 bytes) went into the state, the 40 bytes after them did not.
    expect(first).toMatchObject({ done: false, offset: 960, engine: 'hash-wasm', invocations: 1 });
    expect(Buffer.from(first.state as string, 'base64').subarray(32).every((b) => b === 0)).toBe(true);
    let progress: HashProgress = first;
    while (!progress.done) progress = await hashSlice(s3.client, source, progress, { settings: sliceSettings, remainingMs: () => 600_000 });
    expect(progress).toMatchObject({ done: true, sha1: expected, offset: SIZE });
  });

  it('a cut before hash-wasm took a whole block is Transfer.Deadline, as before', async () => {
    const budget = spendableBudget();
    const s3 = fakeS3({ stall: { range: 'bytes=0-65535', bytes: 63, then: () => budget.spend() } });
    await expect(
      withRequestBudget(budget, () => hashSlice(s3.client, source, undefined, { settings: settings({ hashSliceBytes: 200_000 }), remainingMs: () => 600_000 })),
    ).rejects.toMatchObject({ name: 'Transfer.Deadline' });
  });
});
