// The lean ranged GET (src/transfer/leanGet.ts) under streamRange, against real loopback servers: s3rver
// behind the fault proxy and a TCP front that counts connections and notes each request (lean or the SDK's),
// a raw fake S3 written here for answers s3rver never gives, and a TLS front for HTTPS. It proves: ranges
// served byte-exact over one kept-alive connection; a client not marked withLeanReads, an S3 error, a changed
// object go to the SDK (which reads the range and names the failure); a connection closed mid-body leaves the
// SDK exactly the rest; an abort rejects with its reason and closes the connection; a throwing onChunk rejects
// with its error;
// answers it must not read by hand (chunked, 200, wrong Content-Range, a head over 64 KiB...) are refused
// before a byte is handed over; Connection: close and a server that closed an idle kept-alive connection
// are handled (served, on a new connection); HTTPS with the default trust store.
import { readFileSync } from 'node:fs';
import net from 'node:net';
import type { AddressInfo } from 'node:net';
import tls from 'node:tls';
import { S3Client } from '@aws-sdk/client-s3';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { s3ConfigFromEnv } from '../../functions/s3Deps.ts';
import { LOCAL_S3_CREDENTIALS, localS3Client } from '../../local/runner/local-s3-client.ts';
import type { SourceObject } from '../../src/transfer/contract.ts';
import { leanFallbackChannel, leanGetRange, withLeanReads } from '../../src/transfer/leanGet.ts';
import type { LeanFallback } from '../../src/transfer/leanGet.ts';
import { pinSource, streamRange } from '../../src/transfer/s3source.ts';
import type { StreamRangeOptions } from '../../src/transfer/s3source.ts';
import { rejection } from '../support/rejection.ts';
import { startS3FaultProxy } from '../support/s3-fault-proxy.ts';
import type { S3FaultProxy } from '../support/s3-fault-proxy.ts';
import { startTestS3, testBytes } from './helpers.ts';
import type { TestS3 } from './helpers.ts';

const BUCKET = 'lean-get';
// Over a dozen of the lean path's 256 KiB socket reads, and not a whole number of 64-byte blocks.
const SIZE = 3 * 1024 * 1024 + 1001;
const bytes = testBytes(SIZE, 21);

/** One request as the front saw it go by. */
interface Seen {
  /** The front's number for the TCP connection it came on (1, 2, ...). */
  conn: number;
  method: string;
  range: string | undefined;
  /** Sent by the AWS SDK (its user agent); the lean path sends none. */
  sdk: boolean;
}

interface Front {
  endpoint: string;
  /** TCP connections accepted. */
  connections(): number;
  seen: Seen[];
  close(): Promise<void>;
}

/**
 * A TCP (or TLS) front that pipes each connection to `target` unchanged, counting connections and noting the
 * requests going by (the clients here send only GET and HEAD: heads without a body). A close on either side
 * is passed on, the other side's pending bytes flushed first.
 */
