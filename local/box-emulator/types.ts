// Public types of the Box upload emulator (described in local/box-emulator/README.md).

export type Operation =
  | 'token'
  | 'createSession'
  | 'createVersionSession'
  | 'getSession'
  | 'uploadPart'
  | 'abortSession'
  | 'listParts'
  | 'commit'
  | 'logEvent'
  | 'preflightCheck'
  | 'uploadFile'
  | 'uploadFileVersion'
  | 'getFile'
  | 'downloadFile'
  | 'listFolderItems'
  | 'createFolder'
  | 'getFolder'
  | 'getMetadata'
  | 'createMetadata'
  | 'updateMetadata';

export const OPERATIONS: readonly Operation[] = [
  'token',
  'createSession',
  'createVersionSession',
  'getSession',
  'uploadPart',
  'abortSession',
  'listParts',
  'commit',
  'logEvent',
  'preflightCheck',
  'uploadFile',
  'uploadFileVersion',
  'getFile',
  'downloadFile',
  'listFolderItems',
  'createFolder',
  'getFolder',
  'getMetadata',
  'createMetadata',
  'updateMetadata',
];

export type CommitProcessing =
  | { mode: 'none' }
  /** Answer 202 `times` times per session before the 201. */
  | { mode: 'count'; times: number; retryAfterSeconds: number }
  /**
   * Parts are "processed" one after another, each taking size / bytesPerSecond from when it arrived
   * (or when the previous one was done); commit answers 202 until the last one is.
   */
  | { mode: 'proportional'; bytesPerSecond: number; retryAfterSeconds: number };

export type FaultAction =
  | { type: 'status'; status: number; code?: string; retryAfterSeconds?: number }
  /** uploadPart: store the part, then answer `status` (so that a retry meets 416). */
  | { type: 'storeThenFail'; status: number }
  /** Destroy the socket mid-request (after part of the body was read, when there is one). */
  | { type: 'reset' }
  /** Do what was asked (store the part, commit the session, ...), then drop the connection without an answer: a lost 2xx. */
  | { type: 'storeThenReset' }
  /** Do what was asked, then answer its success status with a body that is not JSON (`text/html`), as a proxy might. */
  | { type: 'storeThenGarble' }
  /** uploadPart: one byte of the body is damaged on the way in, so the part's Digest check refuses it (`partDigestMismatchStatus`). */
  | { type: 'corruptBody' }
  /**
   * listFolderItems: an empty page; preflightCheck: 200 (the name looks free). As an index that lags behind
   * a file just created would answer.
   */
  | { type: 'emptyListing' }
  /** commit: a transient 400 parts_mismatch. */
  | { type: 'partsMismatch' }
  /** The bearer token used by the request is expired from now on; this request gets 401. */
  | { type: 'expireToken' }
  /** Delay the answer by `ms` (the request then proceeds normally). */
  | { type: 'latency'; ms: number }
  /**
   * Hold the request until `until` settles (then it proceeds normally): a test decides when, instead of
   * racing a latency. In-process only (a promise cannot come through the admin endpoint).
   */
  | { type: 'hold'; until: PromiseLike<unknown> };

export interface FaultRule {
  operation: Operation;
  /** 1-based call count of that operation since injection; default: every call. */
  nth?: number;
  /** How many calls it fires for; default 1 with `nth`, unlimited without. */
  times?: number;
  action: FaultAction;
}

export type OverlapContext = 'part' | 'part-without-sha1' | 'message-only';
export const OVERLAP_CONTEXTS: readonly OverlapContext[] = ['part', 'part-without-sha1', 'message-only'];

/**
 * The body of a commit's 202 (Box documents neither its Content-Type nor its body): `empty` (default) no
 * body and no content type; `json-no-body` `Content-Type: application/json` without a body (what breaks the
 * published SDK); `json-empty-object` `{}`; `json-session` the upload session (`num_parts_processed`);
 * `text` `text/plain` "Accepted".
 */
export type Commit202Body = 'empty' | 'json-no-body' | 'json-empty-object' | 'json-session' | 'text';
export const COMMIT_202_BODIES: readonly Commit202Body[] = ['empty', 'json-no-body', 'json-empty-object', 'json-session', 'text'];

/**
 * How a session that was committed answers (Box's behaviour is not documented): `same-file` (default) a
 * repeated commit answers 201 with the same file; `not-found` the session is gone after its commit (404 to
 * commit, get and list parts); `session-gone` 410 `upload_failed` likewise; `name-in-use` a repeated commit
 * meets 409 `item_name_in_use` naming the file it made; `parts-mismatch` 400 `parts_mismatch` (the parts
 * are consumed); `bad-request` 400 `bad_request`.
 */
