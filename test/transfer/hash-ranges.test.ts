// The whole-file hash's concurrent ranged reads against a real local S3 (s3rver), through the fault proxy
// where S3 must fail or hold a range: k ranged GETs in flight and being read at once, the ones ahead of the
// hash in at most k - 1 buffers, hashed strictly in order; byte-exact across slices and deadline stops; a
// range ahead that fails ends the invocation at once and cancels the reads still in flight; a transient S3
// failure after some bytes were hashed saves hash-wasm's whole blocks (done: false) instead of losing them.
import { createHash } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { HashProgress, SourceObject } from '../../src/transfer/contract.ts';
import { hashSlice } from '../../src/transfer/hash.ts';
import type { HashReadEvent, HashSettings } from '../../src/transfer/hash.ts';
import { pinSource } from '../../src/transfer/s3source.ts';
import { startConnectionShaper } from '../../bench/hash-shaper.ts';
import { localS3Client } from '../../local/runner/local-s3-client.ts';
import { proxiedS3 } from '../support/held-s3.ts';
import { startTestS3, testBytes } from './helpers.ts';
import type { TestS3 } from './helpers.ts';

const BUCKET = 'hash-ranges';
const SIZE = 3 * 1024 * 1024 + 1001;
const bytes = testBytes(SIZE, 5);
const expected = createHash('sha1').update(bytes).digest('base64');
const never = new Promise<void>(() => undefined);
let s3: TestS3;
let source: SourceObject;
const proxied = proxiedS3();

beforeAll(async () => {
  s3 = await startTestS3([BUCKET]);
  await s3.put(BUCKET, 'obj.bin', bytes);
  await s3.put(BUCKET, 'small.bin', bytes.subarray(0, 1000));
  await s3.put(BUCKET, 'empty.bin', new Uint8Array(0));
  source = await pinSource(s3.s3, { bucket: BUCKET, key: 'obj.bin' });
});
afterAll(async () => {
  await s3?.close();
});

const settings = (over: Partial<HashSettings> = {}): HashSettings => ({
  hashRangeBytes: 100_003, // 99,968 bytes once cut to whole 64-byte blocks
  hashRangesInFlight: 8,
  hashSliceBytes: undefined,
  hashSafetyMarginMs: 10_000,
  hashFloorBytesPerSecond: 1,
  hashProbeBytes: 64 * 1024 * 1024,
  ...over,
});

