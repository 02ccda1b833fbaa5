// UploadBatch reads parts ahead of its PUTs: while its connections are busy sending parts to Box, the next
// `partsReadAhead` parts are read from S3 and digested, never more, and never more than (parts in flight - 1) / 2
// (memory: (parts in flight + read-ahead) x part size). Over real loopback: s3rver as S3, the Box emulator as
// Box (its part PUTs held by a test gate).
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { startBoxEmulator } from '../../local/box-emulator/index.ts';
import type { BoxEmulator } from '../../local/box-emulator/index.ts';
import { BoxClient, DeveloperTokenAuth } from '../../src/box/index.ts';
import type { TransferDeps } from '../../src/transfer/deps.ts';
import { silentLogger } from '../../src/transfer/logger.ts';
import { BufferPool } from '../../src/transfer/pool.ts';
import { prepareTransfer } from '../../src/transfer/prepare.ts';
import { resolveSettings } from '../../src/transfer/settings.ts';
import { uploadBatch } from '../../src/transfer/uploadBatch.ts';
import { rejection } from '../support/rejection.ts';
import { startTestS3, testBytes } from './helpers.ts';
import type { TestS3 } from './helpers.ts';

const PART = 64 * 1024;
const PARTS = 6;
const SIZE = PARTS * PART - 10;
const BUCKET = 'read-ahead';

let s3: TestS3;
let emu: BoxEmulator;
let client: BoxClient;
let keys = 0;
/** Ranged GETs sent to S3 and answered in full (the parts read), counted by the S3 client. */
let getsStarted = 0;
let getsDone = 0;

beforeAll(async () => {
  s3 = await startTestS3([BUCKET]);
  s3.s3.middlewareStack.add(
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
  await s3?.close();
});

function deps(partsReadAhead: number): TransferDeps {
  return { s3: s3.s3, box: async () => client, logger: silentLogger, settings: resolveSettings({ directUploadMax: 100_000, partsReadAhead }) };
}

/** One batch of all six parts, `inFlight` at once, its session open. */
async function oneBatch(partsReadAhead: number, inFlight = 2) {
  const key = `objects/file-${++keys}.bin`;
  await s3.put(BUCKET, key, testBytes(SIZE, keys));
  const prepared = await prepareTransfer({ source: { bucket: BUCKET, key }, destination: { folderId: '0' }, options: { partsPerBatch: PARTS, concurrency: inFlight } }, deps(partsReadAhead));
  expect(prepared.transfer).toMatchObject({ partsInFlight: inFlight, partsPerBatch: PARTS });
  return prepared.transfer;
}

/** Holds every part PUT at the emulator until the returned release() is called. */
function holdParts(): () => void {
  let release!: () => void;
  const until = new Promise<void>((resolve) => (release = resolve));
  emu.faults.inject({ operation: 'uploadPart', action: { type: 'hold', until } });
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

  it('a part that fails stops the reads ahead: the batch fails with its error, no part is read after it', async () => {
    const transfer = await oneBatch(1, 3);
    getsStarted = 0;
    emu.faults.inject({ operation: 'uploadPart', nth: 1, action: { type: 'status', status: 403, code: 'access_denied_insufficient_permissions' } });
    const error = await rejection(uploadBatch({ transfer, batch: 0 }, deps(1)));
    emu.faults.clear();
    expect(error).toMatchObject({ name: 'Box.Forbidden' });
    // The parts in flight and the one read ahead of them were read, and no more: the pool stopped there, 2 of 6
    // never read. No fewer either: the slots start their reads (pool buffers free, no I/O before each GET goes
    // out) before the first part's GET is answered, so before its PUT can fail.
    expect(getsStarted).toBe(3 + 1);
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
