// Opening the Box upload session for a chunked transfer, with the conflict policy applied.
import { BoxIntegrityError } from '../box/errors.ts';
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

/** A retried create meets 409 session_conflict carrying the session the first try created: use it. */
async function acceptSessionConflict(create: () => Promise<UploadSessionLike>): Promise<UploadSessionLike> {
  try {
    return await create();
  } catch (err) {
    const existing = conflictingSession<UploadSessionLike>(err);
    if (existing !== undefined) return existing;
    throw err;
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
): Promise<OpenedSession> {
  const cu = box.chunkedUploads;
  const versionOf = async (fileId: string, fileName?: string): Promise<OpenedSession> => {
    const s = await acceptSessionConflict(() =>
      cu.createFileUploadSessionForExistingFile(fileId, { fileSize, ...(fileName !== undefined ? { fileName } : {}) }),
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
        const s = await acceptSessionConflict(() =>
          cu.createFileUploadSession({ folderId: destination.folderId, fileSize, fileName }),
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
