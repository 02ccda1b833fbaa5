// Reading the source object: HeadObject to pin it, ranged GETs pinned to that version (and
// If-Match its ETag), S3 failures turned into named transfer errors. Every S3 request here runs inside
// the invocation's request budget (src/box/budget.ts), as Box requests do: cancelled when it is spent,
// ending with the retried Transfer.Deadline, so no Lambda is killed mid-request by its own timeout.
import { GetObjectCommand, HeadObjectCommand } from '@aws-sdk/client-s3';
import type { GetObjectCommandOutput, HeadObjectCommandOutput, S3Client } from '@aws-sdk/client-s3';
import type { Readable } from 'node:stream';
import type { SourceObject } from './contract.ts';
import {
  S3ThrottledError,
  SourceAccessDeniedError,
  SourceChangedError,
  SourceNotFoundError,
} from './errors.ts';
import { leanGetRange } from './leanGet.ts';
import { cutAtRequestBudget, withinRequestBudget } from './request-budget.ts';

export interface SourceLocation {
  bucket: string;
  key: string;
  versionId?: string | undefined;
}

export function describeSource(src: SourceLocation): string {
  return `s3://${src.bucket}/${src.key}${src.versionId ? ` (version ${src.versionId})` : ''}`;
}

const NOT_FOUND = new Set(['NoSuchKey', 'NotFound', 'NoSuchBucket', 'NoSuchVersion']);
const DENIED = new Set(['AccessDenied', 'Forbidden', 'AllAccessDisabled', 'InvalidObjectState']);
const TRANSIENT = new Set([
  'SlowDown',
  'ServiceUnavailable',
  'InternalError',
  'RequestTimeout',
  'RequestTimeTooSkewed',
  'TimeoutError',
  'ThrottlingException',
  'Throttling',
]);
const NETWORK_CODES = new Set(['ECONNRESET', 'ECONNREFUSED', 'EPIPE', 'ETIMEDOUT', 'EAI_AGAIN', 'ENOTFOUND', 'UND_ERR_SOCKET']);

interface S3ErrorShape {
  name?: string;
  code?: string;
  message?: string;
  $metadata?: { httpStatusCode?: number };
}

/**
 * Maps an S3 SDK error to a named transfer error. `pinned` says whether the read named a version/ETag
 * that Prepare pinned (then a vanished version means the source changed). Aborts and unknown errors
 * are returned unchanged.
 */
export function mapS3Error(err: unknown, src: SourceLocation, pinned: boolean): unknown {
  if (err instanceof Error && err.name.startsWith('Transfer.')) return err;
  const e = (err ?? {}) as S3ErrorShape;
  if (e.name === 'AbortError') return err;
  const name = e.name ?? '';
  const status = e.$metadata?.httpStatusCode;
  const where = describeSource(src);
  const detail = `${name || 'error'}${status ? ` ${status}` : ''}`;
  if (name === 'PreconditionFailed' || status === 412) {
    return new SourceChangedError(`${where} changed since the transfer started (${detail})`, { cause: err });
  }
  if (pinned && name === 'NoSuchVersion') {
    return new SourceChangedError(`${where}: the pinned version no longer exists (${detail})`, { cause: err });
  }
  if (NOT_FOUND.has(name) || status === 404) {
    return new SourceNotFoundError(`${where} not found (${detail})`, { cause: err });
  }
  if (DENIED.has(name) || status === 403) {
    return new SourceAccessDeniedError(
      `${where}: access denied (${detail}; S3 also answers 403 for a missing key without s3:ListBucket)`,
      { cause: err },
    );
  }
  if (TRANSIENT.has(name) || status === 503 || status === 500 || NETWORK_CODES.has(e.code ?? '')) {
    return new S3ThrottledError(`${where}: S3 throttled or unavailable (${detail})`, { cause: err });
  }
  return err;
}

