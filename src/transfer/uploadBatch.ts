// UploadBatch: the parts of one Map item. Each part: a ranged GET pinned to the source version,
// SHA-1, PUT to Box with Digest and Content-Range (the client checks the part Box echoes). A few parts are in
// flight at once, so memory stays at about partsInFlight x part size.
//
// A batch that runs again (its Lambda timed out or failed after some parts landed) knows it up front
// from `retryCount` ($$.State.RetryCount), or learns it from the first part Box already holds (416 or 409
// with the same SHA-1 in list parts). It then lists the session's parts once and skips the parts Box holds at the right
// offset and size, instead of reading each from S3 and
// sending it again only to meet another 416. Skipping trusts the stored bytes: every part of the
// session was checked by Box against its Digest, and the commit's whole-file SHA-1 (hashed from the
// pinned source) would refuse anything else. A batch of a resumed session skips, without a listing, the
// parts Prepare found in Box (transfer.storedParts).
// A part Box refuses for its Digest (not stored) is read again and resent, up to PART_DIGEST_TRIES times.
// A part that fails otherwise ends the batch with its error: no part starts after it and the reads stop, but
// the other parts' PUTs under way finish first, so the parts they store are kept for the retry (unless the
// failure makes them pointless: the session is to be aborted, the token refused; see cancelsPuts). One of those
// PUTs that then fails with a stronger error (failureRank: terminal, the token refused) ends the batch with that
// error instead, and cancels the others. If the deadline cancels them, the first error still ends the batch.
// Deadline: parts are started (read, and PUT) only while more than deadlineStartMarginMs remain; requests still in flight
// are cancelled deadlineFinishMarginMs before the timeout. Either way the batch ends with Transfer.Deadline,
// which the state machine retries; the retry lists the session's parts first and sends only the rest.
import { BoxPartDigestRejectedError } from '../box/errors.ts';
import { contentRangeHeader, digestHeader, sha1Base64 } from '../box/helpers.ts';
import type { LambdaContextLike, UploadBatchEvent, UploadBatchResult } from './contract.ts';
import { deadlineOf } from './deadline.ts';
import type { Deadline } from './deadline.ts';
import type { TransferDeps } from './deps.ts';
import { InvalidInputError } from './errors.ts';
import { isTerminalError } from './failure.ts';
import { listAllParts } from './commit.ts';
import { errorFields } from './logger.ts';
import { batchParts, partsReadAheadOf } from './plan.ts';
import type { PartRange } from './plan.ts';
import { BufferPool, forEachLimit } from './pool.ts';
import { storedPartsOf } from './resume.ts';
import { readRange } from './s3source.ts';

/** Tries of one part that Box refuses for its Digest, each with the range read again, before the batch fails. */
export const PART_DIGEST_TRIES = 3;

/** What a failed invocation had stored before it failed: kept beside its error, which passes through unchanged. */
const storedBeforeFailure = new WeakMap<object, { sentBytes: number; sentParts: number }>();

/** The bytes and parts an UploadBatch invocation that failed with `error` had stored in Box (its metrics). */
export function storedBeforeFailing(error: unknown): { sentBytes: number; sentParts: number } | undefined {
  return typeof error === 'object' && error !== null ? storedBeforeFailure.get(error) : undefined;
}

function noteStored<E>(error: E, sentBytes: number, sentParts: number): E {
  if (typeof error === 'object' && error !== null && sentParts > 0) storedBeforeFailure.set(error, { sentBytes, sentParts });
  return error;
}

/**
 * Failures after which the other parts' PUTs under way are pointless, so they are cancelled at once: the
 * session is to be aborted (a terminal error), Box refuses the token, or the deadline is near. After any other
 * (a read that failed, a 5xx past the retries) they finish, and the parts they store are kept for the retry.
 */
function cancelsPuts(err: unknown): boolean {
  return failureRank(err) > 0 || (err instanceof Error && err.name === 'Transfer.Deadline');
}

/**
 * Which of two failures of one batch the state machine should act on: a terminal error (AbortSession) over
 * Box refusing the token (the Catch) over any other (retried). Transfer.Deadline counts as "any other": time
 * running out says nothing about the session, so it never hides an earlier error.
 */
function failureRank(err: unknown): number {
  const name = err instanceof Error ? err.name : '';
  if (isTerminalError(name)) return 2;
  return name === 'Box.Unauthorized' || name === 'Box.AuthFailed' ? 1 : 0;
}

/** A part read ahead: its bytes (in `buffer`, from the pool) and their Digest header; or why it was not read. */
type ReadPart = { kind: 'read'; buffer: Buffer; body: Buffer; digest: string } | { kind: 'stored' } | { kind: 'late' };

