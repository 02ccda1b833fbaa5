// Prepare with `resume`: the checks a resumed transfer makes before it sends anything (the session fits the
// object, is alive for long enough, the object is the pinned one), and the plan of only the missing parts.
// Over real loopback: s3rver as S3 and the Box emulator as Box, through the real Box client.
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { startBoxEmulator } from '../../local/box-emulator/index.ts';
import type { BoxEmulator } from '../../local/box-emulator/index.ts';
import { BoxClient, DeveloperTokenAuth } from '../../src/box/index.ts';
import { contentRangeHeader, digestHeader, sha1Base64 } from '../../src/box/helpers.ts';
import type { BoxClientLike } from '../../src/transfer/boxPort.ts';
import type { PrepareResult, ResumeRef, TransferInput } from '../../src/transfer/contract.ts';
import type { TransferDeps } from '../../src/transfer/deps.ts';
import { silentLogger } from '../../src/transfer/logger.ts';
import { prepareTransfer } from '../../src/transfer/prepare.ts';
import { isPartStored, secondsNeeded, storedPartsBitmap, storedPartsOf } from '../../src/transfer/resume.ts';
import { resolveSettings } from '../../src/transfer/settings.ts';
import type { TransferSettings } from '../../src/transfer/settings.ts';
import { storedBeforeFailing, uploadBatch } from '../../src/transfer/uploadBatch.ts';
import { measureFailedUploadBatch, measureUploadBatch } from '../../functions/uploadBatch.ts';
import { rejection } from '../support/rejection.ts';
import { startTestS3, testBytes } from './helpers.ts';
import type { TestS3 } from './helpers.ts';

const PART = 64 * 1024;
const PARTS = 10;
const SIZE = PARTS * PART - 100; // the last part short
const BUCKET = 'resume-bucket';

let s3: TestS3;
let emu: BoxEmulator;
let client: BoxClient;
let folderId: string;
let keys = 0;

function deps(settings: Partial<TransferSettings> = {}): TransferDeps {
  return { s3: s3.s3, box: async () => client, logger: silentLogger, settings: resolveSettings({ directUploadMax: 100_000, ...settings }) };
}

beforeAll(async () => {
  s3 = await startTestS3([BUCKET]);
  emu = await startBoxEmulator({ partSize: PART, minChunkedFileSize: 100_000 });
  client = new BoxClient({ auth: new DeveloperTokenAuth(emu.token), apiUrl: emu.url, uploadUrl: emu.uploadUrl, retry: { maxAttempts: 2, baseDelayMs: 5, maxDelayMs: 10 } });
  folderId = (await emu.createFolder('resumed')).id;
});
afterEach(() => emu.faults.clear());
afterAll(async () => {
  await client?.close();
  await emu?.close();
  await s3?.close();
});

/** An object in S3, a session opened for it by a first Prepare, and the parts of `stored` already in Box. */
async function failedHalfWay(stored: number[], options: TransferInput['options'] = { partsPerBatch: 2 }) {
  const key = `objects/file-${++keys}.bin`;
  const bytes = testBytes(SIZE, keys);
  await s3.put(BUCKET, key, bytes);
  const input: TransferInput = { source: { bucket: BUCKET, key }, destination: { folderId }, options };
  const first = await prepareTransfer(input, deps());
  const session = first.transfer.session!;
  for (const index of stored) {
    const body = bytes.subarray(index * PART, Math.min(SIZE, (index + 1) * PART));
    await client.chunkedUploads.uploadFilePartByUrl(session.endpoints.uploadPart, body, {
      digest: digestHeader(sha1Base64(body)),
      contentRange: contentRangeHeader(index * PART, body.length, SIZE),
    });
  }
  const resume: ResumeRef = { sessionId: session.id, etag: first.transfer.source.etag, fileName: first.transfer.destination.fileName };
  return { key, bytes, input, first, session, resume };
}

/** The error `promise` rejects with, after checking its name. */
async function expectRejection(promise: Promise<unknown>, name: string): Promise<Error> {
  const error = await rejection(promise);
  expect(error).toMatchObject({ name });
  return error;
}

function statusOf(sessionId: string): string | undefined {
  return emu.listSessions().find((s) => s.id === sessionId)?.status;
}

