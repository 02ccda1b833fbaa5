// The emulator speaks Box's wire format to a client nobody here wrote: the official box-node-sdk@10,
// through uploadBigFile and every ChunkedUploadsManager operation (by id and by URL), with a developer
// token and with the client credentials grant.
import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import path from 'node:path';
import { Readable } from 'node:stream';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { BoxCcgAuth, BoxDeveloperTokenAuth, CcgConfig } from 'box-node-sdk';
import type { BoxClient } from 'box-node-sdk';
import type { UploadPart } from 'box-node-sdk/schemas';
import { startBoxEmulator } from '../../local/box-emulator/index.ts';
import type { BoxEmulator } from '../../local/box-emulator/index.ts';
import { sdkClient, sha1OfStream, tempDir, writeTestFile } from './sdk.ts';

const PART = 256 * 1024;
const sha1 = (b: Buffer): Buffer => createHash('sha1').update(b).digest();
const digestOf = (b: Buffer): string => `sha=${sha1(b).toString('base64')}`;

function randomish(size: number, seed: number): Buffer {
  const b = Buffer.alloc(size);
  for (let i = 0; i < size; i++) b[i] = (i * 31 + seed * 17 + (i >> 8)) & 0xff;
  return b;
}

async function downloadSha1(client: BoxClient, fileId: string): Promise<{ sha1: string; size: number }> {
  const stream = await client.downloads.downloadFile(fileId);
  if (stream === undefined) throw new Error('no download stream');
  return sha1OfStream(stream as Readable);
}

/** The SDK's errors keep Box's body; its responseInfo.code is JSON-quoted, so read body.code. */
function apiCode(err: unknown): { status: number | undefined; code: unknown; contextInfo: unknown } {
  const info = (err as { responseInfo?: { statusCode?: number; body?: { code?: unknown; context_info?: unknown } } }).responseInfo;
  return { status: info?.statusCode, code: info?.body?.code, contextInfo: info?.body?.context_info };
}