/**
 * `deadlineSource`: the invocation's deadline from its context (a test passes one that passes when it says).
 */
export async function uploadBatch(
  event: UploadBatchEvent,
  deps: TransferDeps,
  context?: LambdaContextLike,
  deadlineSource: (context: LambdaContextLike | undefined) => Deadline = (c) => deadlineOf(c, deps.settings),
): Promise<UploadBatchResult> {
  const { transfer, batch } = event;
  const session = transfer.session;
  if (session === undefined) throw new InvalidInputError('UploadBatch needs transfer.session (chunked mode)');
  const size = transfer.source.size;
  if (!Number.isInteger(batch) || batch < 0 || batch * transfer.partsPerBatch >= session.totalParts) {
    throw new InvalidInputError(`batch ${String(batch)} is outside the plan (${session.totalParts} parts, ${transfer.partsPerBatch} per batch)`);
  }
  const all = batchParts(batch, transfer.partsPerBatch, session, size);
  const box = await deps.box();
  const retry = typeof event.retryCount === 'number' && event.retryCount > 0;
  const log = deps.logger.child({ sessionId: session.id, batch, ...(retry ? { retryCount: event.retryCount } : {}) });
  let bytes = 0;
  let alreadyUploaded = 0;
  // Only what this invocation's PUTs stored: parts found in Box were counted by the run that sent them.
  let sentBytes = 0;
  let sentParts = 0;
  // A resumed session: Prepare listed the parts Box holds (transfer.storedParts); they are not sent again.
  const resumedStored = storedPartsOf(transfer.storedParts);
  const parts = all.filter((part) => {
    if (!resumedStored(part.index)) return true;
    alreadyUploaded++;
    bytes += part.size;
    deps.onProgress?.({ type: 'part-uploaded', offset: part.offset, size: part.size, alreadyUploaded: true });
    return false;
  });
  // Offset -> size of the parts Box holds: fetched up front by a retry, or once a first try meets a part that already landed.
  let stored: Promise<Map<number, number>> | undefined;
  const storedParts = () =>
    (stored ??= listAllParts(box, session).then(
      (list) => new Map(list.map((p) => [p.offset, p.size])),
      (err: unknown) => {
        // Only an optimisation: without the list, each part is sent and meets its own 416.
        log.warn('could not list the stored parts; uploading every part', { error: errorFields(err) });
        return new Map<number, number>();
      },
    ));
  if (retry) await storedParts();

  const deadline = deadlineSource(context);
  let stoppedEarly = false;
  // Parts are read from S3 and digested up to `readAhead` parts ahead of the PUTs, into a small pool of
  // reused buffers (partsInFlight + readAhead of them): a slot whose PUT ends starts the next part at once
  // instead of waiting for its GET and SHA-1. Memory stays (partsInFlight + readAhead) x part size (partsReadAheadOf).
  const readAhead = Math.max(0, Math.min(partsReadAheadOf(transfer.partsInFlight, deps.settings), parts.length - transfer.partsInFlight));
  const pool = new BufferPool(Math.min(parts.length, transfer.partsInFlight + readAhead), session.partSize);
  // The reads' controller: aborted by forEachLimit when a slot fails (the reads ahead stop), or at the end.
  const controller = new AbortController();
  const readSignal = AbortSignal.any([controller.signal, deadline.signal]);
  const reads = new Map<number, Promise<ReadPart>>();
  // Whether the batch's first failure (the reason `controller` is aborted with) came before the deadline fired.
  let failedBeforeDeadline = false;
  controller.signal.addEventListener('abort', () => (failedBeforeDeadline = !deadline.passed()), { once: true });
  let nextRead = 0;
  /** Starts the reads of parts up to `upTo` (in order, so that buffers go to the earlier parts first). */
  const readUpTo = (upTo: number): void => {
    for (; nextRead <= Math.min(upTo, parts.length - 1); nextRead++) {
      const part = parts[nextRead] as PartRange;
      const read = readPart(part);
      // Its error (if any) is met by the slot that takes this part; a read nobody takes must not be unhandled.
      read.catch(() => undefined);
      reads.set(nextRead, read);
    }
  };
  /** The part's bytes in a pool buffer, with their digest; not read when Box already holds it, or the deadline is near. */
  const readPart = async (part: PartRange): Promise<ReadPart> => {
    if (stored !== undefined && (await storedParts()).get(part.offset) === part.size) return { kind: 'stored' };
    if (!deadline.canStart()) return { kind: 'late' };
    const buffer = await pool.take(readSignal);
    try {
      const body = await readRange(deps.s3, transfer.source, part.offset, part.size, readSignal, buffer);
      return { kind: 'read', buffer, body, digest: digestHeader(sha1Base64(body)) };
    } catch (err) {
      pool.give(buffer);
      throw err;
    }
  };
  try {
    // A slot that fails stops the batch: no part starts after it, and the reads stop (`stopped`). The PUTs under
    // way finish, and their parts stay stored in Box (bounded by the deadline's signal), unless the failure
    // makes them pointless (cancelsPuts): then they are cancelled at once (forEachLimit's signal).
    await forEachLimit(parts.map((_, i) => i), transfer.partsInFlight, async (i, poolSignal) => {
      const part = parts[i] as PartRange;
      readUpTo(i + readAhead);
      const read = await (reads.get(i) as Promise<ReadPart>);
      reads.delete(i);
      if (read.kind === 'stored') {
        alreadyUploaded++;
        bytes += part.size;
        deps.onProgress?.({ type: 'part-uploaded', offset: part.offset, size: part.size, alreadyUploaded: true });
        return;
      }
      if (read.kind === 'late') {
        stoppedEarly = true;
        return;
      }
      // A part read ahead waited for a slot after its read started: the start margin holds for its PUT too.
      if (!deadline.canStart()) {
        pool.give(read.buffer);
        stoppedEarly = true;
        return;
      }
      const signal = AbortSignal.any([poolSignal, deadline.signal]);
      let { body, digest } = read;
      let result;
      try {
        for (let attempt = 1; ; attempt++) {
          try {
            // The client checks that Box echoes this part's offset, size and SHA-1 (Box.IntegrityError), and
            // resolves a 416 overlap against list parts: the same bytes already stored come back `alreadyUploaded`.
            result = await box.chunkedUploads.uploadFilePartByUrl(
              session.endpoints.uploadPart,
              body,
              { digest, contentRange: contentRangeHeader(part.offset, part.size, size) },
              { signal, listPartsUrl: session.endpoints.listParts },
            );
            break;
          } catch (err) {
            // Refused for its Digest: the part was not stored (its bytes were damaged on the way). Read the range
            // again and resend it, a few times; past them Box.PartDigestRejected (retried by the state machine,
            // never terminal: the session and its stored parts are kept).
            if (!(err instanceof BoxPartDigestRejectedError) || attempt >= PART_DIGEST_TRIES || !deadline.canStart()) throw err;
            log.warn('part refused for its digest; reading it again and resending', { offset: part.offset, size: part.size, attempt, error: errorFields(err) });
            body = await readRange(deps.s3, transfer.source, part.offset, part.size, signal, read.buffer);
            digest = digestHeader(sha1Base64(body));
          }
        }
      } finally {
        pool.give(read.buffer);
      }
      const already = result.alreadyUploaded === true;
      if (already) {
        alreadyUploaded++;
        // This batch ran before: learn which of its other parts landed, before this slot takes the next one.
        await storedParts();
      } else {
        sentBytes += part.size;
        sentParts++;
      }
      bytes += part.size;
      deps.onProgress?.({ type: 'part-uploaded', offset: part.offset, size: part.size, alreadyUploaded: already });
    }, { letFinish: (err) => !cancelsPuts(err), rank: failureRank, stopped: controller });
  } catch (err) {
    if (deadline.passed()) {
      // The deadline cancelled what was in flight. A failure of the batch's own (the first, met before the deadline
      // fired, whose PUTs under way were let finish; or a stronger one) is what the state machine acts on: its own
      // Retry, with the backoff an outage needs, or its Catch; not Transfer.Deadline's few quick retries (M10d).
      const own = failureRank(err) > 0 || (failedBeforeDeadline && controller.signal.reason === err);
      if (!own) throw noteStored(deadline.error(`batch ${batch}: ${alreadyUploaded} of ${all.length} parts were already in Box, ${bytes} bytes done`), sentBytes, sentParts);
      log.warn('the deadline cancelled the PUTs under way after the batch failed', { error: errorFields(err), sentParts });
    }
    throw noteStored(err, sentBytes, sentParts);
  } finally {
    // Reads still running ahead of a batch that stopped are not wanted any more. They are settled before the
    // invocation returns, as HashObject's are: no GET outlives it (cheap: they are aborted).
    controller.abort();
    await Promise.allSettled(reads.values());
    deadline.dispose();
  }
  if (stoppedEarly) {
    log.warn('batch stopped before the Lambda timeout', { parts: all.length, bytes, sentBytes, alreadyUploaded });
    throw noteStored(deadline.error(`batch ${batch}: ${bytes} bytes of its ${all.length} parts are in Box`), sentBytes, sentParts);
  }

  log.info('batch uploaded', { parts: all.length, bytes, sentBytes, alreadyUploaded, listed: stored !== undefined, firstPart: all[0]?.index });
  return { batch, parts: all.length, bytes, sentBytes, alreadyUploaded };
}
