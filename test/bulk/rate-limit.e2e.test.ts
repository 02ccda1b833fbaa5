// A 429 storm through the bulk state machine: Box answers 429 with Retry-After to a run of upload
// requests (direct uploads and session creates). The run must never have more upload requests in flight
// than its objects in flight, and every object must land byte-exact (a rate-limited object is delayed,
// never failed). Real bulk state machine (local runner), real emulator, real s3rver.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { putGeneratedObject } from '../../local/runner/index.ts';
import { BUCKET, REPORT_BUCKET, startBulkEnv, boxFileAt as boxFileIn } from './harness.ts';
import type { BulkEnv } from './harness.ts';

const MiB = 1024 * 1024;
const SMALL = 120;
const CHUNKED = 3;
const OBJECTS_IN_FLIGHT = 16;

let env: BulkEnv;
const expected = new Map<string, { sha1: string; size: number }>();

beforeAll(async () => {
  env = await startBulkEnv({ emulator: { minChunkedFileSize: MiB, partSize: MiB }, settings: { directUploadMax: MiB } });
  for (let i = 0; i < SMALL; i++) {
    const key = `storm/batch ${i % 4}/object ${i}.txt`;
    const size = 100 + i;
    expected.set(key, { sha1: (await putGeneratedObject(env.s3.client, { bucket: BUCKET, key, size })).sha1, size });
  }
  for (let i = 0; i < CHUNKED; i++) {
    const key = `storm/big ${i}.bin`;
    const size = 2 * MiB + i;
    expected.set(key, { sha1: (await putGeneratedObject(env.s3.client, { bucket: BUCKET, key, size })).sha1, size });
  }
}, 120_000);

afterAll(async () => {
  await env?.close();
});

const boxFileAt = (path: string) => boxFileIn(env.box, path);

describe('a 429 storm through the bulk state machine', () => {
  it(`keeps at most ${OBJECTS_IN_FLIGHT} upload requests in flight through 429s with Retry-After, and lands every object`, async () => {
    // 60 direct uploads and 4 session creates answered 429 (Retry-After: 1) before Box accepts again:
    // many objects run out of the client's three attempts and go on through the transfer state machine.
    env.box.faults.inject({ operation: 'uploadFile', times: 60, action: { type: 'status', status: 429, retryAfterSeconds: 1 } });
    env.box.faults.inject({ operation: 'createSession', times: 4, action: { type: 'status', status: 429, retryAfterSeconds: 1 } });
    env.box.resetStats();
    const run = env.sync({
      source: { bucket: BUCKET, prefix: 'storm/' },
      destination: { folderId: '0' },
      report: { bucket: REPORT_BUCKET, prefix: 'storm-runs/' },
      options: { objectsInFlight: OBJECTS_IN_FLIGHT, uploadsPerMinute: 100_000, objectsPerBatch: 20 },
    });
    const summary = await run.result;
    expect(summary).toMatchObject({ objects: SMALL + CHUNKED, copied: SMALL + CHUNKED, failed: 0 });

    const stats = env.box.stats();
    // The storm really happened: every 429 was answered, and more upload requests were sent than objects.
    expect(stats.requests.uploadFile).toBeGreaterThanOrEqual(SMALL + 60);
    expect(stats.requests.createSession).toBeGreaterThanOrEqual(CHUNKED + 4);
    // Never more upload requests at once than the run's objects in flight (and it did run them in parallel).
    expect(stats.maxUploadsInFlight).toBeLessThanOrEqual(OBJECTS_IN_FLIGHT);
    expect(stats.maxUploadsInFlight).toBeGreaterThan(1);
    expect(stats.uploadsInFlight).toBe(0);

    for (const [key, want] of expected) expect(boxFileAt(key.slice('storm/'.length)), key).toEqual(want);
    const report = await env.readReport(summary.report.bucket, summary.report.key);
    expect(report.filter((r) => r.outcome === 'copied')).toHaveLength(SMALL + CHUNKED);
    // Some objects were handed to the transfer state machine after their 429s (the run delayed them, it did not fail them).
    const history = await run.history;
    expect(history.transfers.length).toBeGreaterThan(CHUNKED);
  }, 300_000);
});
