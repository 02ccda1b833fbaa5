// UploadBatch reads parts ahead of its PUTs: while its connections are busy sending parts to Box, the next
// `partsReadAhead` parts are read from S3 and digested, never more, and never more than (parts in flight - 1) / 2
// (memory: (parts in flight + read-ahead) x part size). A failure or the deadline stops the reads, and the batch
// settles them before it returns. Over real loopback: s3rver as S3 (behind the fault proxy where a read must be
// held or fail), the Box emulator as Box (its part PUTs held by a test gate).
import type { S3Client } from '@aws-sdk/client-s3';
import { afterAll, beforeAll, describe, expect, it, onTestFinished, vi } from 'vitest';
import { localS3Client } from '../../local/runner/local-s3-client.ts';
import { startBoxEmulator } from '../../local/box-emulator/index.ts';
import type { BoxEmulator } from '../../local/box-emulator/index.ts';
import { BoxClient, DeveloperTokenAuth } from '../../src/box/index.ts';
import { listAllParts } from '../../src/transfer/commit.ts';
import type { TransferDeps } from '../../src/transfer/deps.ts';
import { silentLogger } from '../../src/transfer/logger.ts';
import { BufferPool, forEachLimit } from '../../src/transfer/pool.ts';
import { prepareTransfer } from '../../src/transfer/prepare.ts';
import { resolveSettings } from '../../src/transfer/settings.ts';
import type { TransferSettings } from '../../src/transfer/settings.ts';
import { storedBeforeFailing, uploadBatch } from '../../src/transfer/uploadBatch.ts';
import { proxiedS3 } from '../support/held-s3.ts';
import { rejection } from '../support/rejection.ts';
import type { S3FaultProxy } from '../support/s3-fault-proxy.ts';
import { spendableDeadline } from '../support/spendable-budget.ts';
import { lambdaContext, startTestS3, testBytes } from './helpers.ts';
import type { TestS3 } from './helpers.ts';

const PART = 64 * 1024;
const PARTS = 6;
const SIZE = PARTS * PART - 10;
const BUCKET = 'read-ahead';

let s3: TestS3;
let emu: BoxEmulator;
let client: BoxClient;
let keys = 0;
/**
 * The S3 client the batches read through: the SDK's path alone (leanReads: false), so its middleware sees every
 * ranged GET; what the lean reader changes (how a range is read) is tested in lean-get.test.ts.
 */
let sdkOnly: S3Client;
/** Ranged GETs sent to S3 and answered in full (the parts read), counted by the S3 client. */
let getsStarted = 0;
let getsDone = 0;
const proxied = proxiedS3();

beforeAll(async () => {
  s3 = await startTestS3([BUCKET]);
  sdkOnly = localS3Client(s3.endpoint, undefined, { leanReads: false });
  sdkOnly.middlewareStack.add(
    (next, context) => async (args) => {
      const ranged = (context as { commandName?: string }).commandName === 'GetObjectCommand';
      if (ranged) getsStarted++;
      const out = await next(args);
      if (ranged) getsDone++;
      return out;
    },
    { step: 'initialize', name: 'countGets' },
  );
  emu = await startBoxEmulator({ partSize: PART, minChunkedFileSize: 100_000 });
  client = new BoxClient({ auth: new DeveloperTokenAuth(emu.token), apiUrl: emu.url, uploadUrl: emu.uploadUrl, retry: { maxAttempts: 1, baseDelayMs: 5, maxDelayMs: 10 } });
});
afterAll(async () => {
  await client?.close();
  await emu?.close();
  sdkOnly?.destroy();
  await s3?.close();
});

function deps(partsReadAhead: number, over: { s3?: S3Client; settings?: Partial<TransferSettings> } = {}): TransferDeps {
  return { s3: over.s3 ?? sdkOnly, box: async () => client, logger: silentLogger, settings: resolveSettings({ directUploadMax: 100_000, partsReadAhead, ...over.settings }) };
}

/** The Range header of part `i`'s GET. */
const rangeOf = (i: number): string => `bytes=${i * PART}-${Math.min(SIZE, (i + 1) * PART) - 1}`;

