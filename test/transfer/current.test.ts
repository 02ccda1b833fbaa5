// Newest write wins (src/transfer/current.ts): every branch of checkStillCurrent with S3 mocked
// (aws-sdk-client-mock: s3rver has no versioning), and where Commit places the check: after the parts are
// listed, right before each commit request Box has not accepted yet (over the Box emulator).
import { createHash } from 'node:crypto';
import { HeadObjectCommand, S3Client, S3ServiceException } from '@aws-sdk/client-s3';
import { mockClient } from 'aws-sdk-client-mock';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { startBoxEmulator, type BoxEmulator, type BoxEmulatorOptions } from '../../local/box-emulator/index.ts';
import { BoxClient, DeveloperTokenAuth, contentRangeHeader, digestHeader } from '../../src/box/index.ts';
import { commitTransfer } from '../../src/transfer/commit.ts';
import type { CommitProgress, SourceObject, TransferContext } from '../../src/transfer/contract.ts';
import { checkStillCurrent } from '../../src/transfer/current.ts';
import { silentLogger } from '../../src/transfer/logger.ts';
import { sessionRef } from '../../src/transfer/session.ts';
import { resolveSettings } from '../../src/transfer/settings.ts';
import { testBytes } from './helpers.ts';

const s3 = new S3Client({ region: 'us-east-1', credentials: { accessKeyId: 'x', secretAccessKey: 'y' } });
const s3Mock = mockClient(s3);
beforeEach(() => s3Mock.reset());

function s3Error(name: string, status: number): S3ServiceException {
  return new S3ServiceException({ name, $fault: status >= 500 ? 'server' : 'client', $metadata: { httpStatusCode: status }, message: `${name} from the mock` });
}

const versioned: SourceObject = { bucket: 'b', key: 'k.bin', versionId: 'v-1', etag: '"e1"', size: 10, lastModified: '2026-01-01T00:00:00.000Z' };
const unversioned: SourceObject = { ...versioned, versionId: 'null' };

async function outcome(source: SourceObject): Promise<string> {
  try {
    await checkStillCurrent(s3, source, silentLogger);
    return 'carries on';
  } catch (err) {
    return (err as Error).name;
  }
}

describe('checkStillCurrent', () => {
  it('versioned bucket: the same VersionId carries on, a newer one is Transfer.Superseded (naming it)', async () => {
    s3Mock.on(HeadObjectCommand).resolvesOnce({ VersionId: 'v-1', ETag: '"other"' }).resolvesOnce({ VersionId: 'v-2', ETag: '"e1"' });
    expect(await outcome(versioned)).toBe('carries on'); // the ETag does not count where versions do
    await expect(checkStillCurrent(s3, versioned, silentLogger)).rejects.toMatchObject({ name: 'Transfer.Superseded', message: expect.stringContaining('version v-2') });
    // The HEAD names no version: it asks for the key's current one.
    expect(s3Mock.commandCalls(HeadObjectCommand)[0]!.args[0].input).toEqual({ Bucket: 'b', Key: 'k.bin' });
  });

  it('unversioned bucket (version "null" or none): compared by ETag', async () => {
    s3Mock.on(HeadObjectCommand).resolvesOnce({ VersionId: 'null', ETag: '"e1"' }).resolvesOnce({ VersionId: 'null', ETag: '"e2"' }).resolvesOnce({ ETag: '"e2"' });
    expect(await outcome(unversioned)).toBe('carries on');
    expect(await outcome(unversioned)).toBe('Transfer.Superseded');
    const { versionId: _drop, ...noVersion } = unversioned;
    expect(await outcome(noVersion)).toBe('Transfer.Superseded');
  });

  it('a deleted key carries on (NotFound, NoSuchKey, or a bare 404)', async () => {
    for (const err of [s3Error('NotFound', 404), s3Error('NoSuchKey', 404), s3Error('Whatever', 404)]) {
      s3Mock.reset();
      s3Mock.on(HeadObjectCommand).rejects(err);
      expect(await outcome(versioned), err.name).toBe('carries on');
    }
  });

  it('S3 trouble is named: SlowDown is Transfer.S3Throttled, AccessDenied Transfer.SourceAccessDenied', async () => {
    s3Mock.on(HeadObjectCommand).rejectsOnce(s3Error('SlowDown', 503)).rejectsOnce(s3Error('AccessDenied', 403));
    expect(await outcome(versioned)).toBe('Transfer.S3Throttled');
    expect(await outcome(versioned)).toBe('Transfer.SourceAccessDenied');
  });
});

