// Box answers 409 session_conflict to a create while a session for the same folder, name and size is open.
// Such a session is taken only when this transfer may have created it (an earlier try whose answer was
// lost, and then only while it holds no parts); another transfer's session is never shared. Prepare
// watches its stored parts: progress means another transfer is under way (Transfer.SessionInUse, retried;
// once the other transfer has committed this one becomes a new version, README "Newest write wins"); none
// means a session kept by a failed run (Transfer.SessionAbandoned at once, naming the session; it is left
// as it is). Real state machine, emulator and s3rver.
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { makeTaskHandlers } from '../../functions/index.ts';
import { exitStatusFor } from '../../local/cli/failure.ts';
import type { BoxEmulatorOptions } from '../../local/box-emulator/index.ts';
import { TransferExecutionError } from '../../local/runner/index.ts';
import { contentRangeHeader, digestHeader, sha1Base64 } from '../../src/box/index.ts';
import type { LocalLambdaContext, TaskHandler } from '../../local/runner/execution.ts';
import { openUploadSession } from '../../src/transfer/session.ts';
import { rejection } from '../support/rejection.ts';
import { BUCKET, MiB, startEnv, taskRuns } from './harness.ts';
import type { E2eEnv } from './harness.ts';

let env: E2eEnv;
/** What the emulator answered, as the test wants to see it (onRequest fires once each answer is sent). */
let onBoxRequest: BoxEmulatorOptions['onRequest'];
beforeEach(async () => {
  onBoxRequest = undefined;
  env = await startEnv({
    emulator: { minChunkedFileSize: MiB, partSize: MiB, onRequest: (e) => onBoxRequest?.(e) },
    // The default window (60 s): a live session shows progress long before it ends.
    settings: { directUploadMax: MiB, sessionProgressPollMs: 50 },
  });
});
afterEach(async () => {
  await env?.close();
});

const SIZE = 3 * MiB + 5;

function deferred<T = void>(): { promise: Promise<T>; resolve: (value: T) => void } {
  let resolve!: (value: T) => void;
  const promise = new Promise<T>((r) => (resolve = r));
  return { promise, resolve };
}

