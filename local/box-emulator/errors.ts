// Box's ClientError body and the exception that carries it through the emulator's handlers.
import { randomBytes } from 'node:crypto';

const HELP_URL = 'https://developer.box.com/guides/api-calls/permissions-and-errors/common-errors/';

/** Default `code` for a status, as Box's common-errors guide lists them. */
export function defaultCode(status: number): string {
  switch (status) {
    case 400:
      return 'bad_request';
    case 401:
      return 'unauthorized';
    case 403:
      return 'forbidden';
    case 404:
      return 'not_found';
    case 405:
      return 'method_not_allowed';
    case 409:
      return 'conflict';
    case 410:
      return 'session_expired';
    case 412:
      return 'precondition_failed';
    case 413:
      return 'request_entity_too_large';
    case 416:
      return 'requested_range_not_satisfiable';
    case 429:
      return 'rate_limit_exceeded';
    case 500:
      return 'internal_server_error';
    case 502:
      return 'bad_gateway';
    case 503:
      return 'unavailable';
    case 504:
      return 'gateway_timeout';
    default:
      return status >= 500 ? 'internal_server_error' : 'bad_request';
  }
}

const DEFAULT_MESSAGES: Record<string, string> = {
  bad_request: 'Bad request',
  unauthorized: 'Unauthorized',
  forbidden: 'Forbidden',
  not_found: 'Not Found',
  method_not_allowed: 'Method Not Allowed',
  conflict: 'Conflict',
  session_expired: 'The upload session has expired',
  precondition_failed: 'The resource has been modified. Please retrieve the resource again and retry',
  rate_limit_exceeded: 'Request rate limit exceeded, please try again later',
  internal_server_error: 'Internal Server Error',
  bad_gateway: 'Bad Gateway',
  unavailable: 'Unavailable',
  gateway_timeout: 'Gateway Timeout',
};

/** An error answer in Box's shape; thrown by handlers, written by the server. */
export class BoxApiError extends Error {
  override name = 'BoxEmulator.ApiError';
  readonly status: number;
  readonly code: string;
  readonly contextInfo: Record<string, unknown> | undefined;
  readonly headers: Record<string, string>;

  constructor(
    status: number,
    code?: string,
    message?: string,
    extra: { contextInfo?: Record<string, unknown>; headers?: Record<string, string> } = {},
  ) {
    const c = code ?? defaultCode(status);
    super(message ?? DEFAULT_MESSAGES[c] ?? c);
    this.status = status;
    this.code = c;
    this.contextInfo = extra.contextInfo;
    this.headers = extra.headers ?? {};
  }

  body(requestId: string): Record<string, unknown> {
    return {
      type: 'error',
      status: this.status,
      code: this.code,
      message: this.message,
      ...(this.contextInfo === undefined ? {} : { context_info: this.contextInfo }),
      help_url: HELP_URL,
      request_id: requestId,
    };
  }
}

/** OAuth2 errors use {error, error_description}, not ClientError. */
export class OAuthError extends Error {
  override name = 'BoxEmulator.OAuthError';
  readonly status: number;
  readonly error: string;
  constructor(status: number, error: string, description: string) {
    super(description);
    this.status = status;
    this.error = error;
  }
}

export function newRequestId(): string {
  return randomBytes(8).toString('hex');
}

export const badRequest = (message: string, code = 'bad_request'): BoxApiError => new BoxApiError(400, code, message);
