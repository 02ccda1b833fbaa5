// FoldersManager's requests as Box sees them, and answers without a folder (a proxy or a Box change):
// a loopback server that records each request and answers what the test says.
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { BoxClient, DeveloperTokenAuth } from '../../src/box/index.ts';
import { rejection } from '../support/rejection.ts';

interface Seen {
  method: string;
  url: string;
  contentType: string | undefined;
  body: string;
}

let server: http.Server | undefined;
let client: BoxClient | undefined;
afterEach(async () => {
  await client?.close();
  server?.closeAllConnections();
  await new Promise<void>((resolve) => (server ? server.close(() => resolve()) : resolve()));
  server = client = undefined;
});

async function boxAnswering(answer: unknown): Promise<{ client: BoxClient; seen: Seen[] }> {
  const seen: Seen[] = [];
  server = http.createServer((req, res) => {
    let body = '';
    req.on('data', (c: Buffer) => (body += c.toString('utf8')));
    req.on('end', () => {
      seen.push({ method: req.method ?? '', url: req.url ?? '', contentType: req.headers['content-type'], body });
      const text = JSON.stringify(answer);
      res.writeHead(200, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text) });
      res.end(text);
    });
  });
  await new Promise<void>((resolve) => server!.listen(0, '127.0.0.1', () => resolve()));
  const { port } = server.address() as AddressInfo;
  client = new BoxClient({ auth: new DeveloperTokenAuth('t'), apiUrl: `http://127.0.0.1:${port}`, uploadUrl: `http://127.0.0.1:${port}/api`, retry: { maxAttempts: 1 } });
  return { client, seen };
}

describe('FoldersManager', () => {
  it('GETs a folder without a body and POSTs a new one as JSON', async () => {
    const { client, seen } = await boxAnswering({ type: 'folder', id: '42', name: 'reports' });
    await expect(client.folders.getFolder('42')).resolves.toMatchObject({ id: '42' });
    await expect(client.folders.createFolder('reports', '0')).resolves.toMatchObject({ id: '42' });
    expect(seen).toEqual([
      { method: 'GET', url: '/2.0/folders/42', contentType: undefined, body: '' },
      { method: 'POST', url: '/2.0/folders', contentType: 'application/json', body: '{"name":"reports","parent":{"id":"0"}}' },
    ]);
  });

  it('an answer without a folder is Box.IntegrityError naming the request', async () => {
    const { client } = await boxAnswering({ type: 'error' });
    expect(await rejection(client.folders.getFolder('42'))).toMatchObject({ name: 'Box.IntegrityError', message: 'GET folder answered 200 without a folder' });
    expect(await rejection(client.folders.createFolder('x', '0'))).toMatchObject({ name: 'Box.IntegrityError', message: 'POST folders answered 200 without a folder' });
  });
});