/**
 * The GETs sent through `s3` whose send has not settled (no answer yet, or not yet failed). An aborted one
 * takes a turn of the event loop to settle, as a socket's teardown may: an invocation that does not wait for
 * it returns before it has.
 */
function openGets(s3Client: S3Client): { open: number } {
  const gets = { open: 0 };
  s3Client.middlewareStack.add(
    (next, context) => async (args) => {
      if ((context as { commandName?: string }).commandName !== 'GetObjectCommand') return next(args);
      gets.open++;
      try {
        return await next(args);
      } catch (err) {
        await new Promise((resolve) => setImmediate(resolve));
        throw err;
      } finally {
        gets.open--;
      }
    },
    { step: 'initialize', name: 'openGets' },
  );
  return gets;
}

/** The offsets of the parts Box holds for `transfer`'s session. */
async function storedOffsets(transfer: Awaited<ReturnType<typeof oneBatch>>): Promise<number[]> {
  const parts = await listAllParts(client, transfer.session as NonNullable<typeof transfer.session>);
  return parts.map((p) => p.offset).sort((a, b) => a - b);
}

/** One batch of all six parts, `inFlight` at once, its session open. */
async function oneBatch(partsReadAhead: number, inFlight = 2) {
  const key = `objects/file-${++keys}.bin`;
  await s3.put(BUCKET, key, testBytes(SIZE, keys));
  const prepared = await prepareTransfer({ source: { bucket: BUCKET, key }, destination: { folderId: '0' }, options: { partsPerBatch: PARTS, concurrency: inFlight } }, deps(partsReadAhead));
  expect(prepared.transfer).toMatchObject({ partsInFlight: inFlight, partsPerBatch: PARTS });
  return prepared.transfer;
}

/** Holds every part PUT at the emulator (or those from the `nth` on) until the returned release() is called. */
function holdParts(from?: { nth: number; times: number }): () => void {
  let release!: () => void;
  const until = new Promise<void>((resolve) => (release = resolve));
  emu.faults.inject({ operation: 'uploadPart', ...from, action: { type: 'hold', until } });
  return release;
}

