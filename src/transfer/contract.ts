// The data that flows through the state machine: the input a caller gives, what each Lambda
// receives and returns, and the output of a successful execution. Kept small on purpose:
// Step Functions caps every state's input and output at 256 KiB, so nothing here grows with
// the number of parts except `batches` (one small integer per batch).

export type OnConflict = 'version' | 'rename' | 'fail';

/** What a caller passes to StartExecution (console, HTTP API, S3 event router, CLI). */
export interface TransferInput {
  /** `onlyIfCurrent`: commit only while this is the key's current version in S3 (else Transfer.Superseded). */
  source: { bucket: string; key: string; versionId?: string; onlyIfCurrent?: boolean };
  /** `folderPath`: '/'-separated Box subfolders below `folderId`, created when missing. */
  destination: { folderId: string; fileName?: string; fileId?: string; folderPath?: string };
  /** What to do when the name is taken in the folder. Default `version`. */
  onConflict?: OnConflict;
  options?: {
    /** Most part uploads in flight in total (Map iterations x parts in flight each). Default 8. */
    concurrency?: number;
    /** Parts per UploadBatch invocation. Default: chosen so a 10,000-part file stays inside the history budget. */
    partsPerBatch?: number;
  };
  /** Continue the Box upload session of a failed transfer (the failure document's `resumeInput` carries it). */
  resume?: ResumeRef;
  /** Set by a parent execution that started this one (the bulk state machine); see src/transfer/stop.ts. */
  AWS_STEP_FUNCTIONS_STARTED_BY_EXECUTION_ID?: string;
}

/** What a resumed transfer continues: the Box session, and what the failed run pinned and resolved. */
export interface ResumeRef {
  sessionId: string;
  /** The S3 version the failed run read. */
  versionId?: string;
  /** The ETag the failed run read: a resumed run refuses an object with another one (Transfer.SourceChanged). */
  etag?: string;
  /** The Box file name the session was created for (after onConflict 'rename'). */
  fileName?: string;
  /** The Box file the session makes a new version of. */
  fileId?: string;
  /**
   * Skip the check that the session lives long enough for the rest at the assumed rate (Transfer.SessionExpiring):
   * the failure document of that refusal sets it, so running its resumeInput tries anyway.
   */
  ignoreExpiry?: boolean;
}

/**
 * How a failed transfer is shown everywhere (the execution's Cause, the CLI's --json, the status API,
 * a bulk report line). `resumeInput` is present when `resumable`: start it to continue the session.
 */
export interface FailureDocument {
  error: { name: string; message: string };
  resumable: boolean;
  resumeInput?: TransferInput & { resume: ResumeRef };
}

/** The S3 object as Prepare pinned it: every later read names this version (or ETag). */
export interface SourceObject {
  bucket: string;
  key: string;
  versionId?: string;
  etag: string;
  size: number;
  /** ISO-8601, from S3 LastModified; sent to Box as `content_modified_at`. */
  lastModified: string;
  /** Base64 full-object SHA-1 that S3 already holds, when it has one (then HashObject skips the read). */
  sha1?: string;
}

/** The Box upload session, as absolute URLs that Box returned (they may point anywhere). */
export interface SessionRef {
  id: string;
  partSize: number;
  totalParts: number;
  endpoints: {
    uploadPart: string;
    commit: string;
    abort: string;
    listParts: string;
    status: string;
  };
}

export type TransferMode = 'direct' | 'chunked';

/** The transfer's context, passed to every Task after Prepare. */
export interface TransferContext {
  source: SourceObject;
  /** Resolved destination: the name is final (S3 key basename unless given). */
  destination: {
    folderId: string;
    fileName: string;
    fileId?: string;
    /** True when the input named the file: only then is a new version also renamed to `fileName`. */
    fileNameGiven?: boolean;
    /** A new version of `fileId`: its current version when Prepare looked, to tell a lost upload or commit that landed. */
    versionSeen?: string;
  };
  onConflict: OnConflict;
  /** The input's source.onlyIfCurrent: Commit and DirectUpload first check S3's current version (./current.ts). */
  onlyIfCurrent?: boolean;
  mode: TransferMode;
  /** Chunked mode only. */
  session?: SessionRef;
  /** Chunked mode: parts per UploadBatch invocation. */
  partsPerBatch: number;
  /** Chunked mode: parts in flight inside one UploadBatch invocation. */
  partsInFlight: number;
  /** Chunked mode: the Map's MaxConcurrency (concurrency = mapConcurrency x partsInFlight). */
  mapConcurrency: number;
  /**
   * A resumed session: base64 bitmap of the parts Box already holds (bit i, byte i >> 3 least significant
   * bit first, is part i), which UploadBatch does not send again. At most 1,668 characters (10,000 parts).
   */
  storedParts?: string;
}

