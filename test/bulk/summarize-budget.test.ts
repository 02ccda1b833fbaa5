// Summarize's S3 requests inside the invocation's request budget (src/box/budget.ts): a result file whose
// GET S3 holds, or whose body stalls, and a summary PUT that S3 holds are cut with the retried
// Transfer.Deadline when the budget is spent, not left to the Lambda's timeout; the same summary outside a
// budget is written whole. The budget is spent by the test once the fault proxy holds the request: no
// clock races. Real loopback S3 (s3rver) behind the fault proxy.
import { GetObjectCommand, PutObjectCommand } from '@aws-sdk/client-s3';
import type { S3Client } from '@aws-sdk/client-s3';
import { afterEach, describe, expect, it } from 'vitest';
import type { ObjectResult } from '../../src/bulk/contract.ts';
import { summarizeSync } from '../../src/bulk/report.ts';
import type { SummarizeEvent } from '../../src/bulk/report.ts';
import { silentLogger } from '../../src/transfer/logger.ts';
import { startLocalS3 } from '../../local/runner/index.ts';
import type { LocalS3 } from '../../local/runner/index.ts';
import { cutOnceHeld, proxiedS3 } from '../support/held-s3.ts';
import type { S3FaultProxy } from '../support/s3-fault-proxy.ts';

const BUCKET = 'reports';
const PREFIX = 'runs/run-1';
const never = new Promise<void>(() => undefined);

let s3: LocalS3 | undefined;
afterEach(async () => {
  await s3?.close();
  s3 = undefined;
});
const proxied = proxiedS3();

const results: ObjectResult[] = Array.from({ length: 200 }, (_, n) => ({ key: `k/${n}`, outcome: 'copied', bytes: n, path: `${n}`, fileId: String(n) }));

/** A finished Map run's results on S3 (manifest.json and one SUCCEEDED file), and a client through the fault proxy. */
async function setUp(): Promise<{ proxy: S3FaultProxy; client: S3Client; event: SummarizeEvent }> {
  s3 = await startLocalS3({ buckets: [BUCKET] });
  const children = [0, 1].map((c) => JSON.stringify({ ExecutionArn: `arn:child:${c}`, Input: '{"Items":[]}', Output: JSON.stringify({ results: results.slice(c * 100, c * 100 + 100) }), Status: 'SUCCEEDED' }));
  const Key = `${PREFIX}/map-run/SUCCEEDED_0.json`;
  await s3.client.send(new PutObjectCommand({ Bucket: BUCKET, Key, Body: `[${children.join(',')}]` }));
  await s3.client.send(new PutObjectCommand({ Bucket: BUCKET, Key: `${PREFIX}/map-run/manifest.json`, Body: JSON.stringify({ ResultFiles: { SUCCEEDED: [{ Key }] } }) }));
  const { proxy, client } = await proxied(s3.endpoint);
  const event: SummarizeEvent = {
    plan: { results: { bucket: BUCKET, prefix: PREFIX }, batchInput: { dryRun: false } as SummarizeEvent['plan']['batchInput'] },
    mapRun: { ResultWriterDetails: { Bucket: BUCKET, Key: `${PREFIX}/map-run/manifest.json` } },
  };
  return { proxy, client, event };
}

/** Runs Summarize in a fresh budget, spends it once the proxy holds a request, and returns the rejection. */
function summaryCutOnceHeld(proxy: S3FaultProxy, client: S3Client, event: SummarizeEvent): Promise<unknown> {
  return cutOnceHeld(proxy, 1, () => summarizeSync(event, { s3: client, logger: silentLogger }));
}

async function summaryWritten(): Promise<boolean> {
  try {
    await s3?.client.send(new GetObjectCommand({ Bucket: BUCKET, Key: `${PREFIX}/summary.json` }));
    return true;
  } catch {
    return false;
  }
}

describe("Summarize's S3 requests inside the request budget", () => {
  it('outside a budget (the control): the report and summary are written whole through the proxy', async () => {
    const { client, event } = await setUp();
    const summary = await summarizeSync(event, { s3: client, logger: silentLogger });
    expect(summary).toMatchObject({ objects: 200, copied: 200, failed: 0 });
    expect(await summaryWritten()).toBe(true);
  });

  it('a result file GET held by S3: cut with Transfer.Deadline, nothing written', async () => {
    const { proxy, client, event } = await setUp();
    // The first GET is manifest.json, the second the result file.
    proxy.inject({ method: 'GET', times: 1, nth: 2, action: { type: 'hold', until: never } });
    const err = await summaryCutOnceHeld(proxy, client, event);
    expect(err).toMatchObject({ name: 'Transfer.Deadline' });
    await proxy.abandonedAtLeast(1);
    expect(await summaryWritten()).toBe(false);
  });

  it('a result file whose body stalls: the read is cut with Transfer.Deadline', async () => {
    const { proxy, client, event } = await setUp();
    proxy.inject({ method: 'GET', times: 1, nth: 2, action: { type: 'stallBody', bytes: 500 } });
    const err = await summaryCutOnceHeld(proxy, client, event);
    expect(err).toMatchObject({ name: 'Transfer.Deadline' });
    await proxy.abandonedAtLeast(1);
    expect(await summaryWritten()).toBe(false);
  });

  it('the summary PUT held by S3 (after the report was written): cut with Transfer.Deadline', async () => {
    const { proxy, client, event } = await setUp();
    // The first PUT writes report.jsonl (one part: a single PutObject), the second summary.json.
    proxy.inject({ method: 'PUT', times: 1, nth: 2, action: { type: 'hold', until: never } });
    const err = await summaryCutOnceHeld(proxy, client, event);
    expect(err).toMatchObject({ name: 'Transfer.Deadline' });
    await proxy.abandonedAtLeast(1);
    expect(await summaryWritten()).toBe(false);
  });
});