export type CommittedSessionAnswer = 'same-file' | 'not-found' | 'session-gone' | 'name-in-use' | 'parts-mismatch' | 'bad-request';
export const COMMITTED_SESSION_ANSWERS: readonly CommittedSessionAnswer[] = ['same-file', 'not-found', 'session-gone', 'name-in-use', 'parts-mismatch', 'bad-request'];

/**
 * How the preflight check (OPTIONS /files/content) answers a name already taken (Box's body is not
 * confirmed): `conflicts-object` (default) 409 `item_name_in_use` with `context_info.conflicts` the item
 * (as clients read it); `conflicts-list` the same item in a list (the OpenAPI ConflictError); `no-context`
 * 409 without `context_info`; `no-name-check` 200 whatever the name (a check that looks at permissions only).
 */
export type PreflightAnswer = 'conflicts-object' | 'conflicts-list' | 'no-context' | 'no-name-check';
export const PREFLIGHT_ANSWERS: readonly PreflightAnswer[] = ['conflicts-object', 'conflicts-list', 'no-context', 'no-name-check'];

/**
 * How folder listings with `usemarker=true` end (Box's last page is not documented): `null-at-end` (default)
 * `next_marker: null`; `empty-at-end` `next_marker: ""`; `absent-at-end` no `next_marker`; `ignored` Box
 * ignores `usemarker` and answers with offset paging (`total_count`, `offset`, no marker).
 */
export type MarkerPaging = 'null-at-end' | 'empty-at-end' | 'absent-at-end' | 'ignored';
export const MARKER_PAGINGS: readonly MarkerPaging[] = ['null-at-end', 'empty-at-end', 'absent-at-end', 'ignored'];

export interface BoxEmulatorOptions {
  port?: number;
  host?: string;
  /** Where parts and files are kept; default a fresh temp dir, removed by close(). */
  dataDir?: string;
  /** Accepted developer tokens; default ['dev-token']. */
  tokens?: string[];
  clientId?: string;
  clientSecret?: string;
  /**
   * The app's registered public keys (PEM) by id: when given, a JWT assertion must name one of them in its
   * `kid` header and be signed (RS256/384/512) with the matching private key, as Box checks; otherwise
   * 400 invalid_grant. Default: signatures are not checked.
   */
  jwtPublicKeys?: Record<string, string>;
  /** Lifetime of tokens issued by /oauth2/token; default 3600. */
  tokenTtlSeconds?: number;
  /** Default: smallest power of two >= 8 MiB with total parts <= 10,000. */
  partSize?: number | ((fileSize: number) => number);
  /** Minimum file_size for a chunked session; default 20,000,000. */
  minChunkedFileSize?: number;
  /** 202 behaviour of commit; default { mode: 'none' }. */
  commitProcessing?: CommitProcessing;
  /** What a commit's 202 carries besides `Retry-After`; default `empty`. */
  commit202Body?: Commit202Body;
  /** Added to every API request (not the admin endpoint). */
  latencyMs?: number;
  /** Per-connection cap on request-body reading and download writing. */
  bandwidthBytesPerSecond?: number;
  /** Session lifetime; default 7 days. Lower it in tests to meet 410 session_expired. */
  sessionTtlSeconds?: number;
  /** Largest file_size a session accepts (403 file_size_limit_exceeded above); default unlimited. */
  maxFileSize?: number;
  /** Status of a part whose Digest does not match its bytes; default 412. */
  partDigestMismatchStatus?: 400 | 412;
  /**
   * What a 416 range_overlaps_existing_part carries besides its message, which always names
   * `{id, offset, size}` (the one real-world sample, rclone issue 2054, shows only that): `part`
   * (default) `context_info.conflicting_part` with its sha1; `part-without-sha1` the part without it;
   * `message-only` no context_info at all. Box's real answer is unconfirmed, so clients must handle all three.
   */
  overlapContext?: OverlapContext;
  /**
   * The status of that overlap answer: 416 `range_overlaps_existing_part` (default; the Android SDK and
   * rclone issue 2054), or 409 `conflict` "Chunk conflicts with another chunk previously uploaded" (Box's
   * API description; its code is unknown). Its body follows `overlapContext` either way.
   */
  overlapStatus?: 416 | 409;
  /** How a committed session answers another commit (and get / list parts); default `same-file`. */
  committedSession?: CommittedSessionAnswer;
  /** How the preflight check answers a name already taken; default `conflicts-object`. */
  preflight?: PreflightAnswer;
  /** How marker-paged folder listings end; default `null-at-end`. */
  markerPaging?: MarkerPaging;
  /** Called for each API request (method, path, status) — for debugging. */
  onRequest?: (entry: { method: string; path: string; status: number; operation: Operation | undefined }) => void;
}

