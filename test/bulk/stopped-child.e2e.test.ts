// A bulk run whose Map Run fails past its tolerated failures while a chunked object is mid-upload, through the
// real bulk state machine (local runner, Distributed Map emulated as AWS runs it): the running child workflow
// is stopped (ABORTED) and its nested transfer with it; the transfer keeps its Box session (only a user's stop
// aborts one: src/transfer/stop.ts), and the run's report carries the object's resume input, which finishes it
// sending only the parts Box does not hold.
import { setTimeout as sleep } from 'node:timers/promises';
import { beforeEach, describe, expect, it } from 'vitest';
import { makeBulkHandlers, makeTaskHandlers } from '../../functions/index.ts';
import type { LocalLambdaContext } from '../../local/runner/execution.ts';
import { putGeneratedObject } from '../../local/runner/index.ts';
import type { SyncBatchEvent } from '../../src/bulk/contract.ts';
import type { TransferInput } from '../../src/transfer/contract.ts';
import { BUCKET, boxFileAt, chunkedFromOneMiBForEachTest, MiB, REPORT_BUCKET } from './harness.ts';
import type { BulkEnv } from './harness.ts';
import { rejection } from '../support/rejection.ts';

const bulkEnv = chunkedFromOneMiBForEachTest();
let env: BulkEnv;
beforeEach(() => {
  env = bulkEnv();
});

describe('a nested transfer running when the Map Run fails past its tolerated failures', () => {
  it('M16b is stopped with its child workflow, keeps its Box session, and is reported resumable; its resumeInput finishes it', async () => {
    const SIZE = 6 * MiB + 5; // 7 parts
    const bigSha1 = (await putGeneratedObject(env.s3.client, { bucket: BUCKET, key: 's/big.bin', size: SIZE })).sha1;
    await putGeneratedObject(env.s3.client, { bucket: BUCKET, key: 's/small.txt', size: 10 });
    // Box stores two parts of the big object, then holds every part upload until the test lets them go.
    let release!: () => void;
    const held = new Promise<void>((resolve) => (release = resolve));
    env.box.faults.inject({ operation: 'uploadPart', nth: 3, times: 1_000_000, action: { type: 'hold', until: held } });
    const real = makeBulkHandlers(env.deps);
    // The small object's child fails as a whole (an error its Retry does not cover) once the big object's
    // upload is held mid-way: one failed child is past a tolerance of 0 %.
    const syncBatch = async (event: SyncBatchEvent, context: LocalLambdaContext): Promise<unknown> => {
      if (event.Items.some((i) => i['Key'] === 's/small.txt')) {
        for (let i = 0; i < 2400 && (env.box.stats().requests.uploadPart ?? 0) < 3; i++) await sleep(25);
        throw Object.assign(new Error('the Box token was refused'), { name: 'Box.Unauthorized' });
      }
      return real.syncBatch(event, context);
    };
    // What each nested transfer's Prepare was given (its execution input among it).
    const prepared: string[] = [];
    const realPrepare = makeTaskHandlers(env.deps).Prepare;
    // One object per child, both children at once (8 objects in flight per child).
    const run = env.sync(
      {
        source: { bucket: BUCKET, prefix: 's/' },
        destination: { folderId: '0' },
        report: { bucket: REPORT_BUCKET, prefix: 'runs/' },
        options: { uploadsPerMinute: 100_000, objectsPerBatch: 1, objectsInFlight: 16, concurrency: 1, toleratedFailurePercentage: 0 },
      },
      {
        handlers: { syncBatch },
        transferHandlers: {
          Prepare: (event: unknown, context: LocalLambdaContext) => {
            prepared.push(JSON.stringify(event));
            return realPrepare(event, context);
          },
        },
      },
    );
    const error = await rejection(run.result);
    expect(error.name).toBe('Transfer.TooManyFailures');
    expect(error.message).toContain('States.ExceedToleratedFailureThreshold');
    expect(env.box.stats().requests.uploadPart).toBe(3); // two stored, the third held: the run ended mid-upload
    expect(run.mapRuns()[0]?.executionCounts).toMatchObject({ total: 2, failed: 1, aborted: 1, running: 0 });
    // The nested transfer named its parent, the child workflow (what tells AbortOnStop who stopped it in AWS).
    expect(prepared).toHaveLength(1);
    expect(prepared[0]).toMatch(/"AWS_STEP_FUNCTIONS_STARTED_BY_EXECUTION_ID":"arn:aws:states:[^"]+:execution:s3-to-box-bulk-local\/CopyPrefix:[^"]+"/);

    // The held upload goes on as a running Lambda's would; nothing aborts the session.
    release();
    await run.idle;
    await env.box.settled();
    const [session] = env.box.listSessions();
    expect(session).toMatchObject({ status: 'open', totalParts: 7 });
    expect(boxFileAt(env.box, 'big.bin')).toBeUndefined();

    const report = await env.readReport(REPORT_BUCKET, `runs/${run.executionName}/report.jsonl`);
    expect(report.map((r) => r.key).sort()).toEqual(['s/big.bin', 's/small.txt']);
    expect(report.find((r) => r.key === 's/small.txt')).toMatchObject({ outcome: 'failed', failure: { error: { name: 'Box.Unauthorized' }, resumable: false } });
    const line = report.find((r) => r.key === 's/big.bin');
    expect(line).toMatchObject({
      outcome: 'failed',
      bytes: SIZE,
      failure: { error: { name: 'Transfer.StoppedByRun', message: expect.stringContaining(`session ${session!.id} was kept`) }, resumable: true },
    });
    const resumeInput = line?.failure?.resumeInput as TransferInput;
    expect(resumeInput).toMatchObject({ source: { bucket: BUCKET, key: 's/big.bin' }, destination: { fileName: 'big.bin' }, resume: { sessionId: session!.id } });
    // Resumed by hand it is no nested transfer: the parent's field is not carried over.
    expect(resumeInput).not.toHaveProperty('AWS_STEP_FUNCTIONS_STARTED_BY_EXECUTION_ID');

    // The one-object transfer resumes the kept session and sends only the parts Box does not hold.
    const stored = session!.partsUploaded;
    expect(stored).toBeGreaterThanOrEqual(2);
    env.box.faults.clear();
    env.box.resetStats();
    const output = await env.run(resumeInput);
    expect(output.file).toMatchObject({ name: 'big.bin', sha1: bigSha1, size: SIZE });
    expect(boxFileAt(env.box, 'big.bin')).toEqual({ sha1: bigSha1, size: SIZE });
    expect([env.box.stats().requests.createSession ?? 0, env.box.stats().requests.uploadPart ?? 0]).toEqual([0, 7 - stored]);
  }, 180_000);
});
