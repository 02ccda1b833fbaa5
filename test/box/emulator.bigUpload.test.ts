// uploadBigFile / uploadBigFileVersion against the Box upload emulator: byte-exact at the edges,
// parallelism, 202 loop, transient parts_mismatch, stored-then-500 retries, abort on failure, AbortSignal.
import { randomBytes } from 'node:crypto';
import { Readable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { COMMIT_202_BODIES, COMMITTED_SESSION_ANSWERS } from '../../local/box-emulator/index.ts';
import { sha1Hex, type UploadProgress } from '../../src/box/index.ts';
import { fakeCommitTimer } from './fakeTimer.ts';
import { hashStream, MiB, randomSource, rejection, harnessPerTest, startHarness, type Harness } from './emulatorHarness.ts';

const start = harnessPerTest();

/** Uploads `size` random bytes and checks the downloaded bytes' SHA-1 and Box's sha1. */
async function uploadAndVerify(h: Harness, size: number, options: Parameters<Harness['client']['chunkedUploads']['uploadBigFile']>[4] = {}) {
  const source = randomSource(size);
  const file = await h.client.chunkedUploads.uploadBigFile(source.stream, `f-${size}.bin`, size, '0', options);
  expect(file).toMatchObject({ type: 'file', name: `f-${size}.bin`, size, sha1: source.sha1(), parent: { id: '0' } });
  expect(await hashStream(await h.client.files.downloadFile(file.id))).toEqual({ sha1: source.sha1(), size });
  return file;
}

describe('uploadBigFile against the emulator', () => {
  it('exactly 20,000,000 bytes with Box\'s real threshold and the default part size policy', async () => {
    const h = await start({ partSize: undefined, minChunkedFileSize: 20_000_000 });
    const progress: UploadProgress[] = [];
    await uploadAndVerify(h, 20_000_000, { onProgress: (p) => progress.push(p) });
    const [session] = h.box.listSessions();
    expect(session).toMatchObject({ status: 'committed', partSize: 8 * MiB, totalParts: 3 });
    expect(progress.at(-1)).toEqual({ bytes: 20_000_000, parts: 3, totalBytes: 20_000_000, totalParts: 3 });
    expect(progress.map((p) => p.parts)).toEqual([1, 2, 3]);
  });

  it('an exact multiple of the part size, and a multiple plus one byte', async () => {
    const h = await start();
    await uploadAndVerify(h, 8 * MiB);
    await uploadAndVerify(h, 8 * MiB + 1);
    const sessions = h.box.listSessions();
    expect(sessions.map((s) => s.totalParts).sort()).toEqual([8, 9]);
    expect(h.box.stats().requests.uploadPart).toBe(17);
  });

  it('reaches the configured concurrency (parts in flight at the emulator), never more', async () => {
    const h = await start();
    // Every part is held at the emulator until as many as the concurrency are in flight there (the client
    // starts no more while they are held); then they go on. One part more than the concurrency shows that
    // a freed slot is refilled but never exceeded.
    for (const [size, concurrency, expected] of [
      [7 * MiB, 6, 6],
      [4 * MiB + 3, undefined, 4], // the default; 5 parts
    ] as const) {
      h.box.faults.clear();
      h.box.resetStats();
      let release!: () => void;
      h.box.faults.inject({ operation: 'uploadPart', action: { type: 'hold', until: new Promise<void>((resolve) => (release = resolve)) } });
      const content = randomBytes(size);
      const chunks = Array.from({ length: Math.ceil(size / 100_000) }, (_, i) => content.subarray(i * 100_000, (i + 1) * 100_000));
      const uploading = h.client.chunkedUploads.uploadBigFile(Readable.from(chunks), `c-${size}.bin`, size, '0', concurrency === undefined ? {} : { concurrency });
      while (h.box.stats().partsInFlight < expected) await new Promise((resolve) => setTimeout(resolve, 5));
      release();
      const file = await uploading;
      expect(file.sha1).toBe(sha1Hex(content));
      expect(h.box.stats().requests.uploadPart).toBe(Math.ceil(size / MiB));
      expect(h.box.stats().maxPartsInFlight).toBe(expected);
    }
  });

  it('loops the commit on 202, at least 1 s apart when Retry-After is 0, then commits', async () => {
    const h = await start({ commitProcessing: { mode: 'count', times: 3, retryAfterSeconds: 0 } }, { retry: { maxAttempts: 2, baseDelayMs: 600_000, maxDelayMs: 600_000 } });
    const timer = fakeCommitTimer();
    await uploadAndVerify(h, 3 * MiB, { commitTimer: timer });
    expect(h.box.stats().requests.commit).toBe(4);
    expect(timer.waits).toEqual([1000, 1000, 1000]);
  });

  it('commits after 202s whatever their body (Box documents none): each variant the emulator can answer', async () => {
    for (const commit202Body of COMMIT_202_BODIES) {
      const h = await startHarness({ commitProcessing: { mode: 'count', times: 2, retryAfterSeconds: 2 }, commit202Body });
      try {
        const timer = fakeCommitTimer();
        await uploadAndVerify(h, 2 * MiB, { commitTimer: timer });
        expect(h.box.stats().requests.commit, commit202Body).toBe(3);
        expect(timer.waits, commit202Body).toEqual([2000, 2000]);
        expect(h.box.listSessions().map((s) => s.status), commit202Body).toEqual(['committed']);
      } finally {
        await h.close();
      }
    }
  });

  it('sends a part refused for its Digest again (damaged on the way: 412, or 400 digest_mismatch); a refusal that persists fails with Box.PartDigestRejected', async () => {
    for (const partDigestMismatchStatus of [412, 400] as const) {
      const h = await startHarness({ partDigestMismatchStatus });
      try {
        h.box.faults.inject({ operation: 'uploadPart', nth: 2, times: 2, action: { type: 'corruptBody' } });
        await uploadAndVerify(h, 3 * MiB, { concurrency: 1 });
        expect(h.box.stats().requests.uploadPart).toBe(3 + 2);
        expect(h.box.listSessions().map((s) => s.status)).toEqual(['committed']);
      } finally {
        await h.close();
      }
    }
    const h = await start();
    h.box.faults.inject({ operation: 'uploadPart', nth: 2, times: 3, action: { type: 'corruptBody' } });
    const error = await rejection(h.client.chunkedUploads.uploadBigFile(randomSource(3 * MiB).stream, 'bad.bin', 3 * MiB, '0', { concurrency: 1 }));
    expect(error).toMatchObject({ name: 'Box.PartDigestRejected', status: 412 });
    expect(h.box.stats().requests.uploadPart).toBe(1 + 3);
  });

  it('keeps a Retry-After longer than the floor', async () => {
    const h = await start({ commitProcessing: { mode: 'count', times: 2, retryAfterSeconds: 7 } });
    const timer = fakeCommitTimer();
    await uploadAndVerify(h, 2 * MiB, { commitTimer: timer });
    expect(h.box.stats().requests.commit).toBe(3);
    expect(timer.waits).toEqual([7000, 7000]);
  });

  it('gives up with Box.CommitTimeout after maxCommitWaitSeconds, and aborts the session', async () => {
    const h = await start({ commitProcessing: { mode: 'count', times: 1000, retryAfterSeconds: 0 } });
    const source = randomSource(2 * MiB);
    const timer = fakeCommitTimer();
    const error = await rejection(h.client.chunkedUploads.uploadBigFile(source.stream, 'slow.bin', 2 * MiB, '0', { maxCommitWaitSeconds: 2.5, commitTimer: timer }));
    expect(error).toMatchObject({ name: 'Box.CommitTimeout' });
    // Commits at 0, 1 and 2 s; the 0.5 s left is shorter than the 1 s floor.
    expect(h.box.stats().requests.commit).toBe(3);
    expect(timer.waits).toEqual([1000, 1000]);
    expect(h.box.listSessions()[0]?.status).toBe('aborted');
    expect(h.box.findFile('0', 'slow.bin')).toBeUndefined();
  });

  it('retries a transient 400 parts_mismatch at commit', async () => {
    const h = await start();
    h.box.faults.inject({ operation: 'commit', nth: 1, times: 2, action: { type: 'partsMismatch' } });
    await uploadAndVerify(h, 3 * MiB + 7, { partsMismatchRetryDelayMs: 10 });
    expect(h.box.stats().requests.commit).toBe(3);
  });

  it('a commit whose 201 was lost is looked for in Box (the file of that name, our SHA-1 and size) instead of being sent again', async () => {
    const h = await start({ committedSession: 'not-found' });
    h.box.faults.inject({ operation: 'commit', nth: 1, action: { type: 'storeThenReset' } });
    const timer = fakeCommitTimer();
    const file = await uploadAndVerify(h, 3 * MiB + 5, { commitTimer: timer });
    // Found by Box's preflight check (409 naming the file), without listing the folder.
    expect(h.box.stats().requests).toMatchObject({ commit: 1, preflightCheck: 1, listFolderItems: 0, getFile: 1 });
    expect(timer.waits).toEqual([1000]);
    expect(h.box.getFile(file.id)).toMatchObject({ sequence_id: '0' });
    expect(h.box.listSessions()[0]?.status).toBe('committed');
  });

  it('a new version whose commit 201 was lost: a current version with our bytes, not the one before, is the result', async () => {
    const h = await start({ committedSession: 'session-gone' });
    const old = Buffer.alloc(100, 7);
    const existing = await h.client.files.uploadFile({ parentFolderId: '0', fileName: 'v.bin', file: old, fileSize: old.length });
    h.box.faults.inject({ operation: 'commit', nth: 1, action: { type: 'storeThenReset' } });
    const source = randomSource(2 * MiB);
    const file = await h.client.chunkedUploads.uploadBigFileVersion(existing.id, source.stream, 2 * MiB, { commitTimer: fakeCommitTimer() });
    expect(file).toMatchObject({ id: existing.id, sha1: source.sha1() });
    expect(h.box.getFile(existing.id)).toMatchObject({ sequence_id: '1' }); // no third version
    expect(h.box.stats().requests.commit).toBe(1);
  });

  it('a lost commit whose probe fails (the preflight check and the folder listing refused) is sent again: the upload completes, the session is not aborted', async () => {
    const warnings: string[] = [];
    const h = await start({ committedSession: 'not-found' }, { logger: { warn: (m) => warnings.push(m) } });
    h.box.faults.inject({ operation: 'commit', nth: 1, action: { type: 'reset' } });
    h.box.faults.inject({ operation: 'preflightCheck', nth: 1, times: 5, action: { type: 'status', status: 403, code: 'access_denied_insufficient_permissions' } });
    h.box.faults.inject({ operation: 'listFolderItems', nth: 1, times: 5, action: { type: 'status', status: 403, code: 'access_denied_insufficient_permissions' } });
    await uploadAndVerify(h, 3 * MiB + 5, { commitTimer: fakeCommitTimer() });
    expect(h.box.stats().requests).toMatchObject({ commit: 2, preflightCheck: 1, listFolderItems: 1 });
    expect(h.box.listSessions()[0]?.status).toBe('committed');
    expect(warnings).toContain('looking whether a lost commit landed failed; committing again');
  });

  it('a new version whose look at the current version fails still commits (the lost-commit probe then sends the commit again)', async () => {
    const h = await start();
    const old = Buffer.alloc(100, 7);
    const existing = await h.client.files.uploadFile({ parentFolderId: '0', fileName: 'w.bin', file: old, fileSize: old.length });
    h.box.faults.inject({ operation: 'getFile', nth: 1, action: { type: 'status', status: 403, code: 'access_denied_insufficient_permissions' } });
    const source = randomSource(2 * MiB);
    const file = await h.client.chunkedUploads.uploadBigFileVersion(existing.id, source.stream, 2 * MiB, { commitTimer: fakeCommitTimer() });
    expect(file).toMatchObject({ id: existing.id, sha1: source.sha1() });
    expect(h.box.listSessions()[0]?.status).toBe('committed');
  });

  for (const committedSession of COMMITTED_SESSION_ANSWERS) {
    it(`a new version whose version look fails and whose commit 201 was lost (a repeated commit answers ${committedSession}): the new version is the result, the session is not aborted`, async () => {
      const warnings: string[] = [];
      const h = await start({ committedSession }, { logger: { warn: (m) => warnings.push(m) } });
      const old = Buffer.alloc(100, 7);
      const existing = await h.client.files.uploadFile({ parentFolderId: '0', fileName: 'u.bin', file: old, fileSize: old.length });
      h.box.resetStats();
      h.box.faults.inject({ operation: 'getFile', nth: 1, action: { type: 'status', status: 403, code: 'access_denied_insufficient_permissions' } });
      h.box.faults.inject({ operation: 'commit', nth: 1, action: { type: 'storeThenReset' } });
      const source = randomSource(2 * MiB);
      const file = await h.client.chunkedUploads.uploadBigFileVersion(existing.id, source.stream, 2 * MiB, { commitTimer: fakeCommitTimer() });
      expect(file).toMatchObject({ id: existing.id, sha1: source.sha1(), size: 2 * MiB });
      expect(h.box.getFile(existing.id)).toMatchObject({ sequence_id: '1' }); // the original and ours: no third version
      expect(h.box.stats().requests).toMatchObject({ commit: 2, abortSession: 0 });
      expect(h.box.listSessions()[0]?.status).toBe('committed');
      expect(warnings).toContain("looking up the file's current version failed; a lost commit is then taken as landed only after a refused repeated commit");
    });
  }

  it('a part "stored, then 500" is retried, meets 416 with the same sha1, and the upload completes byte-exact', async () => {
    const h = await start();
    h.box.faults.inject({ operation: 'uploadPart', nth: 2, action: { type: 'storeThenFail', status: 500 } });
    h.box.faults.inject({ operation: 'uploadPart', nth: 4, action: { type: 'status', status: 503, retryAfterSeconds: 0 } });
    h.box.faults.inject({ operation: 'uploadPart', nth: 6, action: { type: 'reset' } });
    await uploadAndVerify(h, 5 * MiB);
    expect(h.box.stats().requests.uploadPart).toBe(8);
  });

  it('a fatal part error aborts the session (gone afterwards) and rethrows the original error', async () => {
    const h = await start();
    h.box.faults.inject({ operation: 'uploadPart', nth: 3, action: { type: 'status', status: 403, code: 'forbidden' } });
    const source = randomSource(10 * MiB);
    const error = await rejection(h.client.chunkedUploads.uploadBigFile(source.stream, 'fatal.bin', 10 * MiB, '0'));
    expect(error).toMatchObject({ name: 'Box.Forbidden', status: 403, code: 'forbidden' });
    const [session] = h.box.listSessions();
    expect(session?.status).toBe('aborted');
    expect(h.box.stats().requests.abortSession).toBe(1);
    expect(h.box.stats().requests.commit).toBe(0);
    expect(await rejection(h.client.chunkedUploads.getFileUploadSessionById(session!.id))).toMatchObject({ name: 'Box.NotFound' });
  });

  it('a commit refused for good (name taken meanwhile) aborts the session too', async () => {
    const h = await start();
    h.box.faults.inject({ operation: 'commit', nth: 1, action: { type: 'status', status: 409, code: 'item_name_in_use' } });
    const source = randomSource(2 * MiB);
    const error = await rejection(h.client.chunkedUploads.uploadBigFile(source.stream, 'late.bin', 2 * MiB, '0'));
    expect(error).toMatchObject({ name: 'Box.Conflict', code: 'item_name_in_use' });
    expect(h.box.listSessions()[0]?.status).toBe('aborted');
  });

  it('the AbortSignal stops the upload and aborts the session (Box.Aborted)', async () => {
    const h = await start();
    h.box.faults.inject({ operation: 'uploadPart', action: { type: 'latency', ms: 100 } });
    const controller = new AbortController();
    const source = randomSource(20 * MiB);
    const error = await rejection(
      h.client.chunkedUploads.uploadBigFile(source.stream, 'cancelled.bin', 20 * MiB, '0', {
        signal: controller.signal,
        onProgress: (p) => {
          if (p.parts === 2) controller.abort();
        },
      }),
    );
    expect(error.name).toBe('Box.Aborted');
    expect(h.box.listSessions()[0]?.status).toBe('aborted');
    expect(h.box.stats().requests.uploadPart).toBeLessThan(20);
    expect(h.box.findFile('0', 'cancelled.bin')).toBeUndefined();
  });

  it('uploadBigFileVersion: a new version (renamed, with attributes), byte-exact', async () => {
    const h = await start();
    const first = await uploadAndVerify(h, 2 * MiB);
    const source = randomSource(3 * MiB + 1);
    const version = await h.client.chunkedUploads.uploadBigFileVersion(first.id, source.stream, 3 * MiB + 1, {
      fileName: 'renamed.bin',
      ifMatch: first.etag ?? undefined,
      attributes: { content_modified_at: '2023-03-03T03:03:03Z' },
      concurrency: 2,
    });
    expect(version).toMatchObject({ id: first.id, name: 'renamed.bin', size: 3 * MiB + 1, sha1: source.sha1() });
    expect(version.content_modified_at?.startsWith('2023-03-03T03:03:03')).toBe(true);
    expect(version.file_version?.id).not.toBe(first.file_version?.id);
    expect(await hashStream(await h.client.files.downloadFile(first.id))).toEqual({ sha1: source.sha1(), size: 3 * MiB + 1 });
    expect(h.box.stats().requests.createVersionSession).toBe(1);
  });

  it('a stream shorter than fileSize fails with Box.SourceSizeMismatch and aborts the session', async () => {
    const h = await start();
    const source = randomSource(3 * MiB - 1);
    const error = await rejection(h.client.chunkedUploads.uploadBigFile(source.stream, 'short.bin', 3 * MiB, '0'));
    expect(error.name).toBe('Box.SourceSizeMismatch');
    expect(h.box.listSessions()[0]?.status).toBe('aborted');
  });
});