describe('the hash reads k ranges at once from s3rver', () => {
  it('k ranges of an odd size in flight: byte-exact in one node:crypto pass and across hash-wasm slices, buffers bounded', async () => {
    const reads: HashReadEvent[] = [];
    // All 8 from the start (s3rver on loopback is as fast as the hash: the adaptive reader would stay low).
    const one = await hashSlice(s3.s3, source, undefined, { settings: settings({ hashFloorBytesPerSecond: 1024 ** 3, hashRangesAtStart: 8 }), remainingMs: () => 600_000, onRead: (e) => reads.push(e) });
    expect(one).toMatchObject({ done: true, sha1: expected, offset: SIZE, engine: 'node:crypto', invocations: 1 });
    expect(reads.map((r) => r.offset)).toEqual(Array.from({ length: Math.ceil(SIZE / 99_968) }, (_, i) => i * 99_968));
    expect(Math.max(...reads.map((r) => r.inFlight))).toBe(8);
    expect(Math.max(...reads.map((r) => r.buffers))).toBe(7);
    expect(new Set(reads.map((r) => r.bufferBytes))).toEqual(new Set([99_968]));

    let progress: HashProgress | undefined;
    const offsets: number[] = [];
    do {
      progress = await hashSlice(s3.s3, source, progress, { settings: settings({ hashSliceBytes: 333_333 }), remainingMs: () => 600_000 });
      offsets.push(progress.offset);
      if (!progress.done) expect(progress).toMatchObject({ engine: 'hash-wasm', offset: expect.any(Number) });
    } while (!progress.done && offsets.length < 20);
    // Slices of 333,312 bytes (whole blocks), each over ranges that do not fall on the slice's edges.
    expect(offsets).toEqual([...Array.from({ length: Math.floor(SIZE / 333_312) }, (_, i) => (i + 1) * 333_312), SIZE]);
    expect(progress).toMatchObject({ done: true, sha1: expected, engine: 'hash-wasm' });
  });

  it('a deadline inside, with ranges ahead in flight: each invocation stops on a block, the next resumes, the digest is exact', async () => {
    const steps: HashProgress[] = [];
    const inFlightAtStop: number[] = [];
    let progress: HashProgress | undefined;
    do {
      // A fake clock per invocation: twelve looks at the deadline, then none of the time is left.
      let looks = 0;
      let inFlight = 0;
      progress = await hashSlice(s3.s3, source, progress, {
        settings: settings({ hashRangeBytes: 64 * 1024, hashStepBytes: 64 * 1024, hashRangesAtStart: 8 }),
        remainingMs: () => (looks++ < 12 ? 600_000 : 0),
        onRead: (e) => (inFlight = e.inFlight),
      });
      steps.push(progress);
      if (!progress.done) inFlightAtStop.push(inFlight);
    } while (!progress.done && steps.length < 100);
    expect(steps.length).toBeGreaterThan(2);
    for (const [i, step] of steps.slice(0, -1).entries()) {
      expect(step).toMatchObject({ done: false, engine: 'hash-wasm' });
      expect(step.offset % 64).toBe(0);
      expect(step.offset).toBeGreaterThan(i === 0 ? 0 : (steps[i - 1] as HashProgress).offset);
    }
    // Stopped while several ranges were in flight (they were cancelled, their bytes read again next time).
    expect(Math.max(...inFlightAtStop)).toBeGreaterThan(1);
    expect(progress).toMatchObject({ done: true, sha1: expected, offset: SIZE });
  });

  // The adaptive rule decides on the idle share of each window. Over the wire that share depends on the
  // machine's load, so these tests script it (idleWindows): what they check does not depend on timing.
  /** Windows the test opens itself: `fire(idle)` is one window with that idle share. */
  const scriptedWindows = () => {
    let onWindow: ((idleShare: number, ms?: number, bytesPerSecond?: number) => void) | undefined;
    const w = {
      started: 0,
      stopped: 0,
      idleWindows: (cb: (idleShare: number, ms?: number, bytesPerSecond?: number) => void) => {
        w.started++;
        onWindow = cb;
        // Kept after the stop, so a test can still fire a window then.
        return () => {
          w.stopped++;
        };
      },
      fire: (idleShare: number) => onWindow?.(idleShare),
      /** One window after the current synchronous work, as a timer's would come (not inside a chunk's hashing). */
      fireSoon: (idleShare: number, bytesPerSecond?: number) => queueMicrotask(() => onWindow?.(idleShare, undefined, bytesPerSecond)),
    };
    return w;
  };
  /** What a read event must satisfy at any k: in flight at most allowed (at most k), buffers at most k - 1. */
  const expectBounded = (reads: HashReadEvent[], k: number): void => {
    for (const e of reads) {
      expect(e.inFlight).toBeLessThanOrEqual(e.allowed);
      expect(e.allowed).toBeLessThanOrEqual(k);
      expect(e.buffers).toBeLessThanOrEqual(k - 1);
    }
  };

  it('adaptive: over a throttled link (2 MiB/s per connection), windows the thread sat idle open ranges as the rule says, up to k, bounded, byte-exact', async () => {
    // A loopback proxy that paces each connection's answer, as S3 in AWS carries ~85-90 MB/s per request.
    const shaper = await startConnectionShaper(s3.endpoint, 2 * 1024 * 1024);
    const client = localS3Client(shaper.endpoint);
    const windows = scriptedWindows();
    try {
      const reads: HashReadEvent[] = [];
      const r = await hashSlice(client, source, undefined, {
        settings: settings({ hashStepBytes: 64 * 1024, hashFloorBytesPerSecond: 1024 ** 3 }),
        remainingMs: () => 600_000,
        onRead: (e) => reads.push(e),
        // A window 90 % idle after each 64 KiB hashed: 1, 2, 4, then all 8.
        onProgress: () => windows.fireSoon(0.9),
        idleWindows: windows.idleWindows,
      });
      expect(r).toMatchObject({ done: true, sha1: expected, offset: SIZE });
      expect(reads[0]).toMatchObject({ inFlight: 1, allowed: 1 });
      expect(new Set(reads.map((e) => e.allowed))).toEqual(new Set([1, 2, 4, 8]));
      // Reaching 8 allowed sends up to 8 at once (a buffer is free for each range ahead).
      expect(Math.max(...reads.map((e) => e.inFlight))).toBe(8);
      expectBounded(reads, 8);
      expect(windows).toMatchObject({ started: 1, stopped: 1 });
    } finally {
      client.destroy();
      await shaper.close();
    }
  }, 60_000);

  it('adaptive: an opening the rate does not reward is undone: no range is sent past the earlier number until the hold ends; byte-exact', async () => {
    const windows = scriptedWindows();
    /** Each read with the windows fired before it was sent. */
    const reads: Array<HashReadEvent & { window: number }> = [];
    let n = 0;
    const r = await hashSlice(s3.s3, source, undefined, {
      settings: settings({ hashStepBytes: 64 * 1024, hashFloorBytesPerSecond: 1024 ** 3 }),
      remainingMs: () => 600_000,
      onRead: (e) => reads.push({ ...e, window: n }),
      // Idle windows at a flat 100 MB/s: two measured, an opening (1 -> 2), judged flat on the 2nd and 3rd window after it.
      onProgress: () => {
        n++;
        windows.fireSoon(0.9, 100e6);
      },
      idleWindows: windows.idleWindows,
    });
    expect(r).toMatchObject({ done: true, sha1: expected, offset: SIZE });
    const allowed = reads.map((e) => e.allowed);
    const opened = allowed.indexOf(2);
    expect(opened).toBeGreaterThan(0);
    const undone = allowed.indexOf(1, opened);
    expect(undone).toBeGreaterThan(opened);
    // After the undo, one range at a time (the held-back windows open none) for as long as the reads last
    // within the 40 windows of the hold.
    const holdEnds = (reads[undone]?.window ?? 0) + 40;
    const held = reads.slice(undone).filter((e) => e.window < holdEnds);
    expect(held.length).toBeGreaterThan(2);
    for (const e of held) expect(e).toMatchObject({ allowed: 1, inFlight: 1 });
    expectBounded(reads, 8);
  }, 60_000);

  it('adaptive: windows in which the thread was busy (idle at most 15 %) open nothing: one range at a time, byte-exact', async () => {
    const windows = scriptedWindows();
    const busy = [0, 0.1, 0.15];
    let n = 0;
    const reads: HashReadEvent[] = [];
    const r = await hashSlice(s3.s3, source, undefined, {
      settings: settings({ hashStepBytes: 64 * 1024, hashFloorBytesPerSecond: 1024 ** 3 }),
      remainingMs: () => 600_000,
      onRead: (e) => reads.push(e),
      onProgress: () => windows.fireSoon(busy[n++ % busy.length] as number),
      idleWindows: windows.idleWindows,
    });
    expect(r).toMatchObject({ done: true, sha1: expected, offset: SIZE });
    expect(n).toBeGreaterThan(30);
    expect(reads).toHaveLength(Math.ceil(SIZE / 99_968));
    expect(reads.every((e) => e.inFlight === 1 && e.allowed === 1)).toBe(true);
  }, 60_000);

  it('adaptive: no window opens a range once the slice has stopped (deadline) or ended', async () => {
    const windows = scriptedWindows();
    const reads: HashReadEvent[] = [];
    let looks = 0;
    let outOfTime = false;
    let sentAfterStop = 0;
    let progressed = 0;
    const r = await hashSlice(s3.s3, source, undefined, {
      settings: settings({ hashStepBytes: 64 * 1024 }),
      // Twelve looks at the deadline, then none of the time is left (hash-wasm stops on the next step).
      remainingMs: () => {
        if (looks++ >= 12) outOfTime = true;
        return outOfTime ? 0 : 600_000;
      },
      onRead: (e) => {
        reads.push(e);
        if (outOfTime) sentAfterStop++;
      },
      // One idle window early (2 allowed, short of k), then fully idle windows once the time is gone.
      onProgress: () => {
        if (progressed++ === 0) windows.fireSoon(0.9);
        else if (outOfTime) windows.fireSoon(1);
      },
      idleWindows: windows.idleWindows,
    });
    expect(r).toMatchObject({ done: false, engine: 'hash-wasm' });
    expect(r.offset).toBeLessThan(SIZE);
    // The early window opened one more range; nothing was sent once the time was gone.
    expect(Math.max(...reads.map((e) => e.allowed))).toBe(2);
    expect(sentAfterStop).toBe(0);
    expect(windows).toMatchObject({ started: 1, stopped: 1 });
    // Windows that still come once it returned send nothing, even with time left again (allowed is below k
    // and most of the object is unread: only the stop keeps them from opening ranges).
    outOfTime = false;
    looks = -1_000;
    const sent = reads.length;
    windows.fire(1);
    windows.fire(1);
    expect(reads).toHaveLength(sent);
    expectBounded(reads, 8);
  }, 60_000);

  it('adaptive: a slice that starts with all k allowed listens to no windows', async () => {
    const windows = scriptedWindows();
    const r = await hashSlice(s3.s3, source, undefined, { settings: settings({ hashRangesAtStart: 8 }), remainingMs: () => 600_000, idleWindows: windows.idleWindows });
    expect(r).toMatchObject({ done: true, sha1: expected });
    expect(windows).toMatchObject({ started: 0, stopped: 0 });
  });

  it('an object smaller than one range is one GET and no buffer; an empty object is no GET', async () => {
    const { proxy, client } = await proxied(s3.endpoint);
    const small = await pinSource(client, { bucket: BUCKET, key: 'small.bin' });
    const reads: HashReadEvent[] = [];
    const r = await hashSlice(client, small, undefined, { settings: settings({ hashRangeBytes: 16 * 1024 * 1024 }), remainingMs: () => 600_000, onRead: (e) => reads.push(e) });
    expect(r).toMatchObject({ done: true, sha1: createHash('sha1').update(bytes.subarray(0, 1000)).digest('base64') });
    expect(reads).toEqual([{ offset: 0, length: 1000, inFlight: 1, allowed: 1, buffers: 0, bufferBytes: 1000 }]);
    expect(proxy.stats().rangedGets).toBe(1);
    const empty = await pinSource(client, { bucket: BUCKET, key: 'empty.bin' });
    const e = await hashSlice(client, empty, undefined, { settings: settings(), remainingMs: () => 600_000, onRead: (x) => reads.push(x) });
    expect(e).toMatchObject({ done: true, offset: 0, sha1: createHash('sha1').digest('base64') });
    expect(reads).toHaveLength(1);
    expect(proxy.stats().rangedGets).toBe(1);
  });

  it('S3 failing a range ahead (503 after the SDK retries) ends the invocation at once with Transfer.S3Throttled; the head S3 still holds is cancelled', async () => {
    const { proxy, client } = await proxied(s3.endpoint);
    const pinned = await pinSource(client, { bucket: BUCKET, key: 'obj.bin' });
    // The head never gets an answer: only the failure ahead can end the invocation.
    proxy.inject({ method: 'GET', range: 'bytes=0-99967', times: 1, action: { type: 'hold', until: never } });
    proxy.inject({ method: 'GET', range: `bytes=${3 * 99_968}-${4 * 99_968 - 1}`, times: 100 });
    await expect(hashSlice(client, pinned, undefined, { settings: settings({ hashFloorBytesPerSecond: 1024 ** 3 }), remainingMs: () => 600_000 })).rejects.toMatchObject({
      name: 'Transfer.S3Throttled',
      message: expect.stringContaining('SlowDown'),
    });
    expect(proxy.stats().slowDowns).toBeGreaterThan(1);
    // The held request's connection was closed by the client (no request left waiting on S3).
    await proxy.abandonedAtLeast(1);
    expect(proxy.stats()).toMatchObject({ stalled: 1, abandoned: 1 });
  }, 60_000);

  // A transient S3 failure once hash-wasm holds whole blocks keeps them, as the deadline's cut does.
  const RANGE = 99_968;
  /** Resolves once this invocation has hashed `bytes` (the fault waits for it: no race with the reads). */
  const hashedAtLeast = (bytes: number) => {
    let reached!: () => void;
    const reachedIt = new Promise<void>((resolve) => (reached = resolve));
    return { reachedIt, onProgress: (e: { type: string; offset?: number }) => (e.type === 'hashed' && (e.offset ?? 0) >= bytes ? reached() : undefined) };
  };
  for (const [what, action] of [
    ['S3 answering 503 SlowDown (past the SDK retries)', { type: 'slowDown' }],
    ['the connection closed after 1000 bytes of its body', { type: 'closeBody', bytes: 1000 }],
  ] as const) {
    it(`M10c ${what} on a range ahead, after some bytes were hashed: hash-wasm keeps its whole blocks up to that range (done: false), the next invocation finishes byte-exact`, async () => {
      // Through the SDK alone: the lean reader would read the rest of a closed body again (its own test below).
      const { proxy, client } = await proxied(s3.endpoint, { leanReads: false });
      const pinned = await pinSource(client, { bucket: BUCKET, key: 'obj.bin' });
      const gate = hashedAtLeast(RANGE);
      proxy.inject({ method: 'GET', range: `bytes=${3 * RANGE}-${4 * RANGE - 1}`, times: 100, action, after: gate.reachedIt });
      const first = await hashSlice(client, pinned, undefined, { settings: settings(), remainingMs: () => 600_000, onProgress: gate.onProgress });
      expect(first).toMatchObject({ done: false, engine: 'hash-wasm', invocations: 1, state: expect.any(String) });
      // What was hashed in order: past the first range, never past what the failed range delivered before it
      // failed (nothing, or its first 1000 bytes once it was the head).
      expect(first.offset).toBeGreaterThanOrEqual(RANGE);
      expect(first.offset).toBeLessThanOrEqual(3 * RANGE + (action.type === 'closeBody' ? action.bytes : 0));
      expect(first.offset % 64).toBe(0);
      // S3 is well again (straight to s3rver): the next invocation starts from the saved state.
      const second = await hashSlice(s3.s3, pinned, first, { settings: settings(), remainingMs: () => 600_000 });
      expect(second).toMatchObject({ done: true, sha1: expected, offset: SIZE, invocations: 2 });
    }, 60_000);
  }

  it('M10c a connection closed in the middle of the head range: hash-wasm keeps the whole blocks of the bytes it got, the next invocation reads on from there', async () => {
    const { proxy, client } = await proxied(s3.endpoint, { leanReads: false });
    const pinned = await pinSource(client, { bucket: BUCKET, key: 'obj.bin' });
    proxy.inject({ method: 'GET', range: `bytes=0-${RANGE - 1}`, times: 1, action: { type: 'closeBody', bytes: 50_000 } });
    const first = await hashSlice(client, pinned, undefined, { settings: settings(), remainingMs: () => 600_000 });
    // 50,000 bytes arrived in order: 781 whole blocks of 64.
    expect(first).toMatchObject({ done: false, engine: 'hash-wasm', offset: 781 * 64 });
    const second = await hashSlice(client, pinned, first, { settings: settings(), remainingMs: () => 600_000 });
    expect(second).toMatchObject({ done: true, sha1: expected, offset: SIZE, invocations: 2 });
  }, 60_000);

  it('M10e lean reader: a connection closed in the middle of a range is read on by the SDK from the byte it reached; one invocation, byte-exact', async () => {
    const { proxy, client } = await proxied(s3.endpoint);
    const pinned = await pinSource(client, { bucket: BUCKET, key: 'obj.bin' });
    // The head's lean GET is cut after 50,000 bytes, then a range ahead's after 1,000.
    proxy.inject({ method: 'GET', range: `bytes=0-${RANGE - 1}`, times: 1, action: { type: 'closeBody', bytes: 50_000 } });
    proxy.inject({ method: 'GET', range: `bytes=${3 * RANGE}-${4 * RANGE - 1}`, times: 1, action: { type: 'closeBody', bytes: 1000 } });
    const r = await hashSlice(client, pinned, undefined, { settings: settings(), remainingMs: () => 600_000 });
    expect(r).toMatchObject({ done: true, sha1: expected, offset: SIZE, invocations: 1 });
    // Each cut range once more from where it stopped (the SDK's GET of the rest), none of it twice.
    expect(proxy.rangesSeen()).toEqual(expect.arrayContaining([`bytes=50000-${RANGE - 1}`, `bytes=${3 * RANGE + 1000}-${4 * RANGE - 1}`]));
    expect(proxy.rangesSeen().filter((r) => r === `bytes=0-${RANGE - 1}`)).toHaveLength(1);
  }, 60_000);

  it('M10c a failure before anything was hashed still ends the invocation with Transfer.S3Throttled (no state to save: the Retry, not the loop)', async () => {
    // Through the SDK alone, so its three tries are the three answers counted.
    const { proxy, client } = await proxied(s3.endpoint, { leanReads: false });
    const pinned = await pinSource(client, { bucket: BUCKET, key: 'obj.bin' });
    // The head: S3 answers SlowDown to each of the SDK's 3 tries.
    proxy.inject({ method: 'GET', range: `bytes=0-${RANGE - 1}`, times: 3 });
    await expect(hashSlice(client, pinned, undefined, { settings: settings(), remainingMs: () => 600_000 })).rejects.toMatchObject({ name: 'Transfer.S3Throttled' });
    expect(proxy.stats().slowDowns).toBe(3);
    // A range ahead fails while the head is held: hash-wasm holds nothing yet.
    proxy.inject({ method: 'GET', range: `bytes=${3 * RANGE}-${4 * RANGE - 1}`, times: 100 });
    proxy.inject({ method: 'GET', range: `bytes=0-${RANGE - 1}`, times: 1, action: { type: 'hold', until: never } });
    await expect(hashSlice(client, pinned, undefined, { settings: settings(), remainingMs: () => 600_000 })).rejects.toMatchObject({ name: 'Transfer.S3Throttled' });
    expect(proxy.stats()).toMatchObject({ stalled: 1, slowDowns: 6 });
  }, 60_000);

  it('M10c a node:crypto pass (no resumable state) failing a range ahead after some bytes still ends with Transfer.S3Throttled', async () => {
    const { proxy, client } = await proxied(s3.endpoint);
    const pinned = await pinSource(client, { bucket: BUCKET, key: 'obj.bin' });
    const gate = hashedAtLeast(RANGE);
    proxy.inject({ method: 'GET', range: `bytes=${3 * RANGE}-${4 * RANGE - 1}`, times: 100, after: gate.reachedIt });
    await expect(
      hashSlice(client, pinned, undefined, { settings: settings({ hashFloorBytesPerSecond: 1024 ** 3 }), remainingMs: () => 600_000, onProgress: gate.onProgress }),
    ).rejects.toMatchObject({ name: 'Transfer.S3Throttled' });
  }, 60_000);

  it('M10c the source changed under a range ahead, after some bytes were hashed: Transfer.SourceChanged still ends the invocation (its state is worthless)', async () => {
    await s3.put(BUCKET, 'changing.bin', bytes);
    const { proxy, client } = await proxied(s3.endpoint);
    const pinned = await pinSource(client, { bucket: BUCKET, key: 'changing.bin' });
    const gate = hashedAtLeast(RANGE);
    // Once the first range is hashed the object is overwritten, then S3 gets the held range ahead.
    const overwritten = gate.reachedIt.then(() => s3.put(BUCKET, 'changing.bin', testBytes(SIZE, 6)));
    proxy.inject({ method: 'GET', range: `bytes=${3 * RANGE}-${4 * RANGE - 1}`, times: 1, action: { type: 'hold', until: overwritten.then(() => undefined) } });
    await expect(hashSlice(client, pinned, undefined, { settings: settings(), remainingMs: () => 600_000, onProgress: gate.onProgress })).rejects.toMatchObject({
      name: 'Transfer.SourceChanged',
    });
  }, 60_000);
});
