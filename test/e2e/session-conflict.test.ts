// Box answers 409 session_conflict to a create while a session for the same folder, name and size is open.
// Such a session is taken only when this transfer may have created it (an earlier try whose answer was
// lost, and then only while it holds no parts); another transfer's session is never shared: Prepare fails
// with Transfer.SessionInUse, the state machine retries it, and once the other transfer has committed
// this one becomes a new version (README "Newest write wins"). Real state machine, emulator and s3rver.
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { makeTaskHandlers } from '../../functions/index.ts';
import { contentRangeHeader, digestHeader, sha1Base64 } from '../../src/box/index.ts';
import type { LocalLambdaContext, TaskHandler } from '../../local/runner/execution.ts';
import { openUploadSession } from '../../src/transfer/session.ts';
import { rejection } from '../support/rejection.ts';
import { BUCKET, MiB, startEnv } from './harness.ts';
import type { E2eEnv } from './harness.ts';

let env: E2eEnv;
beforeEach(async () => {
  env = await startEnv({ emulator: { minChunkedFileSize: MiB, partSize: MiB }, settings: { directUploadMax: MiB } });
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
  it('two same-size first writes of one name: the second waits (Transfer.SessionInUse, retried) and becomes a new version; no parts mixed', async () => {
    const a = await env.put('a/report.bin', SIZE);
    const b = await env.put('b/report.bin', SIZE);
    expect(a.sha1).not.toBe(b.sha1);
    const real = makeTaskHandlers(env.deps);

    // A opens its session, then its part uploads wait until B's Prepare has met that session.
    const aUploading = deferred();
    const releaseA = deferred();
    const gatedUpload: TaskHandler = async (event, context: LocalLambdaContext) => {
      aUploading.resolve();
      await releaseA.promise;
      return real.UploadBatch(event, context);
    };
    const first = env.start({ source: { bucket: BUCKET, key: 'a/report.bin' }, destination: { folderId: '0', fileName: 'report.bin' } }, { handlers: { UploadBatch: gatedUpload } });
    await aUploading.promise;
    const aSession = env.box.listSessions();
    expect(aSession).toHaveLength(1);

    // B: every Prepare try after the first waits until A has finished (a gate, not a clock).
    const prepareErrors: string[] = [];
    const retryCounts: unknown[] = [];
    const firstDone = first.result.then(() => undefined, () => undefined);
    const watchedPrepare: TaskHandler = async (event: { retryCount?: unknown }, context: LocalLambdaContext) => {
      retryCounts.push(event.retryCount);
      if (retryCounts.length > 1) await firstDone;
      try {
        return await real.Prepare(event, context);
      } catch (err) {
        prepareErrors.push((err as Error).name);
        releaseA.resolve();
        throw err;
      }
    };
    const second = env.start({ source: { bucket: BUCKET, key: 'b/report.bin' }, destination: { folderId: '0', fileName: 'report.bin' } }, { handlers: { Prepare: watchedPrepare } });

    const outA = await first.result;
    const outB = await second.result;
    expect(prepareErrors).toEqual(['Transfer.SessionInUse']);
    expect(retryCounts).toEqual([0, 1]);
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

  it("openUploadSession: another transfer's open session is refused on a first try, and on a retry once it holds parts", async () => {
    const box = env.client;
    const destination = { folderId: '0', fileName: 'shared.bin' };
    const theirs = await box.chunkedUploads.createFileUploadSession({ folderId: '0', fileSize: SIZE, fileName: 'shared.bin' });
    const firstTry = await rejection(openUploadSession(box, destination, SIZE, 'version', 3, 0));
    expect(firstTry).toMatchObject({ name: 'Transfer.SessionInUse' });
    expect(firstTry.message).toContain(theirs.id);
    // On a retry an empty session may be the one an earlier try made: taken.
    const adopted = await openUploadSession(box, destination, SIZE, 'version', 3, 1);
    expect(adopted.session.id).toBe(theirs.id);
    // Once it holds a part it is in use by someone: refused whatever the retry count.
    const part = Buffer.alloc(MiB, 7);
    await box.chunkedUploads.uploadFilePartByUrl(theirs.session_endpoints.upload_part, part, {
      digest: digestHeader(sha1Base64(part)),
      contentRange: contentRangeHeader(0, MiB, SIZE),
    });
    expect(await rejection(openUploadSession(box, destination, SIZE, 'version', 3, 2))).toMatchObject({ name: 'Transfer.SessionInUse' });
    expect(env.box.listSessions()).toHaveLength(1);
  });
});
