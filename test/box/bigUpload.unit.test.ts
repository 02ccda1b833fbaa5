// uploadBigFile's engine against a minimal in-test chunked-upload server whose answers the test holds
// back or fails at will: backpressure, bounded parts in flight, abort on failure, size checks.
import { createHash } from 'node:crypto';
import type { ServerResponse } from 'node:http';
import { Readable } from 'node:stream';
import { afterEach, describe, expect, it } from 'vitest';
import { BoxClient, DeveloperTokenAuth, type BoxError, type UploadProgress } from '../../src/box/index.ts';
import { fakeCommitTimer } from './fakeTimer.ts';
import { boxError, sendJson, startRawServer, type RawServer, type RecordedRequest } from './rawServer.ts';
import { rejection as rejectionOf } from '../support/rejection.ts';

const PART = 64 * 1024;

interface FakeOptions {
  fileSize: number;
  /** Called for each PUT; return false to hold the answer until release(). */
  onPart?: (req: RecordedRequest, res: ServerResponse) => boolean | void;
  partSha1Override?: string;
  /** Called for each commit; return true when it answered (otherwise 201 with the file). */
  onCommit?: (req: RecordedRequest, res: ServerResponse) => boolean | void;
}

async function fakeBox(options: FakeOptions) {
  const held: Array<() => void> = [];
  let inFlight = 0;
  let maxInFlight = 0;
  const deleted: string[] = [];
  const total = Math.ceil(options.fileSize / PART);
  const server: RawServer = await startRawServer((req, res) => {
    const base = `/api/2.0/files/upload_sessions`;
    if (req.method === 'POST' && req.path === base) {
      const s = 'S'.repeat(32);
      return sendJson(res, 201, {
        id: s, type: 'upload_session', session_expires_at: '2026-12-01T00:00:00Z', part_size: PART, total_parts: total, num_parts_processed: 0,
        session_endpoints: { upload_part: `${server.url}${base}/${s}`, commit: `${server.url}${base}/${s}/commit`, abort: `${server.url}${base}/${s}`, list_parts: `${server.url}${base}/${s}/parts`, status: `${server.url}${base}/${s}`, log_event: `${server.url}${base}/${s}/log` },
      });
    }
    if (req.method === 'PUT') {
      inFlight++;
      maxInFlight = Math.max(maxInFlight, inFlight);
      const answer = (): void => {
        inFlight--;
        const [, first, last] = /bytes (\d+)-(\d+)\//.exec(String(req.headers['content-range'])) ?? [];
        sendJson(res, 200, { part: { part_id: 'ABCD0001', offset: Number(first), size: Number(last) - Number(first) + 1, sha1: options.partSha1Override ?? createHash('sha1').update(req.body).digest('hex') } });
      };
      const decision = options.onPart?.(req, res);
      if (decision === false) held.push(answer);
      else if (!res.headersSent) answer();
      else inFlight--;
      return;
    }
    if (req.method === 'DELETE') {
      deleted.push(req.path);
      return void res.writeHead(204).end();
    }
    if (req.method === 'POST' && req.path.endsWith('/commit')) {
      if (options.onCommit?.(req, res) === true) return;
      return sendJson(res, 201, { total_count: 1, entries: [{ type: 'file', id: '1', name: 'f', size: options.fileSize }] });
    }
    boxError(res, 404, 'not_found');
  });
  return {
    server,
    deleted,
    held,
    get maxInFlight() {
      return maxInFlight;
    },
    releaseAll: () => held.splice(0).forEach((fn) => fn()),
  };
}

const closers: Array<() => Promise<void>> = [];
afterEach(async () => {
  for (const close of closers.splice(0).reverse()) await close();
});

function clientFor(url: string): BoxClient {
  const client = new BoxClient({ auth: new DeveloperTokenAuth('t'), apiUrl: url, uploadUrl: `${url}/api`, retry: { maxAttempts: 2, baseDelayMs: 1, maxDelayMs: 2 } });
  closers.push(() => client.close());
  return client;
}