describe('box-node-sdk@10 with a developer token', () => {
  let box: BoxEmulator;
  let client: BoxClient;
  beforeEach(async () => {
    box = await startBoxEmulator({ partSize: PART, minChunkedFileSize: 500_000 });
    client = sdkClient(box, new BoxDeveloperTokenAuth({ token: box.token }));
  });
  afterEach(async () => {
    await box.close();
  });

  it('uploadBigFile uploads byte-exact (small fixed part size, lowered threshold)', async () => {
    const data = randomish(5 * PART + 4321, 1);
    const file = await client.chunkedUploads.uploadBigFile(Readable.from(data), 'big.bin', data.length, '0');
    expect(file).toMatchObject({ type: 'file', name: 'big.bin', size: data.length, sha1: sha1(data).toString('hex') });
    expect(file.parent?.id).toBe('0');
    expect(await downloadSha1(client, file.id)).toEqual({ sha1: sha1(data).toString('hex'), size: data.length });
    expect((await box.readFileContent(file.id)).equals(data)).toBe(true);
    expect(box.stats().requests).toMatchObject({ createSession: 1, uploadPart: 6, listParts: 1, commit: 1, downloadFile: 1 });
  });

  it('uploadBigFile with an exact multiple of the part size', async () => {
    const data = randomish(4 * PART, 2);
    const file = await client.chunkedUploads.uploadBigFile(Readable.from(data), 'exact.bin', data.length, '0');
    expect(file.size).toBe(data.length);
    expect((await box.readFileContent(file.id)).equals(data)).toBe(true);
  });

  it('uploadBigFile into a sub-folder, and the SDK reads the folder back', async () => {
    const folder = await client.folders.createFolder({ name: 'Inbox', parent: { id: '0' } });
    const data = randomish(3 * PART + 1, 3);
    const file = await client.chunkedUploads.uploadBigFile(Readable.from(data), 'in.bin', data.length, folder.id);
    expect(file.parent?.id).toBe(folder.id);
    const items = await client.folders.getFolderItems(folder.id);
    expect(items.entries?.map((e) => e.id)).toEqual([file.id]);
    const info = await client.files.getFileById(file.id);
    expect(info).toMatchObject({ id: file.id, name: 'in.bin', size: data.length });
  });

  it('commit 202 + Retry-After: retried with the workaround; the stock strategy gives up', async () => {
    const slow = await startBoxEmulator({ partSize: PART, minChunkedFileSize: 1, commitProcessing: { mode: 'count', times: 2, retryAfterSeconds: 0.05 } });
    try {
      const data = randomish(2 * PART + 7, 4);
      const withWorkaround = sdkClient(slow, new BoxDeveloperTokenAuth({ token: slow.token }));
      const file = await withWorkaround.chunkedUploads.uploadBigFile(Readable.from(data), 'slow.bin', data.length, '0');
      expect(file.size).toBe(data.length);
      expect(slow.stats().requests.commit).toBe(3);
      // Without it the SDK takes the 202 as the answer (reference §7.2, step 6).
      const stock = sdkClient(slow, new BoxDeveloperTokenAuth({ token: slow.token }), false);
      await expect(stock.chunkedUploads.uploadBigFile(Readable.from(data), 'slow2.bin', data.length, '0')).rejects.toThrow(TypeError);
    } finally {
      await slow.close();
    }
  });

  it('5xx and 429 on parts are retried by the SDK and the file is still byte-exact', async () => {
    box.faults.inject({ operation: 'uploadPart', nth: 2, action: { type: 'status', status: 503 } });
    box.faults.inject({ operation: 'uploadPart', nth: 4, action: { type: 'status', status: 429, retryAfterSeconds: 0.01 } });
    const data = randomish(4 * PART + 99, 5);
    const file = await client.chunkedUploads.uploadBigFile(Readable.from(data), 'retried.bin', data.length, '0');
    expect((await box.readFileContent(file.id)).equals(data)).toBe(true);
    expect(box.stats().requests.uploadPart).toBe(7);
  });

  it('every manager operation by id: create, get, upload part, list parts, commit, delete', async () => {
    const cu = client.chunkedUploads;
    const data = randomish(3 * PART + 500, 6);
    const session = await cu.createFileUploadSession({ folderId: '0', fileSize: data.length, fileName: 'by-id.bin' });
    expect(session).toMatchObject({ type: 'upload_session', partSize: PART, totalParts: 4, numPartsProcessed: 0 });
    const got = await cu.getFileUploadSessionById(session.id!);
    expect(got.id).toBe(session.id);
    expect(got.sessionExpiresAt?.value).toBeInstanceOf(Date);
    const parts: UploadPart[] = [];
    for (let i = 0; i < 4; i++) {
      const chunk = data.subarray(i * PART, Math.min((i + 1) * PART, data.length));
      const start = i * PART;
      const uploaded = await cu.uploadFilePart(session.id!, Readable.from(chunk), {
        digest: digestOf(chunk),
        contentRange: `bytes ${start}-${start + chunk.length - 1}/${data.length}`,
      });
      expect(uploaded.part).toMatchObject({ offset: start, size: chunk.length, sha1: sha1(chunk).toString('hex') });
      parts.push(uploaded.part!);
    }
    const listed = await cu.getFileUploadSessionParts(session.id!, { queryParams: { offset: 1, limit: 2 } });
    expect(listed.totalCount).toBe(4);
    expect(listed.entries?.map((p) => p.offset)).toEqual([PART, 2 * PART]);
    const files = await cu.createFileUploadSessionCommit(session.id!, { parts }, { digest: digestOf(data) });
    expect(files?.totalCount).toBe(1);
    const file = files!.entries![0]!;
    expect(file).toMatchObject({ name: 'by-id.bin', size: data.length, sha1: sha1(data).toString('hex') });
    expect(await cu.deleteFileUploadSessionById(session.id!)).toBeUndefined();
    expect(await downloadSha1(client, file.id)).toEqual({ sha1: sha1(data).toString('hex'), size: data.length });
  });

  it('every manager operation by URL, on a session for an existing file (new version)', async () => {
    const cu = client.chunkedUploads;
    const v1 = randomish(2 * PART + 1, 7);
    const first = await cu.uploadBigFile(Readable.from(v1), 'versions.bin', v1.length, '0');
    const v2 = randomish(3 * PART + 2, 8);
    const session = await cu.createFileUploadSessionForExistingFile(first.id, { fileSize: v2.length });
    const ep = session.sessionEndpoints!;
    expect((await cu.getFileUploadSessionByUrl(ep.status!)).id).toBe(session.id);
    const parts: UploadPart[] = [];
    for (let start = 0; start < v2.length; start += PART) {
      const chunk = v2.subarray(start, Math.min(start + PART, v2.length));
      const uploaded = await cu.uploadFilePartByUrl(ep.uploadPart!, Readable.from(chunk), {
        digest: digestOf(chunk),
        contentRange: `bytes ${start}-${start + chunk.length - 1}/${v2.length}`,
      });
      parts.push(uploaded.part!);
    }
    const listed = await cu.getFileUploadSessionPartsByUrl(ep.listParts!);
    expect(listed.totalCount).toBe(parts.length);
    expect(listed.entries).toEqual(parts);
    const files = await cu.createFileUploadSessionCommitByUrl(ep.commit!, { parts }, { digest: digestOf(v2), ifMatch: first.etag! });
    const file = files!.entries![0]!;
    expect(file.id).toBe(first.id);
    expect(file.fileVersion?.id).not.toBe(first.fileVersion?.id);
    expect(file.size).toBe(v2.length);
    expect(await cu.deleteFileUploadSessionByUrl(ep.abort!)).toBeUndefined();
    expect(await downloadSha1(client, first.id)).toEqual({ sha1: sha1(v2).toString('hex'), size: v2.length });
  });

  it('abort by id and by URL discard sessions; the SDK then sees 404', async () => {
    const cu = client.chunkedUploads;
    const a = await cu.createFileUploadSession({ folderId: '0', fileSize: 2 * PART, fileName: 'a.bin' });
    const chunk = randomish(PART, 9);
    await cu.uploadFilePart(a.id!, Readable.from(chunk), { digest: digestOf(chunk), contentRange: `bytes 0-${PART - 1}/${2 * PART}` });
    await cu.deleteFileUploadSessionById(a.id!);
    const b = await cu.createFileUploadSession({ folderId: '0', fileSize: 2 * PART, fileName: 'b.bin' });
    await cu.deleteFileUploadSessionByUrl(b.sessionEndpoints!.abort!);
    for (const id of [a.id!, b.id!]) {
      const err = await cu.getFileUploadSessionById(id).catch((e: unknown) => e);
      expect(apiCode(err)).toMatchObject({ status: 404, code: 'not_found' });
    }
    expect(box.listSessions().map((s) => s.status)).toEqual(['aborted', 'aborted']);
  });

  it("Box's error bodies reach the SDK's BoxApiError: 416 overlap with conflicting_part, 409 name in use", async () => {
    const cu = client.chunkedUploads;
    const s = await cu.createFileUploadSession({ folderId: '0', fileSize: 2 * PART, fileName: 'err.bin' });
    const chunk = randomish(PART, 10);
    const headers = { digest: digestOf(chunk), contentRange: `bytes 0-${PART - 1}/${2 * PART}` };
    const stored = await cu.uploadFilePart(s.id!, Readable.from(chunk), headers);
    const err = await cu.uploadFilePart(s.id!, Readable.from(chunk), headers).catch((e: unknown) => e);
    expect(apiCode(err)).toEqual({
      status: 416,
      code: 'range_overlaps_existing_part',
      contextInfo: { conflicting_part: { part_id: stored.part!.partId, offset: 0, size: PART, sha1: sha1(chunk).toString('hex') } },
    });
    const data = randomish(2 * PART, 11);
    await cu.uploadBigFile(Readable.from(data), 'taken.bin', data.length, '0');
    const conflict = await cu.createFileUploadSession({ folderId: '0', fileSize: data.length, fileName: 'taken.bin' }).catch((e: unknown) => e);
    expect(apiCode(conflict)).toMatchObject({ status: 409, code: 'item_name_in_use', contextInfo: { conflicts: { name: 'taken.bin' } } });
    const small = await cu.createFileUploadSession({ folderId: '0', fileSize: 10, fileName: 'tiny.bin' }).catch((e: unknown) => e);
    expect(apiCode(small)).toMatchObject({ status: 400, code: 'file_size_too_small' });
  });

  it('direct upload through the SDK (multipart from form-data, Content-MD5 = SHA-1)', async () => {
    const data = randomish(50_000, 12);
    const files = await client.uploads.uploadFile(
      { attributes: { name: 'direct.bin', parent: { id: '0' } }, file: Readable.from(data) },
      { headers: { contentMd5: sha1(data).toString('hex') } },
    );
    const file = files.entries![0]!;
    expect(file).toMatchObject({ name: 'direct.bin', size: data.length });
    expect((await box.readFileContent(file.id)).equals(data)).toBe(true);
    const wrong = await client.uploads
      .uploadFile({ attributes: { name: 'direct2.bin', parent: { id: '0' } }, file: Readable.from(data) }, { headers: { contentMd5: '0'.repeat(40) } })
      .catch((e: unknown) => e);
    expect(apiCode(wrong)).toMatchObject({ status: 400, code: 'bad_digest' });
  });

  it("the preflight check (OPTIONS /files/content) and marker-paged folder listings, as the SDK calls them", async () => {
    const free = await client.uploads.preflightFileUploadCheck({ name: 'free.bin', size: 1024, parent: { id: '0' } });
    expect(free.uploadUrl).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/api\/2\.0\/files\/content$/);
    const data = randomish(1000, 13);
    const files = await client.uploads.uploadFile({ attributes: { name: 'held.bin', parent: { id: '0' } }, file: Readable.from(data) });
    const held = files.entries![0]!;
    const taken = await client.uploads.preflightFileUploadCheck({ name: 'HELD.bin', parent: { id: '0' } }).catch((e: unknown) => e);
    expect(apiCode(taken)).toMatchObject({ status: 409, code: 'item_name_in_use', contextInfo: { conflicts: { type: 'file', id: held.id } } });

    const folder = await client.folders.createFolder({ name: 'paged', parent: { id: '0' } });
    for (const name of ['a', 'b', 'c']) await client.folders.createFolder({ name, parent: { id: folder.id } });
    const first = await client.folders.getFolderItems(folder.id, { queryParams: { usemarker: true, limit: 2 } });
    expect(first.entries!.map((e) => (e as { name?: string }).name)).toEqual(['a', 'b']);
    expect(first.nextMarker).toEqual(expect.any(String));
    expect(first.totalCount).toBeUndefined();
    const second = await client.folders.getFolderItems(folder.id, { queryParams: { usemarker: true, marker: first.nextMarker!, limit: 2 } });
    expect(second.entries!.map((e) => (e as { name?: string }).name)).toEqual(['c']);
    expect(second.nextMarker ?? null).toBeNull();
  });

  it('an expired developer token ends in the SDK\'s "Developer token has expired"', async () => {
    box.expireTokens();
    await expect(client.folders.getFolderItems('0')).rejects.toThrow(/Developer token has expired/);
  });
});

