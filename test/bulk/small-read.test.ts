// The lean read of a small object whole (src/bulk/smallRead.ts) against a real local S3: one signed GET
// that is not the SDK's on the plain path; the SDK's own read (and its named errors) for everything else:
// an S3 error answer, a changed or missing object, a key a URL could read otherwise; the request budget
// cuts it with Transfer.Deadline like every S3 request.
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { pipeline } from 'node:stream/promises';
import { afterEach, describe, expect, it } from 'vitest';
import type { S3Client } from '@aws-sdk/client-s3';
import { withRequestBudget } from '../../src/box/budget.ts';
import { readSmallObject } from '../../src/bulk/smallRead.ts';
import { leanServesKey } from '../../src/transfer/s3endpoint.ts';
import { pinSource } from '../../src/transfer/s3source.ts';
import { localS3Client } from '../../local/runner/index.ts';
import { rejection } from '../support/rejection.ts';
import { startS3FaultProxy, type S3FaultProxy } from '../support/s3-fault-proxy.ts';
import { spendableBudget } from '../support/spendable-budget.ts';
import { startTestS3, testBytes, type TestS3 } from '../transfer/helpers.ts';

const BUCKET = 'small-read';
const SIZE = 100 * 1024;
const never = new Promise<void>(() => undefined);

interface Seen {
  method: string;
  path: string;
  /** The request came from the AWS SDK (its user agent). */
  sdk: boolean;
}

