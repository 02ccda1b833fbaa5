// Every ChunkedUploadsManager operation (by id and by URL), files and folders, and every error row,
// over real loopback HTTP against the Box upload emulator.
import { createHash, randomBytes } from 'node:crypto';
import { Readable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import {
  contentRangeHeader,
  DeveloperTokenAuth,
  digestHeader,
  sha1Base64,
  sha1Hex,
  type BoxClient,
  type UploadPart,
  type UploadSession,
} from '../../src/box/index.ts';
import { hashStream, MiB, rejection, harnessPerTest } from './emulatorHarness.ts';

const start = harnessPerTest();

/** Uploads `content` part by part, alternating the by-id and the by-URL operation. */
async function uploadAllParts(client: BoxClient, session: UploadSession, content: Buffer): Promise<UploadPart[]> {
  const parts: UploadPart[] = [];
  for (let offset = 0, i = 0; offset < content.length; offset += session.part_size, i++) {
    const body = content.subarray(offset, Math.min(offset + session.part_size, content.length));
    const headers = { digest: digestHeader(sha1Base64(body)), contentRange: contentRangeHeader(offset, body.length, content.length) };
    const { part } =
      i % 2 === 0
        ? await client.chunkedUploads.uploadFilePart(session.id, body, headers)
        : await client.chunkedUploads.uploadFilePartByUrl(session.session_endpoints.upload_part, body, headers);
    expect(part).toMatchObject({ offset, size: body.length, sha1: sha1Hex(body) });
    expect(part.part_id).toMatch(/^[0-9A-F]{8}$/);
    parts.push(part);
  }
  return parts;
}

const wholeDigest = (content: Buffer): string => digestHeader(createHash('sha1').update(content).digest('base64'));

describe('ChunkedUploadsManager against the emulator: every operation', () => {
  it('new file: create, get (id, URL), parts (id, URL), list (id, URL, paging), commit by id with attributes, download', async () => {
    const { client, box } = await start();
    const folder = await client.folders.createFolder('ops', '0');
    const content = randomBytes(3 * MiB + 5);
    const session = await client.chunkedUploads.createFileUploadSession({ folderId: folder.id, fileSize: content.length, fileName: 'ops.bin' });
    expect(session).toMatchObject({ type: 'upload_session', part_size: MiB, total_parts: 4, num_parts_processed: 0 });
    expect(session.id).toMatch(/^[0-9A-F]{32}$/);
    expect(session.session_endpoints.upload_part.startsWith(`${box.url}/api/2.0/files/upload_sessions/`)).toBe(true);

    expect((await client.chunkedUploads.getFileUploadSessionById(session.id)).id).toBe(session.id);
    expect((await client.chunkedUploads.getFileUploadSessionByUrl(session.session_endpoints.status)).total_parts).toBe(4);

    const parts = await uploadAllParts(client, session, content);
    const listedById = await client.chunkedUploads.getFileUploadSessionParts(session.id);
    expect(listedById.total_count).toBe(4);
    expect(listedById.entries.map((p) => p.offset)).toEqual([0, MiB, 2 * MiB, 3 * MiB]);
    const page = await client.chunkedUploads.getFileUploadSessionPartsByUrl(session.session_endpoints.list_parts, { offset: 1, limit: 2 });
    expect(page.entries.map((p) => p.offset)).toEqual([MiB, 2 * MiB]);
    expect(page).toMatchObject({ offset: 1, limit: 2, total_count: 4 });
    expect(await client.chunkedUploads.getAllFileUploadSessionPartsByUrl(session.session_endpoints.list_parts)).toEqual(parts);
    expect(box.stats().requests).toMatchObject({ createSession: 1, getSession: 2, uploadPart: 4, listParts: 3, createFolder: 1 });

    const result = await client.chunkedUploads.createFileUploadSessionCommit(
      session.id,
      { parts: [...parts].reverse(), attributes: { content_modified_at: '2025-05-05T05:05:05Z' } },
      { digest: wholeDigest(content) },
    );
    expect(result.status).toBe('committed');
    if (result.status !== 'committed') return;
    const file = result.files.entries[0]!;
    expect(file).toMatchObject({ type: 'file', name: 'ops.bin', size: content.length, sha1: sha1Hex(content), parent: { id: folder.id } });
    expect(file.content_modified_at?.startsWith('2025-05-05T05:05:05')).toBe(true);

    expect((await client.files.getFile(file.id)).sha1).toBe(sha1Hex(content));
    expect(await hashStream(await client.files.downloadFile(file.id))).toEqual({ sha1: sha1Hex(content), size: content.length });
    const items = await client.folders.listItems(folder.id);
    expect(items.entries.map((e) => e.name)).toEqual(['ops.bin']);
    expect(items.total_count).toBe(1);
    expect((await client.folders.listItems('0', { offset: 0, limit: 10 })).entries.map((e) => e.id)).toContain(folder.id);
  });

  it('new version: create for existing file, upload, commit by URL with If-Match; abort by id and by URL', async () => {
    const { client, box } = await start();
    const first = randomBytes(2 * MiB);
    const original = await client.files.uploadFile({ parentFolderId: '0', fileName: 'v.bin', file: first, fileSize: first.length });
    const second = randomBytes(2 * MiB + 1);
    const session = await client.chunkedUploads.createFileUploadSessionForExistingFile(original.id, { fileSize: second.length, fileName: 'v2.bin' });
    const parts = await uploadAllParts(client, session, second);
    const result = await client.chunkedUploads.createFileUploadSessionCommitByUrl(
      session.session_endpoints.commit,
      { parts },
      { digest: wholeDigest(second), ifMatch: original.etag ?? undefined },
    );
    if (result.status !== 'committed') throw new Error('expected committed');
    const version = result.files.entries[0]!;
    expect(version).toMatchObject({ id: original.id, name: 'v2.bin', size: second.length, sha1: sha1Hex(second) });
    expect(version.file_version?.id).not.toBe(original.file_version?.id);
    expect(box.stats().requests.createVersionSession).toBe(1);
    expect((await box.readFileContent(original.id)).equals(second)).toBe(true);

    const doomed1 = await client.chunkedUploads.createFileUploadSession({ folderId: '0', fileSize: 3 * MiB, fileName: 'a.bin' });
    await client.chunkedUploads.deleteFileUploadSessionById(doomed1.id);
    expect((await rejection(client.chunkedUploads.getFileUploadSessionById(doomed1.id))).name).toBe('Box.NotFound');
    const doomed2 = await client.chunkedUploads.createFileUploadSession({ folderId: '0', fileSize: 3 * MiB, fileName: 'b.bin' });
    await client.chunkedUploads.deleteFileUploadSessionByUrl(doomed2.session_endpoints.abort);
    expect((await rejection(client.chunkedUploads.getFileUploadSessionByUrl(doomed2.session_endpoints.status))).name).toBe('Box.NotFound');
    // DELETE of a committed session answers 204 as on Box.
    await client.chunkedUploads.deleteFileUploadSessionById(session.id);
    expect(box.stats().requests.abortSession).toBe(3);
  });

  it('direct upload: new file from bytes and from a stream, new version, Content-MD5 checked', async () => {
    const { client, box } = await start();
    const bytes = randomBytes(300_000);
    const a = await client.files.uploadFile({
      parentFolderId: '0',
      fileName: 'direct.bin',
      file: bytes,
      fileSize: bytes.length,
      sha1Hex: sha1Hex(bytes),
      contentModifiedAt: '2024-04-04T04:04:04Z',
    });
    expect(a).toMatchObject({ name: 'direct.bin', size: bytes.length, sha1: sha1Hex(bytes) });
    expect(a.content_modified_at?.startsWith('2024-04-04T04:04:04')).toBe(true);
    const streamed = randomBytes(200_001);
    const b = await client.files.uploadFile({
      parentFolderId: '0',
      fileName: 'streamed.bin',
      file: Readable.from([streamed.subarray(0, 100_000), streamed.subarray(100_000)]),
      fileSize: streamed.length,
    });
    expect(b.sha1).toBe(sha1Hex(streamed));
    const next = randomBytes(1000);
    const v = await client.files.uploadFileVersion(a.id, { file: next, fileSize: next.length, sha1Hex: sha1Hex(next), ifMatch: a.etag ?? undefined });
    expect(v).toMatchObject({ id: a.id, size: 1000, sha1: sha1Hex(next) });
    expect(await hashStream(await client.files.downloadFile(a.id))).toEqual({ sha1: sha1Hex(next), size: 1000 });
    expect(box.stats().requests).toMatchObject({ uploadFile: 2, uploadFileVersion: 1, downloadFile: 1 });
    const wrongMd5 = await rejection(client.files.uploadFile({ parentFolderId: '0', fileName: 'bad.bin', file: bytes, fileSize: bytes.length, sha1Hex: '0'.repeat(40) }));
    expect(wrongMd5.status).toBeGreaterThanOrEqual(400);
    expect(box.findFile('0', 'bad.bin')).toBeUndefined();
    const stale = await rejection(client.files.uploadFileVersion(a.id, { file: next, fileSize: next.length, ifMatch: 'stale-etag' }));
    expect(stale.name).toBe('Box.PreconditionFailed');
    const short = await rejection(client.files.uploadFile({ parentFolderId: '0', fileName: 's.bin', file: Readable.from([Buffer.alloc(10)]), fileSize: 11 }));
    expect(short.name).toBe('Box.SourceSizeMismatch');
    expect(box.findFile('0', 's.bin')).toBeUndefined();
  });
});

describe('direct upload integrity', () => {
  it('a wrong sha1Hex is refused (bytes and stream) and stores nothing; bytes without one carry their computed SHA-1', async () => {
    const { client, box } = await start();
    const bytes = randomBytes(50_000);
    const wrong = '0'.repeat(40);
    const fromBytes = await rejection(client.files.uploadFile({ parentFolderId: '0', fileName: 'bad.bin', file: bytes, fileSize: bytes.length, sha1Hex: wrong }));
    expect(fromBytes).toMatchObject({ name: 'Box.InvalidRequest', status: 400, code: 'bad_digest' });
    const fromStream = await rejection(client.files.uploadFile({ parentFolderId: '0', fileName: 'bad.bin', file: Readable.from([bytes]), fileSize: bytes.length, sha1Hex: wrong }));
    expect(fromStream).toMatchObject({ name: 'Box.InvalidRequest', status: 400, code: 'bad_digest' });
    expect(box.findFile('0', 'bad.bin')).toBeUndefined();
    const good = await client.files.uploadFile({ parentFolderId: '0', fileName: 'good.bin', file: bytes, fileSize: bytes.length });
    expect(good).toMatchObject({ name: 'good.bin', size: bytes.length, sha1: sha1Hex(bytes) });
    const version = await rejection(client.files.uploadFileVersion(good.id, { file: Buffer.from('other'), fileSize: 5, sha1Hex: sha1Hex(bytes) }));
    expect(version).toMatchObject({ name: 'Box.InvalidRequest', code: 'bad_digest' });
    expect(box.getFile(good.id)?.sha1).toBe(sha1Hex(bytes));
  });
});

describe('error rows mapped to classes', () => {
  it('create: file_size_too_small below 20,000,000 bytes, missing folder, name in use, session_conflict (not ours unless a try was lost)', async () => {
    const { client } = await start({ minChunkedFileSize: 20_000_000 });
    const small = await rejection(client.chunkedUploads.createFileUploadSession({ folderId: '0', fileSize: 19_999_999, fileName: 'x.bin' }));
    expect(small).toMatchObject({ name: 'Box.InvalidRequest', status: 400, code: 'file_size_too_small' });
    expect(small.requestId).toBeTruthy();
    const missing = await rejection(client.chunkedUploads.createFileUploadSession({ folderId: '987654', fileSize: 20_000_000, fileName: 'x.bin' }));
    expect(missing).toMatchObject({ name: 'Box.NotFound', status: 404 });
    const bytes = Buffer.from('taken');
    const taken = await client.files.uploadFile({ parentFolderId: '0', fileName: 'taken.bin', file: bytes, fileSize: bytes.length });
    const conflict = await rejection(client.chunkedUploads.createFileUploadSession({ folderId: '0', fileSize: 20_000_000, fileName: 'taken.bin' }));
    expect(conflict).toMatchObject({ name: 'Box.Conflict', status: 409, code: 'item_name_in_use' });
    const conflicts = conflict.contextInfo?.conflicts as { id?: string } | Array<{ id?: string }>;
    expect(Array.isArray(conflicts) ? conflicts[0]?.id : conflicts.id).toBe(taken.id);
    // A second create of the same name and size while the first session is open: another upload's session.
    const s1 = await client.chunkedUploads.createFileUploadSession({ folderId: '0', fileSize: 20_000_000, fileName: 'same.bin' });
    const second = await rejection(client.chunkedUploads.createFileUploadSession({ folderId: '0', fileSize: 20_000_000, fileName: 'same.bin' }));
    expect(second).toMatchObject({ name: 'Box.Conflict', status: 409, code: 'session_conflict' });
    expect((second.contextInfo?.session as { id?: string } | undefined)?.id).toBe(s1.id);
    const invalid = await rejection(client.chunkedUploads.createFileUploadSession({ folderId: '0', fileSize: 20_000_000, fileName: 'a/b' }));
    expect(invalid).toMatchObject({ name: 'Box.InvalidRequest', code: 'item_name_invalid' });
  });

  it('parts: misaligned and wrong-sized ranges (416), bad digest (412 or 400), overlap with other bytes (416), list offset > 10000 (400)', async () => {
    const { client } = await start();
    const content = randomBytes(3 * MiB);
    const session = await client.chunkedUploads.createFileUploadSession({ folderId: '0', fileSize: content.length, fileName: 'p.bin' });
    const body = content.subarray(0, MiB);
    const digest = digestHeader(sha1Base64(body));
    const misaligned = await rejection(client.chunkedUploads.uploadFilePart(session.id, body, { digest, contentRange: contentRangeHeader(1, MiB, content.length) }));
    expect(misaligned).toMatchObject({ name: 'Box.RangeNotSatisfiable', status: 416 });
    const small = content.subarray(0, 1000);
    const wrongSize = await rejection(client.chunkedUploads.uploadFilePart(session.id, small, { digest: digestHeader(sha1Base64(small)), contentRange: contentRangeHeader(0, 1000, content.length) }));
    expect(wrongSize).toMatchObject({ name: 'Box.RangeNotSatisfiable', status: 416 });
    const badDigest = await rejection(client.chunkedUploads.uploadFilePart(session.id, body, { digest: digestHeader(sha1Base64(Buffer.from('x'))), contentRange: contentRangeHeader(0, MiB, content.length) }));
    // A part refused for its Digest was not stored: Box.PartDigestRejected (never terminal), Box's 412 kept.
    expect(badDigest).toMatchObject({ name: 'Box.PartDigestRejected', status: 412 });
    const fresh = await client.chunkedUploads.uploadFilePart(session.id, body, { digest, contentRange: contentRangeHeader(0, MiB, content.length) });
    expect(fresh.alreadyUploaded).toBeUndefined();
    const other = randomBytes(MiB);
    const overlap = await rejection(client.chunkedUploads.uploadFilePart(session.id, other, { digest: digestHeader(sha1Base64(other)), contentRange: contentRangeHeader(0, MiB, content.length) }));
    // Box lists other bytes at that offset: the session can never be committed with ours.
    expect(overlap).toMatchObject({ name: 'Box.IntegrityError', status: 416, code: 'range_overlaps_existing_part' });
    expect(overlap.contextInfo?.conflicting_part).toMatchObject({ offset: 0, size: MiB, sha1: sha1Hex(body) });
    // The same bytes again (a re-run batch): the 416 resolves as the stored part.
    const again = await client.chunkedUploads.uploadFilePart(session.id, body, { digest, contentRange: contentRangeHeader(0, MiB, content.length) });
    expect(again.part).toMatchObject({ offset: 0, size: MiB, sha1: sha1Hex(body) });
    expect(again.alreadyUploaded).toBe(true);
    const farOffset = await rejection(client.chunkedUploads.getFileUploadSessionParts(session.id, { offset: 10_001 }));
    expect(farOffset).toMatchObject({ name: 'Box.InvalidRequest', status: 400 });
  });

  it('more rows: file too large (403), name too long, invalid file size, malformed session id, missing/invalid Digest (400)', async () => {
    const { client } = await start({ maxFileSize: 50 * MiB });
    const tooLarge = await rejection(client.chunkedUploads.createFileUploadSession({ folderId: '0', fileSize: 51 * MiB, fileName: 'big.bin' }));
    expect(tooLarge).toMatchObject({ name: 'Box.Forbidden', status: 403, code: 'file_size_limit_exceeded' });
    const longName = await rejection(client.chunkedUploads.createFileUploadSession({ folderId: '0', fileSize: MiB, fileName: 'n'.repeat(256) }));
    expect(longName).toMatchObject({ name: 'Box.InvalidRequest', status: 400, code: 'item_name_too_long' });
    const badSize = await rejection(client.chunkedUploads.createFileUploadSession({ folderId: '0', fileSize: -5, fileName: 'neg.bin' }));
    expect(badSize).toMatchObject({ name: 'Box.InvalidRequest', status: 400, code: 'invalid_file_size' });
    const malformed = await rejection(client.chunkedUploads.getFileUploadSessionById('not-a-session-id'));
    expect(malformed).toMatchObject({ name: 'Box.InvalidRequest', status: 400, code: 'invalid_upload_session_id' });
    const session = await client.chunkedUploads.createFileUploadSession({ folderId: '0', fileSize: 2 * MiB, fileName: 'h.bin' });
    const body = randomBytes(MiB);
    const noDigest = await rejection(client.chunkedUploads.uploadFilePart(session.id, body, { digest: 'md5=abc', contentRange: contentRangeHeader(0, MiB, 2 * MiB) }));
    expect(noDigest).toMatchObject({ name: 'Box.InvalidRequest', status: 400 });
    const badRange = await rejection(client.chunkedUploads.uploadFilePart(session.id, body, { digest: digestHeader(sha1Base64(body)), contentRange: 'bytes 0-1048575/999' }));
    expect(badRange).toMatchObject({ name: 'Box.RangeNotSatisfiable', status: 416 });
  });

  it('a part digest mismatch configured as 400 digest_mismatch is Box.PartDigestRejected (Box.DigestMismatch is the whole-file digest at commit)', async () => {
    const { client } = await start({ partDigestMismatchStatus: 400 });
    const session = await client.chunkedUploads.createFileUploadSession({ folderId: '0', fileSize: 2 * MiB, fileName: 'd.bin' });
    const body = randomBytes(MiB);
    const error = await rejection(client.chunkedUploads.uploadFilePart(session.id, body, { digest: digestHeader(sha1Base64(Buffer.from('y'))), contentRange: contentRangeHeader(0, MiB, 2 * MiB) }));
    expect(error).toMatchObject({ name: 'Box.PartDigestRejected', status: 400, code: 'digest_mismatch', cause: { name: 'Box.DigestMismatch' } });
  });

  it('commit: parts_mismatch, digest_mismatch, If-Match failure, name taken meanwhile', async () => {
    const { client } = await start();
    const content = randomBytes(2 * MiB);
    const session = await client.chunkedUploads.createFileUploadSession({ folderId: '0', fileSize: content.length, fileName: 'c.bin' });
    const parts = await uploadAllParts(client, session, content);
    const mismatch = await rejection(client.chunkedUploads.createFileUploadSessionCommit(session.id, { parts: parts.slice(1) }, { digest: wholeDigest(content) }));
    expect(mismatch).toMatchObject({ name: 'Box.PartsMismatch', status: 400, code: 'parts_mismatch' });
    const digest = await rejection(client.chunkedUploads.createFileUploadSessionCommit(session.id, { parts }, { digest: wholeDigest(Buffer.from('nope')) }));
    expect(digest).toMatchObject({ name: 'Box.DigestMismatch', status: 400, code: 'digest_mismatch' });

    const base = Buffer.from('base');
    const file = await client.files.uploadFile({ parentFolderId: '0', fileName: 'etag.bin', file: base, fileSize: base.length });
    const vs = await client.chunkedUploads.createFileUploadSessionForExistingFile(file.id, { fileSize: content.length });
    const vparts = await uploadAllParts(client, vs, content);
    const precondition = await rejection(client.chunkedUploads.createFileUploadSessionCommit(vs.id, { parts: vparts }, { digest: wholeDigest(content), ifMatch: 'not-the-etag' }));
    expect(precondition).toMatchObject({ name: 'Box.PreconditionFailed', status: 412 });

    await client.files.uploadFile({ parentFolderId: '0', fileName: 'c.bin', file: base, fileSize: base.length });
    const taken = await rejection(client.chunkedUploads.createFileUploadSessionCommit(session.id, { parts }, { digest: wholeDigest(content) }));
    expect(taken).toMatchObject({ name: 'Box.Conflict', status: 409, code: 'item_name_in_use' });
  });

  it('expired session (410), unknown session (404), bad token (401), another user\'s session (403)', async () => {
    const { client, box, newClient } = await start({ tokens: ['dev-token', 'other-user-token'] });
    const session = await client.chunkedUploads.createFileUploadSession({ folderId: '0', fileSize: 2 * MiB, fileName: 'e.bin' });
    const body = randomBytes(MiB);
    const headers = { digest: digestHeader(sha1Base64(body)), contentRange: contentRangeHeader(0, MiB, 2 * MiB) };
    const other = newClient({ auth: new DeveloperTokenAuth('other-user-token') });
    const forbidden = await rejection(other.chunkedUploads.uploadFilePart(session.id, body, headers));
    expect(forbidden).toMatchObject({ name: 'Box.Forbidden', status: 403 });
    box.expireSessions();
    const expired = await rejection(client.chunkedUploads.uploadFilePart(session.id, body, headers));
    expect(expired).toMatchObject({ name: 'Box.SessionExpired', status: 410, code: 'session_expired' });
    const unknown = await rejection(client.chunkedUploads.getFileUploadSessionById('0123456789ABCDEF0123456789ABCDEF'));
    expect(unknown).toMatchObject({ name: 'Box.NotFound', status: 404 });
    const stranger = newClient({ auth: new DeveloperTokenAuth('not-a-token') });
    const unauthorized = await rejection(stranger.folders.listItems('0'));
    expect(unauthorized).toMatchObject({ name: 'Box.Unauthorized', status: 401 });
    expect(unauthorized.message).not.toContain('not-a-token');
    expect(box.stats().requests.listFolderItems).toBe(1);
  });
});
