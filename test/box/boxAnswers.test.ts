// What Box may answer where its API description is silent or guessed (the reference's open questions),
// against a raw loopback server: each variant is handled without throwing away what Box holds.
import { describe, expect, it } from 'vitest';
import { contentRangeHeader, digestHeader, sha1Base64, sha1Hex } from '../../src/box/index.ts';
import type { BoxError } from '../../src/box/index.ts';
import { rejection as rejectionOf } from '../support/rejection.ts';
import { boxError, rawServerSetUp, sendJson } from './rawServer.ts';

const { server, client } = rawServerSetUp({ maxAttempts: 3, baseDelayMs: 5, maxDelayMs: 10 });

const rejection = (promise: Promise<unknown>) => rejectionOf<BoxError>(promise);
const COMMIT = '/api/2.0/files/upload_sessions/SID/commit';

describe('commit answers', () => {
  // Box documents neither the Content-Type nor the body of a commit's 202.
  for (const [label, headers, body] of [
    ['no body, no content type', {}, ''],
    ['a JSON content type without a body', { 'content-type': 'application/json' }, ''],
    ['an empty JSON object', { 'content-type': 'application/json' }, '{}'],
    ['the upload session', { 'content-type': 'application/json' }, '{"type":"upload_session","id":"SID","num_parts_processed":2}'],
    ['a text body', { 'content-type': 'text/plain' }, 'Accepted'],
    ['an HTML body', { 'content-type': 'text/html' }, '<html><body>Accepted</body></html>'],
    ['a JSON content type with a body that is not JSON', { 'content-type': 'application/json' }, '{"type":'],
  ] as const) {
    it(`a 202 with ${label} is processing, with its Retry-After`, async () => {
      const s = await server((_req, res) => {
        res.writeHead(202, { 'retry-after': '3', ...headers, 'content-length': String(Buffer.byteLength(body)) });
        res.end(body);
      });
      const result = await client(s.url).chunkedUploads.createFileUploadSessionCommit('SID', { parts: [] }, { digest: 'sha=x' });
      expect(result).toEqual({ status: 'processing', retryAfterSeconds: 3 });
      expect(s.requests).toHaveLength(1);
    });
  }

  for (const [label, contentType, body] of [
    ['a body that is not JSON', 'text/html', '<html>OK</html>'],
    ['no body', 'application/json', ''],
    ['no entries', 'application/json', '{"total_count":1}'],
    ['an empty entries list', 'application/json', '{"total_count":0,"entries":[]}'],
  ] as const) {
    it(`a 201 with ${label} may have committed: Box.UnreadableAnswer (a lost answer), not sent again`, async () => {
      const s = await server((_req, res) => {
        res.writeHead(201, { 'content-type': contentType, 'content-length': String(Buffer.byteLength(body)) });
        res.end(body);
      });
      const error = await rejection(client(s.url).chunkedUploads.createFileUploadSessionCommit('SID', { parts: [] }, { digest: 'sha=x' }));
      expect(error).toMatchObject({ name: 'Box.UnreadableAnswer', status: 201 });
      expect(s.requests.map((r) => `${r.method} ${r.path}`)).toEqual([`POST ${COMMIT}`]);
    });
  }
});

describe('part answers', () => {
  const body = Buffer.from('abcd');
  const headers = { digest: digestHeader(sha1Base64(body)), contentRange: contentRangeHeader(4, 4, 12) };

  // Box's status for a part whose Digest does not match is not documented: 412 (its API description) or 400.
  for (const [status, code] of [
    [412, 'precondition_failed'],
    [400, 'digest_mismatch'],
  ] as const) {
    it(`a part refused for its Digest (${status} ${code}) is Box.PartDigestRejected: not stored, never terminal; the caller resends`, async () => {
      const s = await server((_req, res) => boxError(res, status, code));
      const error = await rejection(client(s.url).chunkedUploads.uploadFilePart('SID', body, headers));
      expect(error).toMatchObject({ name: 'Box.PartDigestRejected', status, code });
      expect(error.message).toContain('send its bytes again');
      expect(s.requests).toHaveLength(1);
    });
  }

  it('a part answered 200 with a body that is not JSON may be stored: Box.UnreadableAnswer, not resent by the client', async () => {
    const s = await server((_req, res) => {
      res.writeHead(200, { 'content-type': 'text/html' });
      res.end('<html>OK</html>');
    });
    expect(await rejection(client(s.url).chunkedUploads.uploadFilePart('SID', body, headers))).toMatchObject({ name: 'Box.UnreadableAnswer', status: 200 });
    expect(s.requests).toHaveLength(1);
  });
});

describe('a part already stored, answered 409 instead of 416', () => {
  const body = Buffer.from('abcd');
  const ours = { part_id: 'P1', offset: 4, size: 4, sha1: sha1Hex(body) };
  const headers = { digest: digestHeader(sha1Base64(body)), contentRange: contentRangeHeader(4, 4, 12) };

  /** A server that answers every part PUT with `refusal` and lists `listed` as the session's parts. */
  async function refusingServer(refusal: { code?: string }, listed: () => Array<Record<string, unknown>>) {
    return server((req, res) => {
      if (req.method === 'GET') {
        const entries = listed();
        sendJson(res, 200, { total_count: entries.length, entries });
      } else if (refusal.code === undefined) sendJson(res, 409, { type: 'error', status: 409, message: 'Chunk conflicts with another chunk previously uploaded' });
      else boxError(res, 409, refusal.code);
    });
  }

  // Box's API description: 409 "chunk conflicts with another chunk previously uploaded", code unknown.
  for (const code of ['conflict', undefined]) {
    it(`409 ${code ?? 'without a code'}: looked up in list parts like the 416; the same bytes are stored, other bytes are Box.IntegrityError, none is the 409`, async () => {
      let listed: Array<Record<string, unknown>> = [ours];
      const s = await refusingServer({ ...(code === undefined ? {} : { code }) }, () => listed);
      const c = client(s.url);
      expect(await c.chunkedUploads.uploadFilePart('SID', body, headers)).toEqual({ part: ours, alreadyUploaded: true });
      expect(s.requests.map((r) => r.method)).toEqual(['PUT', 'GET']);
      listed = [{ ...ours, sha1: sha1Hex(Buffer.from('zzzz')) }];
      expect(await rejection(c.chunkedUploads.uploadFilePart('SID', body, headers))).toMatchObject({ name: 'Box.IntegrityError', status: 409 });
      listed = [];
      const none = await rejection(c.chunkedUploads.uploadFilePart('SID', body, headers));
      expect(none).toMatchObject({ name: 'Box.Conflict', status: 409 });
      expect(none.message).toContain('list parts shows no part at offset 4');
    });
  }

  it('a 409 about a name or a session is not a part conflict: thrown as it is, nothing looked up', async () => {
    for (const code of ['item_name_in_use', 'session_conflict']) {
      const s = await refusingServer({ code }, () => [ours]);
      expect(await rejection(client(s.url).chunkedUploads.uploadFilePart('SID', body, headers))).toMatchObject({ name: 'Box.Conflict', code });
      expect(s.requests.map((r) => r.method)).toEqual(['PUT']);
    }
  });
});