function normalizeEtag(etag: string | undefined): string | undefined {
  return etag?.replace(/^W\//, '').replace(/"/g, '');
}

/** HeadObject (with ChecksumMode ENABLED) and pin what later reads must see. */
export async function pinSource(s3: S3Client, loc: SourceLocation): Promise<SourceObject> {
  let head: HeadObjectCommandOutput;
  try {
    head = await withinRequestBudget(`HeadObject ${describeSource(loc)}`, undefined, (signal) =>
      s3.send(new HeadObjectCommand({ Bucket: loc.bucket, Key: loc.key, VersionId: loc.versionId, ChecksumMode: 'ENABLED' }), { abortSignal: signal }),
    );
  } catch (err) {
    throw mapS3Error(err, loc, false);
  }
  if (head.ETag === undefined || head.ContentLength === undefined) {
    throw new SourceNotFoundError(`${describeSource(loc)}: HeadObject returned no ETag or size`);
  }
  const source: SourceObject = {
    bucket: loc.bucket,
    key: loc.key,
    etag: head.ETag,
    size: head.ContentLength,
    lastModified: (head.LastModified ?? new Date()).toISOString(),
  };
  const versionId = head.VersionId ?? loc.versionId;
  if (versionId !== undefined) source.versionId = versionId;
  const sha1 = fullObjectSha1(head.ChecksumSHA1, head.ChecksumType);
  if (sha1 !== undefined) source.sha1 = sha1;
  return source;
}

/**
 * S3's SHA-1 is the whole object's only when it is a FULL_OBJECT checksum (single-part uploads);
 * multipart objects carry a COMPOSITE one ("<b64>-N"), useless for Box.
 */
function fullObjectSha1(checksumSha1: string | undefined, checksumType: string | undefined): string | undefined {
  if (checksumSha1 === undefined || checksumSha1 === '') return undefined;
  if (checksumType === 'FULL_OBJECT') return checksumSha1;
  if (checksumType === undefined && /^[A-Za-z0-9+/]{27}=$/.test(checksumSha1)) return checksumSha1;
  return undefined;
}

function checkPinned(res: GetObjectCommandOutput, source: SourceObject): void {
  const where = describeSource(source);
  if (res.ETag !== undefined && normalizeEtag(res.ETag) !== normalizeEtag(source.etag)) {
    throw new SourceChangedError(`${where} changed since the transfer started (ETag ${res.ETag}, pinned ${source.etag})`);
  }
  if (source.versionId !== undefined && res.VersionId !== undefined && res.VersionId !== source.versionId) {
    throw new SourceChangedError(`${where} changed since the transfer started (version ${res.VersionId})`);
  }
  const total = res.ContentRange?.match(/\/(\d+)$/)?.[1];
  if (total !== undefined && Number(total) !== source.size) {
    throw new SourceChangedError(`${where} changed since the transfer started (size ${total}, pinned ${source.size})`);
  }
}

function getCommand(source: SourceObject, range?: string): GetObjectCommand {
  return new GetObjectCommand({
    Bucket: source.bucket,
    Key: source.key,
    VersionId: source.versionId,
    // Also with a VersionId: a "null" version (versioning suspended) can be overwritten in place.
    IfMatch: source.etag,
    Range: range,
  });
}

/**
 * Reads bytes [offset, offset+length) of the pinned object straight into `into` (a buffer of at least
 * `length` bytes the caller reuses, or a new one): each socket chunk is copied once, where the SDK's
 * transformToByteArray would keep every chunk and then concatenate them into a fresh zeroed array. Read as
 * streamRange reads (the lean path first for a client marked withLeanReads, unless `lean` is false).
 * Returns the `length` bytes read (a view of `into`).
 */
export async function readRange(
  s3: S3Client,
  source: SourceObject,
  offset: number,
  length: number,
  signal?: AbortSignal,
  into?: Buffer,
  lean = true,
): Promise<Buffer> {
  const target = into !== undefined && into.byteLength >= length ? into.subarray(0, length) : Buffer.allocUnsafe(length);
  let filled = 0;
  // streamRange hands over exactly `length` bytes in order, or fails: the target cannot overflow.
  const onChunk = (chunk: Buffer): void => {
    chunk.copy(target, filled);
    filled += chunk.byteLength;
  };
  await streamRange(s3, source, offset, length, { signal, onChunk, lean });
  return target;
}

export interface StreamRangeOptions {
  signal?: AbortSignal | undefined;
  /** Told each socket chunk as it arrives, in order, synchronously; it must not keep the chunk once it returns. */
  onChunk: (chunk: Buffer) => void;
  /** false: through the SDK alone, even for a client marked withLeanReads (a lean read that already failed). */
  lean?: boolean | undefined;
  /** Told the bytes the lean path served before the SDK read the rest (`length`: all; 0: none). Tests. */
  onServed?: ((leanBytes: number) => void) | undefined;
}

/**
 * Reads bytes [offset, offset+length) of the pinned object and hands each socket chunk to `onChunk`,
 * copying nothing (the whole-file hash). Resolves once all `length` bytes were handed over. A client marked
 * withLeanReads reads through leanGetRange first; whatever it did not serve (all of the range, or the rest of
 * it after a connection failed) is read through the SDK, which names any failure.
 */
export async function streamRange(s3: S3Client, source: SourceObject, offset: number, length: number, opts: StreamRangeOptions): Promise<void> {
  const range = `bytes=${offset}-${offset + length - 1}`;
  try {
    // The body is read inside the budget too: a stalled body is cut like a stalled answer.
    await withinRequestBudget(`GetObject ${describeSource(source)} ${range}`, opts.signal, async (within) => {
      const lean = opts.lean === false ? 0 : await leanGetRange(s3, source, offset, length, within, opts.onChunk);
      opts.onServed?.(lean);
      if (lean === length) return;
      const rest = { offset: offset + lean, length: length - lean };
      const res = await s3.send(getCommand(source, `bytes=${rest.offset}-${rest.offset + rest.length - 1}`), { abortSignal: within });
      checkPinned(res, source);
      if (res.Body === undefined) throw new S3ThrottledError(`${describeSource(source)}: empty response body`);
      let handed = 0;
      const read = await readBody(res.Body as Readable, within, describeSource(source), (chunk) => {
        const take = Math.min(chunk.byteLength, rest.length - handed);
        handed += chunk.byteLength;
        if (take > 0) opts.onChunk(take === chunk.byteLength ? chunk : chunk.subarray(0, take));
      });
      if (read !== rest.length) {
        throw new S3ThrottledError(`${describeSource(source)}: short read at ${rest.offset} (${read} of ${rest.length} bytes)`);
      }
    });
  } catch (err) {
    throw mapS3Error(err, source, true);
  }
}

/** Hands a body's chunks to `onChunk` as they arrive; resolves with the bytes the body held. */
function readBody(body: Readable, signal: AbortSignal | undefined, where: string, onChunk: (chunk: Buffer) => void): Promise<number> {
  return new Promise((resolve, reject) => {
    const closed = (): unknown => (signal?.aborted === true ? signal.reason : new S3ThrottledError(`${where}: the connection closed before the body ended`));
    // A body that failed or closed while it waited to be read.
    if (body.errored !== null) return reject(body.errored);
    if (body.destroyed) return reject(closed());
    let filled = 0;
    let ended = false;
    body.on('data', (chunk: Buffer) => {
      filled += chunk.byteLength;
      try {
        onChunk(chunk);
      } catch (err) {
        body.destroy(err as Error);
      }
    });
    body.once('error', reject);
    body.once('end', () => {
      ended = true;
      resolve(filled);
    });
    // A body destroyed without an error (an abort) still settles the read.
    body.once('close', () => {
      if (!ended) reject(closed());
    });
  });
}

/**
 * Opens the whole pinned object as a stream. Inside a request budget, the stream is destroyed with
 * Transfer.Deadline when the budget is spent before the caller has read it to the end.
 */
export async function openObjectStream(s3: S3Client, source: SourceObject, signal?: AbortSignal): Promise<Readable> {
  const what = `GetObject ${describeSource(source)}`;
  try {
    const res = await withinRequestBudget(what, signal, (within) => s3.send(getCommand(source), { abortSignal: within }));
    checkPinned(res, source);
    if (res.ContentLength !== undefined && res.ContentLength !== source.size) {
      throw new SourceChangedError(
        `${describeSource(source)} changed since the transfer started (size ${res.ContentLength}, pinned ${source.size})`,
      );
    }
    if (res.Body === undefined) throw new S3ThrottledError(`${describeSource(source)}: empty response body`);
    return cutAtRequestBudget(res.Body as Readable, what);
  } catch (err) {
    throw mapS3Error(err, source, true);
  }
}
