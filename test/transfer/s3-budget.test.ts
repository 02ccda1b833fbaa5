// S3 requests inside the invocation's request budget (src/transfer/s3source.ts, src/transfer/request-budget.ts): a
// HeadObject or ranged GET that S3 holds, or whose body stalls, is cancelled when the budget is spent and
// ends in the retried Transfer.Deadline; nothing starts once it is spent; requests outside that budget are
// untouched. The budget here is spent by the test once the fault proxy holds the request: no clock races.
import { afterEach, describe, expect, it } from 'vitest';
import { withRequestBudget } from '../../src/box/budget.ts';
import type { SourceObject } from '../../src/transfer/contract.ts';
import { checkStillCurrent } from '../../src/transfer/current.ts';
import { silentLogger } from '../../src/transfer/logger.ts';
import { openObjectStream, pinSource, readRange } from '../../src/transfer/s3source.ts';
import { localS3Client } from '../../local/runner/index.ts';
import { cutOnceHeld, proxiedS3 } from '../support/held-s3.ts';
import { rejection } from '../support/rejection.ts';
import { spendableBudget } from '../support/spendable-budget.ts';
import { startTestS3, testBytes, type TestS3 } from './helpers.ts';

const BUCKET = 's3-budget';
const KEY = 'object.bin';
const SIZE = 256 * 1024;
const never = new Promise<void>(() => undefined);

let s3: TestS3 | undefined;
afterEach(async () => {
  await s3?.close();
  s3 = undefined;
});
const proxied = proxiedS3();

async function setUp() {
  s3 = await startTestS3([BUCKET]);
  await s3.put(BUCKET, KEY, testBytes(SIZE, 3));
  const { proxy, client } = await proxied(s3.endpoint);
  const source = await pinSource(client, { bucket: BUCKET, key: KEY });
  return { proxy, client, source };
}

