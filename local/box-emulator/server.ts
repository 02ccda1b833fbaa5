// The HTTP front: routing under /2.0 and /api/2.0, auth, faults, link shaping, counters, the admin
// endpoint, and writing replies (JSON, empty, or throttled byte streams).
import type { IncomingMessage, ServerResponse } from 'node:http';
import { pipeline } from 'node:stream/promises';
import * as chunked from './chunked.ts';
import * as content from './content.ts';
import type { EmulatorEnv, RequestContext } from './context.ts';
import { BoxApiError, OAuthError, defaultCode, newRequestId } from './errors.ts';
import { expiredTokenError } from './auth.ts';
import { isDelay } from './faults.ts';
import type { FaultInjector } from './faults.ts';
import { readJsonObject, RequestAbortedError } from './http-util.ts';
import type { Reply } from './http-util.ts';
import { held, sleep } from './shaping.ts';
import type { BoxStats, FaultRule, Operation } from './types.ts';
import { OPERATIONS, UPLOAD_OPERATIONS } from './types.ts';

type Handler = (ctx: RequestContext) => Promise<Reply>;

interface Route {
  pattern: RegExp;
  methods: Partial<Record<string, { operation: Operation; handler: Handler }>>;
}

const ID = '([^/]+)';
const ROUTES: Route[] = [
  { pattern: /^\/oauth2\/token$/, methods: { POST: { operation: 'token', handler: content.token } } },
  { pattern: /^\/2\.0\/files\/upload_sessions$/, methods: { POST: { operation: 'createSession', handler: chunked.createSession } } },
  {
    pattern: new RegExp(`^/2\\.0/files/upload_sessions/${ID}$`),
    methods: {
      GET: { operation: 'getSession', handler: chunked.getSession },
      PUT: { operation: 'uploadPart', handler: chunked.uploadPart },
      DELETE: { operation: 'abortSession', handler: chunked.abortSession },
    },
  },
  { pattern: new RegExp(`^/2\\.0/files/upload_sessions/${ID}/parts$`), methods: { GET: { operation: 'listParts', handler: chunked.listParts } } },
  { pattern: new RegExp(`^/2\\.0/files/upload_sessions/${ID}/commit$`), methods: { POST: { operation: 'commit', handler: chunked.commit } } },
  { pattern: new RegExp(`^/2\\.0/files/upload_sessions/${ID}/log$`), methods: { POST: { operation: 'logEvent', handler: chunked.logEvent } } },
  {
    pattern: /^\/2\.0\/files\/content$/,
    methods: { POST: { operation: 'uploadFile', handler: content.uploadFile }, OPTIONS: { operation: 'preflightCheck', handler: content.preflightCheck } },
  },
  { pattern: new RegExp(`^/2\\.0/files/${ID}/upload_sessions$`), methods: { POST: { operation: 'createVersionSession', handler: chunked.createVersionSession } } },
  {
    pattern: new RegExp(`^/2\\.0/files/${ID}/content$`),
    methods: {
      POST: { operation: 'uploadFileVersion', handler: content.uploadFileVersion },
      GET: { operation: 'downloadFile', handler: content.downloadFile },
    },
  },
  { pattern: new RegExp(`^/2\\.0/files/${ID}$`), methods: { GET: { operation: 'getFile', handler: content.getFile } } },
  {
    pattern: new RegExp(`^/2\\.0/files/${ID}/metadata/global/properties$`),
    methods: {
      GET: { operation: 'getMetadata', handler: content.getMetadata },
      POST: { operation: 'createMetadata', handler: content.createMetadata },
      PUT: { operation: 'updateMetadata', handler: content.updateMetadata },
    },
  },
  { pattern: new RegExp(`^/2\\.0/folders/${ID}/items$`), methods: { GET: { operation: 'listFolderItems', handler: content.listFolderItems } } },
  { pattern: /^\/2\.0\/folders$/, methods: { POST: { operation: 'createFolder', handler: content.createFolder } } },
  { pattern: new RegExp(`^/2\\.0/folders/${ID}$`), methods: { GET: { operation: 'getFolder', handler: content.getFolder } } },
];

function route(method: string, pathname: string): { operation: Operation; handler: Handler; params: string[] } {
  // The upload host's paths carry an /api prefix; serve both forms everywhere.
  const p = pathname.startsWith('/api/') ? pathname.slice(4) : pathname;
  for (const r of ROUTES) {
    const m = r.pattern.exec(p);
    if (m === null) continue;
    const target = r.methods[method];
    if (target === undefined) {
      throw new BoxApiError(405, 'method_not_allowed', `Method ${method} is not allowed on ${pathname}`, {
        headers: { allow: Object.keys(r.methods).join(', ') },
      });
    }
    return { ...target, params: m.slice(1) };
  }
  throw new BoxApiError(404, 'not_found', `Could not find the specified resource: ${method} ${pathname}`);
}