describe('session_conflict: a session is shared with no other transfer', () => {
  it('two same-size first writes of one name: the second sees the first progress (Transfer.SessionInUse, retried) and becomes a new version; no parts mixed', async () => {
    const a = await env.put('a/report.bin', SIZE);
    const b = await env.put('b/report.bin', SIZE);
    expect(a.sha1).not.toBe(b.sha1);
    const real = makeTaskHandlers(env.deps);

    // A's part uploads are held at Box until B's Prepare lists the parts of A's session (its first look):
    // then A's parts land, and B's next look sees them (progress inside the window, no clock raced).
    const releaseA = deferred();
    const aCreated = deferred();
    let bPreparing = false;
    const listPartsSeen: number[] = [];
    onBoxRequest = (e) => {
      if (e.operation === 'createSession' && e.status === 201) aCreated.resolve();
      if (e.operation === 'listParts' && bPreparing) {
        listPartsSeen.push(e.status);
        releaseA.resolve();
      }
    };
    env.box.faults.inject({ operation: 'uploadPart', action: { type: 'hold', until: releaseA.promise } });
    const first = env.start({ source: { bucket: BUCKET, key: 'a/report.bin' }, destination: { folderId: '0', fileName: 'report.bin' } });
    await aCreated.promise;
    const aSession = env.box.listSessions();
    expect(aSession).toHaveLength(1);

    // B: every Prepare try after the first waits until A has finished (a gate, not a clock).
    const prepareErrors: string[] = [];
    const retryCounts: unknown[] = [];
    const firstDone = first.result.then(() => undefined, () => undefined);
    const watchedPrepare: TaskHandler = async (event: { retryCount?: unknown }, context: LocalLambdaContext) => {
      retryCounts.push(event.retryCount);
      if (retryCounts.length > 1) await firstDone;
      bPreparing = retryCounts.length === 1;
      try {
        return await real.Prepare(event, context);
      } catch (err) {
        prepareErrors.push((err as Error).name);
        throw err;
      } finally {
        bPreparing = false;
      }
    };
    const second = env.start({ source: { bucket: BUCKET, key: 'b/report.bin' }, destination: { folderId: '0', fileName: 'report.bin' } }, { handlers: { Prepare: watchedPrepare } });

    const outA = await first.result;
    const outB = await second.result;
    expect(prepareErrors).toEqual(['Transfer.SessionInUse']);
    expect(retryCounts).toEqual([0, 1]);
    // B's first try looked at A's session more than once: before A's parts landed, and after.
    expect(listPartsSeen.length).toBeGreaterThanOrEqual(2);
    // A committed its own bytes as the file; B's retry met the taken name and added a version (onConflict version).
    expect(outA.file).toMatchObject({ name: 'report.bin', sha1: a.sha1, size: SIZE });
    expect(outB.file).toMatchObject({ id: outA.file.id, name: 'report.bin', sha1: b.sha1, size: SIZE });
    expect(await env.download(outB.file.id)).toEqual({ sha1: b.sha1, size: SIZE });
    const sessions = env.box.listSessions();
    expect(sessions.map((s) => [s.fileId === undefined ? 'new file' : 'new version', s.status, s.partsUploaded])).toEqual([
      ['new file', 'committed', 4],
      ['new version', 'committed', 4],
    ]);
    expect(sessions[0]?.id).toBe(aSession[0]?.id);
  }, 120_000);

  it('the same transfer run again after a resumable failure: Transfer.SessionAbandoned at once, naming the kept session, which stays open with its parts', async () => {
    await env.put('kept/report.bin', SIZE);
    const input = { source: { bucket: BUCKET, key: 'kept/report.bin' }, destination: { folderId: '0', fileName: 'report.bin' } };
    // Box stores 2 parts, then answers every part upload 503 for longer than every retry: a resumable failure.
    env.box.faults.inject({ operation: 'uploadPart', nth: 3, times: 1_000_000, action: { type: 'status', status: 503, code: 'unavailable' } });
    const failed = env.start(input);
    const firstError = (await failed.result.catch((e: unknown) => e)) as TransferExecutionError;
    expect(firstError).toBeInstanceOf(TransferExecutionError);
    expect(firstError.failure).toMatchObject({ resumable: true });
    await failed.idle;
    await env.box.settled(); // and Box is done with the requests its invocations gave up on
    const [kept] = env.box.listSessions();
    expect(env.box.listSessions()).toHaveLength(1);
    expect(kept).toMatchObject({ status: 'open', partsUploaded: 2 });
    // The outage goes on (the second run sends no part; a late retry of the first run stores nothing).

    // Run again without resume: a short window (nothing will ever move in this session).
    env.deps.settings = { ...env.deps.settings, sessionProgressWindowMs: 300 };
    const real = makeTaskHandlers(env.deps);
    const prepareTries: unknown[] = [];
    const watchedPrepare: TaskHandler = async (event: { retryCount?: unknown }, context: LocalLambdaContext) => {
      prepareTries.push(event.retryCount);
      return real.Prepare(event, context);
    };
    const again = env.start(input, { handlers: { Prepare: watchedPrepare } });
    const error = (await again.result.catch((e: unknown) => e)) as TransferExecutionError;
    expect(error).toBeInstanceOf(TransferExecutionError);
    expect(error.name).toBe('Transfer.SessionAbandoned');
    // Not retried, nothing aborted; no session of this run exists, so nothing to resume: exit status 1.
    expect(prepareTries).toEqual([0]);
    expect(taskRuns(again.events)['AbortSession']).toBeUndefined();
    expect(error.failure).toMatchObject({ error: { name: 'Transfer.SessionAbandoned' }, resumable: false });
    expect(exitStatusFor(error.failure!)).toBe(1);
    const message = error.failure!.error.message;
    expect(message).toContain(`"sessionId": "${kept!.id}"`);
    expect(message).toContain(`--resume ${kept!.id}`);
    expect(message).toContain(`s3-to-box abort ${kept!.id}`);
    // The kept session is untouched: still open, its parts still there, no other session made.
    expect(env.box.listSessions().map((s) => [s.id, s.status, s.partsUploaded])).toEqual([[kept!.id, 'open', 2]]);
    expect((await env.client.chunkedUploads.getFileUploadSessionParts(kept!.id)).total_count).toBe(2);
  }, 120_000);

  it('a create whose every answer was lost: the retried Prepare takes the session it made (no parts yet), and only one session exists', async () => {
    const object = await env.put('lost/answer.bin', SIZE);
    // The first create is stored but answered 500; the client's two retries meet 503s; the state machine retries Prepare.
    env.box.faults.inject({ operation: 'createSession', nth: 1, action: { type: 'storeThenFail', status: 500 } });
    env.box.faults.inject({ operation: 'createSession', nth: 2, times: 2, action: { type: 'status', status: 503 } });
    const real = makeTaskHandlers(env.deps);
    const prepares: Array<{ retryCount: unknown; error?: string }> = [];
    const watchedPrepare: TaskHandler = async (event: { retryCount?: unknown }, context: LocalLambdaContext) => {
      const entry: { retryCount: unknown; error?: string } = { retryCount: event.retryCount };
      prepares.push(entry);
      try {
        return await real.Prepare(event, context);
      } catch (err) {
        entry.error = (err as Error).name;
        throw err;
      }
    };
    const output = await env.run({ source: { bucket: BUCKET, key: 'lost/answer.bin' }, destination: { folderId: '0' } }, { handlers: { Prepare: watchedPrepare } });
    expect(prepares).toEqual([{ retryCount: 0, error: 'Box.ServerError' }, { retryCount: 1 }]);
    expect(output.file).toMatchObject({ name: 'answer.bin', sha1: object.sha1, size: SIZE });
    expect(env.box.listSessions().map((s) => s.status)).toEqual(['committed']);
    expect(env.box.stats().requests.createSession).toBe(4);
  }, 120_000);

  it("openUploadSession: another transfer's session is refused: abandoned when idle, in use when it moves or holds every part", async () => {
    const box = env.client;
    const destination = { folderId: '0', fileName: 'shared.bin' };
    const watch = { windowMs: 200, pollMs: 20 };
    const theirs = await box.chunkedUploads.createFileUploadSession({ folderId: '0', fileSize: SIZE, fileName: 'shared.bin' });
    const firstTry = await rejection(openUploadSession(box, destination, SIZE, 'version', 3, 0, watch));
    expect(firstTry).toMatchObject({ name: 'Transfer.SessionAbandoned' });
    expect(firstTry.message).toContain(theirs.id);
    // On a retry an empty session may be the one an earlier try made: taken.
    const adopted = await openUploadSession(box, destination, SIZE, 'version', 3, 1, watch);
    expect(adopted.session.id).toBe(theirs.id);
    const upload = async (index: number): Promise<void> => {
      const size = Math.min(MiB, SIZE - index * MiB);
      const part = Buffer.alloc(size, index + 1);
      await box.chunkedUploads.uploadFilePartByUrl(theirs.session_endpoints.upload_part, part, {
        digest: digestHeader(sha1Base64(part)),
        contentRange: contentRangeHeader(index * MiB, size, SIZE),
      });
    };
    // Once it holds a part it is someone's, whatever the retry count: idle, abandoned.
    await upload(0);
    expect(await rejection(openUploadSession(box, destination, SIZE, 'version', 3, 2, watch))).toMatchObject({ name: 'Transfer.SessionAbandoned' });
    // A part stored while Prepare watches (the first look releases it): in use.
    const looked = deferred();
    onBoxRequest = (e) => {
      if (e.operation === 'listParts') looked.resolve();
    };
    const moving = openUploadSession(box, destination, SIZE, 'version', 3, 0, { windowMs: 60_000, pollMs: 20 });
    await looked.promise;
    await upload(1);
    expect(await rejection(moving)).toMatchObject({ name: 'Transfer.SessionInUse', message: expect.stringContaining('went from 1 to 2') });
    onBoxRequest = undefined;
    // Every part stored (it may be committing): in use at once.
    await upload(2);
    await upload(3);
    expect(await rejection(openUploadSession(box, destination, SIZE, 'version', 3, 0, { windowMs: 60_000, pollMs: 20 }))).toMatchObject({
      name: 'Transfer.SessionInUse',
      message: expect.stringContaining('all its 4 parts are stored'),
    });
    expect(env.box.listSessions().map((s) => [s.id, s.status])).toEqual([[theirs.id, 'open']]);
  });
});
