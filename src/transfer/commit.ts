// Commit: one try per invocation of the commit policy shared with uploadBigFile (src/box/commitLoop.ts).
// The parts list is rebuilt from Box's list-parts (never carried through state), checked to cover
// [0, size) exactly, and committed with the whole-file digest. Box's 202, a transient parts_mismatch and
// a throttled try (429, S3 SlowDown: nothing committed) become { status: 'processing' } for the state machine's Wait. A try after one whose answer was lost
// (a retried invocation: network error, 5xx, timeout) first looks whether that commit landed.
import { commitStep, DEFAULT_COMMIT_POLICY, type CommitPolicy, type CommitState } from '../box/commitLoop.ts';
import { BoxCommitTimeoutError, BoxIntegrityError, BoxRateLimitedError } from '../box/errors.ts';
import { base64ToHex, digestHeader } from '../box/helpers.ts';
import { findLandedFile } from '../box/landed.ts';
import type { BoxClientLike, BoxFileLike, UploadPartLike } from './boxPort.ts';
import type { CommitEvent, CommitProgress, SessionRef, TransferContext, TransferOutput } from './contract.ts';
import type { TransferDeps } from './deps.ts';
import type { TransferSettings } from './settings.ts';
import { nameConflict } from './conflict.ts';
import { checkStillCurrent } from './current.ts';
import { CommitGaveUpError, InvalidInputError, NameConflictError, PartsIncompleteError, S3ThrottledError } from './errors.ts';
import { partRange } from './plan.ts';

/** Every part Box holds for the session, sorted by offset (the client pages list-parts). */
export function listAllParts(box: BoxClientLike, session: SessionRef): Promise<UploadPartLike[]> {
  return box.chunkedUploads.getAllFileUploadSessionPartsByUrl(session.endpoints.listParts);
}

/** Throws Transfer.PartsIncomplete unless `parts` are exactly the session's parts of a `size`-byte file. */
export function checkCoverage(parts: readonly UploadPartLike[], session: SessionRef, size: number): void {
  const problems: string[] = [];
  let next = 0;
  for (const p of parts) {
    if (next >= session.totalParts) {
      problems.push(`unexpected part at offset ${p.offset}`);
      break;
    }
    const want = partRange(next, session.partSize, size);
    if (p.offset !== want.offset || p.size !== want.size) {
      problems.push(
        p.offset > want.offset
          ? `part ${next} (offset ${want.offset}) is missing`
          : `part at offset ${p.offset} with ${p.size} bytes does not match part ${next} (offset ${want.offset}, ${want.size} bytes)`,
      );
      break;
    }
    next++;
  }
  if (problems.length === 0 && next < session.totalParts) problems.push(`part ${next} (offset ${next * session.partSize}) is missing`);
  if (problems.length > 0) {
    throw new PartsIncompleteError(
      `Box session ${session.id} holds ${parts.length} of ${session.totalParts} parts: ${problems.join('; ')}`,
    );
  }
}

/** Box wants RFC 3339 without fractional seconds. */
export function boxTimestamp(iso: string): string {
  return new Date(iso).toISOString().replace(/\.\d{3}Z$/, 'Z');
}

export function transferOutput(file: BoxFileLike, transfer: TransferContext, parts: number): TransferOutput {
  return {
    file: {
      id: file.id,
      name: file.name ?? transfer.destination.fileName,
      size: file.size ?? transfer.source.size,
      sha1: file.sha1 ?? file.file_version?.sha1 ?? '',
      parentId: file.parent?.id ?? transfer.destination.folderId,
      versionId: file.file_version?.id ?? '',
    },
    bytes: transfer.source.size,
    parts,
    mode: transfer.mode,
  };
}

/** The shared commit policy with this deployment's limits; waits in whole seconds (the Wait state's unit). */
export function commitPolicyOf(settings: TransferSettings): CommitPolicy {
  return {
    ...DEFAULT_COMMIT_POLICY,
    maxWaitMs: settings.maxCommitWaitSeconds * 1000,
    maxAttempts: settings.maxCommitAttempts,
    partsMismatchFirstDelayMs: settings.partsMismatchRetrySeconds * 1000,
    maxPartsMismatches: settings.maxPartsMismatches,
    granularityMs: 1000,
  };
}

/** The state machine's first entry into Commit carries this (the Parameters need the field to exist). */
export const NO_COMMIT_YET: CommitProgress = { status: 'processing', retryAfterSeconds: 0, attempts: 0, waitedSeconds: 0 };

