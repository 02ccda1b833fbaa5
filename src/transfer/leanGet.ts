// A ranged GET of the pinned object over a plain keep-alive socket, its body handed over as the socket reads
// it, for the whole-file hash and the parts (streamRange, readRange). Reading 1 GiB through GetObject costs about 1 CPU-s on this
// project's machines (the SDK's middleware, node:http's parser and its streams, a fresh buffer per socket
// read); the same bytes read into one reused buffer per socket (net's `onread`) and parsed here cost about a
// quarter of that (measured over plain HTTP to a local S3; over TLS, as in AWS, decryption comes on top for
// both). On one vCPU the hash is the read plus SHA-1 (~0.65 CPU-s per GiB), so the read was most of what
// bounded the hash (BENCHMARKS.md, whole-file hash), and UploadBatch reads every byte of its parts.
//
// It takes only the plain case and leaves everything else to the SDK, which then reads the range (or what is
// left of it) as before and names any failure:
// - only for a client marked withLeanReads (the deployed functions, the local tools); any other client, a
//   test's mocked one among them, reads through the SDK only;
// - the endpoint, signing name and region are the client's own (src/transfer/s3endpoint.ts): custom
//   endpoints, path-style, FIPS and dual-stack are honoured; an access point ARN, S3 Express or SigV4a goes to
//   the SDK; credentials are the client's provider, signed with SigV4 as the SDK signs;
// - anything but a 206 holding exactly the asked bytes of the pinned object (Content-Range, Content-Length,
//   ETag, version), a chunked body, a head over 64 KiB: the SDK reads the range instead (S3's errors,
//   throttling and retries keep one implementation);
// - a connection that fails or closes in the middle of the body: the bytes handed over stand, and the SDK
//   reads the rest of the range (a new ranged GET from there), so the caller sees one run of bytes.
// What it leaves to the SDK is published on leanFallbackChannel (the functions count it: S3LeanFallbacks).
// It bypasses the SDK's middleware, so these GETs are not traced as S3 calls (the function's segment is) and
// ignore a requestHandler the client was given (agent, proxy, timeouts): only clients without one are marked.
import diagnostics from 'node:diagnostics_channel';
import net from 'node:net';
import tls from 'node:tls';
import type { S3Client } from '@aws-sdk/client-s3';
import type { SourceObject } from './contract.ts';
import { EMPTY_SHA256, bucketEndpoint, leanServesKey, normalizeEtag, objectPath } from './s3endpoint.ts';
import type { BucketEndpoint } from './s3endpoint.ts';

/** Bytes one socket reads into at a time (its own buffer, reused for every read). */
const READ_BUFFER_BYTES = 256 * 1024;
/** An answer's status line and headers larger than this are the SDK's to read. */
const MAX_HEAD_BYTES = 64 * 1024;
/** An idle keep-alive connection is closed after this (S3 closes idle ones after about 20 s). */
const IDLE_MS = 4_000;
/** Idle connections kept per endpoint (the hash has at most hashRangesInFlight in use at once). */
const MAX_IDLE = 16;
/**
 * After an error answer S3 may give again (503 SlowDown, a 500, a 403 or 400 such as a skewed clock), the lean
 * path leaves the endpoint to the SDK for this long: its GETs are not each sent twice (once here, once by the
 * SDK) while S3 asks for fewer, and the SDK's backoff is the one that applies.
 */
const REFUSED_BACKOFF_MS = 5_000;
/** Sent with every lean GET (unsigned, as the SDK's): S3's access logs and CloudTrail can tell these reads. */
const USER_AGENT = 's3-to-box-lean-get/1';

const leanClients = new WeakSet<S3Client>();

/** Lets streamRange and readRange read `s3`'s objects through leanGetRange first (returns the client). */
export function withLeanReads<T extends S3Client>(s3: T): T {
  leanClients.add(s3);
  return s3;
}

/**
 * Told the bytes of the body in order, synchronously: the chunk is a view of the socket's buffer, valid only
 * until it returns (a TLS socket hands over every record it decrypted at once, so a pause could not hold it).
 */
export type OnBodyChunk = (chunk: Buffer) => void;

/**
 * Every lean GET sent, as `{ origin, path, range }` (tests and anyone counting S3 reads the SDK's middleware
 * does not see). Published only while the channel has subscribers.
 */
export const leanGetChannel = diagnostics.channel('s3-to-box:lean-get');

/** Why a lean GET left (some of) its range to the SDK. */
export type LeanFallbackReason =
  /** An answer it does not read by hand: an error status, or a 2xx that is not exactly the asked bytes. */
  | 'answer'
  /** The connection failed or closed before the body ended (or before an answer). */
  | 'connection';