describe('UploadBatch reads ahead of its PUTs', () => {
  // [partsReadAhead, parts in flight, parts read while every PUT is held]
  const cases: [number, number, number][] = [
    [0, 4, 4],
    [1, 4, 5],
    [3, 4, 5], // at most (4 - 1) / 2 = 1 ahead
    [1, 2, 2], // none with two in flight
  ];
  for (const [readAhead, inFlight, read] of cases) {
    it(`partsReadAhead ${readAhead}, ${inFlight} parts in flight: ${read} parts read while the PUTs are held, no more; each part read once`, async () => {
      const transfer = await oneBatch(readAhead, inFlight);
      getsStarted = 0;
      getsDone = 0;
      emu.resetStats();
      const release = holdParts();
      // Every read asks the pool for a buffer first: a slot starts the reads it may make ahead when it starts
      // (before any read is answered), so a read too many shows here as a buffer asked for, even while it waits.
      const takes = vi.spyOn(BufferPool.prototype, 'take');
      const batch = uploadBatch({ transfer, batch: 0 }, deps(readAhead));
      try {
        await vi.waitFor(
          () => {
            expect(emu.stats().partsInFlight).toBe(inFlight);
            expect(getsDone).toBe(read);
          },
          { timeout: 30_000, interval: 20 },
        );
        // Every slot is held at Box and every read it started is answered: nothing else runs until a PUT ends.
        expect(takes).toHaveBeenCalledTimes(read);
        expect(getsStarted).toBe(read);
      } finally {
        takes.mockRestore();
        release();
        emu.faults.clear();
      }
      expect(await batch).toMatchObject({ parts: PARTS, bytes: SIZE, sentBytes: SIZE, alreadyUploaded: 0 });
      expect(getsStarted).toBe(PARTS);
      expect(emu.stats()).toMatchObject({ maxPartsInFlight: inFlight });
      expect(emu.stats().requests.uploadPart).toBe(PARTS);
    });
  }

  // Through the SDK alone and through the lean reader the functions deploy (its GETs pass the proxy the same way).
  for (const leanReads of [false, true]) {
    it(`a part that fails stops the reads ahead at once: the held read ahead is given up while the other PUTs are still under way; no part is read after it (${leanReads ? 'lean reads' : 'the SDK alone'})`, async () => {
      const { proxy, client: throughProxy } = await proxied(s3.endpoint, { leanReads });
      const transfer = await oneBatch(1, 3);
      emu.resetStats();
      // Part 3's GET, read ahead, never gets an answer from S3. The first PUT fails (500 past the client's one
      // try: the PUTs under way may finish) once the three PUTs are at Box and that GET is held; the other two
      // are answered only when the test lets them go.
      proxy.inject({ method: 'GET', range: rangeOf(3), times: 1, action: { type: 'hold', until: new Promise<void>(() => undefined) } });
      const ready = Promise.all([proxy.stalledAtLeast(1), vi.waitFor(() => expect(emu.stats().partsInFlight).toBe(3), { timeout: 30_000, interval: 20 })]);
      emu.faults.inject({ operation: 'uploadPart', nth: 1, action: { type: 'hold', until: ready } });
      emu.faults.inject({ operation: 'uploadPart', nth: 1, action: { type: 'status', status: 500 } });
      const releaseOthers = holdParts({ nth: 2, times: 2 });
      const batch = rejection(uploadBatch({ transfer, batch: 0 }, deps(1, { s3: throughProxy })));
      try {
        // Only the failure can end that GET now: the batch itself ends only after the PUTs the test holds (without
        // the failure stopping the reads, this waits until the test times out).
        await proxy.abandonedAtLeast(1);
      } finally {
        releaseOthers();
        emu.faults.clear();
      }
      const error = await batch;
      expect(error).toMatchObject({ name: 'Box.ServerError' });
      // The parts in flight and the one read ahead of them were read, no more (2 of 6 never read); the two
      // PUTs under way finished and were kept.
      expect(proxy.stats()).toMatchObject({ rangedGets: 3 + 1, stalled: 1, abandoned: 1 });
      expect(storedBeforeFailing(error)).toEqual({ sentBytes: 2 * PART, sentParts: 2 });
      expect(emu.stats().requests.uploadPart).toBe(3);
    });
  }

  it('a batch that fails settles its reads ahead before it returns: no GET is left open', async () => {
    const { proxy, client: throughProxy } = await proxied(s3.endpoint, { leanReads: false });
    const gets = openGets(throughProxy);
    const transfer = await oneBatch(1, 3);
    // Part 3's GET, read ahead, never gets an answer from S3; the first PUT fails (Box.Forbidden) once it is held there.
    proxy.inject({ method: 'GET', range: rangeOf(3), times: 1, action: { type: 'hold', until: new Promise<void>(() => undefined) } });
    emu.faults.inject({ operation: 'uploadPart', nth: 1, action: { type: 'hold', until: proxy.stalledAtLeast(1) } });
    emu.faults.inject({ operation: 'uploadPart', nth: 1, action: { type: 'status', status: 403, code: 'access_denied_insufficient_permissions' } });
    const error = await rejection(uploadBatch({ transfer, batch: 0 }, deps(1, { s3: throughProxy })));
    const openWhenItFailed = gets.open;
    emu.faults.clear();
    expect(error).toMatchObject({ name: 'Box.Forbidden' });
    expect(openWhenItFailed).toBe(0);
    // And the held GET's connection was given up (S3 is not left holding it).
    await proxy.abandonedAtLeast(1);
  });
});

