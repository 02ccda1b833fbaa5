// Public entry of the Box client.
export { BoxClient, DEFAULT_API_URL, DEFAULT_UPLOAD_URL, type BoxClientOptions } from './client.ts';
export {
  CcgAuth,
  DeveloperTokenAuth,
  JwtAuth,
  type BoxAppSettings,
  type BoxAuth,
  type CcgAuthConfig,
  type CcgSubject,
  type JwtAuthConfig,
  type TokenCacheOptions,
  type TokenEndpoint,
} from './auth.ts';
export {
  ChunkedUploadsManager,
  type CommitHeaders,
  type CommitRequest,
  type CreateFileUploadSessionForExistingFileRequest,
  type CreateFileUploadSessionRequest,
  type PartsQuery,
  type UploadFilePartHeaders,
  type UploadFilePartOptions,
  MAX_LIST_PARTS_OFFSET,
} from './chunkedUploads.ts';
export type { CommitTimer, UploadBigFileOptions, UploadBigFileVersionOptions, UploadProgress } from './bigUpload.ts';
export { assertListable, MAX_LISTABLE_PARTS } from './bigUpload.ts';
export { FilesManager, type UploadFileRequest, type UploadFileVersionRequest } from './files.ts';
export { FoldersManager, type ListItemsQuery } from './folders.ts';
export { MetadataManager, type MetadataInstance } from './metadata.ts';
export {
  BOX_RETRY_MESSAGE,
  boxErrorFromResponse,
  parseRetryAfter,
  type BoxLogger,
  type RetryOptions,
  type TimeoutOptions,
} from './http.ts';
export type { RequestOptions } from './requestOptions.ts';
export {
  MIN_CHUNKED_FILE_SIZE,
  base64ToHex,
  contentRangeHeader,
  digestHeader,
  hexToBase64,
  parseContentRange,
  parseSha1Digest,
  partCount,
  planParts,
  sha1Base64,
  sha1Hex,
  type ByteRange,
  type PlannedPart,
} from './helpers.ts';
export * from './errors.ts';
export type * from './types.ts';
export {
  commitAnswerMayBeLost,
  commitStep,
  commitUntilDone,
  DEFAULT_COMMIT_POLICY,
  FIRST_COMMIT,
  type CommitPolicy,
  type CommitState,
  type CommitStep,
  type CommitTry,
} from './commitLoop.ts';
export { findLandedFile, type LandedLookups, type UploadTarget } from './landed.ts';
