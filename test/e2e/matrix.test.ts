// The fault matrix of RELIABILITY.md: each row is one test here, through the whole local state machine
// (local runner + real handlers + s3rver + the Box emulator over loopback). Each asserts the bytes in Box
// or the error's name and cause, and the upload sessions left open afterwards. Test names start with the
// row's id (M01, ...): test/e2e/reliability-doc.test.ts checks that the table and these tests agree.
import { describe, expect, it } from 'vitest';
import { BoxClient, CcgAuth } from '../../src/box/index.ts';
import { makeTaskHandlers } from '../../functions/index.ts';
import type { TransferExecutionError } from '../../local/runner/index.ts';
import type { TaskHandler } from '../../local/runner/index.ts';
import { holdingBoxCall, inputFor, taskRuns } from './harness.ts';
import type { E2eEnv } from './harness.ts';
import { matrixSetUp, partSize, sessionsByStatus, SIZE, transfersExactly } from './matrix-support.ts';
import { startS3FaultProxy } from '../support/s3-fault-proxy.ts';
import { loadLocalDefinition, localS3Client } from '../../local/runner/index.ts';

const setUp = matrixSetUp();

/** A Box file that exists before the transfer (1000 bytes of 1s): the transfer uploads a new version of it. */
async function knownFile(e: E2eEnv, folderId: string, fileName: string): Promise<{ id: string }> {
  const old = Buffer.alloc(1000, 1);
  return e.client.files.uploadFile({ parentFolderId: folderId, fileName, file: old, fileSize: old.length });
}

/**
 * A Box request that reaches Box and is held there while the test kills the `task` invocation that sent it
 * (its first), as Lambda's timeout would, mid-request; then Box goes on (stores or commits it) and nobody
 * hears the answer. Events the test controls, not a race with a clock. `until` is the emulator's hold.
 */
function killedAtBox(task: string): { until: PromiseLike<void>; killInvocation: (task: string) => Promise<void> | undefined } {
  let arrived!: () => void;
  const atBox = new Promise<void>((resolve) => (arrived = resolve));
  let release!: () => void;
  const released = new Promise<void>((resolve) => (release = resolve));
  const until: PromiseLike<void> = {
    then: (onDone, onFail) => {
      arrived();
      return released.then(onDone, onFail);
    },
  };
  let invocations = 0;
  void atBox.then(() => setImmediate(release));
  return { until, killInvocation: (name) => (name === task && invocations++ === 0 ? atBox : undefined) };
}

/**
 * A `state` whose first try outlasts its TimeoutSeconds (3 s) while Box holds its `operation` request (the
 * `hold` fault): States.Timeout, the invocation left running as Step Functions leaves it (its Lambda timeout
 * far off, so no Sandbox.Timedout). The retry lets Box go on and waits until Box has answered the first
 * request, then runs. Events the test controls, not a race with a clock. Returns the env and the run options.
 */
async function setUpTimedOutOnce(state: 'Commit' | 'DirectUpload', operation: 'commit' | 'uploadFile'): Promise<{ e: E2eEnv; run: Parameters<E2eEnv['start']>[1] }> {
  let answered!: () => void;
  const boxAnswered = new Promise<void>((resolve) => (answered = resolve));
  const e = await setUp({ onRequest: (entry) => (entry.operation === operation ? answered() : undefined) });
  let release!: () => void;
  const released = new Promise<void>((resolve) => (release = resolve));
  e.box.faults.inject({ operation, nth: 1, action: { type: 'hold', until: released } });
  const definition = loadLocalDefinition();
  const states = (definition.definition as unknown as { States: Record<string, Record<string, unknown>> }).States;
  states[state]!['TimeoutSeconds'] = 3;
  definition.tasks.get(state)!.timeoutSeconds = 3;
  const real = makeTaskHandlers(e.deps);
  let tries = 0;
  const handler: TaskHandler = async (event, context) => {
    if (++tries > 1) {
      release();
      await boxAnswered;
    }
    return real[state](event, context);
  };
  return { e, run: { definition, handlers: { [state]: handler }, lambdaTimeoutMs: { [state]: 600_000 } } };
}

/** `state`'s handler whose first invocation has `firstRemainingMs` left; the retry, with the faults cleared, has 10 minutes. */
function nearItsTimeoutOnce(e: E2eEnv, state: 'Commit' | 'DirectUpload', firstRemainingMs: number): TaskHandler {
  const real = makeTaskHandlers(e.deps);
  let first = true;
  return async (event, context) => {
    const remaining = first ? firstRemainingMs : 600_000;
    if (!first) e.box.faults.clear();
    first = false;
    return real[state](event, { ...context, getRemainingTimeInMillis: () => remaining });
  };
}