async function startFront(target: string, tlsOptions?: tls.TlsOptions): Promise<Front> {
  const upstream = new URL(target);
  const seen: Seen[] = [];
  const sockets = new Set<net.Socket>();
  let connections = 0;
  const onConnection = (client: net.Socket): void => {
    const conn = ++connections;
    const up = net.connect(Number(upstream.port), upstream.hostname);
    for (const socket of [client, up]) {
      sockets.add(socket);
      socket.once('close', () => sockets.delete(socket));
    }
    let pending = '';
    client.on('data', (chunk: Buffer) => {
      pending += chunk.toString('latin1');
      for (let at = pending.indexOf('\r\n\r\n'); at >= 0; at = pending.indexOf('\r\n\r\n')) {
        const [requestLine = '', ...lines] = pending.slice(0, at).split('\r\n');
        const header = (name: string): string | undefined =>
          lines.find((line) => line.toLowerCase().startsWith(`${name}:`))?.slice(name.length + 1).trim();
        seen.push({ conn, method: requestLine.split(' ')[0] ?? '', range: header('range'), sdk: (header('user-agent') ?? '').includes('aws-sdk-js') });
        pending = pending.slice(at + 4);
      }
    });
    client.pipe(up);
    up.pipe(client);
    // The client gone: so is the request upstream (the fault proxy counts it abandoned).
    client.on('error', () => up.destroy());
    client.once('close', () => up.destroy());
    // Upstream gone: what it sent is flushed to the client, then the client's connection ends.
    up.on('error', () => client.end());
    up.once('close', () => client.end());
  };
  const server = tlsOptions === undefined ? net.createServer(onConnection) : tls.createServer(tlsOptions, onConnection);
  server.on('tlsClientError', () => undefined);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    endpoint: `${tlsOptions === undefined ? 'http' : 'https'}://127.0.0.1:${port}`,
    connections: () => connections,
    seen,
    close: async () => {
      for (const socket of sockets) socket.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

/** What a read handed over (copied as it came) and what onServed said the lean path served. */
async function read(
  client: S3Client,
  source: SourceObject,
  offset: number,
  length: number,
  over: Partial<StreamRangeOptions> = {},
): Promise<{ got: Buffer; served: number[] }> {
  const chunks: Buffer[] = [];
  const served: number[] = [];
  await streamRange(client, source, offset, length, {
    onChunk: (chunk) => {
      chunks.push(Buffer.from(chunk));
    },
    onServed: (lean) => served.push(lean),
    ...over,
  });
  return { got: Buffer.concat(chunks), served };
}

/** `got` is bytes [offset, offset+length) of `of`, exactly. */
function expectBytes(got: Buffer, offset: number, length: number, of: Buffer = bytes): void {
  expect(got.byteLength).toBe(length);
  expect(Buffer.compare(got, of.subarray(offset, offset + length))).toBe(0);
}

const gets = (seen: Seen[]): Seen[] => seen.filter((r) => r.method === 'GET');
const rangeOf = (offset: number, length: number): string => `bytes=${offset}-${offset + length - 1}`;

let s3: TestS3;
let source: SourceObject;
beforeAll(async () => {
  s3 = await startTestS3([BUCKET]);
  await s3.put(BUCKET, 'obj.bin', bytes);
  source = await pinSource(s3.s3, { bucket: BUCKET, key: 'obj.bin' });
});
afterAll(async () => {
  await s3?.close();
});

// Each test: the client -> the front -> the fault proxy -> s3rver, all new (the lean path's idle connections
// are kept per endpoint, so a new front is a new pool).
let proxy: S3FaultProxy | undefined;
let front: Front | undefined;
let client: S3Client | undefined;
afterEach(async () => {
  client?.destroy();
  await front?.close();
  await proxy?.close();
  proxy = front = client = undefined;
});
async function setUp(): Promise<{ proxy: S3FaultProxy; front: Front; client: S3Client }> {
  proxy = await startS3FaultProxy(s3.endpoint);
  front = await startFront(proxy.endpoint);
  client = localS3Client(front.endpoint);
  return { proxy, front, client };
}

describe('streamRange reads through the lean GET from s3rver', () => {
  it('serves ranges byte-exact (odd offsets and lengths, the last byte, the tail, the whole object), all lean, over one kept-alive connection', async () => {
    const { front, client } = await setUp();
    const ranges: Array<[number, number]> = [
      [0, 100_003],
      [12_345, 1_000_001],
      [SIZE - 1, 1],
      [SIZE - 300_007, 300_007],
      [0, SIZE],
      [777, 64],
    ];
    for (const [offset, length] of ranges) {
      const { got, served } = await read(client, source, offset, length);
      expect(served, `${offset}+${length}`).toEqual([length]);
      expectBytes(got, offset, length);
    }
    const reads = gets(front.seen);
    expect(reads.map((r) => r.range)).toEqual(ranges.map(([offset, length]) => rangeOf(offset, length)));
    expect(reads.every((r) => !r.sdk)).toBe(true);
    // One connection for all of them: each range went out on the connection the one before left idle.
    expect(new Set(reads.map((r) => r.conn)).size).toBe(1);
    expect(front.connections()).toBe(1);
  });

  it('keys with spaces, unicode, +, quotes and parentheses: signed as s3rver checks them, served lean byte-exact', async () => {
    const { front, client } = await setUp();
    const keys = ['a folder/ré sumé+1 (copy).bin', "it's/*!~.bin", 'x=1&y=2;z.bin'];
    for (const [i, key] of keys.entries()) {
      const body = testBytes(70_001, 30 + i);
      await s3.put(BUCKET, key, body);
      const pinned = await pinSource(s3.s3, { bucket: BUCKET, key });
      const { got, served } = await read(client, pinned, 1, 70_000);
      expect(served, key).toEqual([70_000]);
      expectBytes(got, 1, 70_000, body);
    }
    expect(gets(front.seen).map((r) => r.sdk)).toEqual([false, false, false]);
  });

  it('a client not marked withLeanReads: the SDK reads the range (onServed(0)), byte-exact, and leanGetRange sends nothing', async () => {
    const { front } = await setUp();
    const plain = new S3Client({
      ...s3ConfigFromEnv({ AWS_REGION: 'us-east-1', S3_ENDPOINT: front.endpoint, S3_FORCE_PATH_STYLE: 'true' }),
      credentials: { ...LOCAL_S3_CREDENTIALS },
      responseChecksumValidation: 'WHEN_REQUIRED',
    });
    try {
      const { got, served } = await read(plain, source, 4321, 500_001);
      expect(served).toEqual([0]);
      expectBytes(got, 4321, 500_001);
      expect(gets(front.seen)).toEqual([expect.objectContaining({ sdk: true, range: rangeOf(4321, 500_001) })]);
      const handed: Buffer[] = [];
      expect(await leanGetRange(plain, source, 0, 1000, undefined, (chunk) => void handed.push(chunk))).toBe(0);
      expect(handed).toEqual([]);
      expect(gets(front.seen)).toHaveLength(1);
    } finally {
      plain.destroy();
    }
  });

  it('503 SlowDown to the lean GET: it serves nothing, the SDK reads the range, byte-exact', async () => {
    const { proxy, front, client } = await setUp();
    proxy.inject({ method: 'GET', range: rangeOf(100, 400_000), times: 1 });
    const { got, served } = await read(client, source, 100, 400_000);
    expect(served).toEqual([0]);
    expectBytes(got, 100, 400_000);
    expect(proxy.stats().slowDowns).toBe(1);
    expect(gets(front.seen).map((r) => [r.sdk, r.range])).toEqual([
      [false, rangeOf(100, 400_000)],
      [true, rangeOf(100, 400_000)],
    ]);
    // For a while after an error answer the endpoint is the SDK's alone: no GET is sent twice while S3 throttles.
    const next = await read(client, source, 500_000, 1000);
    expect(next.served).toEqual([0]);
    expectBytes(next.got, 500_000, 1000);
    expect(gets(front.seen).slice(2).map((r) => [r.sdk, r.range])).toEqual([[true, rangeOf(500_000, 1000)]]);
  });

  it('M10e the connection closes after N body bytes: the lean path served N, the SDK reads exactly the rest, the bytes exact and in order', async () => {
    const { proxy, front, client } = await setUp();
    const [offset, length, n] = [5000, 1_000_003, 100_000];
    proxy.inject({ method: 'GET', range: rangeOf(offset, length), times: 1, action: { type: 'closeBody', bytes: n } });
    const fallbacks: LeanFallback[] = [];
    const onFallback = (m: unknown): void => void fallbacks.push(m as LeanFallback);
    leanFallbackChannel.subscribe(onFallback);
    try {
      const { got, served } = await read(client, source, offset, length);
      expect(served).toEqual([n]);
      expectBytes(got, offset, length);
    } finally {
      leanFallbackChannel.unsubscribe(onFallback);
    }
    expect(gets(front.seen).map((r) => [r.sdk, r.range])).toEqual([
      [false, rangeOf(offset, length)],
      [true, `bytes=${offset + n}-${offset + length - 1}`],
    ]);
    // Told as a fallback for the connection's sake, after the answer's 206 and n bytes of it.
    expect(fallbacks).toEqual([{ origin: expect.any(String), range: rangeOf(offset, length), reason: 'connection', status: 206, handed: n }]);
  });

  it('the object overwritten since it was pinned (same size): the lean path serves nothing, the SDK names it Transfer.SourceChanged', async () => {
    const { front, client } = await setUp();
    await s3.put(BUCKET, 'changed.bin', testBytes(200_000, 22));
    const pinned = await pinSource(s3.s3, { bucket: BUCKET, key: 'changed.bin' });
    await s3.put(BUCKET, 'changed.bin', testBytes(200_000, 23));
    const served: number[] = [];
    const handed: Buffer[] = [];
    const err = await rejection(streamRange(client, pinned, 0, 100_000, { onChunk: (chunk) => void handed.push(chunk), onServed: (lean) => served.push(lean) }));
    expect(err).toMatchObject({ name: 'Transfer.SourceChanged' });
    expect(served).toEqual([0]);
    expect(handed).toEqual([]);
    expect(gets(front.seen).map((r) => r.sdk)).toEqual([false, true]);
  });

  it('aborted while the body is stalled: rejects with the signal\'s reason, the connection is closed, no SDK read follows', async () => {
    const { proxy, front, client } = await setUp();
    const [length, n] = [1_000_000, 150_000];
    proxy.inject({ method: 'GET', range: rangeOf(0, length), times: 1, action: { type: 'stallBody', bytes: n } });
    const controller = new AbortController();
    const reason = new Error('the test stopped the read');
    let handed = 0;
    let allHanded!: () => void;
    const stalled = new Promise<void>((resolve) => (allHanded = resolve));
    const served: number[] = [];
    const running = rejection(
      streamRange(client, source, 0, length, {
        signal: controller.signal,
        onChunk: (chunk) => {
          handed += chunk.byteLength;
          if (handed >= n) allHanded();
        },
        onServed: (lean) => served.push(lean),
      }),
    );
    await stalled;
    controller.abort(reason);
    expect(await running).toBe(reason);
    // The proxy saw its client (through the front) close the stalled request's connection.
    await proxy.abandonedAtLeast(1);
    expect(handed).toBe(n);
    expect(served).toEqual([]);
    expect(gets(front.seen).map((r) => r.sdk)).toEqual([false]);
  });

  it('onChunk throwing: streamRange rejects with that error, no SDK read; the next range is served on a new connection', async () => {
    const { front, client } = await setUp();
    const thrown = new Error('onChunk threw');
    const served: number[] = [];
    const sync = rejection(
      streamRange(client, source, 0, 500_000, {
        onChunk: () => {
          throw thrown;
        },
        onServed: (lean) => served.push(lean),
      }),
    );
    expect(await sync).toBe(thrown);
    const again = rejection(streamRange(client, source, 0, 500_000, { onChunk: () => { throw thrown; }, onServed: (lean) => served.push(lean) }));
    expect(await again).toBe(thrown);
    expect(served).toEqual([]);
    const { got, served: after } = await read(client, source, 10, 300_000);
    expect(after).toEqual([300_000]);
    expectBytes(got, 10, 300_000);
    const reads = gets(front.seen);
    expect(reads.map((r) => r.sdk)).toEqual([false, false, false]);
    // A connection its exchange failed on is not reused.
    expect(new Set(reads.map((r) => r.conn)).size).toBe(3);
  });
});

// A fake S3 that answers each GET as the test says, byte for byte.
const FAKE_SIZE = 700_001;
const fakeBytes = testBytes(FAKE_SIZE, 24);
const FAKE_ETAG = '"0123456789abcdef0123456789abcdef"';
const fakeSource: SourceObject = { bucket: 'fake', key: 'dir/obj.bin', etag: FAKE_ETAG, size: FAKE_SIZE, lastModified: new Date(0).toISOString() };

interface FakeRequest {
  /** The fake's number for the connection (1, 2, ...). */
  conn: number;
  /** Requests before this one on the same connection. */
  before: number;
  start: number;
  end: number;
  requestLine: string;
  /** The request's head: its request line and headers. */
  head: string;
}
type FakeAnswer = (req: FakeRequest, socket: net.Socket) => void;

interface Fake {
  endpoint: string;
  requests: FakeRequest[];
  connections(): number;
  /** Resolves once `n` connections in all have closed. */
  closedAtLeast(n: number): Promise<void>;
  close(): Promise<void>;
}

async function startFake(answer: FakeAnswer): Promise<Fake> {
  const requests: FakeRequest[] = [];
  const sockets = new Set<net.Socket>();
  let connections = 0;
  let closed = 0;
  const waiters: Array<{ n: number; resolve: () => void }> = [];
  const server = net.createServer((socket) => {
    const conn = ++connections;
    let before = 0;
    sockets.add(socket);
    socket.setNoDelay(true);
    socket.on('error', () => undefined);
    socket.once('close', () => {
      sockets.delete(socket);
      closed++;
      for (const w of waiters.splice(0)) {
        if (closed >= w.n) w.resolve();
        else waiters.push(w);
      }
    });
    let pending = '';
    socket.on('data', (chunk: Buffer) => {
      pending += chunk.toString('latin1');
      for (let at = pending.indexOf('\r\n\r\n'); at >= 0; at = pending.indexOf('\r\n\r\n')) {
        const head = pending.slice(0, at);
        pending = pending.slice(at + 4);
        const range = /\r\nrange: *bytes=(\d+)-(\d+)/i.exec(head);
        const req: FakeRequest = { conn, before: before++, start: Number(range?.[1] ?? 0), end: Number(range?.[2] ?? FAKE_SIZE - 1), requestLine: head.split('\r\n')[0] ?? '', head };
        requests.push(req);
        if (!socket.writableEnded && !socket.destroyed) answer(req, socket);
      }
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    endpoint: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    requests,
    connections: () => connections,
    closedAtLeast: (n) => (closed >= n ? Promise.resolve() : new Promise<void>((resolve) => waiters.push({ n, resolve }))),
    close: async () => {
      for (const socket of sockets) socket.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

/** An answer's head: the status line, the headers, the blank line. */
const head = (status: string, headers: string[]): string => `${[status, ...headers].join('\r\n')}\r\n\r\n`;
/** S3's answer to the range: 206, its Content-Range and Content-Length, the ETag; `extra` headers after. */
const partialHead = (req: FakeRequest, extra: string[] = [], status = 'HTTP/1.1 206 Partial Content'): string =>
  head(status, [`Content-Range: bytes ${req.start}-${req.end}/${FAKE_SIZE}`, `Content-Length: ${req.end - req.start + 1}`, `ETag: ${FAKE_ETAG}`, ...extra]);
const rangeBody = (req: FakeRequest): Buffer => fakeBytes.subarray(req.start, req.end + 1);
/** The plain answer, the connection kept alive. */
const answerRange: FakeAnswer = (req, socket) => {
  socket.write(partialHead(req));
  socket.write(rangeBody(req));
};

let fake: Fake | undefined;
let fakeClient: S3Client | undefined;
afterEach(async () => {
  fakeClient?.destroy();
  await fake?.close();
  fake = fakeClient = undefined;
});
async function fakeS3(answer: FakeAnswer): Promise<{ fake: Fake; client: S3Client }> {
  fake = await startFake(answer);
  // Path-style, s3rver's credentials, marked withLeanReads (localS3Client does all three).
  fakeClient = localS3Client(fake.endpoint);
  return { fake, client: fakeClient };
}

/** leanGetRange straight (no SDK after it): what it served and the bytes it handed over. */
async function lean(c: S3Client, offset: number, length: number): Promise<{ served: number; got: Buffer }> {
  const chunks: Buffer[] = [];
  const served = await leanGetRange(c, fakeSource, offset, length, undefined, (chunk) => void chunks.push(Buffer.from(chunk)));
  return { served, got: Buffer.concat(chunks) };
}

describe('leanGetRange against a raw fake S3', () => {
  it('control: the plain 206 is served byte-exact, consecutive ranges on one connection, the request signed for the object\'s path', async () => {
    const { fake, client } = await fakeS3(answerRange);
    for (const [offset, length] of [
      [0, 1000],
      [123, 300_001],
      [FAKE_SIZE - 1, 1],
    ] as const) {
      const { served, got } = await lean(client, offset, length);
      expect(served).toBe(length);
      expectBytes(got, offset, length, fakeBytes);
    }
    expect(fake.connections()).toBe(1);
    expect(fake.requests.map((r) => r.requestLine)).toEqual(Array(3).fill('GET /fake/dir/obj.bin HTTP/1.1'));
  });

  const refused: Array<[string, FakeAnswer]> = [
    [
      'a 206 with Transfer-Encoding: chunked',
      (req, socket) => {
        const body = rangeBody(req);
        socket.write(head('HTTP/1.1 206 Partial Content', [`Content-Range: bytes ${req.start}-${req.end}/${FAKE_SIZE}`, `ETag: ${FAKE_ETAG}`, 'Transfer-Encoding: chunked']));
        socket.write(`${body.byteLength.toString(16)}\r\n`);
        socket.write(body);
        socket.write('\r\n0\r\n\r\n');
      },
    ],
    [
      'a 206 with Transfer-Encoding: chunked and the range\'s Content-Length too',
      (req, socket) => {
        const body = rangeBody(req);
        socket.write(partialHead(req, ['Transfer-Encoding: chunked']));
        socket.write(`${body.byteLength.toString(16)}\r\n`);
        socket.write(body);
        socket.write('\r\n0\r\n\r\n');
      },
    ],
    [
      'a 200 with the whole object (the range ignored)',
      (_req, socket) => {
        socket.write(head('HTTP/1.1 200 OK', [`Content-Length: ${FAKE_SIZE}`, `ETag: ${FAKE_ETAG}`]));
        socket.write(fakeBytes);
      },
    ],
    [
      'a Content-Range one byte off (the right length)',
      (req, socket) => {
        socket.write(head('HTTP/1.1 206 Partial Content', [`Content-Range: bytes ${req.start + 1}-${req.end + 1}/${FAKE_SIZE}`, `Content-Length: ${req.end - req.start + 1}`, `ETag: ${FAKE_ETAG}`]));
        socket.write(fakeBytes.subarray(req.start + 1, req.end + 2));
      },
    ],
    [
      'a 200 carrying the range\'s Content-Range and length',
      (req, socket) => {
        socket.write(partialHead(req, [], 'HTTP/1.1 200 OK'));
        socket.write(rangeBody(req));
      },
    ],
    [
      'a Content-Range starting one byte later (the right end and length)',
      (req, socket) => {
        socket.write(head('HTTP/1.1 206 Partial Content', [`Content-Range: bytes ${req.start + 1}-${req.end}/${FAKE_SIZE}`, `Content-Length: ${req.end - req.start + 1}`, `ETag: ${FAKE_ETAG}`]));
        socket.write(rangeBody(req));
      },
    ],
    [
      'a Content-Range with another total size',
      (req, socket) => {
        socket.write(head('HTTP/1.1 206 Partial Content', [`Content-Range: bytes ${req.start}-${req.end}/${FAKE_SIZE + 1}`, `Content-Length: ${req.end - req.start + 1}`, `ETag: ${FAKE_ETAG}`]));
        socket.write(rangeBody(req));
      },
    ],
    [
      'a head over 64 KiB',
      (req, socket) => {
        socket.write(partialHead(req, [`X-Padding: ${'p'.repeat(70 * 1024)}`]));
        socket.write(rangeBody(req));
      },
    ],
    [
      'a Content-Length that is not the range\'s',
      (req, socket) => {
        socket.write(head('HTTP/1.1 206 Partial Content', [`Content-Range: bytes ${req.start}-${req.end}/${FAKE_SIZE}`, `Content-Length: ${req.end - req.start}`, `ETag: ${FAKE_ETAG}`]));
        socket.write(fakeBytes.subarray(req.start, req.end));
      },
    ],
    [
      'two different Content-Length headers (the right one last)',
      (req, socket) => {
        socket.write(head('HTTP/1.1 206 Partial Content', [`Content-Length: ${req.end - req.start + 2}`, `Content-Range: bytes ${req.start}-${req.end}/${FAKE_SIZE}`, `Content-Length: ${req.end - req.start + 1}`, `ETag: ${FAKE_ETAG}`]));
        socket.write(rangeBody(req));
      },
    ],
    [
      'two different Content-Range headers (the right one last)',
      (req, socket) => {
        socket.write(head('HTTP/1.1 206 Partial Content', [`Content-Range: bytes ${req.start + 1}-${req.end + 1}/${FAKE_SIZE}`, `Content-Range: bytes ${req.start}-${req.end}/${FAKE_SIZE}`, `Content-Length: ${req.end - req.start + 1}`, `ETag: ${FAKE_ETAG}`]));
        socket.write(rangeBody(req));
      },
    ],
    [
      'another ETag (the object changed)',
      (req, socket) => {
        socket.write(head('HTTP/1.1 206 Partial Content', [`Content-Range: bytes ${req.start}-${req.end}/${FAKE_SIZE}`, `Content-Length: ${req.end - req.start + 1}`, 'ETag: "ffffffffffffffffffffffffffffffff"']));
        socket.write(rangeBody(req));
      },
    ],
    [
      'a 412 Precondition Failed',
      (_req, socket) => {
        const body = '<Error><Code>PreconditionFailed</Code></Error>';
        socket.write(head('HTTP/1.1 412 Precondition Failed', [`Content-Length: ${body.length}`]));
        socket.write(body);
      },
    ],
    ['a status line that is not HTTP', (_req, socket) => void socket.write(head('ICY 206 OK', ['Content-Length: 10']))],
    [
      // An interim answer is not read past (the SDK's client handles 1xx): refused, though the 206 follows.
      'a 100 Continue before the 206',
      (req, socket) => {
        socket.write(head('HTTP/1.1 100 Continue', []));
        socket.write(Buffer.concat([Buffer.from(partialHead(req), 'latin1'), rangeBody(req)]));
      },
    ],
  ];
  for (const [what, answer] of refused) {
    it(`refused before a byte is handed over: ${what} (serves 0, the connection not kept)`, async () => {
      const { fake, client } = await fakeS3(answer);
      const { served, got } = await lean(client, 1000, 200_000);
      expect(served).toBe(0);
      expect(got.byteLength).toBe(0);
      // The refused answer's connection was dropped (its body unread): the server sees it close.
      await fake.closedAtLeast(1);
    });
  }

  it('an ETag with a line break (it would split the request) is not sent at all: 0, no request, no connection', async () => {
    const { fake, client } = await fakeS3(answerRange);
    const served = await leanGetRange(client, { ...fakeSource, etag: '"abc"\r\nx-injected: 1' }, 0, 1000, undefined, () => undefined);
    expect(served).toBe(0);
    expect(fake.requests).toHaveLength(0);
    expect(fake.connections()).toBe(0);
  });

  it('session credentials: the request carries the token, signed (x-amz-security-token among the signed headers)', async () => {
    const { fake } = await fakeS3(answerRange);
    const withToken = withLeanReads(
      new S3Client({ region: 'us-east-1', endpoint: fake.endpoint, forcePathStyle: true, credentials: { accessKeyId: 'AKID', secretAccessKey: 'SECRET', sessionToken: 'TOKEN-1' } }),
    );
    try {
      expect((await lean(withToken, 0, 1000)).served).toBe(1000);
      const request = fake.requests[0] as FakeRequest & { head?: string };
      expect(request.head).toMatch(/^x-amz-security-token: TOKEN-1$/m);
      expect(request.head).toMatch(/^authorization: AWS4-HMAC-SHA256 Credential=AKID\/[^ ]+, SignedHeaders=[^ ]*x-amz-security-token/m);
    } finally {
      withToken.destroy();
    }
  });

  it('a head over 64 KiB that ends just past 64 KiB in one read with its body: refused too', async () => {
    const { client } = await fakeS3((req, socket) => {
      const start = partialHead(req);
      // The head's end ("\r\n\r\n") at bytes 65,535..65,538: only its first byte within 64 KiB.
      const pad = 64 * 1024 - (start.length - 2) - 'X-Padding: \r\n'.length + 1;
      const padded = `${start.slice(0, -2)}X-Padding: ${'p'.repeat(pad)}\r\n\r\n`;
      socket.write(Buffer.concat([Buffer.from(padded, 'latin1'), rangeBody(req)]));
    });
    expect(await lean(client, 0, 1000)).toMatchObject({ served: 0 });
  });

  it('a head that arrives in pieces (its blank line split across writes) is read as one', async () => {
    const { client } = await fakeS3((req, socket) => {
      const text = partialHead(req);
      const pieces = [text.slice(0, 17), text.slice(17, -3), text.slice(-3, -1), text.slice(-1)];
      void (async () => {
        for (const piece of pieces) {
          socket.write(piece);
          await new Promise<void>((resolve) => setImmediate(resolve));
        }
        socket.write(rangeBody(req));
      })();
    });
    const { served, got } = await lean(client, 77, 5000);
    expect(served).toBe(5000);
    expectBytes(got, 77, 5000, fakeBytes);
  });

  it('Connection: close: served, and the next range opens a new connection', async () => {
    const { fake, client } = await fakeS3((req, socket) => {
      socket.write(partialHead(req, ['Connection: close']));
      socket.end(rangeBody(req));
    });
    for (const [offset, length] of [
      [0, 100_000],
      [50_000, 400_001],
    ] as const) {
      const { served, got } = await lean(client, offset, length);
      expect(served).toBe(length);
      expectBytes(got, offset, length, fakeBytes);
    }
    expect(fake.connections()).toBe(2);
    expect(fake.requests.map((r) => [r.conn, r.before])).toEqual([
      [1, 0],
      [2, 0],
    ]);
  });

  it('an HTTP/1.0 answer (no keep-alive): served, and the next range opens a new connection', async () => {
    const { fake, client } = await fakeS3((req, socket) => {
      socket.write(partialHead(req, [], 'HTTP/1.0 206 Partial Content'));
      socket.end(rangeBody(req));
    });
    for (let i = 0; i < 2; i++) expect(await lean(client, 10, 20_000)).toMatchObject({ served: 20_000 });
    expect(fake.connections()).toBe(2);
    // Not sent again on the first connection (which would fail and be retried): each range on a connection of its own.
    expect(fake.requests.map((r) => [r.conn, r.before])).toEqual([
      [1, 0],
      [2, 0],
    ]);
  });

  it('bytes past the range (a server out of step): the range is served, the extra bytes are not handed over, the connection not reused', async () => {
    const { fake, client } = await fakeS3((req, socket) => {
      socket.write(Buffer.concat([Buffer.from(partialHead(req), 'latin1'), rangeBody(req), Buffer.from('HTTP/1.1 200 OK\r\n\r\nstray')]));
    });
    for (let i = 0; i < 2; i++) {
      const { served, got } = await lean(client, 5, 1000);
      expect(served).toBe(1000);
      expectBytes(got, 5, 1000, fakeBytes);
    }
    expect(fake.connections()).toBe(2);
  });

  it('a versioned source: the GET names the version, an answer for another version is refused, the pinned one served', async () => {
    const versioned: SourceObject = { ...fakeSource, versionId: 'v 1/+=' };
    const { fake, client } = await fakeS3((req, socket) => {
      socket.write(partialHead(req, [`x-amz-version-id: ${fake.requests.length === 1 ? 'another' : versioned.versionId}`]));
      socket.write(rangeBody(req));
    });
    const handed: Buffer[] = [];
    const onChunk = (chunk: Buffer): void => void handed.push(Buffer.from(chunk));
    expect(await leanGetRange(client, versioned, 10, 1000, undefined, onChunk)).toBe(0);
    expect(handed).toEqual([]);
    expect(await leanGetRange(client, versioned, 10, 1000, undefined, onChunk)).toBe(1000);
    expectBytes(Buffer.concat(handed), 10, 1000, fakeBytes);
    expect(fake.requests.map((r) => r.requestLine)).toEqual(Array(2).fill('GET /fake/dir/obj.bin?versionId=v%201%2F%2B%3D HTTP/1.1'));
  });

  it('a kept-alive connection the server closed while idle (no Connection: close): the next range is served lean on a new connection', async () => {
    const { fake, client } = await fakeS3((req, socket) => {
      socket.write(partialHead(req));
      socket.end(rangeBody(req));
    });
    expect(await lean(client, 0, 100_000)).toMatchObject({ served: 100_000 });
    await fake.closedAtLeast(1);
    const { served, got } = await lean(client, 100_000, 200_000);
    expect(served).toBe(200_000);
    expectBytes(got, 100_000, 200_000, fakeBytes);
    expect(fake.connections()).toBe(2);
  });

  it('a kept-alive connection the server drops as the next request arrives (before a byte of answer): retried once on a new connection, served lean', async () => {
    // Each connection answers its first request; a second request on it is dropped unanswered (as a server
    // whose idle timeout fired as the request came).
    const { fake, client } = await fakeS3((req, socket) => {
      if (req.before > 0) socket.destroy();
      else answerRange(req, socket);
    });
    expect(await lean(client, 0, 100_000)).toMatchObject({ served: 100_000 });
    const { served, got } = await lean(client, 100_000, 200_000);
    expect(served).toBe(200_000);
    expectBytes(got, 100_000, 200_000, fakeBytes);
    expect(fake.requests.map((r) => [r.conn, r.before, r.start])).toEqual([
      [1, 0, 0],
      [1, 1, 100_000],
      [2, 0, 100_000],
    ]);
  });

  it('a server that drops every request after the first: the kept-alive connection\'s failure is retried once, the new connection\'s is not (0, the SDK reads it)', async () => {
    const { fake, client } = await fakeS3((req, socket) => {
      if (req.conn === 1 && req.before === 0) answerRange(req, socket);
      else socket.destroy();
    });
    expect(await lean(client, 0, 1000)).toMatchObject({ served: 1000 });
    expect(await lean(client, 1000, 1000)).toMatchObject({ served: 0 });
    expect(fake.requests.map((r) => [r.conn, r.before])).toEqual([
      [1, 0],
      [1, 1],
      [2, 0],
    ]);
    // A fresh connection that fails before a byte of answer is the SDK's at once.
    expect(await lean(client, 2000, 1000)).toMatchObject({ served: 0 });
    expect(fake.requests).toHaveLength(4);
  });

  it('a kept-alive connection that fails after its answer began is not retried: what was handed over stands (the SDK reads the rest)', async () => {
    const { fake, client } = await fakeS3((req, socket) => {
      if (req.before === 0) return answerRange(req, socket);
      socket.write(partialHead(req));
      socket.write(rangeBody(req).subarray(0, 3000), () => socket.destroy());
    });
    expect(await lean(client, 0, 1000)).toMatchObject({ served: 1000 });
    const { served, got } = await lean(client, 2000, 10_000);
    expect(served).toBe(3000);
    expectBytes(got, 2000, 3000, fakeBytes);
    expect(fake.connections()).toBe(1);
  });
});

describe('over HTTPS', () => {
  const certDir = new URL('../fixtures/tls/', import.meta.url);
  const cert = readFileSync(new URL('localhost-cert.pem', certDir), 'utf8');
  const key = readFileSync(new URL('localhost-key.pem', certDir), 'utf8');
  let trusted: string[];
  let tlsFront: Front | undefined;
  let httpsClient: S3Client | undefined;
  beforeAll(async () => {
    trusted = tls.getCACertificates('default');
    tls.setDefaultCACertificates([...trusted, cert]);
    tlsFront = await startFront(s3.endpoint, { key, cert });
    httpsClient = localS3Client(tlsFront.endpoint);
  });
  afterAll(async () => {
    httpsClient?.destroy();
    await tlsFront?.close();
    tls.setDefaultCACertificates(trusted);
  });

  it('by host name (SNI "localhost"): a certificate the client does not trust is refused (nothing handed over); trusted, served lean', async () => {
    const front = await startFront(s3.endpoint, { key, cert });
    const byName = localS3Client(front.endpoint.replace('127.0.0.1', 'localhost'));
    try {
      const pinned = { ...source };
      // A fresh connection to an endpoint whose certificate is not trusted: the lean GET refuses it (0), as the SDK would.
      tls.setDefaultCACertificates(trusted);
      const handed: Buffer[] = [];
      expect(await leanGetRange(byName, pinned, 0, 1000, undefined, (chunk) => void handed.push(chunk))).toBe(0);
      expect(handed).toEqual([]);
      tls.setDefaultCACertificates([...trusted, cert]);
      const { got, served } = await read(byName, pinned, 5, 70_000);
      expect(served).toEqual([70_000]);
      expectBytes(got, 5, 70_000);
    } finally {
      tls.setDefaultCACertificates([...trusted, cert]);
      byName.destroy();
      await front.close();
    }
  });

  it('a TLS endpoint (self-signed for 127.0.0.1, trusted by default): ranges served lean, byte-exact, on one connection', async () => {
    const c = httpsClient as S3Client;
    const f = tlsFront as Front;
    const pinned = await pinSource(c, { bucket: BUCKET, key: 'obj.bin' });
    expect(pinned).toMatchObject({ etag: source.etag, size: SIZE });
    for (const [offset, length] of [
      [999, 1_234_567],
      [SIZE - 65, 65],
    ] as const) {
      const { got, served } = await read(c, pinned, offset, length);
      expect(served).toEqual([length]);
      expectBytes(got, offset, length);
    }
    const reads = gets(f.seen);
    expect(reads.map((r) => r.sdk)).toEqual([false, false]);
    expect(new Set(reads.map((r) => r.conn)).size).toBe(1);
  });
});
