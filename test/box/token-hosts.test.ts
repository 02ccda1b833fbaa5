// The token goes only to Box. A session endpoint (in a Lambda's event or in a Box answer) that names
// another host fails with Box.UntrustedUrl before any connection: a listener on another loopback
// address (127.0.0.2) records every connection and byte that reaches it, and must see none.
import net from 'node:net';
import type { AddressInfo } from 'node:net';
import { Readable } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { makeTaskHandlers } from '../../functions/index.ts';
import { startBoxEmulator } from '../../local/box-emulator/index.ts';
import type { BoxEmulator } from '../../local/box-emulator/index.ts';
import { BoxClient, DeveloperTokenAuth } from '../../src/box/index.ts';
import { mayReceiveCredentials } from '../../src/box/http.ts';
import { silentLogger } from '../../src/transfer/logger.ts';
import { lambdaContext } from '../transfer/helpers.ts';
import { startRawServer } from './rawServer.ts';

interface Recorder {
  url: string;
  connections: number;
  received: string;
  close(): Promise<void>;
}

/** A TCP listener that records what reaches it and answers 204 to anything. */
async function startRecorder(host: string): Promise<Recorder> {
  const rec = { connections: 0, received: '' };
  const server = net.createServer((socket) => {
    rec.connections++;
    socket.on('data', (d: Buffer) => {
      rec.received += d.toString('latin1');
      socket.end('HTTP/1.1 204 No Content\r\nconnection: close\r\n\r\n');
    });
    socket.on('error', () => undefined);
  });
  await new Promise<void>((resolve) => server.listen(0, host, resolve));
  const { port } = server.address() as AddressInfo;
  return Object.assign(rec, {
    url: `http://${host}:${port}`,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  });
}

describe('mayReceiveCredentials', () => {
  const configured = ['https://api.box.com', 'https://upload.box.com/api', 'http://127.0.0.1:4000'];
  it.each([
    ['https://upload.box.com/api/2.0/files/upload_sessions/S', true],
    ['https://upload-las.app.box.com/api/2.0/files/upload_sessions/S', true], // another upload host Box may answer with
    ['https://box.com/x', true],
    ['https://UPLOAD.BOX.COM./x', true],
    ['http://127.0.0.1:5555/api/2.0/files/upload_sessions/S', true], // the emulator's host, another port
    ['http://upload.box.com/api/2.0/files/upload_sessions/S', false], // not https
    ['https://box.com.evil.example/x', false],
    ['https://evilbox.com/x', false],
    ['https://upload.box.com@evil.example/x', false], // user info: the host is evil.example
    ['https://user:pw@upload.box.com/x', false],
    ['https://127.0.0.1:4000/x', false], // another scheme than the configured one
    ['http://127.0.0.2:4000/x', false],
    ['http://localhost:4000/x', false],
    ['file:///etc/passwd', false],
    ['not a url', false],
  ])('%s -> %s', (url, expected) => {
    expect(mayReceiveCredentials(url, configured)).toBe(expected);
  });
});