describe('the stored-parts bitmap', () => {
  it('marks each stored part by index, and nothing else', () => {
    const session = { id: 'S', partSize: 10, totalParts: 20 };
    const parts = [0, 7, 8, 19].map((i) => ({ part_id: `P${i}`, offset: i * 10, size: i === 19 ? 5 : 10, sha1: 'x' }));
    const stored = storedPartsBitmap(parts, session, 195);
    expect(stored).toMatchObject({ count: 4, bytes: 35 });
    expect(Buffer.from(stored.bitmap, 'base64')).toHaveLength(3);
    const has = storedPartsOf(stored.bitmap);
    for (let i = 0; i < 20; i++) {
      expect(has(i), `part ${i}`).toBe([0, 7, 8, 19].includes(i));
      expect(isPartStored(stored.bitmap, i)).toBe(has(i));
    }
    expect(storedPartsOf(undefined)(0)).toBe(false);
    // 10,000 parts fit in 1,668 base64 characters.
    expect(storedPartsBitmap([], { id: 'S', partSize: 1, totalParts: 10_000 }, 10_000).bitmap).toHaveLength(1668);
  });

  it('refuses a part that is not one of this object\'s parts (off a boundary, past the end, wrong size)', () => {
    const session = { id: 'S', partSize: 10, totalParts: 3 };
    const refusals = [
      { part_id: 'A', offset: 5, size: 10, sha1: 'x' },
      { part_id: 'B', offset: 30, size: 10, sha1: 'x' },
      { part_id: 'C', offset: 10, size: 9, sha1: 'x' },
      { part_id: 'D', offset: 20, size: 10, sha1: 'x' }, // the last part of a 25-byte object has 5 bytes
    ];
    for (const part of refusals) {
      expect(() => storedPartsBitmap([part], session, 25), part.part_id).toThrow(
        expect.objectContaining({ name: 'Transfer.InvalidInput', message: expect.stringContaining('made for another object') }),
      );
    }
  });

  it('gives a resumed transfer the margin plus the missing bytes at the assumed rate', () => {
    expect(secondsNeeded(0, { resumeMarginSeconds: 3600, resumeAssumedBytesPerSecond: 1000 })).toBe(3600);
    expect(secondsNeeded(10_001, { resumeMarginSeconds: 3600, resumeAssumedBytesPerSecond: 1000 })).toBe(3611);
  });
});