/**
 * Every lean GET that left bytes to the SDK, as `{ origin, range, reason, status?, handed }` (the functions count
 * them as the S3LeanFallbacks metric and log them: a lean path refused every time would send each GET twice).
 */
export const leanFallbackChannel = diagnostics.channel('s3-to-box:lean-get:fallback');

export interface LeanFallback {
  origin: string;
  range: string;
  reason: LeanFallbackReason;
  /** The answer's status, when one came. */
  status?: number;
  /** Bytes it handed over before leaving the rest to the SDK. */
  handed: number;
}

/**
 * GETs bytes [offset, offset+length) of the pinned object and hands them to `onChunk` in order (each chunk is
 * a view of the socket's buffer: valid until onChunk returns). Resolves with the bytes
 * handed over: `length` when it read the range; fewer (0 when it could not or would not serve it) when the
 * SDK must read the rest from `offset` + that. Rejects only when `signal` aborts (with its reason) or
 * onChunk throws (with that error).
 */
export async function leanGetRange(
  s3: S3Client,
  source: SourceObject,
  offset: number,
  length: number,
  signal: AbortSignal | undefined,
  onChunk: OnBodyChunk,
): Promise<number> {
  if (!leanClients.has(s3) || length <= 0 || !leanServesKey(source.key)) return 0;
  const endpoint = await bucketEndpoint(s3, source.bucket);
  if (endpoint === undefined || (backoffUntil.get(endpointKey(endpoint)) ?? 0) > Date.now()) return 0;
  signal?.throwIfAborted();
  // Signed at S3's time as the SDK knows it (its clock-skew correction), so a skewed local clock is no refusal.
  const signingDate = new Date(Date.now() + (s3.config.systemClockOffset ?? 0));
  const request = await signedRequest(endpoint, source, offset, length, signingDate).catch(() => undefined);
  if (request === undefined) return 0;
  signal?.throwIfAborted();
  const range = `bytes=${offset}-${offset + length - 1}`;
  if (leanGetChannel.hasSubscribers) leanGetChannel.publish({ origin: endpoint.origin, path: objectPath(endpoint, source.key), range });
  const exchange = new Exchange(endpoint, request, { offset, length, source }, signal, onChunk);
  const handed = await exchange.run();
  if (handed < length && leanFallbackChannel.hasSubscribers) {
    const fallback: LeanFallback = { origin: endpoint.origin, range, reason: exchange.status === undefined || exchange.answered ? 'connection' : 'answer', handed };
    if (exchange.status !== undefined) fallback.status = exchange.status;
    leanFallbackChannel.publish(fallback);
  }
  return handed;
}

async function signedRequest(endpoint: BucketEndpoint, source: SourceObject, offset: number, length: number, signingDate: Date): Promise<string | undefined> {
  const path = objectPath(endpoint, source.key);
  const query: Record<string, string> = source.versionId !== undefined ? { versionId: source.versionId } : {};
  const signed = await endpoint.signer.sign({
    method: 'GET',
    protocol: endpoint.protocol,
    hostname: endpoint.host,
    path,
    query,
    headers: {
      host: endpoint.host,
      range: `bytes=${offset}-${offset + length - 1}`,
      'if-match': source.etag,
      'x-amz-content-sha256': EMPTY_SHA256,
    },
  }, { signingDate });
  const search = source.versionId !== undefined ? `?versionId=${encodeURIComponent(source.versionId)}` : '';
  const lines = [`GET ${path}${search} HTTP/1.1`];
  for (const [name, value] of Object.entries(signed.headers)) {
    // A header that would split the request (an ETag or token with a line break) is the SDK's to refuse.
    if (/[\r\n]/.test(name) || /[\r\n]/.test(String(value))) return undefined;
    lines.push(`${name}: ${String(value)}`);
  }
  lines.push(`user-agent: ${USER_AGENT}`);
  return `${lines.join('\r\n')}\r\n\r\n`;
}

interface Wanted {
  offset: number;
  length: number;
  source: SourceObject;
}

/** A keep-alive connection to one endpoint; `reader` gets what its socket reads while a response is read. */
class Connection {
  readonly socket: net.Socket;
  readonly key: string;
  reader: ((bytes: Buffer) => void) | undefined;
  /** Told once when the socket errs, ends or closes. */
  onGone: (() => void) | undefined;
  gone = false;
  private idleTimer: NodeJS.Timeout | undefined;