describe('M10d UploadBatch after a part failed', () => {
  it('a part whose read fails while other parts are PUT: those PUTs finish and their parts stay in Box; the reads stop; the batch fails with the read\'s error', async () => {
    const { proxy, client: throughProxy } = await proxied(s3.endpoint, { leanReads: false });
    const transfer = await oneBatch(1, 3);
    emu.resetStats();
    const releasePuts = holdParts();
    // Part 1's GET fails (503 SlowDown, past the SDK's retries) once parts 0 and 2 are held at Box; part 3's,
    // read ahead, is held at S3.
    const othersPut = vi.waitFor(() => expect(emu.stats().partsInFlight).toBe(2), { timeout: 30_000, interval: 20 });
    proxy.inject({ method: 'GET', range: rangeOf(1), times: 100, after: othersPut });
    proxy.inject({ method: 'GET', range: rangeOf(3), times: 1, action: { type: 'hold', until: new Promise<void>(() => undefined) } });
    const batch = rejection(uploadBatch({ transfer, batch: 0 }, deps(1, { s3: throughProxy })));
    try {
      // The failure stopped the reads (part 3's GET given up) while the two PUTs are still under way.
      await proxy.abandonedAtLeast(1);
    } finally {
      releasePuts();
      emu.faults.clear();
    }
    const error = await batch;
    expect(error).toMatchObject({ name: 'Transfer.S3Throttled' });
    expect(proxy.stats().slowDowns).toBeGreaterThan(1);
    expect(storedBeforeFailing(error)).toEqual({ sentBytes: 2 * PART, sentParts: 2 });
    expect(await storedOffsets(transfer)).toEqual([0, 2 * PART]);
    expect(emu.stats().requests.uploadPart).toBe(2);
  });

  it('a failure that makes the other PUTs pointless (403 on the session) cancels them at once', async () => {
    const transfer = await oneBatch(1, 3);
    // The first PUT is refused once all three are at Box; the other two are answered only after the batch ended,
    // so it can only have ended by cancelling them.
    const threePut = vi.waitFor(() => expect(emu.stats().partsInFlight).toBe(3), { timeout: 30_000, interval: 20 });
    emu.faults.inject({ operation: 'uploadPart', nth: 1, action: { type: 'hold', until: threePut } });
    emu.faults.inject({ operation: 'uploadPart', nth: 1, action: { type: 'status', status: 403, code: 'access_denied_insufficient_permissions' } });
    const releaseOthers = holdParts({ nth: 2, times: 2 });
    const error = await rejection(uploadBatch({ transfer, batch: 0 }, deps(1)));
    releaseOthers();
    emu.faults.clear();
    expect(error).toMatchObject({ name: 'Box.Forbidden' });
    // None of them counted as stored by the batch. (Released now, the emulator may still store their bodies,
    // which it had received whole before the client gave up: the later tests wait for that.)
    expect(storedBeforeFailing(error)).toBeUndefined();
    await vi.waitFor(() => expect(emu.stats().partsInFlight).toBe(0), { timeout: 30_000, interval: 20 });
  });
});

