// FinishBatch (a Lambda) runs only in child workflows that handed objects to nested transfers: a batch
// whose objects were all settled inside SyncBatch ends at a Pass state whose output is its results, so a
// run of small objects costs one Lambda invocation per batch instead of two. Either way every object is in
// the report. Real bulk state machine (local runner), real emulator, real s3rver.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { makeBulkHandlers } from '../../functions/index.ts';
import type { TaskHandler } from '../../local/runner/execution.ts';
import { putGeneratedObject } from '../../local/runner/index.ts';
import type { SyncInput } from '../../src/bulk/contract.ts';
import { BUCKET, REPORT_BUCKET, startBulkEnv } from './harness.ts';
import type { BulkEnv } from './harness.ts';

const MiB = 1024 * 1024;
let env: BulkEnv;
beforeAll(async () => {
  env = await startBulkEnv({ emulator: { minChunkedFileSize: MiB, partSize: MiB }, settings: { directUploadMax: MiB } });
  for (let i = 0; i < 6; i++) await putGeneratedObject(env.s3.client, { bucket: BUCKET, key: `small/object ${i}.txt`, size: 100 + i });
  for (let i = 0; i < 3; i++) await putGeneratedObject(env.s3.client, { bucket: BUCKET, key: `mixed/object ${i}.txt`, size: 100 + i });
  await putGeneratedObject(env.s3.client, { bucket: BUCKET, key: 'mixed/z big.bin', size: 2 * MiB + 1 });
}, 60_000);
afterAll(async () => {
  await env?.close();
});

/** The real FinishBatch, counting its invocations. */
function countedFinishBatch(): { handler: TaskHandler; calls: () => number } {
  const real = makeBulkHandlers(env.deps).finishBatch as TaskHandler;
  let calls = 0;
  return {
    handler: async (event, context) => {
      calls++;
      return real(event, context);
    },
    calls: () => calls,
  };
}

const input = (prefix: string): SyncInput => ({
  source: { bucket: BUCKET, prefix },
  destination: { folderId: '0' },
  report: { bucket: REPORT_BUCKET, prefix: `${prefix}runs/` },
  options: { uploadsPerMinute: 100_000, objectsPerBatch: 2 },
});

describe('FinishBatch only where nested transfers ran', () => {
  it('a run of small objects never invokes it, and its report still holds every object', async () => {
    const finish = countedFinishBatch();
    const summary = await env.sync(input('small/'), { handlers: { finishBatch: finish.handler } }).result;
    expect(summary).toMatchObject({ objects: 6, copied: 6, failed: 0 });
    expect(finish.calls()).toBe(0);
    const report = await env.readReport(summary.report.bucket, summary.report.key);
    expect(report.map((r) => r.key).sort()).toEqual(Array.from({ length: 6 }, (_, i) => `small/object ${i}.txt`));
    expect(report.every((r) => r.outcome === 'copied' && r.fileId !== undefined && r.sha1 !== undefined)).toBe(true);
  }, 120_000);

  it('the batch that handed a chunked object over invokes it once; the others do not', async () => {
    const finish = countedFinishBatch();
    // Keys in listing order, two per batch: "object 0" and "object 1", then "object 2" and "z big.bin".
    const summary = await env.sync(input('mixed/'), { handlers: { finishBatch: finish.handler } }).result;
    expect(summary).toMatchObject({ objects: 4, copied: 4, failed: 0 });
    expect(finish.calls()).toBe(1);
    const report = await env.readReport(summary.report.bucket, summary.report.key);
    expect(report.map((r) => r.key).sort()).toEqual(['mixed/object 0.txt', 'mixed/object 1.txt', 'mixed/object 2.txt', 'mixed/z big.bin']);
    expect(report.find((r) => r.key === 'mixed/z big.bin')).toMatchObject({ outcome: 'copied', bytes: 2 * MiB + 1 });
  }, 120_000);
});
