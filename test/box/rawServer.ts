// A tiny programmable HTTP server on 127.0.0.1:0 for raw-protocol unit tests of the Box client.
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach } from 'vitest';
import { BoxClient, DeveloperTokenAuth } from '../../src/box/index.ts';

export interface RecordedRequest {
  method: string;
  path: string;
  headers: http.IncomingHttpHeaders;
  body: Buffer;
}

export type RawHandler = (req: RecordedRequest, res: http.ServerResponse, raw: http.IncomingMessage) => void | Promise<void>;

export interface RawServer {
  url: string;
  requests: RecordedRequest[];
  close(): Promise<void>;
}

export async function startRawServer(handler: RawHandler): Promise<RawServer> {
  const requests: RecordedRequest[] = [];
  const server = http.createServer((raw, res) => {
    const chunks: Buffer[] = [];
    raw.on('data', (chunk: Buffer) => chunks.push(chunk));
    raw.on('end', () => {
      const recorded: RecordedRequest = { method: raw.method ?? '', path: raw.url ?? '', headers: raw.headers, body: Buffer.concat(chunks) };
      requests.push(recorded);
      Promise.resolve(handler(recorded, res, raw)).catch((error: unknown) => {
        res.statusCode = 599;
        res.end(String(error));
      });
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    requests,
    close: async () => {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

export function sendJson(res: http.ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): void {
  const text = JSON.stringify(body);
  res.writeHead(status, { 'content-type': 'application/json', 'content-length': String(Buffer.byteLength(text)), ...headers });
  res.end(text);
}

export function boxError(res: http.ServerResponse, status: number, code: string, extra: Record<string, unknown> = {}, headers: Record<string, string> = {}): void {
  sendJson(res, status, { type: 'error', status, code, message: `emulated ${code}`, request_id: `req-${code}`, ...extra }, headers);
}

/**
 * Raw servers and Box clients for the tests of one file, closed after each test: `server(handler)` starts
 * one; `client(url, extra)` is a developer-token client of it (uploads under `/api`) with `retry` unless
 * `extra` says otherwise.
 */
export function rawServerSetUp(retry: NonNullable<ConstructorParameters<typeof BoxClient>[0]['retry']>): {
  server: (handler: RawHandler) => Promise<RawServer>;
  client: (url: string, extra?: Partial<ConstructorParameters<typeof BoxClient>[0]>) => BoxClient;
} {
  const servers: RawServer[] = [];
  const clients: BoxClient[] = [];
  afterEach(async () => {
    await Promise.all(clients.splice(0).map((c) => c.close()));
    await Promise.all(servers.splice(0).map((s) => s.close()));
  });
  return {
    server: async (handler) => {
      const s = await startRawServer(handler);
      servers.push(s);
      return s;
    },
    client: (url, extra = {}) => {
      const c = new BoxClient({ auth: new DeveloperTokenAuth('dev-token-secret'), apiUrl: url, uploadUrl: `${url}/api`, retry, ...extra });
      clients.push(c);
      return c;
    },
  };
}
