// Raw-protocol unit tests of the client's HTTP stack against a tiny loopback server.
import { createHash } from 'node:crypto';
import type { ServerResponse } from 'node:http';
import { Readable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { BOX_RETRY_MESSAGE, CcgAuth, digestHeader, sha1Base64, contentRangeHeader, sha1Hex } from '../../src/box/index.ts';
import type { BoxError, BoxLogger } from '../../src/box/index.ts';
import { boxError, rawServerSetUp, sendJson } from './rawServer.ts';
import { rejection as rejectionOf } from '../support/rejection.ts';

// Short backoff by default; tests about Retry-After override it with a huge one.
const { server, client } = rawServerSetUp({ maxAttempts: 4, baseDelayMs: 10, maxDelayMs: 20 });

const rejection = (promise: Promise<unknown>) => rejectionOf<BoxError>(promise);

const session = (base: string, id = 'ABCDEF0123456789ABCDEF0123456789') => ({
  id,
  type: 'upload_session',
  session_expires_at: '2026-12-01T00:00:00Z',
  part_size: 4,
  total_parts: 3,
  num_parts_processed: 0,
  session_endpoints: {
    upload_part: `${base}/api/2.0/files/upload_sessions/${id}`,
    commit: `${base}/api/2.0/files/upload_sessions/${id}/commit`,
    abort: `${base}/api/2.0/files/upload_sessions/${id}`,
    list_parts: `${base}/api/2.0/files/upload_sessions/${id}/parts`,
    status: `${base}/api/2.0/files/upload_sessions/${id}`,
    log_event: `${base}/api/2.0/files/upload_sessions/${id}/log`,
  },
});

describe('closing the client', () => {
  it('destroy() fails the requests in flight at once (close() would wait for their answers); close() after it does nothing', async () => {
    const s = await server(() => undefined); // never answers
    const c = client(s.url, { retry: { maxAttempts: 1 } });
    const inFlight = rejection(c.files.getFile('1'));
    while (s.requests.length === 0) await new Promise((resolve) => setImmediate(resolve));
    await c.destroy();
    expect(await inFlight).toMatchObject({ name: 'Box.NetworkError', status: 0 });
    await c.close();
  });
});

describe('BoxHttp retries', () => {
  it('honours Retry-After in any header case on 429 and 503, then succeeds', async () => {
    let calls = 0;
    const s = await server((req, res) => {
      calls++;
      if (calls === 1) return boxError(res, 429, 'rate_limit_exceeded', {}, { 'RETRY-AFTER': '0' });
      if (calls === 2) return boxError(res, 503, 'unavailable', {}, { 'rEtRy-AfTeR': '0' });
      sendJson(res, 200, { type: 'file', id: '42' });
    });
    // A backoff of minutes: only the server's short Retry-After lets this finish.
    const c = client(s.url, { retry: { maxAttempts: 5, baseDelayMs: 600_000, maxDelayMs: 600_000 } });
    const file = await c.files.getFile('42');
    expect(file.id).toBe('42');
    expect(s.requests.map((r) => r.path)).toEqual(['/2.0/files/42', '/2.0/files/42', '/2.0/files/42']);
  });

  it('gives up after maxAttempts with the mapped class and details', async () => {
    const s = await server((_req, res) => boxError(res, 500, 'internal_server_error', { context_info: { hint: 'x' } }));
    const c = client(s.url);
    const error = await rejection(c.files.getFile('7'));
    expect(error.name).toBe('Box.ServerError');
    expect(error.status).toBe(500);
    expect(error.code).toBe('internal_server_error');
    expect(error.requestId).toBe('req-internal_server_error');
    expect(error.contextInfo).toEqual({ hint: 'x' });
    expect(error.request).toBe('GET /2.0/files/7');
    expect(s.requests).toHaveLength(4);
  });

  it('does not wait for a Retry-After beyond maxRetryAfterMs: throws with retryAfterSeconds', async () => {
    const s = await server((_req, res) => boxError(res, 429, 'rate_limit_exceeded', {}, { 'Retry-After': '3600' }));
    const c = client(s.url, { retry: { maxAttempts: 5, maxRetryAfterMs: 1000 } });
    const error = await rejection(c.files.getFile('7'));
    expect(error.name).toBe('Box.RateLimited');
    expect(error.retryAfterSeconds).toBe(3600);
    expect(s.requests).toHaveLength(1);
  });

  it('a malformed Retry-After ("-1", "5, 5") is no Retry-After: the error carries none and the backoff applies', async () => {
    for (const value of ['-1', '5, 5']) {
      let calls = 0;
      const s = await server((_req, res) => {
        calls++;
        boxError(res, 429, 'rate_limit_exceeded', {}, { 'Retry-After': value });
      });
      const waits: unknown[] = [];
      // Two attempts: the one wait between them is the backoff's (at most maxDelayMs), not 5 s.
      const c = client(s.url, {
        retry: { maxAttempts: 2, baseDelayMs: 30, maxDelayMs: 30 },
        logger: { warn: (message, data) => void (message === BOX_RETRY_MESSAGE && waits.push(data?.delayMs)) },
      });
      const error = await rejection(c.files.getFile('7'));
      expect(error.name).toBe('Box.RateLimited');
      expect(error.retryAfterSeconds).toBeUndefined();
      expect(calls).toBe(2);
      expect(waits).toHaveLength(1);
      expect(waits[0]).toBeGreaterThanOrEqual(0);
      expect(waits[0]).toBeLessThanOrEqual(30);
    }
  });

  it('retries a connection reset, and a reset in the middle of the response body', async () => {
    let calls = 0;
    const s = await server((_req, res, raw) => {
      calls++;
      if (calls === 1) return void raw.socket.destroy();
      if (calls === 2) {
        res.writeHead(200, { 'content-type': 'application/json', 'content-length': '100' });
        res.write('{"type":"fi');
        setTimeout(() => raw.socket.destroy(), 10);
        return;
      }
      sendJson(res, 200, { type: 'file', id: '9' });
    });
    const c = client(s.url);
    expect((await c.files.getFile('9')).id).toBe('9');
    expect(calls).toBe(3);
  });

  it('maps a network failure that outlasts the retries to Box.NetworkError', async () => {
    const s = await server((_req, _res, raw) => void raw.socket.destroy());
    const c = client(s.url, { retry: { maxAttempts: 2, baseDelayMs: 1, maxDelayMs: 1 } });
    const error = await rejection(c.files.getFile('1'));
    expect(error.name).toBe('Box.NetworkError');
    expect(error.status).toBe(0);
    expect(s.requests).toHaveLength(2);
  });

  it('times out a server that never answers (headers timeout) as Box.NetworkError', async () => {
    const s = await server(() => undefined);
    const c = client(s.url, { retry: { maxAttempts: 1 }, timeouts: { headersMs: 100 } });
    const error = await rejection(c.files.getFile('1'));
    expect(error.name).toBe('Box.NetworkError');
  });

  it('never resends a direct upload after a 5xx (it may have been stored), from a stream or from bytes; a 429 is retried', async () => {
    let status = 503;
    const s = await server((_req, res) => boxError(res, status, status === 429 ? 'rate_limit_exceeded' : 'unavailable'));
    const c = client(s.url);
    const streamed = await rejection(
      c.files.uploadFile({ parentFolderId: '0', fileName: 'a.txt', file: Readable.from([Buffer.from('hello')]), fileSize: 5 }),
    );
    expect(streamed.name).toBe('Box.ServerError');
    expect(s.requests).toHaveLength(1);
    const bytes = await rejection(c.files.uploadFile({ parentFolderId: '0', fileName: 'a.txt', file: Buffer.from('hello'), fileSize: 5 }));
    expect(bytes.name).toBe('Box.ServerError');
    expect(s.requests).toHaveLength(2);
    status = 429; // Box did not process it: safe to send again
    const limited = await rejection(c.files.uploadFile({ parentFolderId: '0', fileName: 'a.txt', file: Buffer.from('hello'), fileSize: 5 }));
    expect(limited.name).toBe('Box.RateLimited');
    expect(s.requests).toHaveLength(2 + 4);
  });

  it('a direct upload whose stream is shorter or longer than fileSize fails with Box.SourceSizeMismatch, not sent in full', async () => {
    const s = await server((_req, res) => sendJson(res, 201, { total_count: 1, entries: [{ type: 'file', id: '1' }] }));
    const c = client(s.url);
    const short = await rejection(c.files.uploadFile({ parentFolderId: '0', fileName: 's.bin', file: Readable.from([Buffer.alloc(10)]), fileSize: 11 }));
    expect(short.name).toBe('Box.SourceSizeMismatch');
    const long = await rejection(c.files.uploadFile({ parentFolderId: '0', fileName: 's.bin', file: Readable.from([Buffer.alloc(10), Buffer.alloc(5)]), fileSize: 11 }));
    expect(long.name).toBe('Box.SourceSizeMismatch');
    const bytes = await rejection(c.files.uploadFile({ parentFolderId: '0', fileName: 's.bin', file: Buffer.alloc(10), fileSize: 11 }));
    expect(bytes.name).toBe('Box.SourceSizeMismatch');
    // No request body ever completed at the server.
    expect(s.requests).toHaveLength(0);
  });

  it('does not retry 4xx answers', async () => {
    const s = await server((_req, res) => boxError(res, 404, 'not_found'));
    const c = client(s.url);
    expect((await rejection(c.files.getFile('1'))).name).toBe('Box.NotFound');
    expect(s.requests).toHaveLength(1);
  });

  it('cancels a hanging request with the AbortSignal (Box.Aborted)', async () => {
    const s = await server(() => undefined);
    const c = client(s.url);
    const controller = new AbortController();
    const pending = rejection(c.files.getFile('1', { signal: controller.signal }));
    setTimeout(() => controller.abort(), 20);
    expect((await pending).name).toBe('Box.Aborted');
  });

  it('sends extraHeaders (overriding its own, any case) and a bearer token', async () => {
    const s = await server((_req, res) => sendJson(res, 200, { type: 'file', id: '1' }));
    const c = client(s.url, { userAgent: 'test-agent/1' });
    await c.files.getFile('1', { extraHeaders: { 'X-Custom': 'yes', 'User-Agent': 'override/2' } });
    expect(s.requests[0]?.headers['x-custom']).toBe('yes');
    expect(s.requests[0]?.headers['user-agent']).toBe('override/2');
    expect(s.requests[0]?.headers.authorization).toBe('Bearer dev-token-secret');
  });

  it('reports retries to the logger without tokens', async () => {
    let calls = 0;
    const s = await server((_req, res) => (++calls === 1 ? boxError(res, 502, 'bad_gateway') : sendJson(res, 200, { type: 'file', id: '1' })));
    const lines: string[] = [];
    const logger: BoxLogger = { warn: (m, d) => lines.push(`${m} ${JSON.stringify(d)}`), debug: (m, d) => lines.push(`${m} ${JSON.stringify(d)}`) };
    const c = client(s.url, { logger });
    await c.files.getFile('1');
    expect(lines).toHaveLength(1);
    expect(lines[0]).toContain('"status":502');
    expect(lines.join('\n')).not.toContain('dev-token-secret');
  });
});

describe('commit, parts and session URLs', () => {
  it('tells 201 committed from 202 processing (Retry-After in any case) and sends parts in offset order', async () => {
    let commits = 0;
    const s = await server((req, res) => {
      commits++;
      if (commits === 1) {
        res.writeHead(202, { 'RETRY-after': '12' });
        return void res.end();
      }
      sendJson(res, 201, { total_count: 1, entries: [{ type: 'file', id: '99', name: 'x' }] });
    });
    const c = client(s.url);
    const parts = [
      { part_id: 'B', offset: 4, size: 4, sha1: 'b' },
      { part_id: 'A', offset: 0, size: 4, sha1: 'a' },
    ];
    const first = await c.chunkedUploads.createFileUploadSessionCommit('SID', { parts }, { digest: 'sha=abc', ifMatch: '3' });
    expect(first).toEqual({ status: 'processing', retryAfterSeconds: 12 });
    const second = await c.chunkedUploads.createFileUploadSessionCommitByUrl(`${s.url}/elsewhere/commit`, { parts, attributes: { content_modified_at: '2026-01-01T00:00:00Z' } }, { digest: 'sha=abc' });
    expect(second.status).toBe('committed');
    if (second.status === 'committed') expect(second.files.entries[0]?.id).toBe('99');
    const sent = JSON.parse(s.requests[1]!.body.toString()) as { parts: Array<{ offset: number }>; attributes: unknown };
    expect(sent.parts.map((p) => p.offset)).toEqual([0, 4]);
    expect(sent.attributes).toEqual({ content_modified_at: '2026-01-01T00:00:00Z' });
    expect(s.requests[0]?.path).toBe('/api/2.0/files/upload_sessions/SID/commit');
    expect(s.requests[0]?.headers.digest).toBe('sha=abc');
    expect(s.requests[0]?.headers['if-match']).toBe('3');
    expect(s.requests[1]?.path).toBe('/elsewhere/commit');
  });

  it('follows session_endpoints wherever they point (another host)', async () => {
    const other = await server((req, res) => {
      if (req.method === 'GET' && req.path.includes('/parts')) return sendJson(res, 200, { total_count: 0, limit: 5, offset: 2, entries: [] });
      if (req.method === 'DELETE') return void res.writeHead(204).end();
      sendJson(res, 200, session('unused'));
    });
    const main = await server((req, res) => sendJson(res, 201, session(other.url)));
    const c = client(main.url);
    const created = await c.chunkedUploads.createFileUploadSession({ folderId: '0', fileSize: 12, fileName: 'a.bin' });
    expect(main.requests[0]?.path).toBe('/api/2.0/files/upload_sessions');
    expect(JSON.parse(main.requests[0]!.body.toString())).toEqual({ folder_id: '0', file_size: 12, file_name: 'a.bin' });
    await c.chunkedUploads.getFileUploadSessionByUrl(created.session_endpoints.status);
    await c.chunkedUploads.getFileUploadSessionPartsByUrl(created.session_endpoints.list_parts, { offset: 2, limit: 5 });
    await c.chunkedUploads.deleteFileUploadSessionByUrl(created.session_endpoints.abort);
    expect(other.requests.map((r) => `${r.method} ${r.path}`)).toEqual([
      `GET /api/2.0/files/upload_sessions/${created.id}`,
      `GET /api/2.0/files/upload_sessions/${created.id}/parts?offset=2&limit=5`,
      `DELETE /api/2.0/files/upload_sessions/${created.id}`,
    ]);
    expect(main.requests).toHaveLength(1);
  });

  it('checks the part Box echoes against the range and digest sent (Box.IntegrityError otherwise)', async () => {
    const body = Buffer.from('abcd');
    let echo = { part_id: 'P1', offset: 4, size: 4, sha1: sha1Hex(body) };
    const s = await server((_req, res) => sendJson(res, 200, { part: echo }));
    const c = client(s.url);
    const headers = { digest: digestHeader(sha1Base64(body)), contentRange: contentRangeHeader(4, 4, 12) };
    expect((await c.chunkedUploads.uploadFilePart('SID', body, headers)).part).toEqual(echo);
    for (const wrong of [{ offset: 0 }, { size: 3 }, { sha1: sha1Hex(Buffer.from('abce')) }]) {
      echo = { part_id: 'P1', offset: 4, size: 4, sha1: sha1Hex(body), ...wrong };
      expect(await rejection(c.chunkedUploads.uploadFilePart('SID', body, headers))).toMatchObject({ name: 'Box.IntegrityError' });
    }
  });

  it('416 range_overlaps_existing_part: the stored part is looked up in list parts, never taken from the error body', async () => {
    const body = Buffer.from('abcd');
    const hex = sha1Hex(body);
    const ours = { part_id: 'P1', offset: 4, size: 4, sha1: hex.toUpperCase() };
    let listed: Array<Record<string, unknown>> = [{ part_id: 'P0', offset: 0, size: 4, sha1: hex }, ours];
    let overlapBody: Record<string, unknown> = { context_info: { conflicting_part: ours } };
    const s = await server((req, res) => {
      if (req.method === 'GET') {
        const q = new URL(req.path, 'http://x').searchParams;
        const offset = Number(q.get('offset') ?? 0);
        sendJson(res, 200, { total_count: listed.length, entries: listed.slice(offset, offset + Number(q.get('limit') ?? 1000)) });
      } else boxError(res, 416, 'range_overlaps_existing_part', overlapBody);
    });
    const c = client(s.url);
    const headers = { digest: digestHeader(sha1Base64(body)), contentRange: contentRangeHeader(4, 4, 12) };
    // The same bytes at that offset: success, whatever the 416 carries (a part, a part without sha1, nothing).
    for (const variant of [{ context_info: { conflicting_part: ours } }, { context_info: { conflicting_part: { ...ours, sha1: undefined } } }, {}]) {
      overlapBody = variant;
      expect(await c.chunkedUploads.uploadFilePart('SID', body, headers)).toEqual({ part: ours, alreadyUploaded: true });
    }
    expect(s.requests[0]?.headers['content-range']).toBe('bytes 4-7/12');
    expect(s.requests[0]?.headers['content-type']).toBe('application/octet-stream');
    // The part is read from the page that starts at its index (offset 4 / size 4 = 1), one entry.
    expect(s.requests[1]).toMatchObject({ method: 'GET', path: '/api/2.0/files/upload_sessions/SID/parts?offset=1&limit=1' });
    // The body claims our SHA-1, but Box lists other bytes there: Box.IntegrityError (terminal).
    overlapBody = { context_info: { conflicting_part: ours } };
    listed = [{ part_id: 'P0', offset: 0, size: 4, sha1: hex }, { ...ours, sha1: sha1Hex(Buffer.from('zzzz')) }];
    expect(await rejection(c.chunkedUploads.uploadFilePart('SID', body, headers))).toMatchObject({ name: 'Box.IntegrityError', status: 416 });
    // Nothing listed at that offset: the 416 itself, saying so.
    listed = [{ part_id: 'P0', offset: 0, size: 4, sha1: hex }];
    const missing = await rejection(c.chunkedUploads.uploadFilePart('SID', body, headers));
    expect(missing.name).toBe('Box.RangeNotSatisfiable');
    expect(missing.message).toContain('list parts shows no part at offset 4');
    // A given list_parts URL is the one asked.
    listed = [{ part_id: 'P0', offset: 0, size: 4, sha1: hex }, ours];
    const before = s.requests.length;
    await c.chunkedUploads.uploadFilePartByUrl(`${s.url}/up/SID`, body, headers, { listPartsUrl: `${s.url}/list/SID` });
    expect(s.requests.slice(before).map((r) => r.path.split('?')[0])).toEqual(['/up/SID', '/list/SID']);
  });

  it('treats 409 session_conflict on create as the session asked for only after an attempt whose answer was lost', async () => {
    // First attempt 500 (Box may have created the session), the retry meets session_conflict: ours.
    let calls = 0;
    const s = await server((_req, res) =>
      ++calls === 1 ? boxError(res, 500, 'internal_server_error') : boxError(res, 409, 'session_conflict', { context_info: { session: session('http://x') } }),
    );
    const c = client(s.url);
    const created = await c.chunkedUploads.createFileUploadSessionForExistingFile('123', { fileSize: 12 });
    expect(created.id).toBe('ABCDEF0123456789ABCDEF0123456789');
    expect(s.requests.map((r) => r.path)).toEqual(['/api/2.0/files/123/upload_sessions', '/api/2.0/files/123/upload_sessions']);
    expect(JSON.parse(s.requests[1]!.body.toString())).toEqual({ file_size: 12 });
  });

  it('throws 409 session_conflict on a first attempt, or after a 429 (Box processed nothing): the session is someone else\'s', async () => {
    let calls = 0;
    const conflictOnly = await server((_req, res) => boxError(res, 409, 'session_conflict', { context_info: { session: session('http://x') } }));
    const first = await rejection(client(conflictOnly.url).chunkedUploads.createFileUploadSession({ folderId: '0', fileSize: 12, fileName: 'a.bin' }));
    expect(first).toMatchObject({ name: 'Box.Conflict', status: 409, code: 'session_conflict' });
    expect(conflictOnly.requests).toHaveLength(1);
    const after429 = await server((_req, res) =>
      ++calls === 1 ? boxError(res, 429, 'rate_limit_exceeded') : boxError(res, 409, 'session_conflict', { context_info: { session: session('http://x') } }),
    );
    const again = await rejection(client(after429.url).chunkedUploads.createFileUploadSession({ folderId: '0', fileSize: 12, fileName: 'a.bin' }));
    expect(again).toMatchObject({ name: 'Box.Conflict', code: 'session_conflict' });
    expect(after429.requests).toHaveLength(2);
  });
});

describe('files: direct upload wire format and download redirects', () => {
  it('sends multipart/form-data with attributes before file, Content-MD5 = hex SHA-1, to {uploadUrl}/2.0/files/content', async () => {
    const s = await server((_req, res) => sendJson(res, 201, { total_count: 1, entries: [{ type: 'file', id: '5', name: 'a.txt' }] }));
    const c = client(s.url);
    const bytes = Buffer.from('hello world');
    const file = await c.files.uploadFile({ parentFolderId: '77', fileName: 'a.txt', file: bytes, fileSize: bytes.length, sha1Hex: sha1Hex(bytes), contentModifiedAt: '2026-02-02T02:02:02Z' });
    expect(file.id).toBe('5');
    const req = s.requests[0]!;
    expect(req.path).toBe('/api/2.0/files/content');
    expect(req.headers['content-md5']).toBe(sha1Hex(bytes));
    const boundary = /boundary=(\S+)/.exec(String(req.headers['content-type']))?.[1];
    expect(boundary).toBeTruthy();
    const body = req.body.toString();
    const attributesAt = body.indexOf('name="attributes"');
    const fileAt = body.indexOf('name="file"');
    expect(attributesAt).toBeGreaterThan(0);
    expect(fileAt).toBeGreaterThan(attributesAt);
    expect(body).toContain(JSON.stringify({ name: 'a.txt', parent: { id: '77' }, content_modified_at: '2026-02-02T02:02:02Z' }));
    expect(body).toContain('\r\n\r\nhello world\r\n--' + boundary + '--\r\n');
    expect(Number(req.headers['content-length'])).toBe(req.body.length);
    await c.files.uploadFileVersion('5', { file: bytes, fileSize: bytes.length, ifMatch: 'e1' });
    expect(s.requests[1]?.path).toBe('/api/2.0/files/5/content');
    expect(s.requests[1]?.headers['if-match']).toBe('e1');
  });

  it('sends Content-MD5 = SHA-1 of the bytes when the body is a Uint8Array without sha1Hex; a stream only with sha1Hex', async () => {
    const s = await server((_req, res) => sendJson(res, 201, { total_count: 1, entries: [{ type: 'file', id: '5', name: 'a.txt' }] }));
    const c = client(s.url);
    const bytes = new Uint8Array(Buffer.from('bytes without a given sha1'));
    await c.files.uploadFile({ parentFolderId: '0', fileName: 'a.txt', file: bytes, fileSize: bytes.length });
    await c.files.uploadFileVersion('5', { file: bytes, fileSize: bytes.length });
    await c.files.uploadFile({ parentFolderId: '0', fileName: 'b.txt', file: Readable.from([Buffer.from(bytes)]), fileSize: bytes.length });
    await c.files.uploadFile({ parentFolderId: '0', fileName: 'c.txt', file: Readable.from([Buffer.from(bytes)]), fileSize: bytes.length, sha1Hex: sha1Hex(bytes) });
    const md5 = s.requests.map((r) => r.headers['content-md5']);
    expect(sha1Hex(bytes)).toBe(createHash('sha1').update('bytes without a given sha1').digest('hex'));
    expect(md5).toEqual([sha1Hex(bytes), sha1Hex(bytes), undefined, sha1Hex(bytes)]);
    // The file part of each body is those bytes.
    expect(s.requests.every((r) => r.body.includes(Buffer.from(bytes)))).toBe(true);
  });

  it('downloadFile follows a relative redirect with auth, and a cross-origin one without it; waits on 202', async () => {
    const content = Buffer.from('downloaded bytes');
    const dl = await server((_req, res) => {
      res.writeHead(200, { 'content-type': 'application/octet-stream', 'content-length': String(content.length) });
      res.end(content);
    });
    let notReady = 1;
    const api = await server((req, res) => {
      if (req.path === '/2.0/files/3/content') {
        if (notReady-- > 0) return void res.writeHead(202, { 'Retry-After': '0' }).end();
        return void res.writeHead(302, { location: '/internal/files/3' }).end();
      }
      if (req.path === '/internal/files/3') return void res.writeHead(302, { location: `${dl.url}/d/3?token=abc` }).end();
      boxError(res, 404, 'not_found');
    });
    const c = client(api.url);
    const stream = await c.files.downloadFile('3');
    const chunks: Buffer[] = [];
    for await (const chunk of stream) chunks.push(chunk as Buffer);
    expect(Buffer.concat(chunks).equals(content)).toBe(true);
    expect(api.requests.map((r) => r.path)).toEqual(['/2.0/files/3/content', '/2.0/files/3/content', '/internal/files/3']);
    expect(api.requests.every((r) => r.headers.authorization === 'Bearer dev-token-secret')).toBe(true);
    expect(dl.requests[0]?.path).toBe('/d/3?token=abc');
    expect(dl.requests[0]?.headers.authorization).toBeUndefined();
  });

  it('uploadBigFile destroys a Readable source when the session cannot be created', async () => {
    const s = await server((_req, res) => boxError(res, 404, 'not_found'));
    const c = client(s.url);
    const source = Readable.from([Buffer.alloc(10)]);
    const error = await rejection(c.chunkedUploads.uploadBigFile(source, 'x', 10, '404'));
    expect(error.name).toBe('Box.NotFound');
    expect(source.destroyed).toBe(true);
    await expect(c.chunkedUploads.uploadBigFile(Readable.from([]), 'x', -1, '0')).rejects.toThrow(TypeError);
  });
});

describe('CCG tokens', () => {
  function tokenServer(opts: { ttl?: number } = {}) {
    let issued = 0;
    let valid = new Set<string>();
    return {
      get issued() {
        return issued;
      },
      revokeAll: () => void (valid = new Set()),
      handler: (req: { method: string; path: string; headers: Record<string, unknown>; body: Buffer }, res: ServerResponse) => {
        if (req.path === '/oauth2/token') {
          const form = new URLSearchParams(req.body.toString());
          if (form.get('client_secret') !== 'top-secret-value') {
            return sendJson(res, 400, { error: 'invalid_client', error_description: 'The client credentials are invalid' });
          }
          issued++;
          const token = `tok-${issued}`;
          valid.add(token);
          // Answered after a short delay so that concurrent callers overlap the fetch.
          setTimeout(() => sendJson(res, 200, { access_token: token, expires_in: opts.ttl ?? 3600, token_type: 'bearer', restricted_to: [] }), 20);
          return;
        }
        const auth = String(req.headers.authorization ?? '');
        if (!valid.has(auth.replace('Bearer ', ''))) return boxError(res, 401, 'unauthorized');
        sendJson(res, 200, { type: 'file', id: '1' });
      },
    };
  }

  it('fetches one token for concurrent requests, shares one renewal after a burst of 401s', async () => {
    const tokens = tokenServer();
    const s = await server(tokens.handler);
    const c = client(s.url, { auth: new CcgAuth({ clientId: 'cid', clientSecret: 'top-secret-value', enterpriseId: 'E1' }) });
    await Promise.all(Array.from({ length: 10 }, () => c.files.getFile('1')));
    expect(tokens.issued).toBe(1);
    const form = new URLSearchParams(s.requests.find((r) => r.path === '/oauth2/token')!.body.toString());
    expect(Object.fromEntries(form)).toEqual({
      grant_type: 'client_credentials',
      client_id: 'cid',
      client_secret: 'top-secret-value',
      box_subject_type: 'enterprise',
      box_subject_id: 'E1',
    });
    expect(s.requests.find((r) => r.path === '/oauth2/token')?.headers['content-type']).toBe('application/x-www-form-urlencoded');
    tokens.revokeAll();
    await Promise.all(Array.from({ length: 10 }, () => c.files.getFile('1')));
    expect(tokens.issued).toBe(2);
    expect(s.requests.filter((r) => r.path !== '/oauth2/token' && r.headers.authorization === 'Bearer tok-2')).toHaveLength(10);
  });

  it('retries a token endpoint 503, then uses the token', async () => {
    const tokens = tokenServer();
    let failed = false;
    const s = await server((req, res) => {
      if (req.path === '/oauth2/token' && !failed) {
        failed = true;
        return boxError(res, 503, 'unavailable', {}, { 'Retry-After': '0' });
      }
      tokens.handler(req, res);
    });
    const c = client(s.url, { auth: new CcgAuth({ clientId: 'cid', clientSecret: 'top-secret-value', enterpriseId: 'E1' }) });
    expect((await c.files.getFile('1')).id).toBe('1');
    expect(s.requests.filter((r) => r.path === '/oauth2/token')).toHaveLength(2);
    expect(tokens.issued).toBe(1);
  });

  it('a 401 on a streamed direct upload renews the token but does not resend the consumed stream', async () => {
    const tokens = tokenServer();
    const s = await server(tokens.handler);
    const c = client(s.url, { auth: new CcgAuth({ clientId: 'cid', clientSecret: 'top-secret-value', enterpriseId: 'E1' }) });
    await c.files.getFile('1');
    tokens.revokeAll();
    const error = await rejection(c.files.uploadFile({ parentFolderId: '0', fileName: 'a', file: Readable.from([Buffer.from('abc')]), fileSize: 3 }));
    expect(error.name).toBe('Box.Unauthorized');
    expect(s.requests.filter((r) => r.path === '/api/2.0/files/content')).toHaveLength(1);
    expect(tokens.issued).toBe(2);
    expect((await c.files.getFile('1')).id).toBe('1');
    expect(tokens.issued).toBe(2);
  });

  it('renews before expiry (user subject), renewMarginSeconds ahead, on an injected clock', async () => {
    const tokens = tokenServer({ ttl: 3600 });
    const s = await server(tokens.handler);
    let now = 1_700_000_000_000;
    const c = client(s.url, { auth: new CcgAuth({ clientId: 'cid', clientSecret: 'top-secret-value', userId: 'U9', renewMarginSeconds: 60, now: () => now }) });
    await c.files.getFile('1');
    expect(tokens.issued).toBe(1);
    // Still inside the lifetime minus the margin: the cached token is used.
    now += (3600 - 60) * 1000 - 1;
    await c.files.getFile('1');
    expect(tokens.issued).toBe(1);
    // The margin reached: renewed without any 401.
    now += 1;
    await c.files.getFile('1');
    expect(tokens.issued).toBe(2);
    const apiCalls = s.requests.filter((r) => r.path === '/2.0/files/1');
    expect(apiCalls.map((r) => r.headers.authorization)).toEqual(['Bearer tok-1', 'Bearer tok-1', 'Bearer tok-2']);
    expect(new URLSearchParams(s.requests[0]!.body.toString()).get('box_subject_type')).toBe('user');
  });

  it('a refused grant is Box.AuthFailed with Box\'s description and never the secret', async () => {
    const tokens = tokenServer();
    const s = await server(tokens.handler);
    const c = client(s.url, { auth: new CcgAuth({ clientId: 'cid', clientSecret: 'wrong-secret-value', enterpriseId: 'E1' }) });
    const error = await rejection(c.files.getFile('1'));
    expect(error.name).toBe('Box.AuthFailed');
    expect(error.code).toBe('invalid_client');
    expect(error.message).toContain('The client credentials are invalid');
    expect(JSON.stringify(error.toJSON())).not.toContain('wrong-secret-value');
    expect(error.message).not.toContain('wrong-secret-value');
  });

  it('a developer token refused with 401 is Box.Unauthorized, without the token in the message', async () => {
    const s = await server((_req, res) => boxError(res, 401, 'unauthorized'));
    const c = client(s.url);
    const error = await rejection(c.files.getFile('1'));
    expect(error.name).toBe('Box.Unauthorized');
    expect(s.requests).toHaveLength(1);
    expect(JSON.stringify(error.toJSON())).not.toContain('dev-token-secret');
  });
});