describe('where Commit checks (onlyIfCurrent)', () => {
  const PART = 1024;
  const SIZE = 3 * PART - 7;
  let box: BoxEmulator | undefined;
  let client: BoxClient | undefined;
  afterEach(async () => {
    await client?.close();
    await box?.close();
    box = client = undefined;
  });

  /** A session with every part stored, and the order in which Box and S3 are asked from now on. */
  async function uploaded(options: BoxEmulatorOptions = {}) {
    const order: string[] = [];
    box = await startBoxEmulator({ partSize: PART, minChunkedFileSize: 1, onRequest: (r) => r.operation && order.push(r.operation), ...options });
    client = new BoxClient({ auth: new DeveloperTokenAuth(box.token), apiUrl: box.url, uploadUrl: box.uploadUrl, retry: { maxAttempts: 1 } });
    const bytes = testBytes(SIZE, 3);
    const session = await client.chunkedUploads.createFileUploadSession({ folderId: '0', fileSize: SIZE, fileName: 'current.bin' });
    for (let offset = 0; offset < SIZE; offset += PART) {
      const body = bytes.subarray(offset, Math.min(offset + PART, SIZE));
      await client.chunkedUploads.uploadFilePartByUrl(session.session_endpoints.upload_part, body, {
        digest: digestHeader(createHash('sha1').update(body).digest('base64')),
        contentRange: contentRangeHeader(offset, body.length, SIZE),
      });
    }
    s3Mock.on(HeadObjectCommand).callsFake(() => {
      order.push('HeadObject');
      return { VersionId: 'v-1' };
    });
    const transfer: TransferContext = {
      source: { ...versioned, size: SIZE },
      destination: { folderId: '0', fileName: 'current.bin' },
      onConflict: 'version',
      onlyIfCurrent: true,
      mode: 'chunked',
      session: sessionRef(session),
      partsPerBatch: 3,
      partsInFlight: 1,
      mapConcurrency: 1,
    };
    const c = client;
    const deps = { s3, box: async () => c, settings: resolveSettings({ partsMismatchRetrySeconds: 1 }), logger: silentLogger };
    const commit = (previous?: CommitProgress) => {
      order.length = 0;
      return commitTransfer({ transfer, sha1: createHash('sha1').update(bytes).digest('base64'), ...(previous ? { commit: previous } : {}) }, deps);
    };
    return { order, commit };
  }

  it('after the parts are listed, right before the commit request', async () => {
    const { order, commit } = await uploaded();
    await expect(commit()).resolves.toMatchObject({ status: 'committed' });
    expect(order).toEqual(['listParts', 'HeadObject', 'commit']);
  });

  it('again after a parts_mismatch (Box took nothing), not after a 202 (Box accepted the commit)', async () => {
    const { order, commit } = await uploaded({ commitProcessing: { mode: 'count', times: 1, retryAfterSeconds: 1 } });
    box!.faults.inject({ operation: 'commit', nth: 1, action: { type: 'partsMismatch' } });
    const first = await commit();
    expect(first).toMatchObject({ status: 'processing', partsMismatches: 1, waitReason: 'parts-mismatch' });
    expect(order).toEqual(['listParts', 'HeadObject', 'commit']);
    const second = await commit(first);
    expect(second).toMatchObject({ status: 'processing', retryAfterSeconds: 1, waitReason: 'box-processing' }); // the 202
    expect(order).toEqual(['listParts', 'HeadObject', 'commit']);
    await expect(commit(second)).resolves.toMatchObject({ status: 'committed' });
    expect(order).toEqual(['listParts', 'commit']);
  });

  it('again after a throttled try (a 429 the state machine waits on: Box took nothing), not after a 202 then a 429', async () => {
    const { order, commit } = await uploaded({ commitProcessing: { mode: 'count', times: 1, retryAfterSeconds: 1 } });
    box!.faults.inject({ operation: 'commit', nth: 1, action: { type: 'status', status: 429, retryAfterSeconds: 2 } });
    const first = await commit();
    expect(first).toMatchObject({ status: 'processing', retryAfterSeconds: 2, checkSourceAgain: true, waitReason: 'throttled' });
    const second = await commit(first);
    expect(order).toEqual(['listParts', 'HeadObject', 'commit']);
    expect(second).toMatchObject({ status: 'processing', retryAfterSeconds: 1 }); // the 202
    box!.faults.inject({ operation: 'commit', nth: 1, action: { type: 'status', status: 429, retryAfterSeconds: 2 } });
    const third = await commit(second);
    expect(third).toMatchObject({ status: 'processing', retryAfterSeconds: 2 });
    expect(third).not.toHaveProperty('checkSourceAgain');
    expect(order).toEqual(['listParts', 'commit']);
    await expect(commit(third)).resolves.toMatchObject({ status: 'committed' });
    expect(order).toEqual(['listParts', 'commit']);
  });

  it('a throttled HeadObject (S3 SlowDown) is a wait, not an error: nothing was committed, and the next try checks again', async () => {
    const { order, commit } = await uploaded();
    s3Mock.on(HeadObjectCommand).callsFakeOnce(() => {
      order.push('HeadObject');
      throw s3Error('SlowDown', 503);
    });
    const first = await commit();
    expect(first).toMatchObject({ status: 'processing', retryAfterSeconds: 5, checkSourceAgain: true, waitReason: 'throttled' });
    expect(first).not.toHaveProperty('answerLost');
    expect(order).toEqual(['listParts', 'HeadObject']);
    s3Mock.on(HeadObjectCommand).callsFake(() => {
      order.push('HeadObject');
      return { VersionId: 'v-1' };
    });
    await expect(commit(first)).resolves.toMatchObject({ status: 'committed' });
    expect(order).toEqual(['listParts', 'HeadObject', 'commit']);
  });

  it('a newer write found there stops the transfer before any commit request', async () => {
    const { order, commit } = await uploaded();
    s3Mock.on(HeadObjectCommand).callsFake(() => {
      order.push('HeadObject');
      return { VersionId: 'v-2' };
    });
    await expect(commit()).rejects.toMatchObject({ name: 'Transfer.Superseded' });
    expect(order).toEqual(['listParts', 'HeadObject']);
  });
});
