// The run's upload budget holds with one object per batch, the case where a child that forgot its
// schedule would upload at once and hand its Map slot to the next child at once. Real bulk state machine
// (local runner), real emulator, real s3rver; the emulator reports when each direct upload was answered.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { putGeneratedObject } from '../../local/runner/index.ts';
import { BUCKET, REPORT_BUCKET, startBulkEnv } from './harness.ts';
import type { BulkEnv } from './harness.ts';

const OBJECTS = 6;
// 16 objects in flight: 2 children of 8 (src/bulk/plan.ts), so each child paces itself at 15 a minute.
const OBJECTS_IN_FLIGHT = 16;
const CHILDREN = 2;
const UPLOADS_PER_MINUTE = 30;
const CHILD_INTERVAL_MS = 60_000 / (UPLOADS_PER_MINUTE / CHILDREN);

let env: BulkEnv;
const uploadsAnsweredAt: number[] = [];

beforeAll(async () => {
  env = await startBulkEnv({
    emulator: {
      onRequest: (entry) => {
        if (entry.operation === 'uploadFile' && entry.status < 300) uploadsAnsweredAt.push(performance.now());
      },
    },
  });
  for (let i = 0; i < OBJECTS; i++) await putGeneratedObject(env.s3.client, { bucket: BUCKET, key: `paced/object ${i}.txt`, size: 1000 + i });
}, 120_000);

afterAll(async () => {
  await env?.close();
});

describe('the bulk upload budget', () => {
  it(`keeps a run of one-object batches within ${UPLOADS_PER_MINUTE} uploads a minute`, async () => {
    const startedAt = performance.now();
    const run = env.sync({
      source: { bucket: BUCKET, prefix: 'paced/' },
      destination: { folderId: '0' },
      report: { bucket: REPORT_BUCKET, prefix: 'paced-runs/' },
      options: { objectsInFlight: OBJECTS_IN_FLIGHT, uploadsPerMinute: UPLOADS_PER_MINUTE, objectsPerBatch: 1 },
    });
    const summary = await run.result;
    expect(summary).toMatchObject({ objects: OBJECTS, copied: OBJECTS, failed: 0 });
    expect(uploadsAnsweredAt).toHaveLength(OBJECTS);
    // Order the uploads by when they were sent. When the third is sent, its child runs and at most CHILDREN
    // children run at once, so one of the first two children has ended, and a child ends no sooner than one
    // interval after its upload was sent: the third upload comes at least one interval after the first, the
    // fifth at least two. So the last upload (answered after it was sent, and the first one sent after the
    // run started) comes at least (OBJECTS / CHILDREN - 1) intervals after the start. A slower machine only
    // makes that longer; without the pacer's drain the uploads go back to back, in well under that time.
    const lastAnswered = Math.max(...uploadsAnsweredAt);
    expect(lastAnswered - startedAt).toBeGreaterThanOrEqual((OBJECTS / CHILDREN - 1) * CHILD_INTERVAL_MS);
  }, 120_000);
});
