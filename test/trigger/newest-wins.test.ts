// Two writes of one key whose transfers finish in reverse order: Box's current version must end as S3's
// newest. The older transfer is held just before its commit (after all its reads), the newer one runs to
// the end, then the older one goes on: its "still current?" check stops it with Transfer.Superseded and
// its session is aborted. Real s3rver events, real local Step Functions, real Box emulator.
import { StartExecutionCommand } from '@aws-sdk/client-sfn';
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

  it('the race accepted: same size, and the older transfer outlasts every retry of the newer one: both fail, and neither write is in Box', async () => {
    // README "Newest write wins": one name and one size are one session to Box, so the newer write's Prepare
    // meets the older one's session (409 session_conflict) and retries Transfer.SessionInUse (20 tries, up to
    // about 4 hours in AWS; no waits here). Outlasted, it fails; the older one then reaches its check before
    // commit, finds the newer write current and fails Transfer.Superseded, its session aborted.
    const key = 'inbox/report.bin';
    const size = 4 * 64 * 1024 + 7;
    const held = env.holdNextCurrentCheck();
    const older = await env.put(key, size, 'first write');
    const olderArn = await startFromLastEvent();
    await held.reached; // every part of the older write stored, its commit not yet asked for

    const newer = await env.put(key, size, 'second write');
    expect(newer.sha1).not.toBe(older.sha1);
    const newerArn = await startFromLastEvent();
    const newerDone = await env.waitForExecution(newerArn);
    expect([newerDone.status, newerDone.error]).toEqual(['FAILED', 'Transfer.SessionInUse']);
    // Not resumable (it holds no session): the failure document says to start it again.
    expect(JSON.parse(newerDone.cause ?? '{}')).toMatchObject({ error: { name: 'Transfer.SessionInUse' }, resumable: false });

    held.release();
    const olderDone = await env.waitForExecution(olderArn);
    expect([olderDone.status, olderDone.error]).toEqual(['FAILED', 'Transfer.Superseded']);

    // Nothing in the folder: the older session (all its parts) aborted, the newer never had one.
    expect((await env.boxClient.folders.listItems(env.folderId)).entries).toEqual([]);
    expect(env.box.listSessions().map((s) => [s.status, s.partsUploaded])).toEqual([['aborted', 5]]);

    // The same S3 event again starts nothing (one execution name per version): it is already done.
    const redelivered = (await env.handler(env.s3Events.at(-1), lambdaContext())) as S3TriggerResult;
    expect(redelivered.outcomes.map((o) => [o.status, o.status === 'started' || o.status === 'already-started' ? o.executionArn : undefined])).toEqual([
      ['already-started', newerArn],
    ]);
    // What the README says to do: a new execution with the failed one's input (the console's "New execution").
    const again = await env.sfn.send(new StartExecutionCommand({ stateMachineArn: newerDone.stateMachineArn, name: 'start-it-again', input: newerDone.input }));
    const againDone = await env.waitForExecution(again.executionArn!);
    expect(againDone.status).toBe('SUCCEEDED');
    const output = JSON.parse(againDone.output ?? '{}') as TransferOutput;
    expect(await env.download(output.file.id)).toEqual({ sha1: newer.sha1, size });
  });
});