export class Counters {
  requests = zeroCounts();
  partsInFlight = 0;
  maxPartsInFlight = 0;
  uploadsInFlight = 0;
  maxUploadsInFlight = 0;

  snapshot(): BoxStats {
    return {
      requests: { ...this.requests },
      maxPartsInFlight: this.maxPartsInFlight,
      partsInFlight: this.partsInFlight,
      maxUploadsInFlight: this.maxUploadsInFlight,
      uploadsInFlight: this.uploadsInFlight,
    };
  }

  reset(): void {
    this.requests = zeroCounts();
    this.maxPartsInFlight = this.partsInFlight;
    this.maxUploadsInFlight = this.uploadsInFlight;
  }
}

function zeroCounts(): Record<Operation, number> {
  return Object.fromEntries(OPERATIONS.map((op) => [op, 0])) as Record<Operation, number>;
}

export interface ServerDeps {
  env: EmulatorEnv;
  faults: FaultInjector;
  counters: Counters;
  latencyMs: number;
  onRequest: ((entry: { method: string; path: string; status: number; operation: Operation | undefined }) => void) | undefined;
}

export function createRequestHandler(deps: ServerDeps): (req: IncomingMessage, res: ServerResponse) => Promise<void> {
  const { env, faults, counters } = deps;

  async function handleAdmin(req: IncomingMessage, res: ServerResponse, pathname: string, requestId: string): Promise<void> {
    if (pathname === '/_emulator/stats' && req.method === 'GET') return send(res, { status: 200, json: counters.snapshot() }, requestId);
    if (pathname === '/_emulator/stats' && req.method === 'DELETE') {
      counters.reset();
      return send(res, { status: 204 }, requestId);
    }
    if (pathname === '/_emulator/faults' && req.method === 'POST') {
      // inject() validates the rule (a bad one is a 400).
      faults.inject((await readJsonObject(req, env.shaper)) as unknown as FaultRule);
      return send(res, { status: 201, json: { faults: faults.list() } }, requestId);
    }
    if (pathname === '/_emulator/faults' && req.method === 'GET') return send(res, { status: 200, json: { faults: faults.list() } }, requestId);
    if (pathname === '/_emulator/faults' && req.method === 'DELETE') {
      faults.clear();
      return send(res, { status: 204 }, requestId);
    }
    if (pathname === '/_emulator/sessions' && req.method === 'GET') {
      return send(res, { status: 200, json: { sessions: [...env.store.sessions.values()].map((s) => env.store.sessionSummary(s)) } }, requestId);
    }
    if (pathname === '/_emulator/expire-tokens' && req.method === 'POST') {
      env.tokens.expireAll();
      return send(res, { status: 204 }, requestId);
    }
    throw new BoxApiError(404, 'not_found', `No admin endpoint ${req.method} ${pathname}`);
  }

  async function send(res: ServerResponse, reply: Reply, requestId: string): Promise<void> {
    if (res.destroyed) return;
    const headers: Record<string, string> = { 'box-request-id': requestId, ...reply.headers };
    if (reply.json !== undefined) {
      const body = Buffer.from(JSON.stringify(reply.json));
      res.writeHead(reply.status, { ...headers, 'content-type': 'application/json', 'content-length': String(body.length) });
      res.end(body);
      return;
    }
    if (reply.text !== undefined) {
      const body = Buffer.from(reply.text);
      res.writeHead(reply.status, { 'content-type': 'text/plain; charset=utf-8', ...headers, 'content-length': String(body.length) });
      res.end(body);
      return;
    }
    if (reply.stream !== undefined) {
      if (reply.length !== undefined) headers['content-length'] = String(reply.length);
      res.writeHead(reply.status, headers);
      const socket = res.socket;
      const shaper = env.shaper;
      await pipeline(
        reply.stream(),
        async function* throttle(source: AsyncIterable<Buffer>) {
          for await (const chunk of source) {
            if (shaper.enabled && socket !== null) await shaper.pass(socket, chunk.length);
            yield chunk;
          }
        },
        res,
      );
      return;
    }
    // No body: no content type either (an empty 202 with a JSON type breaks the published SDK).
    if (reply.status !== 204 && reply.status !== 304) headers['content-length'] = '0';
    res.writeHead(reply.status, headers);
    res.end();
  }

  /** The `reset` fault: take a little of the body (if any), then drop the connection. */
  async function resetMidBody(req: IncomingMessage): Promise<void> {
    const hasBody = req.headers['content-length'] !== undefined ? Number(req.headers['content-length']) > 0 : req.headers['transfer-encoding'] !== undefined;
    if (hasBody && !req.complete) {
      await new Promise<void>((resolve) => {
        req.once('data', () => resolve());
        req.once('end', () => resolve());
        req.once('close', () => resolve());
      });
    }
    req.socket.destroy();
  }

  return async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const requestId = newRequestId();
    const method = req.method ?? 'GET';
    const url = new URL(req.url ?? '/', 'http://emulator.invalid');
    let operation: Operation | undefined;
    let countedPart = false;
    let countedUpload = false;
    try {
      if (url.pathname.startsWith('/_emulator/')) {
        await handleAdmin(req, res, url.pathname, requestId);
        return;
      }
      const target = route(method, url.pathname);
      operation = target.operation;
      counters.requests[operation] += 1;
      if (operation === 'uploadPart') {
        countedPart = true;
        counters.partsInFlight += 1;
        counters.maxPartsInFlight = Math.max(counters.maxPartsInFlight, counters.partsInFlight);
      }
      if (UPLOAD_OPERATIONS.includes(operation)) {
        countedUpload = true;
        counters.uploadsInFlight += 1;
        counters.maxUploadsInFlight = Math.max(counters.maxUploadsInFlight, counters.uploadsInFlight);
      }
      if (deps.latencyMs > 0) await sleep(deps.latencyMs, env.signal);
      const auth = operation === 'token' ? undefined : env.tokens.authenticate(req);
      const actions = faults.actionsFor(operation);
      for (const a of actions) {
        if (a.type === 'latency') await sleep(a.ms, env.signal);
        else if (a.type === 'hold') await held(a.until, env.signal);
      }
      const fault = actions.find((a) => !isDelay(a));
      switch (fault?.type) {
        case 'reset':
          await resetMidBody(req);
          return;
        case 'status':
          throw new BoxApiError(fault.status, fault.code ?? defaultCode(fault.status), undefined, {
            headers: {
              ...(fault.retryAfterSeconds === undefined ? {} : { 'retry-after': String(fault.retryAfterSeconds) }),
              ...(fault.status === 401 ? { 'www-authenticate': 'Bearer realm="Service", error="invalid_token"' } : {}),
            },
          });
        case 'expireToken':
          if (auth !== undefined) env.tokens.expire(auth.token);
          throw expiredTokenError();
        case 'emptyListing':
          // As an index that lags behind a file just created would answer: the preflight check finds the name free.
          if (operation === 'preflightCheck') await send(res, { status: 200, json: { upload_url: `${env.baseUrl}/api/2.0/files/content` } }, requestId);
          else await send(res, { status: 200, json: { total_count: 0, entries: [], offset: 0, limit: 100, order: [] } }, requestId);
          return;
        case 'partsMismatch':
          throw new BoxApiError(400, 'parts_mismatch', 'No matching part found on server for the given parts list; the parts may still be processing');
        default:
          break;
      }
      const ctx: RequestContext = { req, url, params: target.params, auth, env, ...(fault?.type === 'corruptBody' ? { corruptBody: true } : {}) };
      let reply = await target.handler(ctx);
      if (fault?.type === 'storeThenReset') {
        // Done, but the answer never arrives (as when a connection breaks after Box acted).
        req.socket.destroy();
        return;
      }
      if (fault?.type === 'storeThenGarble') {
        // Done, and answered with its status, but the body cannot be read.
        reply = { status: reply.status, headers: { ...reply.headers, 'content-type': 'text/html' }, text: '<html><body>OK</body></html>' };
      }
      if (fault?.type === 'storeThenFail') {
        const err = new BoxApiError(fault.status);
        reply = { status: err.status, json: err.body(requestId), headers: err.headers };
      }
      await send(res, reply, requestId);
    } catch (err) {
      if (err instanceof BoxApiError) {
        await send(res, { status: err.status, json: err.body(requestId), headers: err.headers }, requestId);
      } else if (err instanceof OAuthError) {
        await send(res, { status: err.status, json: { error: err.error, error_description: err.message } }, requestId);
      } else if (err instanceof RequestAbortedError || env.signal.aborted || res.destroyed) {
        res.destroy();
      } else {
        const e = new BoxApiError(500, 'internal_server_error', `Emulator error: ${(err as Error).message}`);
        await send(res, { status: 500, json: e.body(requestId) }, requestId).catch(() => res.destroy());
      }
    } finally {
      if (countedPart) counters.partsInFlight -= 1;
      if (countedUpload) counters.uploadsInFlight -= 1;
      // An early answer leaves part of the body unread: drain it so the connection stays usable.
      if (!req.complete && !req.socket.destroyed) req.resume();
      deps.onRequest?.({ method, path: url.pathname, status: res.statusCode, operation });
    }
  };
}