describe('M10d UploadBatch: a failure met by the PUTs let finish', () => {
  /**
   * Parts 0 and 2 are PUT; part 1's GET fails (503 SlowDown, past the SDK's retries: Transfer.S3Throttled, after
   * which the PUTs under way may finish) once both PUTs are at Box; part 3's, read ahead, is held at S3 until that
   * failure stops the reads. Returns when the reads stopped (the held GET given up).
   */
  function readFailsWhilePut(proxy: S3FaultProxy): Promise<void> {
    const othersPut = vi.waitFor(() => expect(emu.stats().partsInFlight).toBe(2), { timeout: 30_000, interval: 20 });
    proxy.inject({ method: 'GET', range: rangeOf(1), times: 100, after: othersPut });
    proxy.inject({ method: 'GET', range: rangeOf(3), times: 1, action: { type: 'hold', until: new Promise<void>(() => undefined) } });
    return proxy.abandonedAtLeast(1);
  }

  it('a terminal error on one of them (410, the session gone) ends the batch with that error, not the read\'s retried one, and cancels the other PUT', async () => {
    const { proxy, client: throughProxy } = await proxied(s3.endpoint, { leanReads: false });
    const transfer = await oneBatch(1, 3);
    emu.resetStats();
    const readsStopped = readFailsWhilePut(proxy);
    // The first PUT at Box is answered 410 once the read failed; the other only after the batch ended, so the
    // batch can only have ended by cancelling it.
    emu.faults.inject({ operation: 'uploadPart', nth: 1, action: { type: 'hold', until: readsStopped } });
    emu.faults.inject({ operation: 'uploadPart', nth: 1, action: { type: 'status', status: 410, code: 'session_expired' } });
    const releaseOther = holdParts({ nth: 2, times: 1 });
    // Also when the batch never ends (the other PUT not cancelled): the later tests must not meet these faults.
    onTestFinished(() => (releaseOther(), emu.faults.clear()));
    const error = await rejection(uploadBatch({ transfer, batch: 0 }, deps(1, { s3: throughProxy })));
    releaseOther();
    emu.faults.clear();
    // The state machine's Catch sends this name to AbortSession; Transfer.S3Throttled would have been retried.
    expect(error).toMatchObject({ name: 'Box.SessionExpired' });
    expect(proxy.stats().slowDowns).toBeGreaterThan(1);
    // Parts 0 and 2 read, part 3's read ahead given up, part 1 answered only SlowDown: nothing read after the failure.
    expect(proxy.stats()).toMatchObject({ rangedGets: 3, stalled: 1, abandoned: 1 });
    expect(storedBeforeFailing(error)).toBeUndefined();
    expect(emu.stats().requests.uploadPart).toBe(2);
    await vi.waitFor(() => expect(emu.stats().partsInFlight).toBe(0), { timeout: 30_000, interval: 20 });
  });

  it('the deadline that cancels them does not hide the first failure: the batch fails with the read\'s error, not Transfer.Deadline', async () => {
    const { proxy, client: throughProxy } = await proxied(s3.endpoint, { leanReads: false });
    const transfer = await oneBatch(1, 3);
    emu.resetStats();
    const releasePuts = holdParts();
    onTestFinished(() => (releasePuts(), emu.faults.clear()));
    const readsStopped = readFailsWhilePut(proxy);
    // The deadline passes once the read failed, while both PUTs are still held at Box: it cancels them.
    const deadline = spendableDeadline();
    void readsStopped.then(() => deadline.spend());
    const error = await rejection(uploadBatch({ transfer, batch: 0 }, deps(1, { s3: throughProxy }), lambdaContext(), () => deadline));
    releasePuts();
    emu.faults.clear();
    expect(deadline.passed()).toBe(true);
    expect(error).toMatchObject({ name: 'Transfer.S3Throttled' });
    expect(proxy.stats().slowDowns).toBeGreaterThan(1);
    expect(storedBeforeFailing(error)).toBeUndefined();
    expect(emu.stats().requests.uploadPart).toBe(2);
    await vi.waitFor(() => expect(emu.stats().partsInFlight).toBe(0), { timeout: 30_000, interval: 20 });
  });
});

describe('UploadBatch reads ahead near its deadline', () => {
  it('a part read ahead before the start margin, whose PUT would start inside it, is not PUT: the batch stops there (Transfer.Deadline), the parts stored kept', async () => {
    const { proxy, client: throughProxy } = await proxied(s3.endpoint, { leanReads: false });
    const transfer = await oneBatch(1, 3);
    let remaining = 1_000_000;
    // Part 3 is read ahead of the three PUTs: its GET (started while far from the margin) is held at S3, the PUTs at Box.
    let releaseRead!: () => void;
    proxy.inject({ method: 'GET', range: rangeOf(3), times: 1, action: { type: 'hold', until: new Promise<void>((resolve) => (releaseRead = resolve)) } });
    emu.resetStats();
    const releasePuts = holdParts();
    const settings = { deadlineStartMarginMs: 100_000, deadlineFinishMarginMs: 1_000 };
    const batch = rejection(uploadBatch({ transfer, batch: 0 }, deps(1, { s3: throughProxy, settings }), lambdaContext(() => remaining)));
    try {
      await proxy.stalledAtLeast(1);
      await vi.waitFor(() => expect(emu.stats().partsInFlight).toBe(3), { timeout: 30_000, interval: 20 });
    } finally {
      // Now inside the start margin (100 s), far from the finish margin (1 s): nothing may start, nothing is cancelled.
      remaining = 50_000;
      releaseRead();
      releasePuts();
      emu.faults.clear();
    }
    const error = await batch;
    expect(error).toMatchObject({ name: 'Transfer.Deadline', message: expect.stringContaining(`batch 0: ${3 * PART} bytes of its 6 parts are in Box`) });
    expect(storedBeforeFailing(error)).toEqual({ sentBytes: 3 * PART, sentParts: 3 });
    // Part 3 was read, and not sent.
    expect(proxy.stats().rangedGets).toBe(4);
    expect(emu.stats().requests.uploadPart).toBe(3);
    expect(await storedOffsets(transfer)).toEqual([0, PART, 2 * PART]);
  });
});