describe('fault matrix (RELIABILITY.md)', () => {
  it('M01 5xx on some parts: the client retries, then the state machine retries the batch, which lists first', async () => {
    const e = await setUp();
    // The client tries 3 times; 4 answers of 503 in a row make one UploadBatch invocation fail.
    e.box.faults.inject({ operation: 'uploadPart', nth: 3, times: 4, action: { type: 'status', status: 503 } });
    const { execution } = await transfersExactly(e, 'five-hundreds.bin', {}, { options: { partsPerBatch: 7, concurrency: 1 } });
    expect(execution.events).toContainEqual(expect.objectContaining({ type: 'state-failed', state: 'UploadBatch', error: 'Box.ServerError' }));
    expect(taskRuns(execution.events)['UploadBatch']).toBe(2);
    // The retry knew it was one ($$.State.RetryCount): it listed the parts up front and sent only the rest.
    expect(e.box.stats().requests.uploadPart).toBe(7 + 4); // each part stored once, plus the 4 refused tries
    expect(sessionsByStatus(e)).toEqual({ committed: 1 });
  });

  it('M02 429 storm with Retry-After: waits as told, never more parts in flight than configured', async () => {
    const e = await setUp({ latencyMs: 5 });
    e.box.faults.inject({ operation: 'uploadPart', times: 12, action: { type: 'status', status: 429, retryAfterSeconds: 0 } });
    const { execution } = await transfersExactly(e, 'storm.bin', {}, { options: { partsPerBatch: 2, concurrency: 4 } });
    expect(e.box.stats().maxPartsInFlight).toBeLessThanOrEqual(4);
    expect(e.box.stats().requests.uploadPart).toBeGreaterThanOrEqual(7 + 12);
    expect(execution.events.some((ev) => ev.type === 'execution-succeeded')).toBe(true);
    expect(sessionsByStatus(e)).toEqual({ committed: 1 });
  });

  for (const [id, overlapContext] of [
    ['M03a', 'part'],
    ['M03b', 'part-without-sha1'],
    ['M03c', 'message-only'],
  ] as const) {
    it(`${id} a part stored but answered 500, retried into 416 (${overlapContext}): checked in list parts, carried on`, async () => {
      const e = await setUp({ overlapContext });
      e.box.faults.inject({ operation: 'uploadPart', nth: 2, action: { type: 'storeThenFail', status: 500 } });
      const { execution } = await transfersExactly(e, `stored-then-500-${overlapContext}.bin`, {}, { options: { partsPerBatch: 7, concurrency: 1 } });
      expect(taskRuns(execution.events)['UploadBatch']).toBe(1); // resolved inside the invocation
      expect(e.box.stats().requests.uploadPart).toBe(8); // the part twice
      expect(e.box.stats().requests.listParts).toBeGreaterThanOrEqual(1 + 1); // the 416 checked; the commit's listing
      expect(sessionsByStatus(e)).toEqual({ committed: 1 });
    });
  }

  it('M04 a connection reset mid-body: the part is sent again', async () => {
    const e = await setUp();
    e.box.faults.inject({ operation: 'uploadPart', nth: 3, times: 2, action: { type: 'reset' } });
    await transfersExactly(e, 'reset.bin', {}, { options: { partsPerBatch: 4, concurrency: 2 } });
    expect(e.box.stats().requests.uploadPart).toBeGreaterThanOrEqual(7 + 2);
    expect(sessionsByStatus(e)).toEqual({ committed: 1 });
  });

  it('M05 commit answers 202 many times, then 201: the Wait loop commits again each time', async () => {
    const e = await setUp({ commitProcessing: { mode: 'count', times: 12, retryAfterSeconds: 7 } });
    const { execution } = await transfersExactly(e, 'processing.bin');
    expect(execution.events.filter((ev) => ev.type === 'commit-wait')).toHaveLength(12);
    expect(taskRuns(execution.events)['Commit']).toBe(13);
    expect(sessionsByStatus(e)).toEqual({ committed: 1 });
  });

  it('M06 transient parts_mismatch at commit: waited on, then committed', async () => {
    const e = await setUp();
    e.box.faults.inject({ operation: 'commit', times: 2, action: { type: 'partsMismatch' } });
    const { execution } = await transfersExactly(e, 'mismatch.bin');
    expect(taskRuns(execution.events)['Commit']).toBe(3);
    expect(execution.events.filter((ev) => ev.type === 'commit-wait')).toHaveLength(2);
    expect(sessionsByStatus(e)).toEqual({ committed: 1 });
  });

  it('M07a a lost commit 201 (new file): the retried Commit finds the file of that name with our SHA-1 and does not commit again', async () => {
    const e = await setUp();
    e.box.faults.inject({ operation: 'commit', nth: 1, action: { type: 'storeThenReset' } });
    const { execution, output, folder } = await transfersExactly(e, 'lost-commit.bin');
    expect(execution.events).toContainEqual(expect.objectContaining({ type: 'state-failed', state: 'Commit', error: 'Box.NetworkError' }));
    expect(taskRuns(execution.events)['Commit']).toBe(2);
    expect(e.box.stats().requests.commit).toBe(1); // found in Box: not sent again
    // Looked up by name with Box's preflight check (409 naming the file), without listing the folder.
    expect(e.box.stats().requests).toMatchObject({ preflightCheck: 1, listFolderItems: 0 });
    expect(e.box.getFile(output.file.id)).toMatchObject({ sequence_id: '0', name: 'lost-commit.bin', parent: { id: folder.id } });
    expect(sessionsByStatus(e)).toEqual({ committed: 1 });
  });

  it('M07b a lost commit 201 (new version of a known file): a current version with our bytes, not the one Prepare saw, is success', async () => {
    const e = await setUp();
    const folder = await e.box.createFolder('lost-commit-version');
    const existing = await knownFile(e, folder.id, 'big.bin');
    const put = await e.put('big.bin', SIZE);
    e.box.faults.inject({ operation: 'commit', nth: 1, action: { type: 'storeThenReset' } });
    const execution = e.start(inputFor('big.bin', folder.id, { destination: { folderId: folder.id, fileId: existing.id } }));
    const output = await execution.result;
    expect(output).toMatchObject({ mode: 'chunked', file: { id: existing.id, sha1: put.sha1 } });
    expect(await e.download(existing.id)).toEqual({ sha1: put.sha1, size: SIZE });
    expect(taskRuns(execution.events)['Commit']).toBe(2);
    expect(e.box.stats().requests.commit).toBe(1);
    expect(e.box.getFile(existing.id)).toMatchObject({ sequence_id: '1' }); // the original and ours: no third version
    expect(sessionsByStatus(e)).toEqual({ committed: 1 });
  });

  it('M07i a commit stored but answered 500: not resent by the client; the retried Commit finds the file', async () => {
    const e = await setUp();
    e.box.faults.inject({ operation: 'commit', nth: 1, action: { type: 'storeThenFail', status: 500 } });
    const { execution, output } = await transfersExactly(e, 'commit-500.bin');
    expect(execution.events).toContainEqual(expect.objectContaining({ type: 'state-failed', state: 'Commit', error: 'Box.ServerError' }));
    expect(e.box.stats().requests.commit).toBe(1);
    expect(e.box.getFile(output.file.id)).toMatchObject({ sequence_id: '0' });
    expect(sessionsByStatus(e)).toEqual({ committed: 1 });
  });

  it('M07j a Commit killed mid-commit (Sandbox.Timedout): retried, and the retry takes the commit that landed', async () => {
    const e = await setUp();
    // The commit request reaches Box and is held there; the first Commit invocation is killed there, then Box commits.
    const { until, killInvocation } = killedAtBox('Commit');
    e.box.faults.inject({ operation: 'commit', nth: 1, action: { type: 'hold', until } });
    const { execution, output } = await transfersExactly(e, 'commit-killed.bin', { killInvocation });
    expect(execution.events).toContainEqual(expect.objectContaining({ type: 'state-failed', state: 'Commit', error: 'Sandbox.Timedout' }));
    expect(taskRuns(execution.events)['Commit']).toBe(2);
    // Whether the retry's look came before or after Box finished the first commit, one file with one version.
    expect(e.box.getFile(output.file.id)).toMatchObject({ sequence_id: '0' });
    expect(sessionsByStatus(e)).toEqual({ committed: 1 });
  });

  it('M07n a Commit that outlasts its TimeoutSeconds (States.Timeout alone, the Lambda still running): retried, the retry takes the commit that landed', async () => {
    // Box answers the first commit request only once the retry has started; the retry then looks: the file is there.
    const { e, run } = await setUpTimedOutOnce('Commit', 'commit');
    const { execution, output } = await transfersExactly(e, 'commit-timeout.bin', run);
    expect(execution.events).toContainEqual(expect.objectContaining({ type: 'state-failed', state: 'Commit', error: 'States.Timeout' }));
    expect(execution.events).not.toContainEqual(expect.objectContaining({ error: 'Sandbox.Timedout' }));
    expect(taskRuns(execution.events)['Commit']).toBe(2);
    // The retry found the file (preflight check) and sent no commit of its own.
    expect(e.box.stats().requests).toMatchObject({ commit: 1, preflightCheck: 1 });
    expect(e.box.getFile(output.file.id)).toMatchObject({ sequence_id: '0' });
    expect(sessionsByStatus(e)).toEqual({ committed: 1 });
  });

  for (const [id, committedSession] of [
    ['M07c', 'same-file'],
    ['M07d', 'not-found'],
    ['M07e', 'session-gone'],
    ['M07f', 'name-in-use'],
    ['M07g', 'parts-mismatch'],
    ['M07h', 'bad-request'],
  ] as const) {
    it(`${id} a lost commit 201 whose file the first look does not see, committed again (Box answers ${committedSession}): looked up again, success`, async () => {
      const e = await setUp({ committedSession });
      e.box.faults.inject({ operation: 'commit', nth: 1, action: { type: 'storeThenReset' } });
      // The retried Commit's first look misses the file (a preflight check that lags finds the name free), so it
      // commits again; after a refusal the second look finds it (the preflight check names it: no listing).
      e.box.faults.inject({ operation: 'preflightCheck', nth: 1, action: { type: 'emptyListing' } });
      const { execution, output } = await transfersExactly(e, `lost-commit-${committedSession}.bin`);
      expect(taskRuns(execution.events)['Commit']).toBe(2);
      expect(e.box.stats().requests.preflightCheck).toBe(committedSession === 'same-file' ? 1 : 2);
      expect(e.box.stats().requests.listFolderItems).toBe(0);
      // Committed sessions that Box calls gone refuse the listing of parts before the commit is sent.
      expect(e.box.stats().requests.commit).toBe(committedSession === 'not-found' || committedSession === 'session-gone' ? 1 : 2);
      expect(e.box.getFile(output.file.id)).toMatchObject({ sequence_id: '0' });
      expect(sessionsByStatus(e)).toEqual({ committed: 1 });
    });
  }

  for (const [id, preflight, markerPaging, fault] of [
    ['M07k', 'conflicts-list', 'null-at-end', undefined],
    ['M07l', 'no-context', 'empty-at-end', undefined],
    ['M07m', 'conflicts-object', 'ignored', 405],
  ] as const) {
    it(`${id} a lost commit 201 (new file) where the preflight check answers ${fault ?? preflight}: found (listing pages ${markerPaging}), not committed again`, async () => {
      const e = await setUp({ preflight, markerPaging });
      e.box.faults.inject({ operation: 'commit', nth: 1, action: { type: 'storeThenReset' } });
      if (fault !== undefined) e.box.faults.inject({ operation: 'preflightCheck', action: { type: 'status', status: fault, code: 'method_not_allowed' } });
      const { execution, output } = await transfersExactly(e, `lost-commit-${id}.bin`);
      expect(taskRuns(execution.events)['Commit']).toBe(2);
      expect(e.box.stats().requests).toMatchObject({ commit: 1, preflightCheck: 1, listFolderItems: preflight === 'conflicts-list' ? 0 : 1 });
      expect(e.box.getFile(output.file.id)).toMatchObject({ sequence_id: '0' });
      expect(sessionsByStatus(e)).toEqual({ committed: 1 });
    });
  }

  it('M08a a lost direct upload 201 (new file): the retry meets 409 with our bytes, which is the upload itself', async () => {
    const e = await setUp();
    const folder = await e.box.createFolder('lost-direct');
    const put = await e.put('small.bin', 50_000);
    e.box.faults.inject({ operation: 'uploadFile', nth: 1, action: { type: 'storeThenFail', status: 500 } });
    const execution = e.start(inputFor('small.bin', folder.id));
    const output = await execution.result;
    expect(output).toMatchObject({ mode: 'direct', file: { sha1: put.sha1 } });
    expect(await e.download(output.file.id)).toEqual({ sha1: put.sha1, size: 50_000 });
    expect(execution.events).toContainEqual(expect.objectContaining({ type: 'state-failed', state: 'DirectUpload', error: 'Box.ServerError' }));
    // One file, one version: not a second version (onConflict version), not a rename.
    expect(e.box.getFile(output.file.id)).toMatchObject({ sequence_id: '0', name: 'small.bin' });
    expect(e.box.findFile(folder.id, 'small (1).bin')).toBeUndefined();
    expect(e.box.stats().requests).toMatchObject({ uploadFile: 2, uploadFileVersion: 0 });
    expect(e.box.listSessions()).toEqual([]);
  });

  it('M08b a lost direct upload 201 (new version of a known file): a current version with our bytes, not the one seen before, is success', async () => {
    const e = await setUp();
    const folder = await e.box.createFolder('lost-version');
    const existing = await knownFile(e, folder.id, 'doc.bin');
    const put = await e.put('doc.bin', 50_000);
    e.box.faults.inject({ operation: 'uploadFileVersion', nth: 1, action: { type: 'storeThenFail', status: 500 } });
    const execution = e.start(inputFor('doc.bin', folder.id, { destination: { folderId: folder.id, fileId: existing.id } }));
    const output = await execution.result;
    expect(output).toMatchObject({ mode: 'direct', file: { id: existing.id, sha1: put.sha1 } });
    expect(await e.download(existing.id)).toEqual({ sha1: put.sha1, size: 50_000 });
    expect(e.box.getFile(existing.id)).toMatchObject({ sequence_id: '1' }); // the original and ours: no third version
    expect(e.box.stats().requests.uploadFileVersion).toBe(1);
  });

  it('M08c a lost direct upload 201 under onConflict rename: the retry meets our renamed file, not a second renamed copy', async () => {
    const e = await setUp();
    const folder = await e.box.createFolder('lost-direct-rename');
    const other = Buffer.alloc(1000, 7);
    const theirs = await e.client.files.uploadFile({ parentFolderId: folder.id, fileName: 'small.bin', file: other, fileSize: other.length });
    const put = await e.put('small.bin', 50_000);
    // The first try meets 409 on small.bin (someone else's file); "small (1).bin" is stored but answered 500.
    e.box.faults.inject({ operation: 'uploadFile', nth: 2, action: { type: 'storeThenFail', status: 500 } });
    const execution = e.start(inputFor('small.bin', folder.id, { onConflict: 'rename' }));
    const output = await execution.result;
    expect(output).toMatchObject({ mode: 'direct', file: { name: 'small (1).bin', sha1: put.sha1 } });
    expect(execution.events).toContainEqual(expect.objectContaining({ type: 'state-failed', state: 'DirectUpload', error: 'Box.ServerError' }));
    expect(await e.download(output.file.id)).toEqual({ sha1: put.sha1, size: 50_000 });
    expect(e.box.getFile(output.file.id)).toMatchObject({ sequence_id: '0' });
    expect(e.box.findFile(folder.id, 'small (2).bin')).toBeUndefined();
    expect(e.box.getFile(theirs.id)).toMatchObject({ sequence_id: '0', name: 'small.bin', size: 1000 });
    // Their file; first try: small.bin (409), small (1).bin (stored); retry: small.bin (409), small (1).bin (409: ours).
    expect(e.box.stats().requests).toMatchObject({ uploadFile: 5, uploadFileVersion: 0 });
  });

  it('M08d a failed direct upload whose first answer was lost, started again: the new execution takes the stored file (new file and new version)', async () => {
    const e = await setUp();
    const folder = await e.box.createFolder('lost-direct-rerun');
    const put = await e.put('small.bin', 50_000);
    // The first try is stored but answered 500; every retry is answered 500 too: the execution fails.
    e.box.faults.inject({ operation: 'uploadFile', nth: 1, action: { type: 'storeThenFail', status: 500 } });
    e.box.faults.inject({ operation: 'uploadFile', nth: 2, times: 5, action: { type: 'status', status: 500 } });
    const failed = e.start(inputFor('small.bin', folder.id));
    await expect(failed.result).rejects.toMatchObject({ name: 'Box.ServerError' });
    expect(taskRuns(failed.events)['DirectUpload']).toBe(6);
    const stored = e.box.findFile(folder.id, 'small.bin');
    expect(stored).toMatchObject({ sequence_id: '0' });
    // Started again with the same input (README "Failures and resuming"): a first try, which meets 409 on our file.
    const rerun = e.start(inputFor('small.bin', folder.id));
    const output = await rerun.result;
    expect(output).toMatchObject({ mode: 'direct', file: { id: stored!.id, name: 'small.bin', sha1: put.sha1 } });
    expect(e.box.getFile(stored!.id)).toMatchObject({ sequence_id: '0' });
    expect(e.box.findFile(folder.id, 'small (1).bin')).toBeUndefined();
    expect(e.box.stats().requests).toMatchObject({ uploadFile: 7, uploadFileVersion: 0 });

    // A new version of a known file: the re-run's Prepare sees our version as current; no second version of it.
    const existing = await knownFile(e, folder.id, 'doc.bin');
    const doc = await e.put('doc.bin', 40_000);
    e.box.faults.inject({ operation: 'uploadFileVersion', nth: 1, action: { type: 'storeThenFail', status: 500 } });
    e.box.faults.inject({ operation: 'uploadFileVersion', nth: 2, times: 5, action: { type: 'status', status: 500 } });
    const input = inputFor('doc.bin', folder.id, { destination: { folderId: folder.id, fileId: existing.id } });
    const failedVersion = e.start(input);
    // Each retry reads the file first (its current version already holds our bytes): it sends nothing more.
    const versionOutput = await failedVersion.result;
    expect(versionOutput).toMatchObject({ file: { id: existing.id, sha1: doc.sha1 } });
    expect(e.box.stats().requests.uploadFileVersion).toBe(1);
    const again = await e.start(input).result;
    expect(again).toMatchObject({ file: { id: existing.id, sha1: doc.sha1 } });
    expect(await e.download(existing.id)).toEqual({ sha1: doc.sha1, size: 40_000 });
    expect(e.box.getFile(existing.id)).toMatchObject({ sequence_id: '1' }); // the original and ours: no third version
    expect(e.box.stats().requests.uploadFileVersion).toBe(1);
  });

  it('M08e a DirectUpload killed mid-upload (Sandbox.Timedout; Box stores it anyway): retried, and the retry takes the stored file', async () => {
    const e = await setUp();
    const folder = await e.box.createFolder('direct-killed');
    const put = await e.put('small.bin', 50_000);
    // The upload reaches Box and is held there; the first DirectUpload invocation is killed there, then Box stores the file.
    const { until, killInvocation } = killedAtBox('DirectUpload');
    e.box.faults.inject({ operation: 'uploadFile', nth: 1, action: { type: 'hold', until } });
    const execution = e.start(inputFor('small.bin', folder.id), { killInvocation });
    const output = await execution.result;
    expect(execution.events).toContainEqual(expect.objectContaining({ type: 'state-failed', state: 'DirectUpload', error: 'Sandbox.Timedout' }));
    expect(taskRuns(execution.events)['DirectUpload']).toBe(2);
    expect(await e.download(output.file.id)).toEqual({ sha1: put.sha1, size: 50_000 });
    // Whether the retry's upload came before or after Box stored the first: one file, one version, no rename.
    expect(e.box.getFile(output.file.id)).toMatchObject({ sequence_id: '0', name: 'small.bin' });
    expect(e.box.findFile(folder.id, 'small (1).bin')).toBeUndefined();
    expect(e.box.stats().requests.uploadFileVersion).toBe(0);
  });

  it('M08f a DirectUpload that outlasts its TimeoutSeconds after Box stored the file (States.Timeout): retried, the retry takes the upload that landed', async () => {
    // As M07n for the direct upload: Box holds the first upload until the retry starts; that try is cut by its
    // state's TimeoutSeconds. The retry lets Box store it, waits for Box's answer to it, then uploads: 409, and
    // the conflicting file holds our bytes, so it is the upload itself (not a second version, not a rename).
    const { e, run } = await setUpTimedOutOnce('DirectUpload', 'uploadFile');
    const folder = await e.box.createFolder('direct-timeout');
    const put = await e.put('direct-timeout.bin', 50_000);
    const execution = e.start(inputFor('direct-timeout.bin', folder.id), run);
    const output = await execution.result;
    expect(output).toMatchObject({ mode: 'direct', file: { sha1: put.sha1, name: 'direct-timeout.bin' } });
    expect(await e.download(output.file.id)).toEqual({ sha1: put.sha1, size: 50_000 });
    expect(execution.events).toContainEqual(expect.objectContaining({ type: 'state-failed', state: 'DirectUpload', error: 'States.Timeout' }));
    expect(taskRuns(execution.events)['DirectUpload']).toBe(2);
    expect(e.box.getFile(output.file.id)).toMatchObject({ sequence_id: '0' });
    expect(e.box.findFile(folder.id, 'direct-timeout (1).bin')).toBeUndefined();
    expect(e.box.stats().requests).toMatchObject({ uploadFile: 2, uploadFileVersion: 0 });
  });

  it('M09 a token that expires mid-transfer: renewed once for all the requests in flight', async () => {
    const e = await setUp({ latencyMs: 5 });
    const client = new BoxClient({
      auth: new CcgAuth({ clientId: 'emulator-client-id', clientSecret: 'emulator-client-secret', enterpriseId: '1' }),
      apiUrl: e.box.url,
      uploadUrl: e.box.uploadUrl,
      retry: { maxAttempts: 3, baseDelayMs: 5, maxDelayMs: 20 },
    });
    try {
      let expired = false;
      const real = makeTaskHandlers({ ...e.deps, box: async () => client });
      // Every token is expired once the first batch starts: the parts in flight all meet 401 together.
      const uploadBatch: TaskHandler = async (event, context) => {
        if (!expired) {
          expired = true;
          e.box.expireTokens();
        }
        return real.UploadBatch(event, context);
      };
      await transfersExactly(e, 'token.bin', { deps: { ...e.deps, box: async () => client }, handlers: { UploadBatch: uploadBatch } }, { options: { partsPerBatch: 7, concurrency: 4 } }, client);
      expect(e.box.stats().requests.token).toBe(2); // the first token, and one renewal shared by every request
      expect(sessionsByStatus(e)).toEqual({ committed: 1 });
    } finally {
      await client.close();
    }
  });

  for (const [id, what, range] of [
    // UploadBatch's ranged read of part 3 (offset 3 x 64 KiB).
    ['M10a', 'a part read (UploadBatch)', `bytes=${3 * partSize}-${4 * partSize - 1}`],
    // HashObject's read of the whole object (one chunk: the object is smaller than hashRangeBytes).
    ['M10b', 'the hash read (HashObject)', `bytes=0-${SIZE - 1}`],
  ] as const) {
    it(`${id} S3 SlowDown (503) on ranged reads, ${what}: past the SDK's retries Transfer.S3Throttled, retried by the state machine`, async () => {
      const e = await setUp();
      // S3 answers SlowDown to that ranged GET 4 times in a row: the lean GET (src/transfer/leanGet.ts), which
      // leaves an error answer to the SDK, then the SDK's own 3 attempts all meet it.
      const proxy = await startS3FaultProxy(e.s3.endpoint);
      const s3 = localS3Client(proxy.endpoint);
      try {
        proxy.inject({ method: 'GET', range, times: 4 });
        const state = id === 'M10a' ? 'UploadBatch' : 'HashObject';
        const { execution } = await transfersExactly(e, `slowdown-${id}.bin`, { deps: { ...e.deps, s3 } }, { options: { partsPerBatch: 7, concurrency: 1 } });
        expect(proxy.stats().slowDowns).toBe(4);
        expect(execution.events).toContainEqual(expect.objectContaining({ type: 'state-failed', state, error: 'Transfer.S3Throttled' }));
        expect(taskRuns(execution.events)[state]).toBe(2); // the failed try and its retry
        // The retried batch listed Box's parts first: each part was sent once.
        expect(e.box.stats().requests.uploadPart).toBe(7);
        expect(sessionsByStatus(e)).toEqual({ committed: 1 });
      } finally {
        s3.destroy();
        await proxy.close();
      }
    });
  }

  it('M11 a Lambda killed mid-batch (Sandbox.Timedout): the retry lists the parts and sends only the missing ones', async () => {
    const e = await setUp();
    const folder = await e.box.createFolder('killed');
    const put = await e.put('killed.bin', SIZE);
    // The first invocation's 4th part gets no answer: the test kills that invocation there, as Lambda's
    // timeout would, after exactly 3 parts reached Box (an event the test controls, not a race with a clock).
    const kills = new Map<string, () => void>();
    const killInvocation = (task: string, requestId: string) =>
      task === 'UploadBatch' ? new Promise<void>((resolve) => kills.set(requestId, resolve)) : undefined;
    let letGo!: () => void;
    const gone = new Promise<void>((resolve) => (letGo = resolve));
    let invocations = 0;
    const uploadBatch: TaskHandler = async (event, context) => {
      if (++invocations > 1) return makeTaskHandlers(e.deps).UploadBatch(event, context);
      let parts = 0;
      const dying = holdingBoxCall(await e.deps.box(), 'uploadFilePartByUrl', async () => {
        if (++parts < 4) return;
        kills.get(context.awsRequestId)!();
        await gone;
        throw new Error('this invocation was killed'); // a dead Lambda sends nothing more
      });
      return makeTaskHandlers({ ...e.deps, box: async () => dying }).UploadBatch(event, context);
    };
    const execution = e.start(inputFor('killed.bin', folder.id, { options: { partsPerBatch: 7, concurrency: 1 } }), {
      handlers: { UploadBatch: uploadBatch },
      killInvocation,
    });
    const output = await execution.result.finally(letGo);
    expect(await e.download(output.file.id)).toEqual({ sha1: put.sha1, size: SIZE });
    const failures = execution.events.filter((ev) => ev.type === 'state-failed' && ev.state === 'UploadBatch');
    expect(failures).toEqual([expect.objectContaining({ error: 'Sandbox.Timedout' })]);
    const done = execution.events.find((ev) => ev.type === 'batch-done');
    expect(done).toMatchObject({ parts: 7, alreadyUploaded: 3 }); // the retry found them in Box and skipped them
    expect(invocations).toBe(2);
    expect(e.box.stats().requests.uploadPart).toBe(3 + 4); // no part sent twice
    expect(sessionsByStatus(e)).toEqual({ committed: 1 });
  });

  it('M11b a batch near its Lambda timeout stops starting parts and ends with Transfer.Deadline; the retry finishes it', async () => {
    const e = await setUp();
    const folder = await e.box.createFolder('deadline');
    const put = await e.put('deadline.bin', SIZE);
    const real = makeTaskHandlers(e.deps);
    // A clock that runs out after 3 parts of each invocation: then less than the start margin (120 s) is left.
    const uploadBatch: TaskHandler = async (event, context) => {
      const first = e.box.stats().requests.uploadPart;
      const remaining = (): number => (e.box.stats().requests.uploadPart - first >= 3 ? 60_000 : 600_000);
      return real.UploadBatch(event, { ...context, getRemainingTimeInMillis: remaining });
    };
    const execution = e.start(inputFor('deadline.bin', folder.id, { options: { partsPerBatch: 7, concurrency: 1 } }), { handlers: { UploadBatch: uploadBatch } });
    const output = await execution.result;
    expect(await e.download(output.file.id)).toEqual({ sha1: put.sha1, size: SIZE });
    const failures = execution.events.filter((ev) => ev.type === 'state-failed' && ev.state === 'UploadBatch');
    expect(failures.map((ev) => ev.type === 'state-failed' && ev.error)).toEqual(['Transfer.Deadline', 'Transfer.Deadline']); // 3 + 3 + 1 parts
    expect(e.box.stats().requests.uploadPart).toBe(7); // no part sent twice: each retry listed first
    expect(sessionsByStatus(e)).toEqual({ committed: 1 });
  });

  it('M12 a Box request that hangs as Commit nears its Lambda timeout: cancelled before it (Transfer.Deadline), retried, committed', async () => {
    const e = await setUp();
    // Box holds every list-parts answer for an hour until the retry; the first Commit invocation has 5.1 s
    // left, so its request budget (less the 5 s finish margin) ends 100 ms in: never killed mid-request.
    // (Held for every request, not only the first: on a busy machine the first invocation may reach its
    // deadline before its request left, and the retry must not meet the hour-long hold then.)
    e.box.faults.inject({ operation: 'listParts', nth: 1, times: 1_000_000, action: { type: 'latency', ms: 3_600_000 } });
    const { execution } = await transfersExactly(e, 'commit-deadline.bin', { handlers: { Commit: nearItsTimeoutOnce(e, 'Commit', 5_100) } });
    expect(execution.events).toContainEqual(expect.objectContaining({ type: 'state-failed', state: 'Commit', error: 'Transfer.Deadline' }));
    expect(taskRuns(execution.events)['Commit']).toBe(2);
    expect(e.box.stats().requests.commit).toBe(1);
    expect(sessionsByStatus(e)).toEqual({ committed: 1 });
  });

  it('M12c a direct upload that hangs as DirectUpload nears its Lambda timeout: cancelled before it (Transfer.Deadline), retried through the state machine, one file', async () => {
    const e = await setUp();
    // As M12, for the direct upload: Box holds every upload for an hour until the retry; the first invocation
    // has 7 s left, so its request budget (less the 5 s finish margin) ends 2 s in, long after its S3 read.
    e.box.faults.inject({ operation: 'uploadFile', times: 1_000_000, action: { type: 'latency', ms: 3_600_000 } });
    const folder = await e.box.createFolder('direct-deadline');
    const put = await e.put('direct-deadline.bin', 50_000);
    const execution = e.start(inputFor('direct-deadline.bin', folder.id), { handlers: { DirectUpload: nearItsTimeoutOnce(e, 'DirectUpload', 7_000) } });
    const output = await execution.result;
    expect(output).toMatchObject({ mode: 'direct', file: { sha1: put.sha1, name: 'direct-deadline.bin' } });
    expect(await e.download(output.file.id)).toEqual({ sha1: put.sha1, size: 50_000 });
    expect(execution.events).toContainEqual(expect.objectContaining({ type: 'state-failed', state: 'DirectUpload', error: 'Transfer.Deadline' }));
    expect(execution.events).toContainEqual(expect.objectContaining({ type: 'state-retried', state: 'DirectUpload' }));
    expect(taskRuns(execution.events)['DirectUpload']).toBe(2);
    // One file with one version, no rename: the cancelled upload stored nothing, the retry stored it once.
    expect(e.box.getFile(output.file.id)).toMatchObject({ sequence_id: '0' });
    expect(e.box.findFile(folder.id, 'direct-deadline (1).bin')).toBeUndefined();
    // The first upload reached Box and was cut there; the retry's was stored.
    expect(e.box.stats().requests).toMatchObject({ uploadFile: 2, uploadFileVersion: 0 });
  });

  it('M13 the source overwritten mid-transfer: Transfer.SourceChanged, session aborted', async () => {
    const e = await setUp();
    const folder = await e.box.createFolder('changed');
    await e.put('changing.bin', SIZE);
    const real = makeTaskHandlers(e.deps);
    let overwritten = false;
    const uploadBatch: TaskHandler = async (event, context) => {
      if (!overwritten) {
        overwritten = true;
        await e.put('changing.bin', SIZE + 1);
      }
      return real.UploadBatch(event, context);
    };
    const execution = e.start(inputFor('changing.bin', folder.id, { options: { partsPerBatch: 7 } }), { handlers: { UploadBatch: uploadBatch } });
    const error = await execution.result.catch((err: unknown) => err);
    expect(error).toMatchObject({ name: 'Transfer.SourceChanged' });
    expect((error as TransferExecutionError).cause).toContain('changing.bin');
    expect(taskRuns(execution.events)['AbortSession']).toBe(1);
    expect(sessionsByStatus(e)).toEqual({ aborted: 1 });
    expect(e.box.findFile(folder.id, 'changing.bin')).toBeUndefined();
  });

  it('M14 the session expired (410) before the commit: Box.SessionExpired, nothing committed', async () => {
    const e = await setUp();
    const folder = await e.box.createFolder('expired');
    await e.put('expired.bin', SIZE);
    const real = makeTaskHandlers(e.deps);
    const commit: TaskHandler = async (event, context) => {
      e.box.expireSessions();
      return real.Commit(event, context);
    };
    const execution = e.start(inputFor('expired.bin', folder.id), { handlers: { Commit: commit } });
    const error = await execution.result.catch((err: unknown) => err);
    expect(error).toMatchObject({ name: 'Box.SessionExpired' });
    expect((error as TransferExecutionError).cause).toContain('410');
    expect(taskRuns(execution.events)['Commit']).toBe(1);
    // Box refuses every call on an expired session, the abort too: nothing is left that could be committed or resumed.
    expect(e.box.listSessions().filter((s) => s.status === 'committed')).toHaveLength(0);
    expect(e.box.findFile(folder.id, 'expired.bin')).toBeUndefined();
  });
});