/** Prepare: TransferInput -> PrepareResult (becomes the whole state document). */
export interface PrepareResult {
  mode: TransferMode;
  transfer: TransferContext;
  /** Batch indices 0..n-1, the Map's items; empty in direct mode. */
  batches: number[];
}

/** UploadBatch: one Map item. Batch b covers parts [b*partsPerBatch, min((b+1)*partsPerBatch, totalParts)). */
export interface UploadBatchEvent {
  transfer: TransferContext;
  batch: number;
  /** `$$.State.RetryCount`: above 0 this invocation is a retry, so it lists the session's parts before sending. */
  retryCount?: number;
}
export interface UploadBatchResult {
  batch: number;
  parts: number;
  /** Bytes of the batch's parts now in Box (sent by this invocation or found stored). */
  bytes: number;
  /** Bytes of the parts this invocation's PUTs stored: what it transferred (the BytesTransferred metric). */
  sentBytes: number;
  /** Parts that Box already held with the same SHA-1 (a resumed session, a retried batch). */
  alreadyUploaded: number;
}

/** HashObject loop: each invocation continues from `hash` (absent on the first call). */
export interface HashObjectEvent {
  transfer: TransferContext;
  hash?: HashProgress;
}
export interface HashProgress {
  /** Bytes hashed so far. */
  offset: number;
  done: boolean;
  /**
   * Base64 of hash-wasm's saved SHA-1 state while not done: saved on a 64-byte block boundary with its
   * block buffer cleared, so it holds no bytes of the object.
   */
  state?: string;
  /** Base64 SHA-1 of the whole object, once done. */
  sha1?: string;
  /** Where the digest came from. */
  via: 'computed' | 's3-checksum';
  invocations: number;
  /** The hasher of the last invocation: node:crypto when it could finish the object, else resumable hash-wasm. */
  engine?: 'node:crypto' | 'hash-wasm';
  /** Bytes per second the last invocation read and hashed. */
  bytesPerSecond?: number;
  /** A node:crypto pass fell behind its deadline: hash the rest with the resumable state. */
  wasmOnly?: boolean;
}

/** Commit loop: each invocation tries once; `commit` carries what earlier tries saw (attempts 0: none yet). */
export interface CommitEvent {
  transfer: TransferContext;
  /** Base64 SHA-1 of the whole object. */
  sha1: string;
  commit?: CommitProgress;
  /** `$$.State.RetryCount`: above 0 the last try failed, perhaps after Box took the commit, so Commit looks first. */
  retryCount?: number;
}
export type CommitWaitReason = 'box-processing' | 'parts-mismatch' | 'throttled';

export interface CommitProgress {
  status: 'committed' | 'processing';
  /** Seconds the Wait state waits before the next try (Box's Retry-After). */
  retryAfterSeconds: number;
  attempts: number;
  /** Total seconds waited so far; past the limit the Commit fails with Transfer.CommitGaveUp. */
  waitedSeconds: number;
  /** Transient Box parts_mismatch answers in a row; past the limit the Box error is passed on. */
  partsMismatches?: number;
  /** A try's answer was lost: the next one looks whether that commit landed before committing again. */
  answerLost?: boolean;
  /**
   * Why a processing answer waits: Box answered 202 (`box-processing`), a transient parts_mismatch, or the
   * try was throttled (a 429, S3 SlowDown) before Box took anything. Absent in progress from older versions.
   */
  waitReason?: CommitWaitReason;
  /** The last try was refused (a 429, S3 throttling) before Box accepted the commit: the next one checks the source again. */
  checkSourceAgain?: boolean;
  /** Committed by an earlier try whose answer was lost (found in Box). */
  landedEarlier?: boolean;
  output?: TransferOutput;
}

/** AbortSession: best effort; never replaces the original error. */
export interface AbortSessionEvent {
  transfer?: TransferContext;
  error: { Error: string; Cause: string };
}
export interface AbortSessionResult {
  aborted: boolean;
  reason?: string;
}

/** The output of a successful execution. */
export interface TransferOutput {
  file: {
    id: string;
    name: string;
    size: number;
    /** Hex SHA-1, as Box reports it. */
    sha1: string;
    parentId: string;
    versionId: string;
  };
  bytes: number;
  parts: number;
  mode: TransferMode;
}

/** The part of AWS Lambda's Context the handlers use; the local runner passes one like it. */
export interface LambdaContextLike {
  getRemainingTimeInMillis(): number;
  awsRequestId: string;
  functionName?: string;
}