export interface BoxStats {
  requests: Record<Operation, number>;
  maxPartsInFlight: number;
  partsInFlight: number;
  /** Requests that create a file or a version (direct uploads, upload session creates) being answered now, and the most at once. */
  uploadsInFlight: number;
  maxUploadsInFlight: number;
}

/** The operations Box's upload rate limit counts: each creates a file or a version. */
export const UPLOAD_OPERATIONS: readonly Operation[] = ['uploadFile', 'uploadFileVersion', 'createSession', 'createVersionSession'];

export interface BoxUserMini {
  type: 'user';
  id: string;
  name: string;
  login: string;
}

export interface BoxFolderMini {
  type: 'folder';
  id: string;
  sequence_id: string | null;
  etag: string | null;
  name: string;
}

export interface BoxFileVersionMini {
  type: 'file_version';
  id: string;
  sha1: string;
}

/** The fields a full file and a full folder share (Box's `File--Full` / `Folder--Full`, as the emulator answers them). */
interface BoxItemFull {
  id: string;
  etag: string;
  sequence_id: string;
  name: string;
  description: string;
  size: number;
  path_collection: { total_count: number; entries: BoxFolderMini[] };
  created_at: string;
  modified_at: string;
  content_created_at: string;
  content_modified_at: string;
  trashed_at: null;
  purged_at: null;
  created_by: BoxUserMini;
  modified_by: BoxUserMini;
  owned_by: BoxUserMini;
  shared_link: null;
  item_status: 'active';
}

/** A File as Box returns it (the fields the emulator fills). */
export interface BoxFile extends BoxItemFull {
  type: 'file';
  sha1: string;
  file_version: BoxFileVersionMini;
  parent: BoxFolderMini;
}

export interface BoxFolder extends BoxItemFull {
  type: 'folder';
  /** null for the root folder. */
  parent: BoxFolderMini | null;
}

export type SessionStatus = 'open' | 'committed' | 'aborted';

export interface UploadPartJson {
  part_id: string;
  offset: number;
  size: number;
  sha1: string;
}

export interface UploadSessionJson {
  id: string;
  type: 'upload_session';
  session_expires_at: string;
  part_size: number;
  total_parts: number;
  num_parts_processed: number;
  session_endpoints: {
    upload_part: string;
    commit: string;
    abort: string;
    list_parts: string;
    status: string;
    log_event: string;
  };
}

/** What listSessions() reports for each session. */
export interface SessionSummary {
  id: string;
  status: SessionStatus;
  folderId: string;
  fileId: string | undefined;
  fileName: string;
  fileSize: number;
  partSize: number;
  totalParts: number;
  partsUploaded: number;
  bytesUploaded: number;
  createdAt: string;
  expiresAt: string;
  committedFileId: string | undefined;
}

export interface BoxEmulator {
  /** API base as the Box SDK takes it: clients append /2.0/..., tokens at /oauth2/token. */
  readonly url: string;
  /** Upload base: `${url}/api`. */
  readonly uploadUrl: string;
  /** The first accepted developer token. */
  readonly token: string;
  /** Where parts and files live. */
  readonly dataDir: string;
  readonly port: number;
  readonly faults: { inject(rule: FaultRule): void; clear(): void };
  stats(): BoxStats;
  resetStats(): void;
  createFolder(name: string, parentId?: string): Promise<{ id: string }>;
  readFileContent(fileId: string): Promise<Buffer>;
  fileContentPath(fileId: string): string;
  getFile(fileId: string): BoxFile | undefined;
  findFile(folderId: string, name: string): BoxFile | undefined;
  /** The folder named `name` (case-insensitively) in `parentId`, if any. */
  findFolder(parentId: string, name: string): { id: string } | undefined;
  listSessions(): SessionSummary[];
  /** Every token (developer and issued) is expired from now on. */
  expireTokens(): void;
  /** Every open session is expired from now on (410 session_expired). */
  expireSessions(): void;
  /**
   * Resolves once no request is being handled, counting those whose bytes had reached the server before
   * this call (they are read first): a request its client gave up on after sending it whole is still
   * acted on, as by Box, maybe after the client's run has ended.
   */
  settled(): Promise<void>;
  /** Stops the server, ends open connections, removes the data folder if it made it. Idempotent. */
  close(): Promise<void>;
}
