// What Box may answer where its API description is silent or guessed (the reference's open questions),
// against a raw loopback server: each variant is handled without throwing away what Box holds.
import { afterEach, describe, expect, it } from 'vitest';
import { BoxClient, DeveloperTokenAuth } from '../../src/box/index.ts';
import type { BoxError } from '../../src/box/index.ts';
import { rejection as rejectionOf } from '../support/rejection.ts';
import { startRawServer, type RawServer } from './rawServer.ts';

const servers: RawServer[] = [];
const clients: BoxClient[] = [];
afterEach(async () => {
  await Promise.all(clients.splice(0).map((c) => c.close()));
  await Promise.all(servers.splice(0).map((s) => s.close()));
});

async function server(handler: Parameters<typeof startRawServer>[0]): Promise<RawServer> {
  const s = await startRawServer(handler);
  servers.push(s);
  return s;
}

function client(url: string): BoxClient {
  const c = new BoxClient({ auth: new DeveloperTokenAuth('dev-token-secret'), apiUrl: url, uploadUrl: `${url}/api`, retry: { maxAttempts: 3, baseDelayMs: 5, maxDelayMs: 10 } });
  clients.push(c);
  return c;
}

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