/** A pass-through proxy that records who sent each request (client -> recorder -> fault proxy -> s3rver). */
async function startRecorder(target: string): Promise<{ endpoint: string; seen: Seen[]; close(): Promise<void> }> {
  const upstream = new URL(target);
  const seen: Seen[] = [];
  const agent = new http.Agent({ keepAlive: true });
  const server = http.createServer((req, res) => {
    seen.push({ method: req.method ?? '', path: req.url ?? '', sdk: String(req.headers['user-agent'] ?? '').includes('aws-sdk-js') });
    const out = http.request({ host: upstream.hostname, port: upstream.port, method: req.method, path: req.url, headers: req.headers, agent }, (answer) => {
      res.writeHead(answer.statusCode ?? 502, answer.headers);
      pipeline(answer, res).catch(() => res.destroy());
    });
    out.on('error', () => res.destroy());
    // A client that gives up on its request gives up on the one forwarded too.
    res.once('close', () => {
      if (!res.writableFinished) out.destroy();
    });
    pipeline(req, out).catch(() => out.destroy());
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    endpoint: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    seen,
    close: async () => {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
      agent.destroy();
    },
  };
}

let s3: TestS3 | undefined;
let proxy: S3FaultProxy | undefined;
let recorder: Awaited<ReturnType<typeof startRecorder>> | undefined;
let client: S3Client | undefined;
afterEach(async () => {
  client?.destroy();
  await recorder?.close();
  await proxy?.close();
  await s3?.close();
  s3 = proxy = recorder = client = undefined;
});

async function setUp(keys: Record<string, Uint8Array>) {
  s3 = await startTestS3([BUCKET]);
  for (const [key, body] of Object.entries(keys)) await s3.put(BUCKET, key, body);
  proxy = await startS3FaultProxy(s3.endpoint);
  recorder = await startRecorder(proxy.endpoint);
  client = localS3Client(recorder.endpoint);
  return { proxy, recorder, client };
}

const gets = (seen: Seen[]): Seen[] => seen.filter((r) => r.method === 'GET');

describe('readSmallObject', () => {
  it('reads the pinned object whole in one GET that is not the SDK (keys with spaces, unicode, + and quotes)', async () => {
    const keys = { 'a folder/ré sumé+1 (copy).bin': testBytes(SIZE, 1), "it's/*!.bin": testBytes(SIZE, 2), 'one.bin': testBytes(1, 3) };
    const { recorder, client } = await setUp(keys);
    for (const [key, body] of Object.entries(keys)) {
      const source = await pinSource(client, { bucket: BUCKET, key });
      const before = gets(recorder.seen).length;
      expect(Buffer.compare(await readSmallObject(client, source), Buffer.from(body))).toBe(0);
      expect(gets(recorder.seen).slice(before)).toEqual([expect.objectContaining({ sdk: false })]);
    }
  });

  it('a 0-byte object is read without a request', async () => {
    const { recorder, client } = await setUp({ 'empty.bin': new Uint8Array(0) });
    const source = await pinSource(client, { bucket: BUCKET, key: 'empty.bin' });
    expect((await readSmallObject(client, source)).byteLength).toBe(0);
    expect(gets(recorder.seen)).toEqual([]);
  });

  it("an S3 error answer (503 SlowDown) goes to the SDK, which reads the object: the SDK's retries stay the one implementation", async () => {
    const body = testBytes(SIZE, 4);
    const { proxy, recorder, client } = await setUp({ 'slow.bin': body });
    const source = await pinSource(client, { bucket: BUCKET, key: 'slow.bin' });
    proxy.inject({ method: 'GET', range: `bytes=0-${SIZE - 1}`, times: 1 });
    expect(Buffer.compare(await readSmallObject(client, source), Buffer.from(body))).toBe(0);
    expect(proxy.stats().slowDowns).toBe(1);
    expect(gets(recorder.seen).map((r) => r.sdk)).toEqual([false, true]);
  });

  it('an object changed since it was pinned: Transfer.SourceChanged, from the SDK read', async () => {
    const { recorder, client } = await setUp({ 'changed.bin': testBytes(SIZE, 5) });
    const source = await pinSource(client, { bucket: BUCKET, key: 'changed.bin' });
    await s3!.put(BUCKET, 'changed.bin', testBytes(SIZE, 6));
    expect(await rejection(readSmallObject(client, source))).toMatchObject({ name: 'Transfer.SourceChanged' });
    expect(gets(recorder.seen).map((r) => r.sdk)).toEqual([false, true]);
  });

  it('a pinned size that is not the object\'s (a listing that lied): never the wrong bytes, Transfer.SourceChanged', async () => {
    const { client } = await setUp({ 'sized.bin': testBytes(SIZE, 7) });
    const source = await pinSource(client, { bucket: BUCKET, key: 'sized.bin' });
    expect(await rejection(readSmallObject(client, { ...source, size: SIZE + 10 }))).toMatchObject({ name: 'Transfer.SourceChanged' });
    const shorter = await rejection(readSmallObject(client, { ...source, size: SIZE - 10 }));
    expect(shorter).toMatchObject({ name: 'Transfer.SourceChanged' });
  });

  it('a deleted object: Transfer.SourceNotFound', async () => {
    const { client } = await setUp({ 'here.bin': testBytes(SIZE, 8) });
    const source = await pinSource(client, { bucket: BUCKET, key: 'here.bin' });
    expect(await rejection(readSmallObject(client, { ...source, key: 'gone.bin' }))).toMatchObject({ name: 'Transfer.SourceNotFound' });
  });

  it('keys with dot or empty segments (which a URL path could read as another key) or control characters are left to the SDK', () => {
    for (const key of ['a/../b.bin', 'a//c.bin', './d.bin', 'e/.', '/f.bin', 'g/', 'h\u0000.bin', 'i\n.bin']) expect(leanServesKey(key), key).toBe(false);
    for (const key of ['a/b.bin', 'a folder/ré sumé+1 (copy).bin', '..b/c..', 'x.']) expect(leanServesKey(key), key).toBe(true);
  });

  it('held by S3: cancelled when the request budget is spent, Transfer.Deadline (no SDK read after the cut)', async () => {
    const { proxy, recorder, client } = await setUp({ 'held.bin': testBytes(SIZE, 13) });
    const source = await pinSource(client, { bucket: BUCKET, key: 'held.bin' });
    proxy.inject({ method: 'GET', range: `bytes=0-${SIZE - 1}`, times: 1, action: { type: 'hold', until: never } });
    const budget = spendableBudget();
    const running = rejection(withRequestBudget(budget, () => readSmallObject(client, source)));
    await proxy.stalledAtLeast(1);
    budget.spend();
    expect(await running).toMatchObject({ name: 'Transfer.Deadline', message: expect.stringContaining(`GetObject s3://${BUCKET}/held.bin`) });
    await proxy.abandonedAtLeast(1);
    expect(gets(recorder.seen)).toHaveLength(1);
  });

  it('a body that stalls: cut by the request budget, Transfer.Deadline', async () => {
    const { proxy, client } = await setUp({ 'stall.bin': testBytes(SIZE, 14) });
    const source = await pinSource(client, { bucket: BUCKET, key: 'stall.bin' });
    proxy.inject({ method: 'GET', range: `bytes=0-${SIZE - 1}`, times: 1, action: { type: 'stallBody', bytes: 1000 } });
    const budget = spendableBudget();
    const running = rejection(withRequestBudget(budget, () => readSmallObject(client, source)));
    await proxy.stalledAtLeast(1);
    budget.spend();
    expect(await running).toMatchObject({ name: 'Transfer.Deadline' });
  });
});
