// Two writes of one key whose transfers finish in reverse order: Box's current version must end as S3's
// newest. The older transfer is held just before its commit (after all its reads), the newer one runs to
// the end, then the older one goes on: its "still current?" check stops it with Transfer.Superseded and
// its session is aborted. Real s3rver events, real local Step Functions, real Box emulator.
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { S3TriggerResult } from '../../src/trigger/start.ts';
import type { TransferOutput } from '../../src/transfer/contract.ts';
import { CHUNKED_FROM, startTriggerEnv } from './harness.ts';
import type { TriggerEnv } from './harness.ts';
import { lambdaContext } from './events.ts';

let env: TriggerEnv;
beforeEach(async () => {
  env = await startTriggerEnv();
});
afterEach(async () => {
  await env?.close();
});

async function startFromLastEvent(): Promise<string> {
  const result = (await env.handler(env.s3Events.at(-1), lambdaContext())) as S3TriggerResult;
  const outcome = result.outcomes[0];
  if (outcome?.status !== 'started') throw new Error(`not started: ${JSON.stringify(result)}`);
  return outcome.executionArn;
}

describe('newest write wins (source.onlyIfCurrent, set by the trigger)', () => {
  it.each([
    ['chunked', 4 * 64 * 1024 + 7],
    ['direct', 5000],
  ])('%s: the older transfer finishing last is superseded; Box keeps the newer bytes', async (mode, size) => {
    expect(size >= CHUNKED_FROM).toBe(mode === 'chunked');
    const key = 'inbox/report.bin';
    const held = env.holdNextCurrentCheck();
    const older = await env.put(key, size, 'first write');
    const olderArn = await startFromLastEvent();
    await held.reached; // the older transfer has read everything and waits before its commit

    // A different size: two sessions of one new name and one size are one session to Box (409
    // session_conflict, which Prepare takes for its own retried create); README "Newest write wins".
    const newer = await env.put(key, size + 1, 'second write');
    expect(newer.sha1).not.toBe(older.sha1);
    const newerArn = await startFromLastEvent();
    const newerDone = await env.waitForExecution(newerArn);
    expect([newerDone.status, newerDone.error, newerDone.cause]).toEqual(['SUCCEEDED', undefined, undefined]);
    const output = JSON.parse(newerDone.output ?? '{}') as TransferOutput;
    expect(output).toMatchObject({ mode, file: { name: 'report.bin', sha1: newer.sha1 } });

    held.release();
    const olderDone = await env.waitForExecution(olderArn);
    expect(olderDone.status).toBe('FAILED');
    expect(olderDone.error).toBe('Transfer.Superseded');
    expect(olderDone.cause).toMatch(/no longer the key's current version/);

    // One file, its current version the newer write; the older session was aborted, not committed.
    const items = await env.boxClient.folders.listItems(env.folderId);
    expect(items.entries.map((e) => e.name)).toEqual(['report.bin']);
    expect(await env.download(output.file.id)).toEqual({ sha1: newer.sha1, size: size + 1 });
    // Chunked: two sessions, the newer committed, the older aborted. Direct: no session at all.
    expect(env.box.listSessions().map((s) => s.status).sort()).toEqual(mode === 'chunked' ? ['aborted', 'committed'] : []);
  });
});

