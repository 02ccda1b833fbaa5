// The engine behind uploadBigFile / uploadBigFileVersion, once a session exists:
// - reads the source once, in order, feeding the whole-file SHA-1 and slicing stream chunks into part
//   buffers of exactly part_size bytes (the last one shorter);
// - keeps up to `concurrency` parts in flight, started in ascending offset order; while every slot is
//   busy it stops reading, so memory stays at about (concurrency + 1) × part_size whatever the file size;
// - checks each stored part (offset, size, sha1) against what was sent; a part refused for its Digest is
//   sent again (up to 3 tries);
// - commits with the one commit policy of ./commitLoop.ts (202, transient parts_mismatch, a lost answer
//   checked against Box before committing again), up to a total wait;
// - on any fatal error (or the caller's AbortSignal) cancels the parts in flight, aborts the session
//   with DELETE, and rethrows the original error.
import { createHash, type Hash } from 'node:crypto';
import type { Readable } from 'node:stream';
import type { ChunkedUploadsManager } from './chunkedUploads.ts';
import { commitUntilDone, DEFAULT_COMMIT_POLICY, type CommitTimer } from './commitLoop.ts';
import { BoxAbortedError, BoxIntegrityError, BoxPartDigestRejectedError, BoxSourceSizeMismatchError, BoxTooManyPartsError } from './errors.ts';
import { base64ToHex, contentRangeHeader, digestHeader, partCount } from './helpers.ts';
import { abortableSleep, abortedError, raceAbort, type BoxLogger } from './http.ts';
import { findLandedFile, type LandedLookups, type UploadTarget } from './landed.ts';
import type { BoxFile, UploadPart, UploadSession } from './types.ts';

export interface UploadProgress {
  /** Bytes of the parts stored so far. */
  bytes: number;
  /** Parts stored so far. */
  parts: number;
  totalBytes: number;
  totalParts: number;
}

export interface UploadBigFileOptions {
  /** Parts in flight at once (default 4). Memory is about (concurrency + 1) × part_size. */
  concurrency?: number;
  /** Cancels the upload; the session is aborted and the call rejects with Box.Aborted. */
  signal?: AbortSignal;
  /** Called after each stored part. */
  onProgress?: (progress: UploadProgress) => void;
  /** Commit attributes, e.g. `{ content_modified_at: '2026-01-01T00:00:00Z' }`. */
  attributes?: Record<string, unknown>;
  /** Total time to keep re-trying the commit on 202 / transient parts_mismatch (default 900 s), then Box.CommitTimeout. */
  maxCommitWaitSeconds?: number;
  /** First wait after a 400 parts_mismatch at commit (default 2000 ms, doubling, at most 10 s; 8 in a row at most). */
  partsMismatchRetryDelayMs?: number;
  /** Added to every request of the upload. */
  extraHeaders?: Record<string, string>;
  /** The clock and the wait between commit attempts (default Date.now and a timer); for tests, so that they count waits instead of timing them. */
  commitTimer?: CommitTimer;
}

export type { CommitTimer };

export interface UploadBigFileVersionOptions extends UploadBigFileOptions {
  /** Rename the file with the new version. */
  fileName?: string;
  /** Commit only if the file's current etag is this one (If-Match). */
  ifMatch?: string;
}

const DEFAULT_CONCURRENCY = 4;
/** Tries of one part that Box refuses for its Digest before the upload fails. */
const PART_DIGEST_TRIES = 3;
const REAL_TIMER: CommitTimer = { now: () => Date.now(), sleep: abortableSleep };
/** The DELETE that cleans up after a failure gets its own deadline (the caller's signal may have fired). */
const ABORT_SESSION_TIMEOUT_MS = 30_000;

/** Most parts a session may have so that list parts can still page through all of them (offset <= 10,000, limit 1000). */
export const MAX_LISTABLE_PARTS = 11_000;

/** Refuses a session whose parts Box could not list in full (its commit could never be checked or resumed). */
export function assertListable(sessionId: string, totalParts: number): void {
  if (totalParts > MAX_LISTABLE_PARTS) {
    throw new BoxTooManyPartsError(
      `upload session ${sessionId} has ${totalParts} parts; Box lists at most ${MAX_LISTABLE_PARTS} (list parts refuses offsets above 10,000), so its parts could not be checked at commit`,
      { status: 0 },
    );
  }
}

export function assertFileSize(fileSize: number): void {
  if (!Number.isSafeInteger(fileSize) || fileSize < 0) throw new TypeError(`fileSize must be a non-negative integer, got ${fileSize}`);
}

/** Stops a source that will not be read (e.g. the session could not be created): a Readable is destroyed. */
export function releaseSource(file: Readable | AsyncIterable<Uint8Array>): void {
  const destroy = (file as { destroy?: unknown }).destroy;
  if (typeof destroy === 'function') (file as Readable).destroy();
}

function toBytes(chunk: unknown): Uint8Array {
  if (chunk instanceof Uint8Array) return chunk;
  if (typeof chunk === 'string') return Buffer.from(chunk);
  throw new TypeError('the source must yield Uint8Array (or Buffer) chunks');
}