describe('forEachLimit', () => {
  const named = (name: string): Error => Object.assign(new Error(name), { name });
  const rank = (err: unknown): number => ['Weak', 'Middle', 'Strong'].indexOf((err as Error).name);

  /**
   * Runs calls 0..n-1 at once (no more items than the limit): each ends when `end(i, error?)` says, or rejects
   * when its signal aborts. `letFinish`: every error but Strong.
   */
  function calls(n: number) {
    const ends: ((error?: Error) => void)[] = [];
    const aborted: number[] = [];
    const stopped = new AbortController();
    const run = rejection(
      forEachLimit(
        Array.from({ length: n }, (_, i) => i),
        n,
        (i, signal) =>
          new Promise<void>((resolve, reject) => {
            let settled = false;
            const settle = (error?: Error): void => {
              if (settled) return;
              settled = true;
              if (error === undefined) resolve();
              else reject(error);
            };
            signal.addEventListener('abort', () => (settled ? undefined : (aborted.push(i), settle(named('Aborted')))), { once: true });
            ends[i] = settle;
          }),
        { letFinish: (err) => (err as Error).name !== 'Strong', rank, stopped },
      ),
    );
    const turn = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));
    return { end: (i: number, error?: Error) => ends[i]?.(error), aborted, stopped, run, turn };
  }

  it('after an error that lets the others finish, a later one is thrown instead only if it ranks higher; a later one that does not let them finish stops them', async () => {
    const c = calls(4);
    c.end(0, named('Middle'));
    await c.turn();
    expect(c.stopped.signal.reason).toMatchObject({ name: 'Middle' });
    c.end(1, named('Weak'));
    await c.turn();
    // Both let the others finish.
    expect(c.aborted).toEqual([]);
    c.end(2, named('Strong'));
    await c.turn();
    expect(c.aborted).toEqual([3]);
    expect(await c.run).toMatchObject({ name: 'Strong' });
    expect(c.stopped.signal.reason).toMatchObject({ name: 'Middle' });
  });

  it('a later error that ranks no higher does not replace the first', async () => {
    const c = calls(3);
    const first = named('Middle');
    c.end(0, first);
    c.end(1, named('Weak'));
    c.end(2, named('Middle'));
    expect(await c.run).toBe(first);
    expect(c.aborted).toEqual([]);
  });
});

describe('BufferPool', () => {
  it('makes at most `count` buffers, hands back given ones first come first served, and drops a waiter whose signal aborts', async () => {
    const pool = new BufferPool(2, 16);
    const a = await pool.take();
    const b = await pool.take();
    expect(a.byteLength).toBe(16);
    expect(pool.allocated).toBe(2);
    const order: string[] = [];
    const aborted = new AbortController();
    const first = pool.take().then((buf) => (order.push('first'), buf));
    const dropped = pool.take(aborted.signal);
    const second = pool.take().then((buf) => (order.push('second'), buf));
    aborted.abort(new Error('stopped'));
    await expect(dropped).rejects.toThrow('stopped');
    pool.give(a);
    pool.give(b);
    expect(await first).toBe(a);
    expect(await second).toBe(b);
    expect(order).toEqual(['first', 'second']);
    expect(pool.allocated).toBe(2);
    pool.give(a);
    expect(await pool.take()).toBe(a);
    await expect(pool.take(AbortSignal.abort(new Error('already')))).rejects.toThrow('already');
  });
});
