import { afterEach, describe, expect, it } from 'vitest';
import { REPORT_BUCKET, startBulkEnv, BUCKET } from './harness.ts';
import type { BulkEnv } from './harness.ts';

let env: BulkEnv | undefined;
afterEach(async () => {
  await env?.close();
  env = undefined;
});

describe('bulk smoke', () => {
  it('copies a few objects', async () => {
    env = await startBulkEnv({ emulator: { minChunkedFileSize: 1024 * 1024, partSize: 1024 * 1024 }, settings: { directUploadMax: 1024 * 1024 } });
    await env.put('data/a.txt', 10);
    await env.put('data/sub/b.txt', 0);
    await env.put('data/sub/deep/c d+e.bin', 3 * 1024 * 1024 + 5);
    const run = env.sync({ source: { bucket: BUCKET, prefix: 'data/' }, destination: { folderId: '0' }, report: { bucket: REPORT_BUCKET, prefix: 'reports/' }, options: { uploadsPerMinute: 100000 } });
    const summary = await run.result;
    console.log(JSON.stringify(summary), JSON.stringify(await run.history).slice(0, 300));
    console.log(JSON.stringify(await env.readReport(summary.report.bucket, summary.report.key), null, 1));
    expect(summary.copied).toBe(3);
    const again = await env.sync({ source: { bucket: BUCKET, prefix: 'data/' }, destination: { folderId: '0' }, report: { bucket: REPORT_BUCKET, prefix: 'reports/' }, options: { uploadsPerMinute: 100000 } }).result;
    console.log(JSON.stringify(again), env.sourceReads(), env.s3Calls);
  });
});