export async function runChunkedUpload(
  manager: ChunkedUploadsManager,
  session: UploadSession,
  file: Readable | AsyncIterable<Uint8Array>,
  fileSize: number,
  options: UploadBigFileVersionOptions,
  logger: BoxLogger | undefined,
  landed?: { lookups: LandedLookups; target: UploadTarget },
): Promise<BoxFile> {
  try {
    const parts = await uploadParts(manager, session, file, fileSize, options, logger);
    return await commitParts(manager, session, parts.list, parts.sha1Base64, fileSize, options, landed, logger);
  } catch (error) {
    try {
      await manager.deleteFileUploadSessionByUrl(session.session_endpoints.abort, {
        extraHeaders: options.extraHeaders,
        signal: AbortSignal.timeout(ABORT_SESSION_TIMEOUT_MS),
      });
      logger?.warn?.('box upload failed; session aborted', { session: session.id, error: error instanceof Error ? error.name : 'unknown' });
    } catch (abortError) {
      logger?.warn?.('box upload failed; aborting the session failed too', {
        session: session.id,
        error: error instanceof Error ? error.name : 'unknown',
        abortError: abortError instanceof Error ? abortError.message : String(abortError),
      });
    }
    throw error;
  }
}

interface UploadedParts {
  list: UploadPart[];
  sha1Base64: string;
}

async function uploadParts(
  manager: ChunkedUploadsManager,
  session: UploadSession,
  file: Readable | AsyncIterable<Uint8Array>,
  fileSize: number,
  options: UploadBigFileOptions,
  logger: BoxLogger | undefined,
): Promise<UploadedParts> {
  const partSize = session.part_size;
  const totalParts = session.total_parts;
  if (!Number.isSafeInteger(partSize) || partSize <= 0 || totalParts !== partCount(fileSize, partSize)) {
    throw new BoxIntegrityError(
      `upload session ${session.id} has part_size ${partSize} and total_parts ${totalParts}, which do not fit a file of ${fileSize} bytes`,
      { status: 0 },
    );
  }
  assertListable(session.id, totalParts);
  const concurrency = Math.max(1, Math.floor(options.concurrency ?? DEFAULT_CONCURRENCY));
  const uploadUrl = session.session_endpoints.upload_part;

  // Cancels the parts in flight after the first failure; the caller's signal does the same.
  const cancel = new AbortController();
  const signal = options.signal ? AbortSignal.any([options.signal, cancel.signal]) : cancel.signal;
  let firstError: unknown;
  const fail = (error: unknown): void => {
    if (firstError !== undefined) return;
    firstError = error;
    cancel.abort(new BoxAbortedError('cancelled: another step of the upload failed', { status: 0, cause: error }));
  };
  const userAborted = (): boolean => options.signal?.aborted === true;

  const stored: UploadPart[] = new Array<UploadPart>(totalParts);
  const inFlight = new Set<Promise<void>>();
  const progress: UploadProgress = { bytes: 0, parts: 0, totalBytes: fileSize, totalParts };

  const startPart = (index: number, offset: number, body: Buffer, partSha1: Hash): void => {
    const digest = partSha1.digest();
    const task = (async () => {
      let part: UploadPart;
      for (let attempt = 1; ; attempt++) {
        try {
          // The manager checks that Box echoes this part's offset, size and SHA-1.
          ({ part } = await manager.uploadFilePartByUrl(
            uploadUrl,
            body,
            { digest: digestHeader(digest.toString('base64')), contentRange: contentRangeHeader(offset, body.length, fileSize) },
            { extraHeaders: options.extraHeaders, signal, listPartsUrl: session.session_endpoints.list_parts },
          ));
          break;
        } catch (error) {
          // Refused for its Digest: not stored (damaged on the way); the bytes in memory are sent again.
          if (!(error instanceof BoxPartDigestRejectedError) || attempt >= PART_DIGEST_TRIES) throw error;
          logger?.warn?.('box part refused for its digest; sending it again', { session: session.id, offset, attempt });
        }
      }
      stored[index] = part;
      progress.bytes += part.size;
      progress.parts += 1;
      options.onProgress?.({ ...progress });
    })()
      .catch(fail)
      .finally(() => inFlight.delete(task));
    inFlight.add(task);
  };

  const whole = createHash('sha1');
  const source = (file as AsyncIterable<unknown>)[Symbol.asyncIterator]();
  let sourceDone = false;
  try {
    let index = 0;
    let buffer: Buffer | undefined = totalParts > 0 ? Buffer.allocUnsafe(Math.min(partSize, fileSize)) : undefined;
    let filled = 0;
    let partSha1 = createHash('sha1');
    let bytesRead = 0;
    while (firstError === undefined) {
      const next = await raceAbort(source.next(), signal);
      if (next.done) {
        sourceDone = true;
        break;
      }
      const chunk = toBytes(next.value);
      bytesRead += chunk.length;
      if (bytesRead > fileSize) {
        throw new BoxSourceSizeMismatchError(`the source holds more than the declared ${fileSize} bytes`, { status: 0 });
      }
      whole.update(chunk);
      for (let position = 0; position < chunk.length; ) {
        if (buffer === undefined) throw new Error('unreachable: bytes beyond the last part');
        const take = Math.min(chunk.length - position, buffer.length - filled);
        const slice = chunk.subarray(position, position + take);
        buffer.set(slice, filled);
        partSha1.update(slice);
        filled += take;
        position += take;
        if (filled === buffer.length) {
          // Backpressure: no further reading while every slot is busy.
          while (inFlight.size >= concurrency && firstError === undefined) await Promise.race(inFlight);
          if (firstError !== undefined) break;
          const offset = index * partSize;
          startPart(index, offset, buffer, partSha1);
          index++;
          const nextOffset = index * partSize;
          buffer = index < totalParts ? Buffer.allocUnsafe(Math.min(partSize, fileSize - nextOffset)) : undefined;
          filled = 0;
          partSha1 = createHash('sha1');
        }
      }
    }
    if (firstError === undefined && bytesRead !== fileSize) {
      throw new BoxSourceSizeMismatchError(`the source ended after ${bytesRead} of the declared ${fileSize} bytes`, { status: 0 });
    }
  } catch (error) {
    // A failure of the source itself, a size mismatch, or the caller's abort while reading.
    fail(userAborted() ? abortedError(options.signal) : error);
  }
  if (!sourceDone) {
    // Stop the source: destroy a Readable; ask any other iterator to finish, without waiting for it
    // (a generator stuck in a read would never let return() settle).
    releaseSource(file);
    void source.return?.().catch(() => undefined);
  }
  await Promise.all(inFlight);
  if (firstError === undefined && userAborted()) firstError = abortedError(options.signal);
  if (firstError !== undefined) throw firstError;
  return { list: stored, sha1Base64: whole.digest('base64') };
}

