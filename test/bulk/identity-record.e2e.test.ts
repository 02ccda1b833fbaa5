// A copied object's source identity (one metadata request) is recorded off the object's path: the next
// objects are uploaded while earlier records are still pending, at most objects-in-flight records wait at
// once, and the batch ends only when every record has landed (so a second run decides from the listing and
// reads no object bytes). Real bulk state machine (local runner), real emulator, real s3rver.
import { subscribe, unsubscribe } from 'node:diagnostics_channel';
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
    // The Box client's requests as this process (where the batch runs) makes them, through undici's
    // diagnostics channels: each created, and each upload's answer received whole.
    const sent = { records: 0, uploads: 0, uploadsAnswered: 0 };
    const kind = (message: unknown): 'record' | 'upload' | undefined => {
      const { request } = message as { request: { method: string; path: string } };
      if (request.method !== 'POST') return undefined;
      return request.path.includes('/metadata/global/properties') ? 'record' : request.path.includes('/2.0/files/content') ? 'upload' : undefined;
    };
    const onCreate = (message: unknown): void => {
      const k = kind(message);
      if (k === 'record') sent.records++;
      if (k === 'upload') sent.uploads++;
    };
    const onAnswered = (message: unknown): void => {
      if (kind(message) === 'upload') sent.uploadsAnswered++;
    };
    subscribe('undici:request:create', onCreate);
    subscribe('undici:request:trailers', onAnswered);
    const run = env.sync(input);
    let settled = false;
    void run.result.then(
      () => (settled = true),
      () => (settled = true),
    );
    let whileHeld: typeof sent;
    try {
      // Each of the two workers goes on past its first record (IN_FLIGHT records held), uploads one more
      // object and waits for a free record place: twice IN_FLIGHT uploads while no record has landed.
      // Counted once every worker has its second upload's answer: a worker sends that object's record as
      // soon as the answer is read, with no I/O between (the turn of the event loop that reads the answer
      // ends with it), so a record not held back by the bound would have been sent by then.
      await vi.waitFor(() => expect(sent.uploadsAnswered).toBeGreaterThanOrEqual(2 * IN_FLIGHT), { timeout: 30_000, interval: 20 });
      whileHeld = { ...sent };
      expect(settled).toBe(false);
    } finally {
      release();
      env.box.faults.clear();
      unsubscribe('undici:request:create', onCreate);
      unsubscribe('undici:request:trailers', onAnswered);
    }
    expect(whileHeld).toEqual({ records: IN_FLIGHT, uploads: 2 * IN_FLIGHT, uploadsAnswered: 2 * IN_FLIGHT });
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