  constructor(endpoint: BucketEndpoint, key: string) {
    this.key = key;
    const onread = {
      buffer: Buffer.allocUnsafe(READ_BUFFER_BYTES),
      // Bytes with no response to read them (an idle socket) mean the connection is out of step: drop it.
      callback: (n: number, buffer: Uint8Array): boolean => {
        const bytes = Buffer.from(buffer.buffer, buffer.byteOffset, n);
        if (this.reader === undefined) {
          this.destroy();
          return false;
        }
        // Always read on: the chunks are taken synchronously.
        this.reader(bytes);
        return true;
      },
    };
    const host = endpoint.hostname;
    this.socket =
      endpoint.protocol === 'https:'
        ? // onread is documented for tls.connect too (as net's); @types/node leaves it out.
          tls.connect({ host, port: endpoint.port, onread, ALPNProtocols: ['http/1.1'], ...(net.isIP(host) === 0 ? { servername: host } : {}) } as tls.ConnectionOptions)
        : net.connect({ host, port: endpoint.port, onread });
    this.socket.setNoDelay(true);
    const gone = (): void => {
      if (this.gone) return;
      this.gone = true;
      this.clearIdle();
      forget(this);
      this.onGone?.();
    };
    this.socket.on('error', gone);
    this.socket.on('end', gone);
    this.socket.on('close', gone);
  }

  /** In use: counted, and the idle timer stopped. */
  take(): void {
    this.clearIdle();
    this.socket.ref();
  }

  /** Back to the pool, closed after IDLE_MS unused; never what keeps the process alive. */
  idle(): void {
    this.reader = undefined;
    this.onGone = undefined;
    this.socket.unref();
    this.idleTimer = setTimeout(() => this.destroy(), IDLE_MS);
    this.idleTimer.unref();
  }

  destroy(): void {
    this.socket.destroy();
  }

  private clearIdle(): void {
    if (this.idleTimer !== undefined) clearTimeout(this.idleTimer);
    this.idleTimer = undefined;
  }
}

/** Idle connections per endpoint, the most recently used last. */
const idlePool = new Map<string, Connection[]>();
/** Endpoints left to the SDK until then (after an error answer). */
const backoffUntil = new Map<string, number>();

function endpointKey(endpoint: BucketEndpoint): string {
  return `${endpoint.protocol}//${endpoint.hostname}:${endpoint.port}`;
}

function connection(endpoint: BucketEndpoint): { conn: Connection; reused: boolean } {
  const key = endpointKey(endpoint);
  const idle = idlePool.get(key);
  for (let conn = idle?.pop(); conn !== undefined; conn = idle?.pop()) {
    if (conn.gone) continue;
    conn.take();
    return { conn, reused: true };
  }
  const conn = new Connection(endpoint, key);
  conn.take();
  return { conn, reused: false };
}

function release(conn: Connection): void {
  if (conn.gone) return;
  const idle = idlePool.get(conn.key) ?? [];
  if (idle.length >= MAX_IDLE) {
    conn.destroy();
    return;
  }
  conn.idle();
  idle.push(conn);
  idlePool.set(conn.key, idle);
}

function forget(conn: Connection): void {
  const idle = idlePool.get(conn.key);
  const at = idle?.indexOf(conn) ?? -1;
  if (idle !== undefined && at >= 0) idle.splice(at, 1);
}

const HEAD_END = Buffer.from('\r\n\r\n', 'latin1');

/** One request and its response on one connection. */
class Exchange {
  private conn: Connection | undefined;
  private head: Buffer | undefined = Buffer.allocUnsafe(MAX_HEAD_BYTES);
  private headBytes = 0;
  private remaining: number;
  private handed = 0;
  private reusable = true;
  private settled = false;
  /** The answer's status, once its head was read. */
  status: number | undefined;
  /** The answer was the range's (its body then stopped short: the connection's doing). */
  answered = false;
  private resolve!: (handed: number) => void;
  private reject!: (err: unknown) => void;

  private readonly endpoint: BucketEndpoint;
  private readonly request: string;
  private readonly wanted: Wanted;
  private readonly signal: AbortSignal | undefined;
  private readonly onChunk: OnBodyChunk;

  constructor(endpoint: BucketEndpoint, request: string, wanted: Wanted, signal: AbortSignal | undefined, onChunk: OnBodyChunk) {
    this.endpoint = endpoint;
    this.request = request;
    this.wanted = wanted;
    this.signal = signal;
    this.onChunk = onChunk;
    this.remaining = wanted.length;
  }

  run(): Promise<number> {
    return new Promise<number>((resolve, reject) => {
      this.resolve = resolve;
      this.reject = reject;
      this.signal?.addEventListener('abort', this.onAbort, { once: true });
      this.start();
    });
  }

