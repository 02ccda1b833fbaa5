// Did an upload whose answer was lost land in Box? Read from Box (never from an error body): the file
// the upload makes a new version of, or the file of that name in the folder, holds exactly our bytes
// (SHA-1 and size) in a version other than the one current before the upload.
//
// A new file is found by name without paging the folder by offset (Box: offset paging "may fail for large
// datasets"): Box's preflight check (OPTIONS /files/content) answers 409 item_name_in_use naming the item
// that holds the name. Its shape is not confirmed, so every plausible answer is read: `conflicts` as an
// object or a list; a 409 without a usable item, or any refusal of the check itself, falls back to a
// marker-paged listing (`usemarker=true`, which also copes with a Box that ignores it and pages by offset).
import { BoxAbortedError, BoxConflictError, BoxIntegrityError } from './errors.ts';
import type { FilesManager } from './files.ts';
import type { FoldersManager } from './folders.ts';
import type { BoxFile } from './types.ts';

export interface UploadTarget {
  /** The folder a new file goes into. */
  folderId: string;
  /** The name it gets. */
  fileName: string;
  /** A new version of this file, rather than a new file. */
  fileId?: string | undefined;
  /** The file's current version before the upload (a new version must be another one). */
  versionSeen?: string | undefined;
}

export interface LandedLookups {
  files: Pick<FilesManager, 'getFile' | 'preflightCheck'>;
  folders: Pick<FoldersManager, 'listItems'>;
}

export interface LandedLook {
  /**
   * The look follows a refused repeated commit (404, 410, 409, 400), rather than preceding a resend. Then:
   * - the preflight check's "name is free" (200) is confirmed by listing: a check that does not look at
   *   names would otherwise turn a landed commit into a failure (before a resend a wrong "free" only resends);
   * - a new version whose version before the upload is unknown is taken as landed when the file's current
   *   version holds our bytes: either our commit made it, or the file already held exactly these bytes. Both
   *   leave Box holding the upload's bytes, and nothing else can be learnt (the session refuses a commit).
   */
  afterRefusal?: boolean;
}

/** Box compares names without regard to case; so does this lookup. */
function sameName(a: string, b: string): boolean {
  return a.normalize('NFC').toLowerCase() === b.normalize('NFC').toLowerCase();
}

const PAGE = 1000;

/** What the preflight check tells about a name: held by this file, not held by a file, or nothing usable. */
type NameAnswer = { file: string } | { noFile: true; free: boolean } | { unknown: true };

/** The item a 409 item_name_in_use names: `context_info.conflicts` as an object (seen) or a list (OpenAPI). */
function conflictingItem(contextInfo: Record<string, unknown> | undefined): { id?: unknown; type?: unknown } | undefined {
  const raw = contextInfo?.conflicts;
  const item: unknown = Array.isArray(raw) ? raw[0] : raw;
  return typeof item === 'object' && item !== null ? (item as { id?: unknown; type?: unknown }) : undefined;
}

async function askPreflight(files: LandedLookups['files'], folderId: string, fileName: string): Promise<NameAnswer> {
  try {
    await files.preflightCheck({ name: fileName, parentFolderId: folderId });
    return { noFile: true, free: true };
  } catch (error) {
    // Cancelled (the caller's signal, the invocation's deadline): no fallback, the look ends here.
    if (error instanceof BoxAbortedError) throw error;
    if (error instanceof BoxConflictError && error.code === 'item_name_in_use') {
      const item = conflictingItem(error.contextInfo);
      if (item?.type === 'file' && typeof item.id === 'string' && item.id !== '') return { file: item.id };
      // A folder (or web link) holds the name: no file of that name can be in the folder.
      if (item?.type === 'folder' || item?.type === 'web_link') return { noFile: true, free: false };
    }
    // A 409 without the item, or the check refused (404, 405, 400, 403, 5xx past retries): list instead.
    return { unknown: true };
  }
}

/**
 * The id of the file named `fileName` in `folderId`, by marker paging (`usemarker=true`). The last page
 * may end with `next_marker` null, empty or absent; a Box that ignores `usemarker` answers with offset
 * paging (`total_count`, no `next_marker`), which is followed by offset instead.
 */
export async function listForFileNamed(folders: LandedLookups['folders'], folderId: string, fileName: string): Promise<string | undefined> {
  const seen = new Set<string>();
  let marker: string | undefined;
  let offset: number | undefined;
  for (;;) {
    const page = await folders.listItems(folderId, offset !== undefined ? { offset, limit: PAGE } : { usemarker: true, limit: PAGE, ...(marker !== undefined ? { marker } : {}) });
    const hit = page.entries.find((e) => e.type === 'file' && typeof e.name === 'string' && sameName(e.name, fileName));
    if (hit !== undefined) return hit.id;
    if (page.entries.length === 0) return undefined;
    const next = page.next_marker;
    if (offset === undefined && typeof next === 'string' && next !== '') {
      if (seen.has(next)) throw new BoxIntegrityError(`listing folder ${folderId} returned the marker of an earlier page again`, { status: 200 });
      seen.add(next);
      marker = next;
      continue;
    }
    // No marker to follow: the end, unless the answer is offset-paged (usemarker ignored) with more to come.
    const total: unknown = page.total_count;
    if (next !== undefined || marker !== undefined || typeof total !== 'number') return undefined;
    offset = (offset ?? 0) + page.entries.length;
    if (offset >= total) return undefined;
  }
}

/** The id of the file named `fileName` in `folderId`, if there is one: the preflight check first, else a listing. */
export async function fileIdNamed(lookups: LandedLookups, folderId: string, fileName: string, look: LandedLook = {}): Promise<string | undefined> {
  const answer = await askPreflight(lookups.files, folderId, fileName);
  if ('file' in answer) return answer.file;
  if ('noFile' in answer && (!answer.free || look.afterRefusal !== true)) return undefined;
  return listForFileNamed(lookups.folders, folderId, fileName);
}

/** The file, if it holds `sha1Hex` and `size` (in another version than `target.versionSeen`, for a new version). */
export async function findLandedFile(lookups: LandedLookups, target: UploadTarget, sha1Hex: string, size: number, look: LandedLook = {}): Promise<BoxFile | undefined> {
  // A new version whose version before the upload is unknown cannot be told from a file that already held
  // our bytes: before a resend, not found (the commit is sent; a repeated commit of a committed session is
  // handled by its refusal); after that refusal, see LandedLook.afterRefusal.
  const versionUnknown = target.fileId !== undefined && target.versionSeen === undefined;
  if (versionUnknown && look.afterRefusal !== true) return undefined;
  const id = target.fileId ?? (await fileIdNamed(lookups, target.folderId, target.fileName, look));
  if (id === undefined) return undefined;
  const file = await lookups.files.getFile(id);
  const same = file.sha1?.toLowerCase() === sha1Hex.toLowerCase() && file.size === size;
  const newVersion = target.fileId === undefined || versionUnknown || file.file_version?.id !== target.versionSeen;
  return same && newVersion ? file : undefined;
}