export async function commitTransfer(event: CommitEvent, deps: TransferDeps): Promise<CommitProgress> {
  const { transfer, sha1 } = event;
  const session = transfer.session;
  if (session === undefined) throw new InvalidInputError('Commit needs transfer.session (chunked mode)');
  if (typeof sha1 !== 'string' || !/^[A-Za-z0-9+/]{27}=$/.test(sha1)) {
    throw new InvalidInputError('Commit needs sha1: the base64 SHA-1 of the whole object');
  }
  const { settings } = deps;
  const previous = event.commit !== undefined && event.commit.attempts > 0 ? event.commit : undefined;
  // $$.State.RetryCount > 0: the last invocation failed, perhaps after Box took its commit. A refusal that
  // cannot have committed (429, S3 throttling) is not retried by the state machine but waited on (below),
  // so a retry follows a lost answer, a timeout or a deadline (or a 5xx listing the parts, to be safe).
  const retried = typeof event.retryCount === 'number' && event.retryCount > 0;
  const state: CommitState = {
    attempts: previous?.attempts ?? 0,
    waitedMs: (previous?.waitedSeconds ?? 0) * 1000,
    partsMismatches: previous?.partsMismatches ?? 0,
    lostAnswers: 0,
    answerLost: previous?.answerLost === true || retried,
  };
  const log = deps.logger.child({ sessionId: session.id, attempt: state.attempts + 1, ...(retried ? { retryCount: event.retryCount } : {}) });
  // Newest write wins: on every try that Box has not accepted yet (not after a 202), just before the
  // commit request, S3 is asked whether this is still the key's current version.
  const acceptedBefore =
    previous !== undefined && previous.status === 'processing' && (previous.partsMismatches ?? 0) === 0 && previous.checkSourceAgain !== true;
  const checkCurrent = transfer.onlyIfCurrent === true && !acceptedBefore;
  const box = await deps.box();
  const expectedHex = base64ToHex(sha1);
  const { destination } = transfer;

  let step;
  try {
    step = await commitStep(
      {
        sessionId: session.id,
        send: async () => {
          const parts = await listAllParts(box, session);
          checkCoverage(parts, session, transfer.source.size);
          if (checkCurrent) await checkStillCurrent(deps.s3, transfer.source, log);
          return box.chunkedUploads.createFileUploadSessionCommitByUrl(
            session.endpoints.commit,
            {
              parts: parts.map((p) => ({ part_id: p.part_id, offset: p.offset, size: p.size, sha1: p.sha1 ?? null })),
              attributes: { content_modified_at: boxTimestamp(transfer.source.lastModified) },
            },
            { digest: digestHeader(sha1) },
          );
        },
        landed: (look) =>
          findLandedFile(
            box,
            { folderId: destination.folderId, fileName: destination.fileName, fileId: destination.fileId, versionSeen: destination.versionSeen },
            expectedHex,
            transfer.source.size,
            look,
          ),
        // Throttled: nothing was committed; the Wait state waits (Box's Retry-After, else 5 s), and the next
        // try is not a retry, so it does not look for a landed commit.
        waitAfter: (error) =>
          error instanceof BoxRateLimitedError ? Math.max(1, error.retryAfterSeconds ?? 5) * 1000 : error instanceof S3ThrottledError ? 5000 : undefined,
        onLandedError: (error) =>
          log.warn('looking whether a lost commit landed failed; committing again', {
            error: error instanceof Error ? `${error.name}: ${error.message}` : String(error),
          }),
      },
      state,
      commitPolicyOf(settings),
    );
  } catch (err) {
    if (err instanceof BoxCommitTimeoutError) throw new CommitGaveUpError(err.message, { cause: err });
    if (nameConflict(err) !== undefined) {
      // The name was free when the session was created and got taken while the parts uploaded; the
      // session is bound to that name, so no onConflict policy can apply any more.
      throw new NameConflictError(
        `"${destination.fileName}" was taken in Box folder ${destination.folderId} while the parts uploaded; the upload session cannot be committed under it (onConflict ${transfer.onConflict} applies only when the session is created)`,
        { cause: err },
      );
    }
    throw err;
  }
  const progress = {
    attempts: step.state.attempts,
    waitedSeconds: Math.round(step.state.waitedMs / 1000),
    ...(step.state.partsMismatches > 0 ? { partsMismatches: step.state.partsMismatches } : {}),
    ...(step.state.answerLost ? { answerLost: true } : {}),
  };
  if (step.status === 'lost') {
    // Thrown as is (Box.ServerError / Box.NetworkError): the state machine retries Commit, and the retry
    // ($$.State.RetryCount > 0) looks whether this commit landed before sending it again.
    log.warn('commit answer lost; it may have landed', { error: step.error.name });
    throw step.error;
  }
  if (step.status === 'wait') {
    const retryAfterSeconds = Math.max(1, Math.ceil(step.waitMs / 1000));
    log.info('commit not done yet', { why: step.lastAnswer, retryAfterSeconds, waitedSeconds: previous?.waitedSeconds ?? 0 });
    return { status: 'processing', retryAfterSeconds, ...progress, ...(step.refused === true && checkCurrent ? { checkSourceAgain: true } : {}) };
  }
  const file = step.file;
  if (file.sha1 !== undefined && file.sha1.toLowerCase() !== expectedHex) {
    throw new BoxIntegrityError(`Box file ${file.id} has SHA-1 ${file.sha1}, expected ${expectedHex}`, { status: 201 });
  }
  const output = transferOutput(file, transfer, session.totalParts);
  log.info(step.landedEarlier ? 'committed (an earlier try had landed; its answer was lost)' : 'committed', {
    fileId: output.file.id,
    versionId: output.file.versionId,
    name: output.file.name,
    size: output.file.size,
  });
  return { status: 'committed', retryAfterSeconds: 0, ...progress, ...(step.landedEarlier ? { landedEarlier: true } : {}), output };
}
