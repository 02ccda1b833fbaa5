// JSON shapes exchanged with Box, snake_case as on the wire. Typed from the upload-related schemas of
// Box's public OpenAPI description (github.com/box/box-openapi). Fields Box documents as
// always present in these responses are required; the rest are optional.

/** `session_endpoints` of an upload session: absolute URLs, possibly on another upload host. */
export interface UploadSessionEndpoints {
  upload_part: string;
  commit: string;
  abort: string;
  list_parts: string;
  status: string;
  log_event?: string;
  [other: string]: string | undefined;
}

/** `UploadSession`. */
export interface UploadSession {
  id: string;
  type: 'upload_session';
  session_expires_at: string;
  part_size: number;
  total_parts: number;
  num_parts_processed: number;
  session_endpoints: UploadSessionEndpoints;
}

/** `UploadPart--Mini`. */
export interface UploadPartMini {
  part_id: string;
  offset: number;
  size: number;
}

/** `UploadPart`: a stored part; `sha1` is lower-case hex. */
export interface UploadPart extends UploadPartMini {
  sha1: string;
}

/** `UploadedPart`: the answer to a part upload. */
export interface UploadedPart {
  part: UploadPart;
  /**
   * Set (true) only by this client, never by Box: the part was already stored with the same bytes
   * (Box answered 416 range_overlaps_existing_part with a matching conflicting_part).
   */
  alreadyUploaded?: boolean;
}

/** `UploadParts`: one page of list-parts. */
export interface UploadParts {
  total_count: number;
  limit: number;
  offset: number;
  order?: Array<{ by: string; direction: 'ASC' | 'DESC' }>;
  entries: UploadPart[];
}

/** `User--Mini`. */
export interface BoxUserMini {
  type: 'user';
  id: string;
  name?: string;
  login?: string;
}

/** `Folder--Mini`. */
export interface BoxFolderMini {
  type: 'folder';
  id: string;
  etag?: string | null;
  sequence_id?: string | null;
  name?: string;
}

/** `FileVersion--Mini`. */
export interface BoxFileVersionMini {
  type: 'file_version';
  id: string;
  sha1?: string;
}

/** `File--Mini`. */
export interface BoxFileMini {
  type: 'file';
  id: string;
  etag?: string | null;
  sequence_id?: string | null;
  name?: string;
  sha1?: string;
  file_version?: BoxFileVersionMini;
}

export interface BoxPathCollection {
  total_count: number;
  entries: BoxFolderMini[];
}

/** `File` (the standard representation returned by uploads, commit and GET /files/{id}). */
export interface BoxFile extends BoxFileMini {
  description?: string;
  size?: number;
  path_collection?: BoxPathCollection;
  created_at?: string;
  modified_at?: string;
  trashed_at?: string | null;
  purged_at?: string | null;
  content_created_at?: string | null;
  content_modified_at?: string | null;
  created_by?: BoxUserMini;
  modified_by?: BoxUserMini;
  owned_by?: BoxUserMini;
  shared_link?: Record<string, unknown> | null;
  parent?: BoxFolderMini | null;
  item_status?: 'active' | 'trashed' | 'deleted';
}

/** `Folder`. */
export interface BoxFolder extends BoxFolderMini {
  created_at?: string | null;
  modified_at?: string | null;
  description?: string;
  size?: number;
  path_collection?: BoxPathCollection;
  created_by?: BoxUserMini;
  modified_by?: BoxUserMini;
  trashed_at?: string | null;
  purged_at?: string | null;
  content_created_at?: string | null;
  content_modified_at?: string | null;
  owned_by?: BoxUserMini;
  shared_link?: Record<string, unknown> | null;
  folder_upload_email?: Record<string, unknown> | null;
  parent?: BoxFolderMini | null;
  item_status?: 'active' | 'trashed' | 'deleted';
  item_collection?: BoxItems;
}

/** `WebLink--Mini` (folders may hold web links too). */
export interface BoxWebLinkMini {
  type: 'web_link';
  id: string;
  etag?: string | null;
  sequence_id?: string | null;
  name?: string;
  url?: string;
}

/** An entry of a folder listing. */
export type BoxItem = BoxFile | BoxFolder | BoxWebLinkMini;

/** `Items`: one page of a folder listing (offset paging). */
export interface BoxItems {
  /** Offset paging only (Box omits it with `usemarker`). */
  total_count: number;
  limit: number;
  offset: number;
  /** Marker paging: where the next page starts; null, empty or absent on the last page (Box's end-of-list form is not documented). */
  next_marker?: string | null;
  order?: Array<{ by: string; direction: 'ASC' | 'DESC' }>;
  entries: BoxItem[];
}

/** `Files`: the answer to a commit or a direct upload. */
export interface Files {
  total_count: number;
  entries: BoxFile[];
}

/** `ClientError`: Box's JSON error body. */
export interface BoxClientErrorBody {
  type?: 'error';
  status?: number;
  code?: string;
  message?: string;
  context_info?: Record<string, unknown> | null;
  help_url?: string;
  request_id?: string;
}

/** `AccessToken`: the token endpoint's answer. */
export interface AccessToken {
  access_token: string;
  expires_in: number;
  token_type: 'bearer';
  restricted_to?: unknown[];
  refresh_token?: string;
  issued_token_type?: string;
}

/** `OAuth2Error`. */
export interface OAuth2ErrorBody {
  error?: string;
  error_description?: string;
}

/** Result of a commit: Box either built the file, or asks to come back later (202 + Retry-After). */
export type CommitResult =
  | { status: 'committed'; files: Files }
  | { status: 'processing'; retryAfterSeconds: number };
