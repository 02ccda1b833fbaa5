// Box errors. Each class sets a stable `name`: that string is what Step Functions
// `Retry`/`Catch` `ErrorEquals` match (in AWS and in the local runner), so never rename one.

/** What Box said, as far as we know it. Never holds a token or a secret. */
export interface BoxErrorDetails {
  /** HTTP status, or 0 when no response arrived (network error, timeout). */
  status: number;
  /** Box's error `code` (e.g. `item_name_in_use`), when the body had one. */
  code?: string | undefined;
  /** Box's `request_id`, when the body had one. */
  requestId?: string | undefined;
  /** Box's free-form `context_info` (e.g. `conflicts`, `conflicting_part`, `session`). */
  contextInfo?: Record<string, unknown> | undefined;
  /** Seconds from `Retry-After`, when the response had it. */
  retryAfterSeconds?: number | undefined;
  /** `METHOD path` of the request (no query string, no host credentials). */
  request?: string | undefined;
  cause?: unknown;
}

export class BoxError extends Error {
  override name = 'Box.Error';
  readonly status: number;
  readonly code: string | undefined;
  readonly requestId: string | undefined;
  readonly contextInfo: Record<string, unknown> | undefined;
  readonly retryAfterSeconds: number | undefined;
  readonly request: string | undefined;

  constructor(message: string, details: BoxErrorDetails) {
    super(message, details.cause === undefined ? undefined : { cause: details.cause });
    this.status = details.status;
    this.code = details.code;
    this.requestId = details.requestId;
    this.contextInfo = details.contextInfo;
    this.retryAfterSeconds = details.retryAfterSeconds;
    this.request = details.request;
  }

  /** The details of a new error that names this one as its cause (same status, code and request; no Retry-After). */
  wrapDetails(): BoxErrorDetails {
    return { status: this.status, code: this.code, requestId: this.requestId, contextInfo: this.contextInfo, request: this.request, cause: this };
  }

  /** Plain data for logs and Step Functions `Cause`. */
  toJSON(): Record<string, unknown> {
    return {
      name: this.name,
      message: this.message,
      status: this.status,
      code: this.code,
      requestId: this.requestId,
      contextInfo: this.contextInfo,
      retryAfterSeconds: this.retryAfterSeconds,
      request: this.request,
    };
  }
}

/** 400 (other than the specific codes below). Not retryable. */
export class BoxInvalidRequestError extends BoxError {
  override name = 'Box.InvalidRequest';
}
/** 401: the token is bad or expired (after one renewal attempt). */
export class BoxUnauthorizedError extends BoxError {
  override name = 'Box.Unauthorized';
}
/** 403: not allowed, storage or size limits. */
export class BoxForbiddenError extends BoxError {
  override name = 'Box.Forbidden';
}
/** 404: folder, file or session not found. */
export class BoxNotFoundError extends BoxError {
  override name = 'Box.NotFound';
}
/** 409: `item_name_in_use`, `session_conflict`, part conflicts. */
export class BoxConflictError extends BoxError {
  override name = 'Box.Conflict';
}
/** 410: `session_expired` or `upload_failed`. */
export class BoxSessionExpiredError extends BoxError {
  override name = 'Box.SessionExpired';
}
/** 412: `If-Match` failed, or a part digest did not match its body. */
export class BoxPreconditionFailedError extends BoxError {
  override name = 'Box.PreconditionFailed';
}
/** 416: a part range that the session does not accept, or one that overlaps a stored part. */
export class BoxRangeError extends BoxError {
  override name = 'Box.RangeNotSatisfiable';
}
/** 400 `parts_mismatch` at commit: the parts list does not match what Box holds (often transient). */
export class BoxPartsMismatchError extends BoxError {
  override name = 'Box.PartsMismatch';
}
/** 400 `digest_mismatch` at commit: the whole-file SHA-1 is wrong. */
export class BoxDigestMismatchError extends BoxError {
  override name = 'Box.DigestMismatch';
}
/**
 * A part refused for its `Digest` (400 `digest_mismatch` or 412 on a part PUT; Box's status is not
 * documented): that part was not stored, and sending its bytes again fixes it (bytes damaged on the way).
 * Never terminal: the parts Box holds stay committable.
 */
export class BoxPartDigestRejectedError extends BoxError {
  override name = 'Box.PartDigestRejected';
}
/** 429 after the retries ran out. */
export class BoxRateLimitedError extends BoxError {
  override name = 'Box.RateLimited';
}
/** 5xx after the retries ran out. */
export class BoxServerError extends BoxError {
  override name = 'Box.ServerError';
}
/** No response: connection refused or reset, DNS, TLS, or a timeout; after the retries ran out. */
export class BoxNetworkError extends BoxError {
  override name = 'Box.NetworkError';
}
/** A response that breaks Box's contract (a part echoed back with another offset, size or SHA-1, another part stored at its offset). */
export class BoxIntegrityError extends BoxError {
  override name = 'Box.IntegrityError';
}
/**
 * A success answer (2xx) whose body is not what the request answers (not JSON, or without the expected
 * object). What was asked may well have been done (a part stored, a session committed), so it is handled
 * like a lost answer: not sent again by the client, and the caller looks at what Box holds before trying again.
 */
export class BoxUnreadableAnswerError extends BoxError {
  override name = 'Box.UnreadableAnswer';
}
/** The session has more parts than Box's list parts can page through (offset <= 10,000): refused up front. */
export class BoxTooManyPartsError extends BoxError {
  override name = 'Box.TooManyParts';
}
/** The commit kept answering 202 (or a transient `parts_mismatch`) past the allowed wait. */
export class BoxCommitTimeoutError extends BoxError {
  override name = 'Box.CommitTimeout';
}
/** The caller's AbortSignal fired. */
export class BoxAbortedError extends BoxError {
  override name = 'Box.Aborted';
}
/** The token endpoint refused the credentials (OAuth2 `invalid_grant`, `invalid_client`, ...). */
export class BoxAuthError extends BoxError {
  override name = 'Box.AuthFailed';
}

/**
 * A URL (in an event or a Box answer) that may not receive Box credentials: not https on box.com or a host
 * under .box.com, nor the scheme and host of the configured API or upload URL. Refused before any
 * connection is made, so neither the token nor the client secret leaves.
 */
export class BoxUntrustedUrlError extends BoxError {
  override name = 'Box.UntrustedUrl';
}

/** The source stream delivered more or fewer bytes than the declared file size. Not retryable as is. */
export class BoxSourceSizeMismatchError extends BoxError {
  override name = 'Box.SourceSizeMismatch';
}

/** The error class for an HTTP error status and Box error `code`. */
export function boxErrorClassFor(status: number, code: string | undefined): typeof BoxError {
  if (status === 400) {
    if (code === 'parts_mismatch') return BoxPartsMismatchError;
    if (code === 'digest_mismatch') return BoxDigestMismatchError;
    return BoxInvalidRequestError;
  }
  if (status === 401) return BoxUnauthorizedError;
  if (status === 403) return BoxForbiddenError;
  if (status === 404) return BoxNotFoundError;
  if (status === 409) return BoxConflictError;
  if (status === 410) return BoxSessionExpiredError;
  if (status === 412) return BoxPreconditionFailedError;
  if (status === 416) return BoxRangeError;
  if (status === 429) return BoxRateLimitedError;
  if (status >= 500) return BoxServerError;
  // 405, 408, 413, 415, ...: no dedicated class, the status and code still say what happened.
  return BoxError;
}
