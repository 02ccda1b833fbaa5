// HTTP transport for Box: one keep-alive undici Agent (pooled per origin, with connect / headers / body
// timeouts), bearer auth with one shared renewal on 401, retries of 429, 5xx and network errors, and the
// mapping of error answers to the classes in errors.ts.
//
// Why a small retry loop of our own rather than undici's RetryAgent/RetryHandler: the retry decision
// here needs things RetryHandler does not give: a 401 must renew the token (shared with every other
// request) and resend with a new Authorization header without counting as a retry; Retry-After on a
// 202 is a business answer (commit still processing), not a retry; each attempt is logged; bodies that
// cannot be resent (a stream) must never be retried; and a body read that breaks after the headers
// (connection reset mid-response) must be retried like any network error.
import { Readable } from 'node:stream';
import { Agent, request as undiciRequest } from './undici.ts';
import type { Dispatcher } from 'undici';
import type { BoxAuth, TokenEndpoint } from './auth.ts';
import { currentRequestBudget, outsideRequestBudget } from './budget.ts';
import {
  BoxAbortedError,
  BoxAuthError,
  BoxError,
  BoxNetworkError,
  BoxUnreadableAnswerError,
  BoxUntrustedUrlError,
  boxErrorClassFor,
} from './errors.ts';
import type { AccessToken, BoxClientErrorBody, OAuth2ErrorBody } from './types.ts';

export interface RetryOptions {
  /** Total attempts including the first (default 5). */
  maxAttempts?: number;
  /** First backoff ceiling (default 500 ms); doubles each attempt, full jitter. */
  baseDelayMs?: number;
  /** Backoff ceiling (default 30 s). */
  maxDelayMs?: number;
  /** A Retry-After longer than this is not waited for: the error is thrown with retryAfterSeconds (default 120 s). */
  maxRetryAfterMs?: number;
}

export interface TimeoutOptions {
  /** TCP/TLS connect (default 10 s). */
  connectMs?: number;
  /** Until the response headers arrive (default 120 s: a commit of a big file can take a while). */
  headersMs?: number;
  /** Between two body chunks (default 120 s). */
  bodyMs?: number;
}

/** The warning logged before each retry of a request (what a retry counter listens for). */
export const BOX_RETRY_MESSAGE = 'box request retry';

/** Where retries and renewals are reported. Messages never hold a token or a secret. */
export interface BoxLogger {
  debug?(message: string, data?: Record<string, unknown>): void;
  warn?(message: string, data?: Record<string, unknown>): void;
}

export interface HttpOptions {
  auth: BoxAuth;
  tokenUrl: string;
  retry?: RetryOptions;
  timeouts?: TimeoutOptions;
  /** Keep-alive connections per origin (default 32). */
  connections?: number;
  userAgent?: string;
  logger?: BoxLogger;
  /** Use this dispatcher instead of the client's own Agent (it is then not closed by close()). */
  dispatcher?: Dispatcher;
  /**
   * The configured endpoints (API, upload): credentials may go to their scheme and host on any port,
   * besides https Box hosts. The token URL is always one of them.
   */
  trustedUrls?: readonly string[];
}

export type HttpBody = Uint8Array | string | Readable;

export interface HttpRequest {
  method: 'GET' | 'POST' | 'PUT' | 'DELETE' | 'OPTIONS';
  url: string;
  headers?: Record<string, string> | undefined;
  /** Uint8Array and string bodies are resent on retry; a Readable is sent once and never retried. */
  body?: HttpBody | undefined;
  /** Send `Authorization: Bearer` (default true). */
  authenticated?: boolean;
  /** The body carries credentials (the token endpoint's form): the URL is checked as for `authenticated`. */
  sendsCredentials?: boolean;
  signal?: AbortSignal | undefined;
  /** How to read a successful (< 400) answer: parsed JSON (undefined when empty), nothing, or the raw stream. */
  responseType: 'json' | 'none' | 'stream';
  /** Successful statuses whose body is read and dropped, never parsed (a commit's 202: its body is not documented). */
  ignoreBodyOf?: readonly number[];
  /**
   * Resend after a 5xx or a network error (default true). False for a request that may have taken effect
   * although its answer was lost (a direct upload): the caller then finds out what landed before sending
   * it again. 429 is always retried (Box did not process the request).
   */
  retryAfterServerError?: boolean;
  /** Builds the error for an answer >= 400 (default: Box's ClientError mapping). */
  toError?: (status: number, body: string, headers: Record<string, string>, request: string) => BoxError;
  /** Called with each failure that is about to be retried (a caller that must know whether an earlier try may have landed). */
  onRetry?: (failure: BoxError) => void;
}

