// Opening the Box upload session for a chunked transfer, with the conflict policy applied.
import { BoxIntegrityError } from '../box/errors.ts';
import { SessionAbandonedError, SessionInUseError } from './errors.ts';
import type { BoxClientLike, UploadSessionLike } from './boxPort.ts';
import { conflictingSession, withConflictPolicy } from './conflict.ts';
import type { OnConflict, SessionRef, TransferContext } from './contract.ts';
import { partCount } from '../box/helpers.ts';
import { assertListable } from '../box/bigUpload.ts';
import { DEFAULT_SETTINGS } from './settings.ts';

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

/** How Prepare watches a conflicting session for progress (settings.sessionProgressWindowMs / PollMs). */
export interface ProgressWatch {
  windowMs: number;
  pollMs: number;
}

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

/** How many parts the session holds (Box's total_count; all pages counted when it gives none). */
async function storedPartCount(box: BoxClientLike, listPartsUrl: string): Promise<number> {
  const page = await box.chunkedUploads.getFileUploadSessionPartsByUrl(listPartsUrl, { offset: 0, limit: 1 });
  if (typeof page.total_count === 'number') return page.total_count;
  return (await box.chunkedUploads.getAllFileUploadSessionPartsByUrl(listPartsUrl)).length;
}

/**
 * Box answers 409 session_conflict when an upload session for the same folder, name and size is open.
 * The client already takes it as its own when an earlier attempt of the same request may have created it.
 * Here: on a retry of Prepare (`retryCount` > 0, `$$.State.RetryCount`), an earlier try may have created
 * it and died before handing it on; such a session has no parts (nobody had it to upload to), so it is
 * taken when it holds none. Any other conflicting session is never shared. Whether someone is using it is
 * told by progress: its stored parts are counted every pollMs for up to windowMs. A count that changes,
 * or a session whose parts are all stored (it may be committing), is another transfer under way:
 * Transfer.SessionInUse (retried by the state machine until that transfer has committed; then this one
 * meets the taken name and follows onConflict). A session that shows no progress was kept by a transfer
 * that failed resumably: Transfer.SessionAbandoned at once, that session left as it is.
 */
async function acceptSessionConflict(
  box: BoxClientLike,
  create: () => Promise<UploadSessionLike>,
  retryCount: number,
  what: string,
  watch: ProgressWatch,
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
    const listPartsUrl = existing.session_endpoints?.list_parts;
    if (listPartsUrl === undefined) throw inUse('its parts cannot be listed');
    const first = await storedPartCount(box, listPartsUrl);
    if (retryCount > 0 && first === 0 && (existing.num_parts_processed ?? 0) === 0) return existing;
    const totalParts = existing.total_parts;
    const allStored = (n: number): boolean => typeof totalParts === 'number' && totalParts > 0 && n >= totalParts;
    if (allStored(first)) throw inUse(`all its ${first} parts are stored: it may be committing`);
    const until = Date.now() + watch.windowMs;
    while (Date.now() < until) {
      await sleep(Math.min(watch.pollMs, Math.max(0, until - Date.now())));
      let now: number;
      try {
        now = await storedPartCount(box, listPartsUrl);
      } catch (listErr) {
        // Gone while watched (committed or aborted by its owner): the retry meets the name, or none.
        const name = (listErr as { name?: unknown })?.name;
        if (name === 'Box.NotFound' || name === 'Box.SessionExpired') throw inUse('it ended while this transfer watched it');
        throw listErr;
      }
      if (now !== first) throw inUse(`its stored parts went from ${first} to ${now}`);
    }
    throw new SessionAbandonedError(
      `Box already has an open upload session (${existing.id}) for ${what} that this transfer did not create, and its ${first} stored part(s) did not change in ${Math.round(watch.windowMs / 1000)} s: most likely an earlier transfer failed and kept it for resuming (Box deletes it 7 days after it was created). Resume it (input resume: { "sessionId": "${existing.id}" }, or s3-to-box transfer ... --resume ${existing.id}), or discard it (s3-to-box abort ${existing.id}) and run this transfer again`,
      { cause: err },
    );
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
  watch: ProgressWatch = { windowMs: DEFAULT_SETTINGS.sessionProgressWindowMs, pollMs: DEFAULT_SETTINGS.sessionProgressPollMs },
): Promise<OpenedSession> {
  const cu = box.chunkedUploads;
  const versionOf = async (fileId: string, fileName?: string): Promise<OpenedSession> => {
    const s = await acceptSessionConflict(
      box,
      () => cu.createFileUploadSessionForExistingFile(fileId, { fileSize, ...(fileName !== undefined ? { fileName } : {}) }),
      retryCount,
      `a new version of file ${fileId} (${fileSize} bytes)`,
      watch,
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
          watch,
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