describe('the token goes only to Box (loopback listener on 127.0.0.2)', () => {
  let box: BoxEmulator;
  let recorder: Recorder;
  let client: BoxClient;
  beforeAll(async () => {
    box = await startBoxEmulator({});
    recorder = await startRecorder('127.0.0.2');
    client = new BoxClient({ auth: new DeveloperTokenAuth(box.token), apiUrl: box.url, uploadUrl: box.uploadUrl, retry: { maxAttempts: 2, baseDelayMs: 1 } });
  });
  afterAll(async () => {
    await client?.close();
    await recorder?.close();
    await box?.close();
  });

  it('the listener records what reaches it (a client configured for it sends its token there)', async () => {
    const other = await startRecorder('127.0.0.2');
    const trusting = new BoxClient({ auth: new DeveloperTokenAuth('control-token'), apiUrl: other.url, uploadUrl: other.url, retry: { maxAttempts: 1 } });
    await trusting.chunkedUploads.deleteFileUploadSessionByUrl(`${other.url}/api/2.0/files/upload_sessions/S1`);
    await trusting.close();
    await other.close();
    expect(other.connections).toBe(1);
    expect(other.received).toContain('authorization: Bearer control-token');
  });

  it('Lambda events naming another host: Commit fails with Box.UntrustedUrl, AbortSession refuses too; nothing reaches the host', async () => {
    const handlers = makeTaskHandlers({ s3: undefined as never, box: async () => client, logger: silentLogger });
    const forged = (base: string) => ({
      id: 'S1',
      partSize: 8 * 1024 * 1024,
      totalParts: 3,
      endpoints: {
        uploadPart: `${base}/api/2.0/files/upload_sessions/S1`,
        commit: `${base}/api/2.0/files/upload_sessions/S1/commit`,
        abort: `${base}/api/2.0/files/upload_sessions/S1`,
        listParts: `${base}/api/2.0/files/upload_sessions/S1/parts`,
        status: `${base}/api/2.0/files/upload_sessions/S1`,
      },
    });
    for (const base of [recorder.url, 'https://box.com.evil.example']) {
      const transfer = {
        source: { bucket: 'b', key: 'k', size: 20 * 1024 * 1024, etag: 'e', lastModified: '2026-01-01T00:00:00.000Z' },
        destination: { folderId: '0', fileName: 'k' },
        onConflict: 'version',
        mode: 'chunked',
        session: forged(base),
        partsPerBatch: 3,
        partsInFlight: 1,
        mapConcurrency: 1,
      };
      await expect(handlers.Commit({ transfer, sha1: 'AAAAAAAAAAAAAAAAAAAAAAAAAAA=' }, lambdaContext())).rejects.toMatchObject({
        name: 'Box.UntrustedUrl',
        message: expect.stringContaining('refused to send Box credentials to'),
      });
      const aborted = (await handlers.AbortSession({ transfer, error: { Error: 'Box.ServerError', Cause: '{}' } }, lambdaContext())) as { aborted: boolean; reason?: string };
      expect(aborted).toMatchObject({ aborted: false, reason: expect.stringMatching(/^Box\.UntrustedUrl: /) });
    }
    const bytes = Buffer.alloc(1024);
    await expect(
      client.chunkedUploads.uploadFilePartByUrl(`${recorder.url}/api/2.0/files/upload_sessions/S1`, bytes, {
        digest: 'sha=AAAAAAAAAAAAAAAAAAAAAAAAAAA=',
        contentRange: 'bytes 0-1023/20000000',
      }),
    ).rejects.toMatchObject({ name: 'Box.UntrustedUrl' });
    expect(recorder.connections).toBe(0);
    expect(recorder.received).toBe('');
  });

  it('a Box answer naming another host: uploadBigFile fails with Box.UntrustedUrl, the token stays with Box', async () => {
    // A stand-in for Box (the configured host) whose session endpoints point at the listener.
    const fakeBox = await startRawServer((req, res) => {
      if (req.method === 'POST' && req.path.endsWith('/files/upload_sessions')) {
        const u = `${recorder.url}/api/2.0/files/upload_sessions/S9`;
        res.writeHead(201, { 'content-type': 'application/json' });
        res.end(
          JSON.stringify({
            type: 'upload_session',
            id: 'S9',
            part_size: 8 * 1024 * 1024,
            total_parts: 3,
            num_parts_processed: 0,
            session_expires_at: '2030-01-01T00:00:00Z',
            session_endpoints: { upload_part: u, commit: `${u}/commit`, abort: u, list_parts: `${u}/parts`, status: u, log_event: `${u}/log` },
          }),
        );
        return;
      }
      res.writeHead(404).end();
    });
    const victim = new BoxClient({ auth: new DeveloperTokenAuth('victim-token'), apiUrl: fakeBox.url, uploadUrl: `${fakeBox.url}/api`, retry: { maxAttempts: 1 } });
    const size = 20_000_000;
    await expect(victim.chunkedUploads.uploadBigFile(Readable.from([Buffer.alloc(size)]), 'x.bin', size, '0')).rejects.toMatchObject({ name: 'Box.UntrustedUrl' });
    await victim.close();
    await fakeBox.close();
    expect(fakeBox.requests.map((r) => [r.method, r.headers.authorization])).toEqual([['POST', 'Bearer victim-token']]);
    expect(recorder.connections).toBe(0);
  });
});
