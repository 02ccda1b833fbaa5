// src/box/undici.ts imports undici's Agent and request from their own modules (not undici's index, which
// loads all of undici at every start): they must be undici's own, and request must behave as undici's
// request(url, { dispatcher }) does, with our Agent and with any dispatcher a caller hands the client.
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import * as undici from 'undici';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Agent, request } from '../../src/box/undici.ts';

let server: http.Server;
let origin: string;
const seen: { method?: string; url?: string; body: string; header?: string }[] = [];

beforeAll(async () => {
  server = http.createServer((req, res) => {
    let body = '';
    req.setEncoding('utf8').on('data', (d: string) => (body += d));
    req.on('end', () => {
      seen.push({ method: req.method, url: req.url, body, header: req.headers['x-test'] as string | undefined });
      res.writeHead(201, { 'content-type': 'application/json', 'x-answer': 'yes' }).end(JSON.stringify({ ok: true }));
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  origin = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
afterAll(async () => {
  await new Promise<void>((resolve) => server.close(() => resolve()));
});

describe('undici parts', () => {
  it('Agent is undici\'s own class', () => {
    expect(Agent).toBe(undici.Agent);
  });

  it('request sends method, path with query, headers and body through our Agent, and returns the response', async () => {
    const agent = new Agent();
    try {
      const res = await request(`${origin}/2.0/files/upload_sessions/ABC?offset=10&limit=5`, {
        method: 'PUT',
        headers: { 'x-test': 'one' },
        body: Buffer.from('part bytes'),
        dispatcher: agent,
      });
      expect(res.statusCode).toBe(201);
      expect(res.headers['x-answer']).toBe('yes');
      expect(await res.body.json()).toEqual({ ok: true });
      expect(seen.at(-1)).toEqual({ method: 'PUT', url: '/2.0/files/upload_sessions/ABC?offset=10&limit=5', body: 'part bytes', header: 'one' });
    } finally {
      await agent.close();
    }
  });

  it('works with a dispatcher from undici\'s index (a caller\'s own Pool), and honours an abort signal', async () => {
    const pool = new undici.Pool(origin);
    try {
      const res = await request(`${origin}/folders/0`, { method: 'GET', dispatcher: pool });
      expect(res.statusCode).toBe(201);
      await res.body.dump();
      expect(seen.at(-1)).toMatchObject({ method: 'GET', url: '/folders/0' });
      await expect(request(`${origin}/late`, { method: 'GET', dispatcher: pool, signal: AbortSignal.abort() })).rejects.toThrow();
    } finally {
      await pool.close();
    }
  });
});