export interface HttpResponse {
  status: number;
  /** Lower-case names, repeated values joined with ', '. */
  headers: Record<string, string>;
  json?: unknown;
  /** With responseType 'stream' and a 2xx answer other than 202/204: the body, not yet read. */
  stream?: Readable;
}

const DEFAULTS = {
  maxAttempts: 5,
  baseDelayMs: 500,
  maxDelayMs: 30_000,
  maxRetryAfterMs: 120_000,
  connectMs: 10_000,
  headersMs: 120_000,
  bodyMs: 120_000,
  connections: 32,
};

/** `METHOD /path` without host or query string (a download URL can carry a token in its query). */
export function describeRequest(method: string, url: string): string {
  try {
    return `${method} ${new URL(url).pathname}`;
  } catch {
    return method;
  }
}

/** box.com and the hosts under it (api., upload., and any upload host Box may answer with). */
function isBoxHost(hostname: string): boolean {
  const host = hostname.toLowerCase().replace(/\.$/, '');
  return host === 'box.com' || host.endsWith('.box.com');
}

/**
 * Whether Box credentials (the bearer token, or the client secret at the token endpoint) may be sent to
 * `url`: https on box.com or under .box.com, or the scheme and host of a configured endpoint (an emulator
 * serves session endpoints on other ports of its host). Never a URL with user info in it.
 */
export function mayReceiveCredentials(url: string, trustedUrls: readonly string[]): boolean {
  let target: URL;
  try {
    target = new URL(url);
  } catch {
    return false;
  }
  if (target.username !== '' || target.password !== '') return false;
  if (target.protocol === 'https:' && isBoxHost(target.hostname)) return true;
  return trustedUrls.some((trusted) => {
    try {
      const t = new URL(trusted);
      return t.protocol === target.protocol && t.hostname.toLowerCase() === target.hostname.toLowerCase();
    } catch {
      return false;
    }
  });
}

/** `scheme://host:port` of a URL for a message (never its path or query), or a placeholder. */
function originOf(url: string): string {
  try {
    return new URL(url).origin;
  } catch {
    return 'an unparsable URL';
  }
}

const WEEKDAYS = ['Sun', 'Mon', 'Tue', 'Wed', 'Thu', 'Fri', 'Sat'];
const MONTHS = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];
const IMF_FIXDATE = /^([A-Z][a-z]{2}), (\d{2}) ([A-Z][a-z]{2}) (\d{4}) (\d{2}):(\d{2}):(\d{2}) GMT$/;

/** Milliseconds of an IMF-fixdate ("Wed, 21 Oct 2015 07:28:00 GMT"), or undefined when it is not a real one. */
function parseImfFixdate(text: string): number | undefined {
  const m = IMF_FIXDATE.exec(text);
  if (!m) return undefined;
  const [, weekday, day, month = '', year, hour, minute, second] = m;
  const monthIndex = MONTHS.indexOf(month);
  if (monthIndex < 0 || Number(hour) > 23 || Number(minute) > 59 || Number(second) > 60) return undefined;
  const date = new Date(0);
  date.setUTCFullYear(Number(year), monthIndex, Number(day)); // not Date.UTC, which maps years 0..99 to 19xx
  date.setUTCHours(Number(hour), Number(minute), Math.min(Number(second), 59)); // a leap second counts as :59
  // 31 Feb rolls over into March: a date that does not round-trip (or names the wrong weekday) is not real.
  if (date.getUTCDate() !== Number(day) || date.getUTCMonth() !== monthIndex || WEEKDAYS[date.getUTCDay()] !== weekday) return undefined;
  return date.getTime();
}

/**
 * Seconds from a Retry-After value: delta-seconds (digits only) or an IMF-fixdate HTTP-date (a date in
 * the past gives 0). Anything else ("-1", "5, 5", "0.5", an ISO date) is undefined, so that the caller's
 * normal backoff applies rather than an immediate retry.
 */
export function parseRetryAfter(value: string | undefined, now: number = Date.now()): number | undefined {
  if (value === undefined) return undefined;
  const text = value.trim();
  if (/^\d+$/.test(text)) return Number(text);
  const date = parseImfFixdate(text);
  if (date === undefined) return undefined;
  return Math.max(0, (date - now) / 1000);
}

