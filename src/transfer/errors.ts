// Transfer errors. Each class sets a stable `name`: Step Functions `Retry`/`Catch` `ErrorEquals`
// match that string, so never rename one. Messages name objects and fields, never credentials.

export class TransferError extends Error {
  override name = 'Transfer.Error';
}

/** The execution input does not match the input schema (the message names the field). */
export class InvalidInputError extends TransferError {
  override name = 'Transfer.InvalidInput';
}
/** The S3 bucket, object or pinned version does not exist (NoSuchKey, NoSuchBucket, 404). */
export class SourceNotFoundError extends TransferError {
  override name = 'Transfer.SourceNotFound';
}
/** S3 refused the read (AccessDenied, 403). */
export class SourceAccessDeniedError extends TransferError {
  override name = 'Transfer.SourceAccessDenied';
}
/** The object is no longer the one Prepare pinned (ETag, version or size changed; 412 on If-Match). */
export class SourceChangedError extends TransferError {
  override name = 'Transfer.SourceChanged';
}
/** S3 throttled or was briefly unavailable (SlowDown, 503, 500, timeouts) after the SDK's retries. Retryable. */
export class S3ThrottledError extends TransferError {
  override name = 'Transfer.S3Throttled';
}
/** The destination name is taken and onConflict is 'fail' (or no policy could apply, e.g. a folder has the name). */
export class NameConflictError extends TransferError {
  override name = 'Transfer.NameConflict';
}
/** Box's parts do not cover [0, size) exactly with the session's part size. */
export class PartsIncompleteError extends TransferError {
  override name = 'Transfer.PartsIncomplete';
}
/** Box kept answering 202 (or a transient parts_mismatch) past the allowed total wait or attempts. */
export class CommitGaveUpError extends TransferError {
  override name = 'Transfer.CommitGaveUp';
}

/** The source bucket or key is outside the deployment's allowed sources (sourceBuckets). */
export class SourceNotAllowedError extends TransferError {
  override name = 'Transfer.SourceNotAllowed';
}
/** The destination folder is not one of the allowed folders (destinationFolders) nor inside one. */
export class DestinationNotAllowedError extends TransferError {
  override name = 'Transfer.DestinationNotAllowed';
}
/** The destination folder (or file, for a new version) does not exist or the Box account cannot see it. */
export class DestinationNotFoundError extends TransferError {
  override name = 'Transfer.DestinationNotFound';
}
/** The object is larger than the deployment's maximum file size (maxFileSize). */
export class SourceTooLargeError extends TransferError {
  override name = 'Transfer.SourceTooLarge';
}

/**
 * An invocation came close to its Lambda timeout and stopped starting new work (requests still in
 * flight were cancelled before the deadline). Retryable: the next try lists what Box holds and skips it.
 */
export class DeadlineError extends TransferError {
  override name = 'Transfer.Deadline';
}

/** A session given to resume expires before the rest of the transfer could finish (input `resume`). */
export class SessionExpiringError extends TransferError {
  override name = 'Transfer.SessionExpiring';
}

/**
 * Box holds an open upload session for the same folder, name and size that this transfer did not create
 * (409 session_conflict): another transfer of a same-size file to that name is under way. Retryable: once
 * that one has committed, the name is taken and this transfer follows its onConflict policy (a new
 * version, by default). Sharing the session would mix the two uploads' parts.
 */
export class SessionInUseError extends TransferError {
  override name = 'Transfer.SessionInUse';
}

/**
 * Box holds an open upload session for the same folder, name and size that this transfer did not create,
 * and its stored parts did not change while Prepare watched it (settings.sessionProgressWindowMs): most
 * likely kept by an earlier transfer that failed resumably. Not retried (waiting would not end it before
 * Box expires it) and not terminal (no session of ours exists; that session is left as it is): the
 * message names the session and the ways out (resume it, or abort it and run again).
 */
export class SessionAbandonedError extends TransferError {
  override name = 'Transfer.SessionAbandoned';
}

/** The Lambda's configuration is unusable (missing or malformed Box credentials, bad environment). */
export class ConfigurationError extends TransferError {
  override name = 'Transfer.ConfigurationError';
}
/**
 * source.onlyIfCurrent: the key has a newer version in S3 than the one this transfer copies; that newer
 * write's own transfer brings it to Box, so this one stops (its session is aborted). Not resumable.
 */
export class SupersededError extends TransferError {
  override name = 'Transfer.Superseded';
}