describe('box-node-sdk@10 with the client credentials grant', () => {
  let box: BoxEmulator;
  beforeEach(async () => {
    box = await startBoxEmulator({ partSize: PART, minChunkedFileSize: 500_000, clientId: 'ccg-id', clientSecret: 'ccg-secret' });
  });
  afterEach(async () => {
    await box.close();
  });

  it('gets a token at /oauth2/token (enterprise subject), uploads, and renews after the token expires', async () => {
    const auth = new BoxCcgAuth({ config: new CcgConfig({ clientId: 'ccg-id', clientSecret: 'ccg-secret', enterpriseId: '4242' }) });
    const client = sdkClient(box, auth);
    const data = randomish(3 * PART + 3, 13);
    const file = await client.chunkedUploads.uploadBigFile(Readable.from(data), 'ccg.bin', data.length, '0');
    expect((await box.readFileContent(file.id)).equals(data)).toBe(true);
    expect(box.stats().requests.token).toBe(1);
    box.expireTokens();
    const items = await client.folders.getFolderItems('0');
    expect(items.entries?.map((e) => e.name)).toEqual(['ccg.bin']);
    expect(box.stats().requests.token).toBe(2);
  });

  it('a user subject works too; a wrong secret fails', async () => {
    const user = sdkClient(box, new BoxCcgAuth({ config: new CcgConfig({ clientId: 'ccg-id', clientSecret: 'ccg-secret', userId: '99' }) }));
    expect((await user.folders.getFolderItems('0')).totalCount).toBe(0);
    const bad = sdkClient(box, new BoxCcgAuth({ config: new CcgConfig({ clientId: 'ccg-id', clientSecret: 'nope', enterpriseId: '1' }) }));
    const err = await bad.folders.getFolderItems('0').catch((e: unknown) => e);
    expect(err).toBeInstanceOf(Error);
    expect(JSON.stringify(apiCode(err))).toContain('400');
    expect((err as Error).message).not.toContain('nope');
  });
});

describe('box-node-sdk@10 at the real 20,000,000-byte threshold', () => {
  it('uploadBigFile of a 20,000,000-byte file streamed from disk, default part size', async () => {
    const box = await startBoxEmulator();
    const tmp = await tempDir();
    try {
      const file = path.join(tmp.dir, 'twenty.bin');
      const expected = await writeTestFile(file, 20_000_000);
      const client = sdkClient(box, new BoxDeveloperTokenAuth({ token: box.token }));
      const uploaded = await client.chunkedUploads.uploadBigFile(createReadStream(file), 'twenty.bin', 20_000_000, '0');
      expect(uploaded).toMatchObject({ name: 'twenty.bin', size: 20_000_000, sha1: expected });
      expect(box.stats().requests.uploadPart).toBe(3); // 8 MiB parts
      expect(await downloadSha1(client, uploaded.id)).toEqual({ sha1: expected, size: 20_000_000 });
    } finally {
      await box.close();
      await tmp.remove();
    }
  });
});
