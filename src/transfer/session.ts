// Opening the Box upload session for a chunked transfer, with the conflict policy applied.
import { BoxIntegrityError } from '../box/errors.ts';
import { SessionInUseError } from './errors.ts';
import type { BoxClientLike, UploadSessionLike } from './boxPort.ts';
import { conflictingSession, withConflictPolicy } from './conflict.ts';
import type { OnConflict, SessionRef, TransferContext } from './contract.ts';
import { partCount } from '../box/helpers.ts';
import { assertListable } from '../box/bigUpload.ts';

export function sessionRef(s: UploadSessionLike): SessionRef {
  return {
    id: s.id,
    partSize: s.part_size,
    totalParts: s.total_parts,
    endpoints: {
      uploadPart: s.session_endpoints.upload_part,
      commit: s.session_endpoints.commit,
      abort: s.session_endpoints.abort,
      listParts: s.session_endpoints.list_parts,
      status: s.session_endpoints.status,
    },
  };
}

/**
 * Box answers 409 session_conflict when an upload session for the same folder, name and size is open.
 * The client already takes it as its own when an earlier attempt of the same request may have created it.
 * Here: on a retry of Prepare (`retryCount` > 0, `$$.State.RetryCount`), an earlier try may have created
 * it and died before handing it on; such a session has no parts (nobody had it to upload to), so it is
 * taken when it holds none. Any other conflicting session is another transfer's: Transfer.SessionInUse
 * (retried by the state machine until that transfer has committed; then this one meets the taken name
 * and follows onConflict).
 */
async function acceptSessionConflict(
  box: BoxClientLike,
  create: () => Promise<UploadSessionLike>,
  retryCount: number,
  what: string,
): Promise<UploadSessionLike> {
  try {
    return await create();
  } catch (err) {
    const existing = conflictingSession<UploadSessionLike>(err);
    if (existing === undefined) throw err;
    const inUse = (why: string): SessionInUseError =>
      new SessionInUseError(
        `Box already has an open upload session (${existing.id}) for ${what} that this transfer did not create (${why}): another transfer of a file of the same name and size is under way; this one is retried, and once that one has committed it follows onConflict`,
        { cause: err },
      );
    if (retryCount <= 0) throw inUse('first try');
    if ((existing.num_parts_processed ?? 0) > 0) throw inUse('it holds parts');
    const listPartsUrl = existing.session_endpoints?.list_parts;
    if (listPartsUrl === undefined) throw inUse('its parts cannot be listed');
    const page = await box.chunkedUploads.getFileUploadSessionPartsByUrl(listPartsUrl, { offset: 0, limit: 1 });
    if (page.entries.length > 0 || (page.total_count ?? 0) > 0) throw inUse('it holds parts');
    return existing;
  }
}

export interface OpenedSession {
  session: SessionRef;
  destination: TransferContext['destination'];
}

export async function openUploadSession(
  box: BoxClientLike,
  destination: TransferContext['destination'],
  fileSize: number,
  onConflict: OnConflict,
  maxRenameAttempts: number,
  /** `$$.State.RetryCount` of Prepare: above 0 an earlier try may have created the session (see acceptSessionConflict). */
  retryCount = 0,
): Promise<OpenedSession> {
  const cu = box.chunkedUploads;
  const versionOf = async (fileId: string, fileName?: string): Promise<OpenedSession> => {
    const s = await acceptSessionConflict(
      box,
      () => cu.createFileUploadSessionForExistingFile(fileId, { fileSize, ...(fileName !== undefined ? { fileName } : {}) }),
      retryCount,
      `a new version of file ${fileId} (${fileSize} bytes)`,
    );
    return { session: await checkedRef(box, s, fileSize), destination: { ...destination, fileId } };
  };
  if (destination.fileId !== undefined) {
    return versionOf(destination.fileId, destination.fileNameGiven === true ? destination.fileName : undefined);
  }
  return withConflictPolicy<OpenedSession>(
    onConflict,
    destination.fileName,
    destination.folderId,
    {
      create: async (fileName) => {
        const s = await acceptSessionConflict(
          box,
          () => cu.createFileUploadSession({ folderId: destination.folderId, fileSize, fileName }),
          retryCount,
          `"${fileName}" (${fileSize} bytes) in Box folder ${destination.folderId}`,
        );
        return { session: await checkedRef(box, s, fileSize), destination: { ...destination, fileName } };
      },
      createVersion: (fileId) => versionOf(fileId),
    },
    maxRenameAttempts,
  );
}

/** The session as a SessionRef, if its part plan fits the file; otherwise it is aborted (best effort) and rejected. */
async function checkedRef(box: BoxClientLike, s: UploadSessionLike, fileSize: number): Promise<SessionRef> {
  const ref = sessionRef(s);
  if (!(ref.partSize > 0) || ref.totalParts !== partCount(fileSize, ref.partSize)) {
    // Prepare leaves no session behind: the state machine only aborts sessions that Prepare returned.
    await box.chunkedUploads.deleteFileUploadSessionByUrl(ref.endpoints.abort).catch(() => undefined);
    throw new BoxIntegrityError(
      `Box upload session ${ref.id} has part_size ${ref.partSize} and total_parts ${ref.totalParts}, which do not fit a file of ${fileSize} bytes`,
      { status: 201 },
    );
  }
  try {
    assertListable(ref.id, ref.totalParts);
  } catch (err) {
    await box.chunkedUploads.deleteFileUploadSessionByUrl(ref.endpoints.abort).catch(() => undefined);
    throw err;
  }
  return ref;
}