/** A header value by name in any case. */
function headerValue(headers: Record<string, string | string[] | undefined>, name: string): string | undefined {
  const wanted = name.toLowerCase();
  for (const [key, value] of Object.entries(headers)) {
    if (key.toLowerCase() === wanted && value !== undefined) return Array.isArray(value) ? value.join(', ') : value;
  }
  return undefined;
}

function normaliseHeaders(headers: Record<string, string | string[] | undefined>): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [key, value] of Object.entries(headers)) {
    if (value !== undefined) out[key.toLowerCase()] = Array.isArray(value) ? value.join(', ') : value;
  }
  return out;
}

function isRetryableStatus(status: number): boolean {
  return status === 408 || status === 429 || (status >= 500 && status !== 501 && status !== 505);
}

function parseJsonObject(text: string): Record<string, unknown> | undefined {
  if (text.trim() === '') return undefined;
  try {
    const value: unknown = JSON.parse(text);
    return typeof value === 'object' && value !== null && !Array.isArray(value) ? (value as Record<string, unknown>) : undefined;
  } catch {
    return undefined;
  }
}

/** Maps a Box error answer (ClientError JSON) to its class. */
export function boxErrorFromResponse(status: number, bodyText: string, headers: Record<string, string>, request: string): BoxError {
  const body = (parseJsonObject(bodyText) ?? {}) as BoxClientErrorBody;
  const code = typeof body.code === 'string' ? body.code : undefined;
  const requestId = typeof body.request_id === 'string' ? body.request_id : headerValue(headers, 'box-request-id');
  const contextInfo = body.context_info && typeof body.context_info === 'object' ? body.context_info : undefined;
  const retryAfterSeconds = parseRetryAfter(headerValue(headers, 'retry-after'));
  const boxMessage = typeof body.message === 'string' ? body.message : bodyText.trim() === '' ? 'no body' : 'non-JSON body';
  const ErrorClass = boxErrorClassFor(status, code);
  return new ErrorClass(`${request} answered ${status}${code ? ` ${code}` : ''}: ${boxMessage}`, {
    status,
    code,
    requestId,
    contextInfo,
    retryAfterSeconds,
    request,
  });
}

/** Maps a token endpoint refusal (OAuth2Error JSON) to Box.AuthFailed; 429/5xx keep their usual class. */
function authErrorFromResponse(status: number, bodyText: string, headers: Record<string, string>, request: string): BoxError {
  if (isRetryableStatus(status)) return boxErrorFromResponse(status, bodyText, headers, request);
  const body = (parseJsonObject(bodyText) ?? {}) as OAuth2ErrorBody;
  const error = typeof body.error === 'string' ? body.error : undefined;
  const description = typeof body.error_description === 'string' ? body.error_description : undefined;
  return new BoxAuthError(`token request answered ${status}${error ? ` ${error}` : ''}: ${description ?? 'no description'}`, {
    status,
    code: error,
    request,
  });
}

