// Commit: the parts list is rebuilt from Box's list-parts (never carried through state), checked
// to cover [0, size) exactly, and committed with the whole-file digest. Box's 202 and a transient
// parts_mismatch become { status: 'processing' } for the state machine's Wait, within a bounded total.
import { BoxIntegrityError } from '../box/errors.ts';
import { base64ToHex, digestHeader } from '../box/helpers.ts';
import type { BoxClientLike, BoxFileLike, UploadPartLike } from './boxPort.ts';
import type { CommitEvent, CommitProgress, SessionRef, TransferContext, TransferOutput } from './contract.ts';
import type { TransferDeps } from './deps.ts';
import { nameConflict } from './conflict.ts';
import { checkStillCurrent } from './current.ts';
import { CommitGaveUpError, InvalidInputError, NameConflictError, PartsIncompleteError } from './errors.ts';
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

export async function commitTransfer(event: CommitEvent, deps: TransferDeps): Promise<CommitProgress> {
  const { transfer, sha1 } = event;
  const session = transfer.session;
  if (session === undefined) throw new InvalidInputError('Commit needs transfer.session (chunked mode)');
  if (typeof sha1 !== 'string' || !/^[A-Za-z0-9+/]{27}=$/.test(sha1)) {
    throw new InvalidInputError('Commit needs sha1: the base64 SHA-1 of the whole object');
  }
  const { settings } = deps;
  const previous = event.commit;
  const attempts = (previous?.attempts ?? 0) + 1;
  const waitedSeconds = previous?.waitedSeconds ?? 0;
  const log = deps.logger.child({ sessionId: session.id, attempt: attempts });
  // Newest write wins: checked before the first commit request only (after it, Box may hold the file).
  if (transfer.onlyIfCurrent === true && previous === undefined) await checkStillCurrent(deps.s3, transfer.source, log);
  const box = await deps.box();

  const parts = await listAllParts(box, session);
  checkCoverage(parts, session, transfer.source.size);

  const later = (seconds: number, why: string, partsMismatches: number): CommitProgress => {
    const wait = Math.max(1, Math.ceil(seconds));
    if (waitedSeconds + wait > settings.maxCommitWaitSeconds || attempts >= settings.maxCommitAttempts) {
      throw new CommitGaveUpError(
        `Box session ${session.id} was still ${why} after ${attempts} commit attempts and ${waitedSeconds} s of waiting (limits: ${settings.maxCommitAttempts} attempts, ${settings.maxCommitWaitSeconds} s)`,
      );
    }
    log.info('commit not done yet', { why, retryAfterSeconds: wait, waitedSeconds });
    return { status: 'processing', retryAfterSeconds: wait, attempts, waitedSeconds: waitedSeconds + wait, partsMismatches };
  };

  let result;
  try {
    result = await box.chunkedUploads.createFileUploadSessionCommitByUrl(
      session.endpoints.commit,
      {
        parts: parts.map((p) => ({ part_id: p.part_id, offset: p.offset, size: p.size, sha1: p.sha1 ?? null })),
        attributes: { content_modified_at: boxTimestamp(transfer.source.lastModified) },
      },
      { digest: digestHeader(sha1) },
    );
  } catch (err) {
    if (err instanceof Error && err.name === 'Box.PartsMismatch') {
      const mismatches = (previous?.partsMismatches ?? 0) + 1;
      if (mismatches > settings.maxPartsMismatches) throw err;
      return later(settings.partsMismatchRetrySeconds, 'answering parts_mismatch', mismatches);
    }
    if (nameConflict(err) !== undefined) {
      // The name was free when the session was created and got taken while the parts uploaded; the
      // session is bound to that name, so no onConflict policy can apply any more.
      throw new NameConflictError(
        `"${transfer.destination.fileName}" was taken in Box folder ${transfer.destination.folderId} while the parts uploaded; the upload session cannot be committed under it (onConflict ${transfer.onConflict} applies only when the session is created)`,
        { cause: err },
      );
    }
    throw err;
  }
  if (result.status === 'processing') return later(result.retryAfterSeconds, 'processing (202)', 0);

  const file = result.files.entries[0];
  if (file === undefined) throw new BoxIntegrityError(`Box committed session ${session.id} but returned no file`, { status: 201 });
  const expectedHex = base64ToHex(sha1);
  if (file.sha1 !== undefined && file.sha1.toLowerCase() !== expectedHex) {
    throw new BoxIntegrityError(`Box file ${file.id} has SHA-1 ${file.sha1}, expected ${expectedHex}`, { status: 201 });
  }
  const output = transferOutput(file, transfer, session.totalParts);
  log.info('committed', { fileId: output.file.id, versionId: output.file.versionId, name: output.file.name, size: output.file.size });
  return { status: 'committed', retryAfterSeconds: 0, attempts, waitedSeconds, output };
}