async function commitParts(
  manager: ChunkedUploadsManager,
  session: UploadSession,
  parts: UploadPart[],
  sha1Base64: string,
  fileSize: number,
  options: UploadBigFileVersionOptions,
  landed: { lookups: LandedLookups; target: UploadTarget } | undefined,
  logger: BoxLogger | undefined,
): Promise<BoxFile> {
  const request = options.attributes === undefined ? { parts } : { parts, attributes: options.attributes };
  const headers = options.ifMatch === undefined ? { digest: digestHeader(sha1Base64) } : { digest: digestHeader(sha1Base64), ifMatch: options.ifMatch };
  const policy = {
    ...DEFAULT_COMMIT_POLICY,
    ...(options.maxCommitWaitSeconds !== undefined ? { maxWaitMs: options.maxCommitWaitSeconds * 1000 } : {}),
    ...(options.partsMismatchRetryDelayMs !== undefined ? { partsMismatchFirstDelayMs: Math.max(0, options.partsMismatchRetryDelayMs) } : {}),
  };
  // The lookups carry the upload's headers and signal too.
  const opts = { extraHeaders: options.extraHeaders, signal: options.signal };
  const lookups: LandedLookups | undefined =
    landed === undefined
      ? undefined
      : {
          files: {
            getFile: (id) => landed.lookups.files.getFile(id, opts),
            preflightCheck: (request) => landed.lookups.files.preflightCheck(request, opts),
          },
          folders: { listItems: (folderId, query) => landed.lookups.folders.listItems(folderId, query, opts) },
        };
  const probeFailed = (error: unknown): void => {
    logger?.warn?.('looking whether a lost commit landed failed; committing again', {
      session: session.id,
      error: error instanceof Error ? `${error.name}: ${error.message}` : String(error),
    });
  };
  // A new version: the version current before the first commit, so a lost commit's version is told apart
  // (unknown if this look fails: a lost commit is then sent again rather than guessed as landed, and only a
  // refused repeated commit lets the current version with our bytes count: LandedLook.afterRefusal).
  let target = landed?.target;
  if (lookups !== undefined && target?.fileId !== undefined && target.versionSeen === undefined) {
    const fileId = target.fileId;
    const versionLookFailed = (error: unknown): undefined => {
      logger?.warn?.("looking up the file's current version failed; a lost commit is then taken as landed only after a refused repeated commit", {
        session: session.id,
        error: error instanceof Error ? `${error.name}: ${error.message}` : String(error),
      });
      return undefined;
    };
    target = { ...target, versionSeen: await lookups.files.getFile(fileId).then((f) => f.file_version?.id, versionLookFailed) };
  }
  return commitUntilDone(
    {
      sessionId: session.id,
      send: () =>
        manager.createFileUploadSessionCommitByUrl(session.session_endpoints.commit, request, headers, {
          extraHeaders: options.extraHeaders,
          signal: options.signal,
        }),
      ...(lookups !== undefined && target !== undefined
        ? { landed: (look) => findLandedFile(lookups, target, base64ToHex(sha1Base64), fileSize, look), onLandedError: probeFailed }
        : {}),
    },
    policy,
    options.commitTimer ?? REAL_TIMER,
    options.signal,
  );
}
