// A copied object's source identity (one metadata request) is recorded off the object's path: the next
// objects are uploaded while earlier records are still pending, at most objects-in-flight records wait at
// once, and the batch ends only when every record has landed (so a second run decides from the listing and
// reads no object bytes). Real bulk state machine (local runner), real emulator, real s3rver.
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { putGeneratedObject } from '../../local/runner/index.ts';
import { BUCKET, REPORT_BUCKET, startBulkEnv } from './harness.ts';
import type { BulkEnv } from './harness.ts';

const OBJECTS = 6;
const IN_FLIGHT = 2;

let env: BulkEnv;
beforeAll(async () => {
  env = await startBulkEnv();
  for (let i = 0; i < OBJECTS; i++) await putGeneratedObject(env.s3.client, { bucket: BUCKET, key: `rec/object ${i}.txt`, size: 1000 + i });
}, 60_000);
afterAll(async () => {
  await env?.close();
});

describe('recording the source identity of copied objects', () => {
  it('uploads the next objects while records are held, keeps at most objects-in-flight records waiting, and ends the batch only when all have landed', async () => {
    let release!: () => void;
    const held = new Promise<void>((resolve) => (release = resolve));
    env.box.faults.inject({ operation: 'createMetadata', action: { type: 'hold', until: held } });
    env.box.resetStats();
    const input = {
      source: { bucket: BUCKET, prefix: 'rec/' },
      destination: { folderId: '0' },
      report: { bucket: REPORT_BUCKET, prefix: 'rec-runs/' },
      // One child workflow running IN_FLIGHT objects at once.
      options: { objectsInFlight: IN_FLIGHT, uploadsPerMinute: 100_000, objectsPerBatch: OBJECTS },
    };
    const run = env.sync(input);
    let settled = false;
    void run.result.then(
      () => (settled = true),
      () => (settled = true),
    );
    try {
      // Each of the two workers goes on past its first record (IN_FLIGHT records held), uploads one more
      // object and waits for a free record place: twice IN_FLIGHT uploads while no record has landed.
      await vi.waitFor(() => {
        expect(env.box.stats().requests.createMetadata).toBe(IN_FLIGHT);
        expect(env.box.stats().requests.uploadFile).toBe(2 * IN_FLIGHT);
      }, { timeout: 30_000, interval: 20 });
      // Nothing more goes out while the records are held, and the run does not end.
      await new Promise((resolve) => setTimeout(resolve, 300));
      expect(env.box.stats().requests.createMetadata).toBe(IN_FLIGHT);
      expect(env.box.stats().requests.uploadFile).toBe(2 * IN_FLIGHT);
      expect(settled).toBe(false);
    } finally {
      release();
      env.box.faults.clear();
    }
    const summary = await run.result;
    expect(summary).toMatchObject({ objects: OBJECTS, copied: OBJECTS, failed: 0 });
    expect(env.box.stats().requests.createMetadata).toBe(OBJECTS);

    // Every record landed before the run ended: a second run skips every object from the listing alone.
    const readsBefore = env.sourceReads();
    const again = await env.sync({ ...input, report: { bucket: REPORT_BUCKET, prefix: 'rec-again/' } }).result;
    expect(again).toMatchObject({ objects: OBJECTS, copied: 0, skipped: OBJECTS, failed: 0 });
    const report = await env.readReport(again.report.bucket, again.report.key);
    expect(report.map((r) => r.reason)).toEqual(Array(OBJECTS).fill('same-source'));
    expect(env.sourceReads()).toBe(readsBefore);
  }, 120_000);
});
