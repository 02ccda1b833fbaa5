// Resuming a failed transfer into the Box upload session it left open (input `resume`).
//
// A Box session knows only its part_size, total_parts and session_expires_at: nothing says which object
// or name it was made for. So Prepare checks what it can before sending anything:
//   - the session exists (404 Box.NotFound: unknown, aborted, committed or another account's) and has not
//     expired (410 Box.SessionExpired); both messages name resume.sessionId and say what to do;
//   - total_parts == ceil(size / part_size) for the object as it is now, and every stored part sits on a
//     part boundary with that part's size (else Transfer.InvalidInput, and the session is left alone: it
//     may be another transfer's, whatever the pin says);
//   - then, with a pin (resume.etag from the failure document), the object is the one the parts were read
//     from (Transfer.SourceChanged). The session is kept: a pin is user input and may be mistyped while the
//     object is unchanged, and then the stored parts can still be committed; telling the two apart would
//     mean reading stored parts back. A session of a really changed object is dead weight Box drops when it
//     expires (or `s3-to-box abort`); without the pin, Box's whole-file digest at commit decides;
//   - the session lives long enough for the rest: the missing bytes at an assumed rate plus a margin
//     (Transfer.SessionExpiring). The rate is a deliberately low guess, not a measurement, so the session
//     is kept: it may well be committed in time, and Box drops it by itself when it expires. The failure
//     document's resumeInput then carries resume.ignoreExpiry, which skips this one check.
// Without a pin a changed object is still caught: Box's whole-file digest check at commit refuses it
// (Box.DigestMismatch, terminal, aborted). The parts Box holds are listed once and marked in a bitmap in
// the transfer context (bit i: part i is stored), so UploadBatch sends only the missing ones and the
// plan keeps only the batches that have any.
import type { BoxClientLike, UploadPartLike } from './boxPort.ts';
import { partCount } from '../box/helpers.ts';
import { BoxError, BoxNotFoundError, BoxSessionExpiredError } from '../box/errors.ts';
import type { ResumeRef, SessionRef, SourceObject, TransferContext } from './contract.ts';
import { InvalidInputError, SessionExpiringError, SourceChangedError } from './errors.ts';
import { listAllParts } from './commit.ts';
import type { Logger } from './logger.ts';
import { partRange } from './plan.ts';
import { sessionRef } from './session.ts';
import type { TransferSettings } from './settings.ts';

/** Bit `index` of a base64 bitmap (byte index >> 3, least significant bit first). */
export function isPartStored(bitmap: string | undefined, index: number): boolean {
  if (bitmap === undefined || bitmap === '') return false;
  const bytes = Buffer.from(bitmap, 'base64');
  return ((bytes[index >> 3] ?? 0) & (1 << (index & 7))) !== 0;
}

/** Decodes a bitmap once, for a loop over many parts. */
export function storedPartsOf(bitmap: string | undefined): (index: number) => boolean {
  if (bitmap === undefined || bitmap === '') return () => false;
  const bytes = Buffer.from(bitmap, 'base64');
  return (index) => ((bytes[index >> 3] ?? 0) & (1 << (index & 7))) !== 0;
}

export interface StoredParts {
  /** Base64 bitmap of the parts Box holds (see isPartStored). */
  bitmap: string;
  count: number;
  bytes: number;
}

/**
 * The parts Box holds for `session`, as a bitmap; every one must be exactly a part of a `size`-byte file
 * cut into the session's parts, else the session was not made for this object (Transfer.InvalidInput).
 */
export function storedPartsBitmap(parts: readonly UploadPartLike[], session: Pick<SessionRef, 'id' | 'partSize' | 'totalParts'>, size: number): StoredParts {
  const bits = Buffer.alloc(Math.ceil(session.totalParts / 8));
  let count = 0;
  let bytes = 0;
  for (const part of parts) {
    const index = part.offset / session.partSize;
    const expected = Number.isInteger(index) && index >= 0 && index < session.totalParts ? partRange(index, session.partSize, size) : undefined;
    if (expected === undefined || part.size !== expected.size) {
      throw new InvalidInputError(
        `resume.sessionId: Box session ${session.id} holds a part at offset ${part.offset} of ${part.size} bytes, which is not a part of ` +
          `this ${size}-byte object cut into ${session.partSize}-byte parts; the session was made for another object`,
      );
    }
    const mask = 1 << (index & 7);
    if ((bits[index >> 3]! & mask) !== 0) continue; // listed twice
    bits[index >> 3]! |= mask;
    count++;
    bytes += part.size;
  }
  return { bitmap: bits.toString('base64'), count, bytes };
}

/** Seconds the rest of a resumed transfer is given: a margin plus the missing bytes at the assumed rate. */
export function secondsNeeded(missingBytes: number, settings: Pick<TransferSettings, 'resumeMarginSeconds' | 'resumeAssumedBytesPerSecond'>): number {
  return settings.resumeMarginSeconds + Math.ceil(missingBytes / settings.resumeAssumedBytesPerSecond);
}

export interface ResumedSession {
  session: SessionRef;
  destination: TransferContext['destination'];
  stored: StoredParts;
}

/** How to throw away a session that can never be used: `s3-to-box abort ID`, or DELETE. */
function discardHint(sessionId: string): string {
  return `Start the transfer again without resume (and discard the session with \`s3-to-box abort ${sessionId}\` if it is still open)`;
}

/**
 * The session of `resume` as Box holds it. A 404 or 410 keeps its name (Box.NotFound, Box.SessionExpired)
 * with a message that names the id and what to do: Box's own says only "Could not find the specified resource".
 */