/** Resolves after `ms`, or rejects with Box.Aborted when the signal fires first. */
export function abortableSleep(ms: number, signal?: AbortSignal): Promise<void> {
  if (signal?.aborted) return Promise.reject(abortedError(signal));
  return new Promise((resolve, reject) => {
    const onAbort = (): void => {
      clearTimeout(timer);
      reject(abortedError(signal));
    };
    const timer = setTimeout(() => {
      signal?.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}

export function abortedError(signal: AbortSignal | undefined, request?: string): BoxAbortedError {
  const reason: unknown = signal?.reason;
  if (reason instanceof BoxAbortedError) return reason;
  return new BoxAbortedError(`${request ? `${request}: ` : ''}aborted by the caller`, { status: 0, request, cause: reason });
}

/** Waits for a promise, but rejects with Box.Aborted as soon as the signal fires. */
export function raceAbort<T>(promise: Promise<T>, signal: AbortSignal | undefined): Promise<T> {
  if (!signal) return promise;
  if (signal.aborted) return Promise.reject(abortedError(signal));
  return new Promise<T>((resolve, reject) => {
    const onAbort = (): void => reject(abortedError(signal));
    signal.addEventListener('abort', onAbort, { once: true });
    promise.then(
      (value) => {
        signal.removeEventListener('abort', onAbort);
        resolve(value);
      },
      (error: unknown) => {
        signal.removeEventListener('abort', onAbort);
        reject(error);
      },
    );
  });
}

function networkErrorDescription(error: unknown): string {
  if (error instanceof Error) {
    const code = (error as { code?: unknown }).code;
    return `${typeof code === 'string' ? `${code} ` : ''}${error.message}`;
  }
  return String(error);
}

export class BoxHttp {
  readonly #auth: BoxAuth;
  readonly #dispatcher: Dispatcher;
  readonly #ownsDispatcher: boolean;
  #destroyed = false;
  readonly #retry: Required<RetryOptions>;
  readonly #userAgent: string;
  readonly #logger: BoxLogger | undefined;
  readonly #tokenEndpoint: TokenEndpoint;
  readonly #trustedUrls: readonly string[];

  constructor(options: HttpOptions) {
    this.#auth = options.auth;
    this.#trustedUrls = [options.tokenUrl, ...(options.trustedUrls ?? [])];
    this.#retry = {
      maxAttempts: Math.max(1, options.retry?.maxAttempts ?? DEFAULTS.maxAttempts),
      baseDelayMs: options.retry?.baseDelayMs ?? DEFAULTS.baseDelayMs,
      maxDelayMs: options.retry?.maxDelayMs ?? DEFAULTS.maxDelayMs,
      maxRetryAfterMs: options.retry?.maxRetryAfterMs ?? DEFAULTS.maxRetryAfterMs,
    };
    this.#userAgent = options.userAgent ?? 's3-to-box/0.1 (undici)';
    this.#logger = options.logger;
    if (options.dispatcher) {
      this.#dispatcher = options.dispatcher;
      this.#ownsDispatcher = false;
    } else {
      this.#dispatcher = new Agent({
        connections: options.connections ?? DEFAULTS.connections,
        keepAliveTimeout: 30_000,
        connectTimeout: options.timeouts?.connectMs ?? DEFAULTS.connectMs,
        headersTimeout: options.timeouts?.headersMs ?? DEFAULTS.headersMs,
        bodyTimeout: options.timeouts?.bodyMs ?? DEFAULTS.bodyMs,
      });
      this.#ownsDispatcher = true;
    }
    const tokenUrl = options.tokenUrl;
    this.#tokenEndpoint = {
      tokenUrl,
      requestToken: async (form) => {
        // Shared by every waiter: never bound to the budget of the invocation that happened to start it.
        const response = await outsideRequestBudget(() => this.send({
          method: 'POST',
          url: tokenUrl,
          headers: { 'content-type': 'application/x-www-form-urlencoded' },
          body: new URLSearchParams(form).toString(),
          authenticated: false,
          sendsCredentials: true,
          responseType: 'json',
          toError: authErrorFromResponse,
        }));
        const token = response.json as AccessToken | undefined;
        if (!token || typeof token.access_token !== 'string' || token.access_token === '') {
          throw new BoxAuthError('token endpoint answered without an access_token', { status: response.status, request: describeRequest('POST', tokenUrl) });
        }
        return token;
      },
    };
  }

  async close(): Promise<void> {
    if (this.#ownsDispatcher && !this.#destroyed) await this.#dispatcher.close();
  }

  /** Ends every connection at once: requests in flight fail (close() would wait for their answers). */
  async destroy(): Promise<void> {
    if (!this.#ownsDispatcher || this.#destroyed) return;
    this.#destroyed = true;
    await this.#dispatcher.destroy();
  }

  /** Full jitter: a random delay in [0, min(maxDelay, base * 2^(retry-1))]. */
  #backoffMs(retryNumber: number): number {
    const ceiling = Math.min(this.#retry.maxDelayMs, this.#retry.baseDelayMs * 2 ** (retryNumber - 1));
    return Math.random() * ceiling;
  }

  /**
   * Sends one logical request, retrying transient failures. Answers < 400 are returned (including 202
   * and redirects); answers >= 400 are thrown as BoxError subclasses.
   */
  async send(req: HttpRequest): Promise<HttpResponse> {
    const description = describeRequest(req.method, req.url);
    const resendable = !(req.body instanceof Readable);
    const authenticated = req.authenticated ?? true;
    // Before the token is fetched or a connection opened: a URL from an event or a Box answer that
    // is not Box's never sees a credential.
    if ((authenticated || req.sendsCredentials === true) && !mayReceiveCredentials(req.url, this.#trustedUrls)) {
      throw new BoxUntrustedUrlError(
        `${description}: refused to send Box credentials to ${originOf(req.url)}, which is neither https on box.com (or a host under .box.com) nor the configured API or upload host`,
        { status: 0, request: description },
      );
    }
    // The invocation's budget (./budget.ts), when the caller runs inside one: it cancels this request too.
    const budget = currentRequestBudget();
    const signal = budget === undefined ? req.signal : req.signal === undefined ? budget.signal : AbortSignal.any([req.signal, budget.signal]);
    let renewedAfter401 = false;
    let attempt = 0;
    for (;;) {
      attempt++;
      if (signal?.aborted) throw abortedError(signal, description);
      const headers: Record<string, string> = { 'user-agent': this.#userAgent, ...req.headers };
      let token: string | undefined;
      if (authenticated) {
        token = await raceAbort(this.#auth.getAccessToken(this.#tokenEndpoint), signal);
        headers.authorization = `Bearer ${token}`;
      }

      let failure: BoxError;
      try {
        const res = await undiciRequest(req.url, {
          method: req.method,
          headers,
          body: req.body ?? null,
          signal: signal ?? null,
          dispatcher: this.#dispatcher,
        });
        const status = res.statusCode;
        const resHeaders = normaliseHeaders(res.headers);
        if (status < 400) {
          if (req.responseType === 'stream' && status >= 200 && status < 300 && status !== 202 && status !== 204) return { status, headers: resHeaders, stream: res.body };
          const text = await res.body.text();
          if (req.responseType !== 'json' || text.trim() === '' || req.ignoreBodyOf?.includes(status) === true) return { status, headers: resHeaders };
          try {
            return { status, headers: resHeaders, json: JSON.parse(text) as unknown };
          } catch (cause) {
            // Not resent: what was asked may have been done; the caller looks at Box before trying again.
            throw new BoxUnreadableAnswerError(`${description} answered ${status} with a body that is not JSON`, { status, request: description, cause });
          }
        }
        const text = await res.body.text();
        if (status === 401 && authenticated && token !== undefined && !renewedAfter401) {
          renewedAfter401 = true;
          // Renewed even when this request cannot be resent (a stream body), so that the next call works.
          const renewed = await raceAbort(this.#auth.renewAfterUnauthorized(this.#tokenEndpoint, token), signal);
          if (renewed !== undefined) this.#logger?.debug?.('box token renewed after 401', { request: description });
          if (renewed !== undefined && resendable) {
            attempt--; // a renewal is not a retry
            continue;
          }
        }
        failure = (req.toError ?? boxErrorFromResponse)(status, text, resHeaders, description);
        if (!isRetryableStatus(status)) throw failure;
      } catch (error) {
        if (error instanceof BoxError && !(error instanceof BoxNetworkError)) throw error;
        if (signal?.aborted) throw abortedError(signal, description);
        failure = new BoxNetworkError(`${description}: ${networkErrorDescription(error)}`, { status: 0, request: description, cause: error });
      }

      // A retryable failure (429, 5xx, network).
      if (!resendable || attempt >= this.#retry.maxAttempts) throw failure;
      if (req.retryAfterServerError === false && failure.status !== 429) throw failure;
      let delayMs = this.#backoffMs(attempt);
      if (failure.retryAfterSeconds !== undefined) {
        const retryAfterMs = failure.retryAfterSeconds * 1000;
        if (retryAfterMs > this.#retry.maxRetryAfterMs) throw failure;
        delayMs = retryAfterMs;
      }
      if (budget !== undefined && delayMs >= budget.remainingMs()) {
        // The wait would outlast the invocation: the caller's own retry (the state machine's) takes over.
        this.#logger?.warn?.('box request not retried: the wait would outlast the invocation', {
          request: description,
          attempt,
          status: failure.status,
          error: failure.name,
          delayMs: Math.round(delayMs),
          remainingMs: Math.round(budget.remainingMs()),
        });
        throw failure;
      }
      req.onRetry?.(failure);
      this.#logger?.warn?.(BOX_RETRY_MESSAGE, {
        request: description,
        attempt,
        status: failure.status,
        code: failure.code,
        error: failure.name,
        delayMs: Math.round(delayMs),
      });
      await abortableSleep(delayMs, signal);
    }
  }
}