describe('S3 requests inside the request budget', () => {
  it('HeadObject (pinning the source) held by S3: cancelled when the budget is spent, Transfer.Deadline; the same call outside it works', async () => {
    const { proxy, client } = await setUp();
    proxy.inject({ method: 'HEAD', times: 1, action: { type: 'hold', until: never } });
    const err = await cutOnceHeld(proxy, 1, () => pinSource(client, { bucket: BUCKET, key: KEY }));
    expect(err).toMatchObject({ name: 'Transfer.Deadline', message: expect.stringContaining(`HeadObject s3://${BUCKET}/${KEY}`) });
    await proxy.abandonedAtLeast(1);
    await expect(pinSource(client, { bucket: BUCKET, key: KEY })).resolves.toMatchObject({ size: SIZE });
  });

  it('a ranged GET held by S3, and one whose body stalls: both cut, Transfer.Deadline (not Transfer.S3Throttled)', async () => {
    const { proxy, client, source } = await setUp();
    proxy.inject({ method: 'GET', range: 'bytes=0-65535', times: 1, action: { type: 'hold', until: never } });
    expect(await cutOnceHeld(proxy, 1, () => readRange(client, source, 0, 65_536))).toMatchObject({ name: 'Transfer.Deadline' });
    proxy.inject({ method: 'GET', range: 'bytes=65536-131071', times: 1, action: { type: 'stallBody', bytes: 1000 } });
    expect(await cutOnceHeld(proxy, 2, () => readRange(client, source, 65_536, 65_536))).toMatchObject({ name: 'Transfer.Deadline' });
    await proxy.abandonedAtLeast(2);
    // Neither fault is left: the same reads go through.
    const bytes = testBytes(SIZE, 3);
    expect(Buffer.compare(await readRange(client, source, 65_536, 65_536), bytes.subarray(65_536, 131_072))).toBe(0);
  });

  it("the caller's own signal still cancels a read, and other budgets' requests are untouched by a spent one", async () => {
    const { proxy, client, source } = await setUp();
    let release!: () => void;
    const held = new Promise<void>((resolve) => (release = resolve));
    proxy.inject({ method: 'GET', range: 'bytes=0-65535', times: 2, action: { type: 'hold', until: held } });
    const tight = spendableBudget();
    const roomy = spendableBudget();
    const cut = rejection(withRequestBudget(tight, () => readRange(client, source, 0, 65_536)));
    const kept = withRequestBudget(roomy, () => readRange(client, source, 0, 65_536));
    await proxy.stalledAtLeast(2);
    tight.spend();
    expect(await cut).toMatchObject({ name: 'Transfer.Deadline' });
    release();
    expect((await kept).byteLength).toBe(65_536);
    expect(proxy.stats().abandoned).toBe(1);

    const mine = new AbortController();
    proxy.inject({ method: 'GET', range: 'bytes=0-65535', times: 1, action: { type: 'hold', until: never } });
    const aborted = rejection(withRequestBudget(spendableBudget(), () => readRange(client, source, 0, 65_536, mine.signal)));
    await proxy.stalledAtLeast(3);
    mine.abort();
    expect(await aborted).toMatchObject({ name: 'AbortError' });
  });

  it("a budget spent while the SDK waits before its own retry ends the read at once (the SDK's wait here: 10 minutes)", async () => {
    const { proxy, source } = await setUp();
    // Through the SDK alone: the lean GET would meet the SlowDown first and the SDK then read without waiting.
    const waiting = localS3Client(proxy.endpoint, undefined, { leanReads: false });
    // The SDK's retry strategy, with a wait far longer than any test: only the budget can end it.
    waiting.config.retryStrategy = async () => ({
      acquireInitialRetryToken: async () => ({ getRetryCount: () => 0, getRetryDelay: () => 0 }),
      refreshRetryTokenForRetry: async (token: { getRetryCount(): number }) => ({ getRetryCount: () => token.getRetryCount() + 1, getRetryDelay: () => 600_000 }),
      recordSuccess: () => undefined,
    });
    try {
      proxy.inject({ method: 'GET', range: 'bytes=0-1023', times: 1 }); // one SlowDown: the SDK then waits
      const b = spendableBudget();
      const read = rejection(withRequestBudget(b, () => readRange(waiting, source, 0, 1024)));
      while (proxy.stats().slowDowns < 1) await new Promise((resolve) => setTimeout(resolve, 10));
      b.spend();
      expect(await read).toMatchObject({ name: 'Transfer.Deadline' });
      expect(proxy.stats()).toMatchObject({ slowDowns: 1, rangedGets: 0 }); // the retry never went out
    } finally {
      waiting.destroy();
    }
  });

  it('a spent budget starts no S3 request at all', async () => {
    const { proxy, client, source } = await setUp();
    const spent = spendableBudget();
    spent.spend();
    const before = proxy.stats().rangedGets;
    expect(await rejection(withRequestBudget(spent, () => readRange(client, source, 0, 1024)))).toMatchObject({ name: 'Transfer.Deadline' });
    expect(await rejection(withRequestBudget(spent, () => checkStillCurrent(client, source, silentLogger)))).toMatchObject({ name: 'Transfer.Deadline' });
    expect(proxy.stats().rangedGets).toBe(before);
  });

  it('the newest-write HeadObject held by S3: Transfer.Deadline, not "the key was deleted, carry on"', async () => {
    const { proxy, client, source } = await setUp();
    proxy.inject({ method: 'HEAD', times: 1, action: { type: 'hold', until: never } });
    const err = await cutOnceHeld(proxy, 1, () => checkStillCurrent(client, source, silentLogger));
    expect(err).toMatchObject({ name: 'Transfer.Deadline', message: expect.stringContaining('newest-write check') });
    await expect(checkStillCurrent(client, source as SourceObject, silentLogger)).resolves.toBeUndefined();
  });

  it('a whole-object stream whose body stalls is destroyed with Transfer.Deadline when the budget is spent', async () => {
    const { proxy, client, source } = await setUp();
    proxy.inject({ method: 'GET', times: 1, action: { type: 'stallBody', bytes: 4096 } });
    const b = spendableBudget();
    const read = withRequestBudget(b, async () => {
      let bytes = 0;
      for await (const chunk of await openObjectStream(client, source)) bytes += (chunk as Buffer).byteLength;
      return bytes;
    });
    await proxy.stalledAtLeast(1);
    b.spend();
    expect(await rejection(read)).toMatchObject({ name: 'Transfer.Deadline' });
    await proxy.abandonedAtLeast(1);
  });
});