describe('Prepare with resume', () => {
  it('takes up the session and plans only the batches that still have parts to send; UploadBatch sends only those', async () => {
    const { input, session, resume, first } = await failedHalfWay([0, 1, 2, 5, 9]);
    expect(first.batches).toEqual([0, 1, 2, 3, 4]);
    const sessionsBefore = emu.listSessions().length;

    const prepared: PrepareResult = await prepareTransfer({ ...input, resume }, deps());
    expect(emu.listSessions()).toHaveLength(sessionsBefore); // no new session
    expect(prepared.mode).toBe('chunked');
    expect(prepared.transfer.session).toEqual(session);
    expect(prepared.transfer.destination).toMatchObject({ folderId, fileName: first.transfer.destination.fileName });
    expect(prepared.transfer.partsPerBatch).toBe(2);
    // Batch 0 (parts 0, 1) is complete; batch 1 (2, 3), 2 (4, 5), 3 (6, 7) and 4 (8, 9) still miss a part.
    expect(prepared.batches).toEqual([1, 2, 3, 4]);
    const stored = storedPartsOf(prepared.transfer.storedParts);
    expect([...Array(PARTS).keys()].filter(stored)).toEqual([0, 1, 2, 5, 9]);

    emu.resetStats();
    const results = [];
    for (const batch of prepared.batches) results.push(await uploadBatch({ transfer: prepared.transfer, batch }, deps()));
    expect(emu.stats().requests.uploadPart).toBe(PARTS - 5);
    expect(emu.stats().requests.listParts ?? 0).toBe(0);
    expect(results.map((r) => [r.batch, r.parts, r.alreadyUploaded])).toEqual([
      [1, 2, 1],
      [2, 2, 1],
      [3, 2, 0],
      [4, 2, 1],
    ]);
    // BytesTransferred counts only what these invocations sent (parts 3, 4, 6, 7, 8), not the stored parts.
    expect(results.map((r) => r.sentBytes)).toEqual([PART, PART, 2 * PART, PART]);
    expect(results.map((r) => r.bytes)).toEqual([2 * PART, 2 * PART, 2 * PART, PART + (SIZE - 9 * PART)]);
    const metrics = results.flatMap((r) => measureUploadBatch(r));
    const total = (name: string) => metrics.filter((m) => m.name === name).reduce((sum, m) => sum + m.value, 0);
    expect(total('BytesTransferred')).toBe(5 * PART);
    expect(total('PartsUploaded')).toBe(5);
    expect(total('PartsAlreadyStored')).toBe(3);
  });

  it('a batch that fails after storing parts still reports the bytes it sent (and only those)', async () => {
    const { input, resume } = await failedHalfWay([0]);
    const prepared = await prepareTransfer({ ...input, resume, options: { partsPerBatch: 4, concurrency: 1 } }, deps());
    expect(prepared.transfer.partsInFlight).toBe(1);
    // Batch 0 holds parts 0 (stored) to 3: parts 1 and 2 are stored by this invocation, part 3 is refused.
    emu.faults.inject({ operation: 'uploadPart', nth: 3, times: 100, action: { type: 'status', status: 409, code: 'conflict' } });
    const error = await rejection(uploadBatch({ transfer: prepared.transfer, batch: 0 }, deps()));
    expect(error).toMatchObject({ name: 'Box.Conflict' });
    expect(storedBeforeFailing(error)).toEqual({ sentBytes: 2 * PART, sentParts: 2 });
    expect(measureFailedUploadBatch(error)).toEqual([
      { name: 'BytesTransferred', unit: 'Bytes', value: 2 * PART },
      { name: 'PartsUploaded', unit: 'Count', value: 2 },
    ]);
    // An error before anything was stored reports nothing.
    expect(measureFailedUploadBatch(new Error('no parts'))).toEqual([]);
  });

  it('with every part stored, plans no batch at all (only the hash and the commit are left)', async () => {
    const { input, resume } = await failedHalfWay([...Array(PARTS).keys()]);
    const prepared = await prepareTransfer({ ...input, resume }, deps());
    expect(prepared.batches).toEqual([]);
    expect([...Array(PARTS).keys()].every(storedPartsOf(prepared.transfer.storedParts))).toBe(true);
  });

  it('with no part stored, plans every batch and carries no bitmap', async () => {
    const { input, resume } = await failedHalfWay([]);
    const prepared = await prepareTransfer({ ...input, resume }, deps());
    expect(prepared.batches).toEqual([0, 1, 2, 3, 4]);
    expect(prepared.transfer.storedParts).toBeUndefined();
  });

  it('refuses an object that changed since the failed run when the ETag is pinned, and keeps the session', async () => {
    const { key, input, resume } = await failedHalfWay([0, 1]);
    await s3.put(BUCKET, key, testBytes(SIZE, 999)); // same size, other bytes
    const error = await expectRejection(prepareTransfer({ ...input, resume }, deps()), 'Transfer.SourceChanged');
    expect(error.message).toContain(`not the pinned ${resume.etag}`);
    expect(error.message).toContain(`s3-to-box abort ${resume.sessionId}`);
    expect(statusOf(resume.sessionId)).toBe('open');
    expect(emu.listSessions().find((s) => s.id === resume.sessionId)?.partsUploaded).toBe(2);
  });

  it('a mistyped pin over an unchanged object is refused without losing the stored parts: resumed without the pin, only the missing parts are planned', async () => {
    const { input, resume } = await failedHalfWay([0, 1]);
    const wrongPin = { ...resume, etag: '"0123456789abcdef0123456789abcdef"' };
    const error = await expectRejection(prepareTransfer({ ...input, resume: wrongPin }, deps()), 'Transfer.SourceChanged');
    expect(error.message).toContain('or the pin is mistyped');
    expect(error.message).toContain('kept with its 2 stored parts');
    expect(statusOf(resume.sessionId)).toBe('open');
    const { etag: _pin, ...withoutPin } = resume;
    const prepared = await prepareTransfer({ ...input, resume: withoutPin }, deps());
    expect(prepared.transfer.session?.id).toBe(resume.sessionId);
    expect(prepared.batches).toEqual([1, 2, 3, 4]); // parts 0 and 1 (batch 0) are stored
  });

  it('without a pin, a changed size is still caught: the session does not fit (and is left alone)', async () => {
    const { key, input, resume } = await failedHalfWay([0]);
    await s3.put(BUCKET, key, testBytes(SIZE + 3 * PART, 5));
    const error = await expectRejection(prepareTransfer({ ...input, resume: { sessionId: resume.sessionId } }, deps()), 'Transfer.InvalidInput');
    expect(error.message).toMatch(/total_parts 10, which do not fit .* \(851868 bytes\): it was made for another object/);
    expect(error.message).toContain(`s3-to-box abort ${resume.sessionId}`);
    expect(statusOf(resume.sessionId)).toBe('open');
  });

  it('with a pin that differs, still leaves alone a session that does not fit the object (another transfer\'s parts)', async () => {
    // Session and pin of one object, given with another object (mixed-up ids): the pin differs, but the
    // session provably was not made for this object, so it is refused without aborting it.
    const other = await failedHalfWay([0, 1]);
    const { input } = await failedHalfWay([]);
    await s3.put(BUCKET, input.source.key, testBytes(SIZE + 3 * PART, 7)); // 13 parts: the plan does not fit
    const error = await expectRejection(prepareTransfer({ ...input, resume: other.resume }, deps()), 'Transfer.InvalidInput');
    expect(error.message).toContain('it was made for another object');
    expect(statusOf(other.resume.sessionId)).toBe('open');
    expect(emu.listSessions().find((s) => s.id === other.resume.sessionId)?.partsUploaded).toBe(2);
  });

  it('with a pin that differs, leaves alone a session whose stored parts are not this object\'s parts', async () => {
    // Same number of parts, but the last part of the session's object is longer than this object's.
    const other = await failedHalfWay([PARTS - 1]);
    const { input } = await failedHalfWay([]);
    await s3.put(BUCKET, input.source.key, testBytes(SIZE - 50, 8));
    const error = await expectRejection(prepareTransfer({ ...input, resume: other.resume }, deps()), 'Transfer.InvalidInput');
    expect(error.message).toContain(`holds a part at offset ${(PARTS - 1) * PART}`);
    expect(statusOf(other.resume.sessionId)).toBe('open');
  });

  it('refuses an unknown, aborted or committed session (Box.NotFound) with a message that names the id and says what to do', async () => {
    const { input, resume, session } = await failedHalfWay([0]);
    const name = resume.fileName!;
    const unknown = await expectRejection(prepareTransfer({ ...input, resume: { sessionId: 'F971964745A5CD0C001BBE4E58196BFD' } }, deps()), 'Box.NotFound');
    expect(unknown).toMatchObject({ status: 404 });
    expect(unknown.message).toContain('resume.sessionId: Box has no open upload session F971964745A5CD0C001BBE4E58196BFD');
    expect(unknown.message).toContain('committed, aborted or expired');
    expect(unknown.message).toContain(`look for "${name}" in Box folder ${folderId}`);
    expect(unknown.message).toContain('start the transfer again without resume');
    // An aborted session answers the same (Box forgets it), and is named the same way.
    await client.chunkedUploads.deleteFileUploadSessionByUrl(session.endpoints.abort);
    const aborted = await expectRejection(prepareTransfer({ ...input, resume }, deps()), 'Box.NotFound');
    expect(aborted.message).toContain(`resume.sessionId: Box has no open upload session ${resume.sessionId}`);
  });

  it('refuses a session Box reports expired (Box.SessionExpired, 410) with a message that names the id', async () => {
    const { input, resume } = await failedHalfWay([0]);
    emu.expireSessions();
    const error = await expectRejection(prepareTransfer({ ...input, resume }, deps()), 'Box.SessionExpired');
    expect(error).toMatchObject({ status: 410 });
    expect(error.message).toContain(`resume.sessionId: Box upload session ${resume.sessionId} has expired`);
    expect(error.message).toContain('start the transfer again without resume');
  });

  it('refuses a session that may expire before the rest could finish, keeps it, and takes it up with resume.ignoreExpiry', async () => {
    const { input, resume, session } = await failedHalfWay([0, 1, 2]);
    // Box gives 7 days; a margin of 8 days cannot fit.
    const settings = { resumeMarginSeconds: 8 * 86_400 };
    const error = await expectRejection(prepareTransfer({ ...input, resume }, deps(settings)), 'Transfer.SessionExpiring');
    expect(error.message).toMatch(/expires at .* \(in \d+ s\), within the 691\d{3} s the rest of the transfer is given: \d+ bytes to send/);
    expect(error.message).toContain('The session is kept with its 3 stored parts');
    expect(error.message).toContain('"ignoreExpiry": true');
    expect(error.message).toContain(`s3-to-box abort ${resume.sessionId}`);
    // Nothing was thrown away: the session and its parts are as they were.
    expect(emu.listSessions().find((s) => s.id === resume.sessionId)).toMatchObject({ status: 'open', partsUploaded: 3 });

    // Insisting takes the session up as usual: only the missing parts are planned.
    const prepared = await prepareTransfer({ ...input, resume: { ...resume, ignoreExpiry: true } }, deps(settings));
    expect(prepared.transfer.session).toEqual(session);
    expect([...Array(PARTS).keys()].filter(storedPartsOf(prepared.transfer.storedParts))).toEqual([0, 1, 2]);
    // A session Box has dropped is still refused, whatever ignoreExpiry says.
    emu.expireSessions();
    await expectRejection(prepareTransfer({ ...input, resume: { ...resume, ignoreExpiry: true } }, deps(settings)), 'Box.SessionExpired');
  });

  it('reads the version the failed run read, and refuses a different one given beside it', async () => {
    const { input, resume } = await failedHalfWay([0]);
    await expectRejection(
      prepareTransfer({ ...input, source: { ...input.source, versionId: 'other' }, resume: { ...resume, versionId: 'pinned' } }, deps()),
      'Transfer.InvalidInput',
    );
  });

  it('refuses resume for an object below the chunked minimum (it had no session)', async () => {
    await s3.put(BUCKET, 'objects/small.bin', testBytes(1000, 1));
    const error = await expectRejection(
      prepareTransfer({ source: { bucket: BUCKET, key: 'objects/small.bin' }, destination: { folderId }, resume: { sessionId: 'ABC' } }, deps()),
      'Transfer.InvalidInput',
    );
    expect(error.message).toContain('no upload session to resume');
  });

  it('validates the resume field like the rest of the input', async () => {
    const input = { source: { bucket: BUCKET, key: 'k' }, destination: { folderId } };
    const bad = await expectRejection(prepareTransfer({ ...input, resume: { sessionId: 'not/an id', fileId: 'x', other: 1 } }, deps()), 'Transfer.InvalidInput');
    expect(bad.message).toContain('resume.sessionId must be letters and digits (a Box upload session id)');
    expect(bad.message).toContain('resume.fileId must be a string of digits');
    expect(bad.message).toContain('resume.other is not a known field');
    await expectRejection(prepareTransfer({ ...input, resume: {} }, deps()), 'Transfer.InvalidInput');
  });

  it('counts a part that Box lists twice (a paging overlap) once', async () => {
    const { input, resume, session } = await failedHalfWay([3]);
    const listed = await client.chunkedUploads.getAllFileUploadSessionPartsByUrl(session.endpoints.listParts);
    const cu = client.chunkedUploads;
    const twice = {
      chunkedUploads: {
        getFileUploadSessionById: (id: string) => cu.getFileUploadSessionById(id),
        deleteFileUploadSessionByUrl: (url: string) => cu.deleteFileUploadSessionByUrl(url),
        getAllFileUploadSessionPartsByUrl: async () => [...listed, ...listed],
      },
      folders: client.folders,
    } as unknown as BoxClientLike;
    const prepared = await prepareTransfer({ ...input, resume }, { ...deps(), box: async () => twice });
    expect([...Array(PARTS).keys()].filter(storedPartsOf(prepared.transfer.storedParts))).toEqual([3]);
  });
});
