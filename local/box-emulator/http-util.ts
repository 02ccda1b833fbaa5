// Small HTTP helpers: request bodies (throttled), JSON and form bodies, and the reply shape handlers return.
import type { IncomingMessage } from 'node:http';
import type { Readable } from 'node:stream';
import { BoxApiError, badRequest } from './errors.ts';
import type { LinkShaper } from './shaping.ts';

/** What a handler answers; the server writes it (and may replace it when a fault says so). */
export interface Reply {
  status: number;
  headers?: Record<string, string>;
  /** JSON body (sent with `Content-Type: application/json`). */
  json?: unknown;
  /** A text body, sent with `headers['content-type']` (default `text/plain`). */
  text?: string;
  /** Raw body stream (downloads); `length` sets Content-Length. */
  stream?: () => Readable;
  length?: number;
}

export const jsonReply = (status: number, json: unknown, headers?: Record<string, string>): Reply =>
  headers === undefined ? { status, json } : { status, json, headers };

/**
 * The request body, chunk by chunk, throttled by the connection's bandwidth cap. Unlike iterating
 * the request itself, stopping early does not destroy the socket: the server can still answer
 * (and then drains what is left).
 */
export async function* bodyChunks(req: IncomingMessage, shaper: LinkShaper): AsyncGenerator<Buffer> {
  for (;;) {
    const chunk = req.read() as Buffer | null;
    if (chunk !== null) {
      if (shaper.enabled) await shaper.pass(req.socket, chunk.length);
      yield chunk;
      continue;
    }
    if (req.readableEnded) return;
    if (req.destroyed) {
      // Closed before we listened: no event will come.
      if (req.complete) return;
      throw new RequestAbortedError();
    }
    const signal = shaper.signal;
    if (signal.aborted) throw new RequestAbortedError();
    await new Promise<void>((resolve, reject) => {
      const done = (err?: Error): void => {
        req.off('readable', onReadable);
        req.off('end', onEnd);
        req.off('error', onError);
        req.off('close', onClose);
        signal.removeEventListener('abort', onAbort);
        if (err === undefined) resolve();
        else reject(err);
      };
      const onReadable = (): void => done();
      const onEnd = (): void => done();
      const onError = (err: Error): void => done(err);
      const onClose = (): void => done(req.complete ? undefined : new RequestAbortedError());
      const onAbort = (): void => done(new RequestAbortedError());
      req.on('readable', onReadable);
      req.on('end', onEnd);
      req.on('error', onError);
      req.on('close', onClose);
      signal.addEventListener('abort', onAbort, { once: true });
    });
  }
}

/** The client went away before the body was complete. */
export class RequestAbortedError extends Error {
  override name = 'BoxEmulator.RequestAborted';
  constructor() {
    super('request aborted by the client');
  }
}

/** Reads a small body fully (JSON, forms), refusing more than `limit` bytes. */
export async function readSmallBody(req: IncomingMessage, shaper: LinkShaper, limit = 16 * 1024 * 1024): Promise<Buffer> {
  const chunks: Buffer[] = [];
  let total = 0;
  for await (const chunk of bodyChunks(req, shaper)) {
    total += chunk.length;
    if (total > limit) throw new BoxApiError(413, 'request_entity_too_large', 'Request body is too large');
    chunks.push(chunk);
  }
  return Buffer.concat(chunks);
}

export async function readJsonObject(req: IncomingMessage, shaper: LinkShaper): Promise<Record<string, unknown>> {
  const raw = (await readSmallBody(req, shaper)).toString('utf8');
  if (raw.trim() === '') return {};
  let parsed: unknown;
  try {
    parsed = JSON.parse(raw);
  } catch {
    throw badRequest('Could not parse JSON body');
  }
  if (parsed === null || typeof parsed !== 'object' || Array.isArray(parsed)) throw badRequest('Expected a JSON object');
  return parsed as Record<string, unknown>;
}

export function header(req: IncomingMessage, name: string): string | undefined {
  const v = req.headers[name.toLowerCase()];
  return Array.isArray(v) ? v[0] : v;
}

/** Box timestamps: second precision with an explicit offset, e.g. 2012-12-12T10:53:43+00:00. */
export function boxTime(ms: number): string {
  return new Date(ms).toISOString().slice(0, 19) + '+00:00';
}
