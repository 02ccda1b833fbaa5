// The part of the Box client (src/box) that the transfer domain uses: the client's own types,
// narrowed to the methods called here, so that a test can stand in a small fake and nothing is
// declared twice.
import type { ChunkedUploadsManager } from '../box/chunkedUploads.ts';
import type { FilesManager } from '../box/files.ts';
import type { FoldersManager } from '../box/folders.ts';
import type { BoxFile, UploadPart, UploadSession } from '../box/types.ts';

export type UploadSessionLike = UploadSession;
export type UploadPartLike = UploadPart;
export type BoxFileLike = BoxFile;

export interface BoxClientLike {
  chunkedUploads: Pick<
    ChunkedUploadsManager,
    | 'createFileUploadSession'
    | 'createFileUploadSessionForExistingFile'
    | 'getFileUploadSessionById'
    | 'uploadFilePartByUrl'
    | 'getFileUploadSessionPartsByUrl'
    | 'getAllFileUploadSessionPartsByUrl'
    | 'createFileUploadSessionCommitByUrl'
    | 'deleteFileUploadSessionByUrl'
    | 'deleteFileUploadSessionById'
  >;
  files: Pick<FilesManager, 'uploadFile' | 'uploadFileVersion' | 'getFile' | 'preflightCheck'>;
  /**
   * Prepare looks the destination's ancestors up (allowed folders) and creates destination.folderPath;
   * Commit lists the folder to find a file a lost commit made.
   */
  folders: Pick<FoldersManager, 'getFolder' | 'createFolder' | 'listItems'>;
}
