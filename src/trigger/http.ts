// The HTTP API's side of the trigger, without middy or Lambda: which requests are ours, and the JSON
// answer (status, `{ error, message }`) for every error a request can meet.
import type { APIGatewayProxyEventV2, APIGatewayProxyStructuredResultV2 } from 'aws-lambda';
import { ConfigurationError, InvalidInputError } from '../transfer/errors.ts';
import { StartFailedError, StartThrottledError, StartUnavailableError } from './start.ts';

/** An error middy's http-error-handler turns into the response (its message is the JSON body). */
export interface HttpError extends Error {
  statusCode: number;
  expose: boolean;
  headers?: Record<string, string>;
}

export function httpError(statusCode: number, error: string, message: string, headers?: Record<string, string>): HttpError {
  return Object.assign(new Error(JSON.stringify({ error, message })), { statusCode, expose: true, ...(headers ? { headers } : {}) });
}

/** The HTTP answer for an error: named errors keep their name; middy's own 415/422 get one. */
export function httpErrorFor(err: unknown, requestId: string): HttpError {
  const e = err as { name?: string; message?: string; statusCode?: number };
  if (err instanceof InvalidInputError) return httpError(400, err.name, err.message);
  if (err instanceof StartThrottledError || err instanceof StartUnavailableError) return httpError(503, err.name, err.message, { 'Retry-After': '1' });
  if (err instanceof StartFailedError) return httpError(502, err.name, err.message);
  if (err instanceof ConfigurationError) return httpError(500, err.name, `The function is misconfigured (request ${requestId}); see its logs`);
  if (e?.statusCode === 415) return httpError(415, 'Http.UnsupportedMediaType', 'Content-Type must be application/json');
  if (e?.statusCode === 422) return httpError(400, 'Transfer.InvalidInput', 'The request body is not valid JSON');
  return httpError(500, 'Internal', `Internal error (request ${requestId}); see the function's logs`);
}

/**
 * Largest request body accepted, in bytes: a transfer input is a few hundred bytes, and Step Functions
 * takes at most 256 KiB of input. Checked here because an HTTP API's own payload quota (10 MB) is fixed.
 */
export const MAX_REQUEST_BODY_BYTES = 256 * 1024;

/** 413 for a body above MAX_REQUEST_BODY_BYTES (measured decoded), before it is parsed. */
export function bodyTooLarge(event: Pick<APIGatewayProxyEventV2, 'body' | 'isBase64Encoded'>): APIGatewayProxyStructuredResultV2 | undefined {
  if (typeof event.body !== 'string') return undefined;
  const bytes = Buffer.byteLength(event.body, event.isBase64Encoded ? 'base64' : 'utf8');
  if (bytes <= MAX_REQUEST_BODY_BYTES) return undefined;
  return jsonResponse(413, {
    error: 'Http.PayloadTooLarge',
    message: `The request body has ${bytes} bytes; at most ${MAX_REQUEST_BODY_BYTES} are accepted: send one transfer input (a few hundred bytes), or a manifest in S3 for many objects`,
  });
}

/** What an unrecognized event is made of, for its log line (its field names, never its values). */
export function topLevelKeys(event: unknown): string[] | string {
  if (typeof event !== 'object' || event === null) return event === null ? 'null' : typeof event;
  return Array.isArray(event) ? 'array' : Object.keys(event).slice(0, 20);
}

export function jsonResponse(statusCode: number, body: unknown): APIGatewayProxyStructuredResultV2 {
  return { statusCode, headers: { 'Content-Type': 'application/json' }, body: JSON.stringify(body) };
}

export function isTransfersRoute(event: APIGatewayProxyEventV2): boolean {
  if (event.requestContext.http.method !== 'POST') return false;
  return event.routeKey === 'POST /transfers' || /\/transfers\/?$/.test(event.rawPath ?? '');
}

/**
 * Where GET /transfers/{name} answers for an execution, on the API the request came through
 * (`https://<domain>[/<stage>]/transfers/<name>`; the default stage has no path segment).
 */
export function statusUrlFor(event: Pick<APIGatewayProxyEventV2, 'requestContext'>, name: string): string {
  const { domainName, stage } = event.requestContext;
  const stagePath = stage === undefined || stage === '' || stage === '$default' ? '' : `/${encodeURIComponent(stage)}`;
  return `https://${domainName}${stagePath}/transfers/${encodeURIComponent(name)}`;
}
