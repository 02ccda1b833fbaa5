// S3 failure paths through the real handlers, with S3 mocked (aws-sdk-client-mock).
import { GetObjectCommand, HeadObjectCommand, S3Client, S3ServiceException } from '@aws-sdk/client-s3';
import { mockClient } from 'aws-sdk-client-mock';
import { Readable } from 'node:stream';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { makeTaskHandlers } from '../../functions/index.ts';
import type { BoxClientLike } from '../../src/transfer/boxPort.ts';
import type { TransferContext } from '../../src/transfer/contract.ts';
import { silentLogger } from '../../src/transfer/logger.ts';

function s3Error(name: string, status: number): S3ServiceException {
  return new S3ServiceException({ name, $fault: status >= 500 ? 'server' : 'client', $metadata: { httpStatusCode: status }, message: `${name} from the mock` });
}

const context = { awsRequestId: 'req-1', getRemainingTimeInMillis: () => 600_000 };
const s3 = new S3Client({ region: 'us-east-1', credentials: { accessKeyId: 'x', secretAccessKey: 'y' } });
const s3Mock = mockClient(s3);
// Of Box, Prepare's direct path only looks the destination folder up.
const box = {
  chunkedUploads: {},
  files: {},
  folders: { getFolder: async (id: string) => ({ type: 'folder', id, path_collection: { total_count: 0, entries: [] } }) },
} as unknown as BoxClientLike;
const handlers = makeTaskHandlers({ s3, box: async () => box, logger: silentLogger });

const transfer: TransferContext = {
  source: { bucket: 'bkt', key: 'big.bin', versionId: 'v-1', etag: '"abc"', size: 30_000_000, lastModified: '2026-01-02T03:04:05.000Z' },
  destination: { folderId: '0', fileName: 'big.bin' },
  onConflict: 'version',
  mode: 'chunked',
  session: {
    id: 'S1',
    partSize: 8_388_608,
    totalParts: 4,
    endpoints: { uploadPart: 'http://box/u', commit: 'http://box/c', abort: 'http://box/a', listParts: 'http://box/l', status: 'http://box/s' },
  },
  partsPerBatch: 2,
  partsInFlight: 2,
  mapConcurrency: 1,
};
const input = { source: { bucket: 'bkt', key: 'big.bin' }, destination: { folderId: '0' } };

async function errorName(p: Promise<unknown>): Promise<string> {
  try {
    await p;
  } catch (err) {
    return (err as Error).name;
  }
  return 'no error';
}

beforeEach(() => s3Mock.reset());
afterEach(() => s3Mock.reset());

describe('Prepare (HeadObject)', () => {
  it.each([
    ['NoSuchKey', 404, 'Transfer.SourceNotFound'],
    ['NotFound', 404, 'Transfer.SourceNotFound'],
    ['AccessDenied', 403, 'Transfer.SourceAccessDenied'],
    ['Forbidden', 403, 'Transfer.SourceAccessDenied'],
    ['SlowDown', 503, 'Transfer.S3Throttled'],
  ])('%s (%i) -> %s', async (name, status, expected) => {
    s3Mock.on(HeadObjectCommand).rejects(s3Error(name, status));
    expect(await errorName(handlers.Prepare(input, context))).toBe(expected);
  });

  it('bad input fails before S3 is asked', async () => {
    expect(await errorName(handlers.Prepare({ ...input, destination: { folderId: 'x' } }, context))).toBe('Transfer.InvalidInput');
    expect(s3Mock.commandCalls(HeadObjectCommand)).toHaveLength(0);
  });

  it('takes S3 full-object SHA-1 and ignores a composite one', async () => {
    const sha1 = Buffer.alloc(20, 7).toString('base64');
    s3Mock.on(HeadObjectCommand).resolves({ ETag: '"e"', ContentLength: 10, LastModified: new Date(), ChecksumSHA1: sha1, ChecksumType: 'FULL_OBJECT' });
    const r = (await handlers.Prepare(input, context)) as { mode: string; transfer: TransferContext };
    expect(r.mode).toBe('direct');
    expect(r.transfer.source.sha1).toBe(sha1);
    expect(s3Mock.commandCalls(HeadObjectCommand)[0]?.args[0].input).toMatchObject({ ChecksumMode: 'ENABLED' });

    s3Mock.on(HeadObjectCommand).resolves({ ETag: '"e"', ContentLength: 10, LastModified: new Date(), ChecksumSHA1: `${sha1}-3`, ChecksumType: 'COMPOSITE' });
    const r2 = (await handlers.Prepare(input, context)) as { transfer: TransferContext };
    expect(r2.transfer.source.sha1).toBeUndefined();
  });
});

describe('UploadBatch (ranged GetObject)', () => {
  it.each([
    ['PreconditionFailed', 412, 'Transfer.SourceChanged'],
    ['NoSuchVersion', 404, 'Transfer.SourceChanged'],
    ['NoSuchKey', 404, 'Transfer.SourceNotFound'],
    ['AccessDenied', 403, 'Transfer.SourceAccessDenied'],
    ['SlowDown', 503, 'Transfer.S3Throttled'],
  ])('%s (%i) -> %s', async (name, status, expected) => {
    s3Mock.on(GetObjectCommand).rejects(s3Error(name, status));
    expect(await errorName(handlers.UploadBatch({ transfer, batch: 1 }, context))).toBe(expected);
  });

  it('pins every read to the version and the ETag', async () => {
    s3Mock.on(GetObjectCommand).rejects(s3Error('SlowDown', 503));
    await errorName(handlers.UploadBatch({ transfer, batch: 1 }, context));
    const first = s3Mock.commandCalls(GetObjectCommand)[0]?.args[0].input;
    expect(first).toMatchObject({ Bucket: 'bkt', Key: 'big.bin', VersionId: 'v-1', IfMatch: '"abc"' });
    expect(first?.Range).toMatch(/^bytes=(16777216-25165823|25165824-29999999)$/);
  });
});

describe('HashObject (ranged GetObject)', () => {
  it('an object answered with another ETag is a changed source', async () => {
    const body = Object.assign(Readable.from([Buffer.alloc(1024)]), { transformToByteArray: async () => new Uint8Array(1024) });
    s3Mock.on(GetObjectCommand).resolves({ ETag: '"other"', ContentRange: 'bytes 0-1023/30000000', Body: body as never });
    const small = { ...transfer, source: { ...transfer.source, versionId: undefined } };
    expect(await errorName(handlers.HashObject({ transfer: small }, context))).toBe('Transfer.SourceChanged');
  });

  it('PreconditionFailed -> Transfer.SourceChanged; SlowDown -> Transfer.S3Throttled', async () => {
    s3Mock.on(GetObjectCommand).rejects(s3Error('PreconditionFailed', 412));
    expect(await errorName(handlers.HashObject({ transfer }, context))).toBe('Transfer.SourceChanged');
    s3Mock.on(GetObjectCommand).rejects(s3Error('SlowDown', 503));
    expect(await errorName(handlers.HashObject({ transfer }, context))).toBe('Transfer.S3Throttled');
  });

  it('uses the S3 checksum without reading', async () => {
    const sha1 = Buffer.alloc(20, 9).toString('base64');
    const r = await handlers.HashObject({ transfer: { ...transfer, source: { ...transfer.source, sha1 } } }, context);
    expect(r).toEqual({ offset: transfer.source.size, done: true, sha1, via: 's3-checksum', invocations: 1 });
    expect(s3Mock.commandCalls(GetObjectCommand)).toHaveLength(0);
  });
});
