// Did an upload whose answer was lost land in Box? Read from Box (never from an error body): the file
// the upload makes a new version of, or the file of that name in the folder, holds exactly our bytes
// (SHA-1 and size) in a version other than the one current before the upload.
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
  files: Pick<FilesManager, 'getFile'>;
  folders: Pick<FoldersManager, 'listItems'>;
}

/** Box compares names without regard to case; so does this lookup. */
function sameName(a: string, b: string): boolean {
  return a.normalize('NFC').toLowerCase() === b.normalize('NFC').toLowerCase();
}

const PAGE = 1000;

/** The id of the file named `fileName` in `folderId`, if there is one (pages through the folder). */
async function fileIdNamed(folders: LandedLookups['folders'], folderId: string, fileName: string): Promise<string | undefined> {
  for (let offset = 0; ; offset += PAGE) {
    const page = await folders.listItems(folderId, { offset, limit: PAGE });
    const hit = page.entries.find((e) => e.type === 'file' && typeof e.name === 'string' && sameName(e.name, fileName));
    if (hit !== undefined) return hit.id;
    if (page.entries.length === 0 || offset + page.entries.length >= page.total_count) return undefined;
  }
}

/** The file, if it holds `sha1Hex` and `size` (in another version than `target.versionSeen`, for a new version). */
export async function findLandedFile(lookups: LandedLookups, target: UploadTarget, sha1Hex: string, size: number): Promise<BoxFile | undefined> {
  // A new version whose version before the upload is unknown cannot be told from a file that already held
  // our bytes: not found (the commit is sent; a repeated commit of a committed session is handled by its refusal).
  if (target.fileId !== undefined && target.versionSeen === undefined) return undefined;
  const id = target.fileId ?? (await fileIdNamed(lookups.folders, target.folderId, target.fileName));
  if (id === undefined) return undefined;
  const file = await lookups.files.getFile(id);
  const same = file.sha1?.toLowerCase() === sha1Hex.toLowerCase() && file.size === size;
  const newVersion = target.fileId === undefined || file.file_version?.id !== target.versionSeen;
  return same && newVersion ? file : undefined;
}