  /** Connects (or takes a kept-alive connection) and sends the request; a failure to is the SDK's to meet. */
  private start(): void {
    try {
      this.send();
    } catch {
      this.finish(false);
    }
  }

  private send(): void {
    const { conn, reused } = connection(this.endpoint);
    this.conn = conn;
    conn.reader = (bytes) => this.onBytes(bytes);
    conn.onGone = () => {
      // A kept-alive connection the server closed meanwhile, before a byte of the answer: once more on a new one.
      if (reused && !this.settled && this.headBytes === 0) this.start();
      // Gone before the body ended (a reset, a server that stopped): what was handed over stands, the SDK reads the rest.
      else this.finish(false);
    };
    conn.socket.write(this.request);
  }

  private readonly onAbort = (): void => {
    this.fail(this.signal?.reason);
  };

  /** What the socket read. */
  private onBytes(bytes: Buffer): void {
    // Settled: the socket is destroyed or back in the pool.
    if (this.settled) return;
    let body = bytes;
    if (this.head !== undefined) {
      const start = this.headBytes;
      const room = Math.min(bytes.byteLength, MAX_HEAD_BYTES - start);
      bytes.copy(this.head, start, 0, room);
      this.headBytes += room;
      const at = this.head.subarray(0, this.headBytes).indexOf(HEAD_END, Math.max(0, start - 3));
      if (at < 0) {
        if (this.headBytes >= MAX_HEAD_BYTES) this.finish(false);
        return;
      }
      const text = this.head.toString('latin1', 0, at);
      this.head = undefined;
      if (!this.accepts(text)) {
        this.finish(false);
        return;
      }
      this.answered = true;
      body = bytes.subarray(at + HEAD_END.byteLength - start);
    }
    if (body.byteLength === 0) return;
    if (body.byteLength > this.remaining) {
      // More than the range: the server is out of step; keep the range's bytes, not the connection.
      this.reusable = false;
      body = body.subarray(0, this.remaining);
    }
    this.remaining -= body.byteLength;
    this.handed += body.byteLength;
    try {
      this.onChunk(body);
    } catch (err) {
      this.fail(err);
      return;
    }
    if (this.remaining === 0) this.finish(true);
  }

  /** Is this the answer the range needs (else the SDK reads it)? Also whether the connection stays open. */
  private accepts(head: string): boolean {
    const [statusLine = '', ...lines] = head.split('\r\n');
    const status = /^HTTP\/1\.([01]) (\d{3})/.exec(statusLine);
    if (status === null) return false;
    const headers = new Map<string, string>();
    for (const line of lines) {
      const colon = line.indexOf(':');
      if (colon <= 0) return false;
      const name = line.slice(0, colon).trim().toLowerCase();
      const value = line.slice(colon + 1).trim();
      const earlier = headers.get(name);
      // Two different lengths or ranges: not an answer to read by hand.
      if (earlier !== undefined && earlier !== value && (name === 'content-length' || name === 'content-range')) return false;
      headers.set(name, value);
    }
    if (status[1] === '0' || /(^|,)\s*close\s*(,|$)/i.test(headers.get('connection') ?? '')) this.reusable = false;
    const code = Number(status[2]);
    this.status = code;
    if (code >= 500 || code === 403 || code === 400) backoffUntil.set(endpointKey(this.endpoint), Date.now() + REFUSED_BACKOFF_MS);
    const { offset, length, source } = this.wanted;
    const range = /^bytes (\d+)-(\d+)\/(\d+)$/.exec(headers.get('content-range') ?? '');
    const etag = headers.get('etag');
    const version = headers.get('x-amz-version-id');
    return (
      status[2] === '206' &&
      !headers.has('transfer-encoding') &&
      headers.get('content-length') === String(length) &&
      range !== null &&
      Number(range[1]) === offset &&
      Number(range[2]) === offset + length - 1 &&
      Number(range[3]) === source.size &&
      (etag === undefined || normalizeEtag(etag) === normalizeEtag(source.etag)) &&
      (source.versionId === undefined || version === undefined || version === source.versionId)
    );
  }

  /** Ends the exchange with the bytes handed over; `complete`: the whole range, the connection reusable. */
  private finish(complete: boolean): void {
    if (this.settled) return;
    this.settled = true;
    this.signal?.removeEventListener('abort', this.onAbort);
    const conn = this.conn;
    if (conn !== undefined) {
      if (complete && this.reusable) release(conn);
      else conn.destroy();
    }
    this.resolve(this.handed);
  }

  private fail(err: unknown): void {
    if (this.settled) return;
    this.settled = true;
    this.signal?.removeEventListener('abort', this.onAbort);
    this.conn?.destroy();
    this.reject(err);
  }
}