async function getResumedSession(box: BoxClientLike, resume: ResumeRef, destination: TransferContext['destination']) {
  try {
    return await box.chunkedUploads.getFileUploadSessionById(resume.sessionId);
  } catch (err) {
    if (!(err instanceof BoxError) || (err.status !== 404 && err.status !== 410)) throw err;
    const details = err.wrapDetails();
    if (err.status === 410) {
      throw new BoxSessionExpiredError(
        `resume.sessionId: Box upload session ${resume.sessionId} has expired (Box answered 410 ${err.code ?? ''}; Box deletes a session and its parts ` +
          `7 days after it was created). Nothing of it can be committed: start the transfer again without resume`,
        details,
      );
    }
    const name = resume.fileName ?? destination.fileName;
    throw new BoxNotFoundError(
      `resume.sessionId: Box has no open upload session ${resume.sessionId} for these credentials (Box answered 404 ${err.code ?? ''}): it was ` +
        `committed, aborted or expired, was made with another Box account, or the id is mistyped. If the failed run may have reached its ` +
        `commit, look for "${name}" in Box folder ${destination.folderId} first: the file may be there already. Otherwise start the ` +
        `transfer again without resume`,
      details,
    );
  }
}

/**
 * Checks the session of `resume` against the object Prepare pinned and lists its parts. Refusals are
 * named errors, and none aborts the session: each may be wrong about it (mixed-up ids, a mistyped pin, a
 * guessed rate), and a session that really is dead weight expires on its own.
 */
export async function resumeSession(
  box: BoxClientLike,
  resume: ResumeRef,
  source: SourceObject,
  destination: TransferContext['destination'],
  settings: TransferSettings,
  log: Logger,
  now: number = Date.now(),
): Promise<ResumedSession> {
  const raw = await getResumedSession(box, resume, destination);
  const session = sessionRef(raw);
  // The fit checks come first: a session that does not fit this object may belong to another transfer
  // (mixed-up ids), so it is never aborted here, whatever the pin says.
  if (!(session.partSize > 0) || session.totalParts !== partCount(source.size, session.partSize)) {
    throw new InvalidInputError(
      `resume.sessionId: Box session ${session.id} has part_size ${session.partSize} and total_parts ${session.totalParts}, ` +
        `which do not fit s3://${source.bucket}/${source.key} (${source.size} bytes): it was made for another object. ${discardHint(session.id)}`,
    );
  }
  const expiresAt = Date.parse(raw.session_expires_at);
  if (Number.isFinite(expiresAt) && expiresAt <= now) {
    throw new BoxSessionExpiredError(`Box session ${session.id} expired at ${raw.session_expires_at}. Start the transfer again without resume`, {
      status: 410,
      code: 'session_expired',
    });
  }

  const stored = storedPartsBitmap(await listAllParts(box, session), session, source.size);
  // It fits, but the pin no longer matches: either the object changed (the parts were read from other bytes)
  // or the pin is mistyped (the parts are these bytes). Refused, and the session kept either way.
  if (resume.etag !== undefined && normalizeEtag(resume.etag) !== normalizeEtag(source.etag)) {
    log.info('resume refused: pinned ETag differs', { sessionId: session.id, etag: source.etag, pinned: resume.etag, storedParts: stored.count });
    throw new SourceChangedError(
      `s3://${source.bucket}/${source.key} has ETag ${source.etag}, not the pinned ${resume.etag} (resume.etag): it changed since the failed run, ` +
        `or the pin is mistyped. Box session ${session.id} is kept with its ${stored.count} stored parts. If the object changed, ${discardHint(session.id)}. ` +
        `If only the pin is wrong, resume with the right resume.etag (CLI --resume-etag), or without it: Box's whole-file digest check at commit ` +
        `then refuses parts read from other bytes`,
    );
  }
  // Never aborted here: the estimate is a guess, the parts may still be committed in time, and an
  // expired session is dropped by Box anyway.
  const missing = source.size - stored.bytes;
  const needed = secondsNeeded(missing, settings);
  if (resume.ignoreExpiry !== true && Number.isFinite(expiresAt) && expiresAt - now < needed * 1000) {
    const left = Math.max(0, Math.floor((expiresAt - now) / 1000));
    throw new SessionExpiringError(
      `Box session ${session.id} expires at ${raw.session_expires_at} (in ${left} s), within the ${needed} s the rest of the transfer is given: ` +
        `${missing} bytes to send at an assumed ${settings.resumeAssumedBytesPerSecond} bytes/s (TRANSFER_RESUME_BYTES_PER_SECOND) plus ` +
        `${settings.resumeMarginSeconds} s (TRANSFER_RESUME_MARGIN_SECONDS). The session is kept with its ${stored.count} stored parts. ` +
        `To try anyway, resume with "ignoreExpiry": true in resume (the failure document's resumeInput has it; CLI --resume-ignore-expiry): ` +
        `if Box drops the session first, that run fails with Box.SessionExpired. Or discard it (\`s3-to-box abort ${session.id}\`) and ` +
        `start the transfer again without resume`,
    );
  }
  return {
    session,
    destination: {
      ...destination,
      ...(resume.fileName !== undefined ? { fileName: resume.fileName } : {}),
      ...(resume.fileId !== undefined ? { fileId: resume.fileId } : {}),
    },
    stored,
  };
}

function normalizeEtag(etag: string): string {
  return etag.replace(/^W\//, '').replace(/^"|"$/g, '');
}