/** A source of `size` bytes in 10,000-byte chunks that counts what has been pulled from it. */
function countingSource(size: number, state: { produced: number }): AsyncIterable<Uint8Array> {
  return {
    async *[Symbol.asyncIterator]() {
      while (state.produced < size) {
        const n = Math.min(10_000, size - state.produced);
        state.produced += n;
        yield Buffer.alloc(n, state.produced % 251);
      }
    },
  };
}

const rejection = (promise: Promise<unknown>) => rejectionOf<BoxError>(promise);

describe('uploadBigFile engine', () => {
  it('stops reading while every slot is busy, keeps exactly `concurrency` parts in flight, reports progress', async () => {
    const fileSize = PART * 10 + 123;
    const fake = await fakeBox({ fileSize, onPart: () => false });
    closers.push(() => fake.server.close());
    const client = clientFor(fake.server.url);
    const state = { produced: 0 };
    const progress: UploadProgress[] = [];
    const upload = client.chunkedUploads.uploadBigFile(countingSource(fileSize, state), 'f', fileSize, '0', { concurrency: 3, onProgress: (p) => progress.push(p) });
    // Let the uploader fill every slot and block.
    while (fake.held.length < 3) await new Promise((resolve) => setTimeout(resolve, 5));
    await new Promise((resolve) => setTimeout(resolve, 50));
    // 3 parts in flight + 1 buffered part + at most one chunk: the source is not drained.
    expect(fake.held).toHaveLength(3);
    expect(state.produced).toBeLessThanOrEqual(4 * PART + 10_000);
    const release = setInterval(() => fake.releaseAll(), 5);
    try {
      const file = await upload;
      expect(file.id).toBe('1');
    } finally {
      clearInterval(release);
    }
    expect(fake.maxInFlight).toBe(3);
    expect(progress).toHaveLength(11);
    expect(progress.at(-1)).toEqual({ bytes: fileSize, parts: 11, totalBytes: fileSize, totalParts: 11 });
    // Bodies may finish arriving out of order on parallel connections: compare the set of ranges.
    const puts = fake.server.requests.filter((r) => r.method === 'PUT');
    expect(puts.map((r) => String(r.headers['content-range'])).sort((a, b) => Number(/\d+/.exec(a)?.[0]) - Number(/\d+/.exec(b)?.[0]))).toEqual(
      Array.from({ length: 11 }, (_, i) => `bytes ${i * PART}-${Math.min((i + 1) * PART, fileSize) - 1}/${fileSize}`),
    );
  });

  it('with concurrency 1 the parts go strictly in ascending offset order', async () => {
    const fileSize = PART * 5 + 1;
    const fake = await fakeBox({ fileSize });
    closers.push(() => fake.server.close());
    const client = clientFor(fake.server.url);
    await client.chunkedUploads.uploadBigFile(countingSource(fileSize, { produced: 0 }), 'f', fileSize, '0', { concurrency: 1 });
    const ranges = fake.server.requests.filter((r) => r.method === 'PUT').map((r) => r.headers['content-range']);
    expect(ranges).toEqual(Array.from({ length: 6 }, (_, i) => `bytes ${i * PART}-${Math.min((i + 1) * PART, fileSize) - 1}/${fileSize}`));
    expect(fake.maxInFlight).toBe(1);
  });

  it('slices one chunk spanning several parts into exact part buffers', async () => {
    const fileSize = Math.floor(PART * 5.5);
    const fake = await fakeBox({ fileSize });
    closers.push(() => fake.server.close());
    const client = clientFor(fake.server.url);
    const content = Buffer.alloc(fileSize);
    for (let i = 0; i < fileSize; i++) content[i] = (i * 7) % 256;
    await client.chunkedUploads.uploadBigFile(Readable.from([content]), 'f', fileSize, '0', { concurrency: 2 });
    const puts = fake.server.requests.filter((r) => r.method === 'PUT').sort((a, b) => parseInt(String(a.headers['content-range']).slice(6)) - parseInt(String(b.headers['content-range']).slice(6)));
    expect(puts).toHaveLength(6);
    expect(Buffer.concat(puts.map((r) => r.body)).equals(content)).toBe(true);
    const commit = fake.server.requests.find((r) => r.path.endsWith('/commit'))!;
    expect(commit.headers.digest).toBe(`sha=${createHash('sha1').update(content).digest('base64')}`);
    const sent = JSON.parse(commit.body.toString()) as { parts: Array<{ offset: number }> };
    expect(sent.parts.map((p) => p.offset)).toEqual([0, 1, 2, 3, 4, 5].map((i) => i * PART));
  });

  it('a source that stalls does not keep a failed upload waiting', async () => {
    const fileSize = PART * 4;
    let puts = 0;
    const fake = await fakeBox({ fileSize, onPart: (_req, res) => void (++puts === 1 && boxError(res, 403, 'forbidden')) });
    closers.push(() => fake.server.close());
    const client = clientFor(fake.server.url);
    const stalling: AsyncIterable<Uint8Array> = {
      async *[Symbol.asyncIterator]() {
        yield Buffer.alloc(PART);
        await new Promise(() => undefined); // never yields again
      },
    };
    const error = await rejection(client.chunkedUploads.uploadBigFile(stalling, 'f', fileSize, '0'));
    expect(error.name).toBe('Box.Forbidden');
    expect(fake.deleted).toHaveLength(1);
  });

  it('a source shorter or longer than fileSize fails with Box.SourceSizeMismatch and aborts the session', async () => {
    const fileSize = PART * 3;
    const fake = await fakeBox({ fileSize });
    closers.push(() => fake.server.close());
    const client = clientFor(fake.server.url);
    const short = await rejection(client.chunkedUploads.uploadBigFile(countingSource(fileSize - 1, { produced: 0 }), 'f', fileSize, '0'));
    expect(short.name).toBe('Box.SourceSizeMismatch');
    const long = await rejection(client.chunkedUploads.uploadBigFile(countingSource(fileSize + 1, { produced: 0 }), 'f', fileSize, '0'));
    expect(long.name).toBe('Box.SourceSizeMismatch');
    expect(fake.deleted).toHaveLength(2);
    expect(fake.server.requests.some((r) => r.path.endsWith('/commit'))).toBe(false);
  });

  it('a part echoed back with another sha1 is Box.IntegrityError; the session is aborted', async () => {
    const fileSize = PART * 2;
    const fake = await fakeBox({ fileSize, partSha1Override: '0'.repeat(40) });
    closers.push(() => fake.server.close());
    const client = clientFor(fake.server.url);
    const error = await rejection(client.chunkedUploads.uploadBigFile(countingSource(fileSize, { produced: 0 }), 'f', fileSize, '0'));
    expect(error.name).toBe('Box.IntegrityError');
    expect(fake.deleted).toHaveLength(1);
  });

  it('a fatal part error stops reading, cancels the other parts, aborts the session, rethrows the original error', async () => {
    const fileSize = PART * 20;
    let puts = 0;
    const fake = await fakeBox({
      fileSize,
      onPart: (_req, res) => {
        puts++;
        if (puts === 3) boxError(res, 403, 'forbidden');
        else return false; // the others hang until cancelled
      },
    });
    closers.push(() => fake.server.close());
    const client = clientFor(fake.server.url);
    const state = { produced: 0 };
    const error = await rejection(client.chunkedUploads.uploadBigFile(countingSource(fileSize, state), 'f', fileSize, '0', { concurrency: 4 }));
    expect(error.name).toBe('Box.Forbidden');
    expect(fake.deleted).toHaveLength(1);
    expect(state.produced).toBeLessThan(fileSize);
  });

  it('the AbortSignal cancels parts in flight and aborts the session (Box.Aborted)', async () => {
    const fileSize = PART * 8;
    const fake = await fakeBox({ fileSize, onPart: () => false });
    closers.push(() => fake.server.close());
    const client = clientFor(fake.server.url);
    const controller = new AbortController();
    const pending = rejection(client.chunkedUploads.uploadBigFile(countingSource(fileSize, { produced: 0 }), 'f', fileSize, '0', { signal: controller.signal }));
    while (fake.held.length < 4) await new Promise((resolve) => setTimeout(resolve, 5));
    controller.abort();
    const error = await pending;
    expect(error.name).toBe('Box.Aborted');
    expect(fake.deleted).toHaveLength(1);
  });

  it('a session whose total_parts does not fit the file is refused (Box.IntegrityError) and aborted', async () => {
    const fake = await fakeBox({ fileSize: PART * 2 });
    closers.push(() => fake.server.close());
    const client = clientFor(fake.server.url);
    const error = await rejection(client.chunkedUploads.uploadBigFile(countingSource(PART * 5, { produced: 0 }), 'f', PART * 5, '0'));
    expect(error.name).toBe('Box.IntegrityError');
    expect(fake.deleted).toHaveLength(1);
  });

  it('commit 202: waits Retry-After but at least 1 s, and the default 5 s when Retry-After is missing or unreadable', async () => {
    const fileSize = PART * 2;
    // '-1' and '5, 5' once read as 0 (an immediate re-commit); a date in the past is 0 too.
    const retryAfter = ['0', '-1', undefined, 'Wed, 21 Oct 2015 07:28:00 GMT', '5, 5', '3'];
    let commits = 0;
    const fake = await fakeBox({
      fileSize,
      onCommit: (_req, res) => {
        if (commits >= retryAfter.length) return false;
        const value = retryAfter[commits++];
        res.writeHead(202, value === undefined ? {} : { 'retry-after': value }).end();
        return true;
      },
    });
    closers.push(() => fake.server.close());
    const client = clientFor(fake.server.url);
    const timer = fakeCommitTimer();
    const file = await client.chunkedUploads.uploadBigFile(countingSource(fileSize, { produced: 0 }), 'f', fileSize, '0', { commitTimer: timer });
    expect(file.id).toBe('1');
    expect(fake.server.requests.filter((r) => r.path.endsWith('/commit'))).toHaveLength(retryAfter.length + 1);
    expect(timer.waits).toEqual([1000, 5000, 5000, 1000, 5000, 3000]);
  });

  it('commit 202 forever: spaced by the floor, bounded by maxCommitWaitSeconds (the last wait cut at the deadline), then Box.CommitTimeout', async () => {
    const fileSize = PART;
    let retryAfter = '0';
    const fake = await fakeBox({
      fileSize,
      onCommit: (_req, res) => {
        res.writeHead(202, { 'retry-after': retryAfter }).end();
        return true;
      },
    });
    closers.push(() => fake.server.close());
    const client = clientFor(fake.server.url);
    const commits = (): number => fake.server.requests.filter((r) => r.path.endsWith('/commit')).length;

    // Retry-After 0 within 3.5 s: commits at 0, 1, 2 and 3 s; 0.5 s left is less than the floor.
    const floored = fakeCommitTimer();
    const first = await rejection(client.chunkedUploads.uploadBigFile(countingSource(fileSize, { produced: 0 }), 'f', fileSize, '0', { commitTimer: floored, maxCommitWaitSeconds: 3.5 }));
    expect(first.name).toBe('Box.CommitTimeout');
    expect(first.message).toContain('after 4 attempts');
    expect(commits()).toBe(4);
    expect(floored.waits).toEqual([1000, 1000, 1000]);
    expect(fake.deleted).toHaveLength(1);

    // Retry-After 4 within 10 s: commits at 0, 4 and 8 s, the last wait cut to 2 s, one more commit at 10 s.
    retryAfter = '4';
    const cut = fakeCommitTimer();
    const second = await rejection(client.chunkedUploads.uploadBigFile(countingSource(fileSize, { produced: 0 }), 'f', fileSize, '0', { commitTimer: cut, maxCommitWaitSeconds: 10 }));
    expect(second.name).toBe('Box.CommitTimeout');
    expect(commits()).toBe(4 + 4);
    expect(cut.waits).toEqual([4000, 4000, 2000]);
    expect(fake.deleted).toHaveLength(2);
  });
});
