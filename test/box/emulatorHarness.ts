// Shared set-up for the Box client's integration tests against the Box upload emulator.
import { createHash, randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import type { Readable } from 'node:stream';
import { afterEach } from 'vitest';
import { startBoxEmulator, type BoxEmulator, type BoxEmulatorOptions } from '../../local/box-emulator/index.ts';
import { BoxClient, DeveloperTokenAuth, type BoxClientOptions, type BoxError } from '../../src/box/index.ts';
import { rejection as rejectionOf } from '../support/rejection.ts';

export const MiB = 1024 * 1024;

export interface Harness {
  box: BoxEmulator;
  client: BoxClient;
  /** Another client on the same emulator (own pool), e.g. with other auth. */
  newClient(options?: Partial<BoxClientOptions>): BoxClient;
  close(): Promise<void>;
}

/** A fresh emulator (1 MiB parts, chunked sessions from 1 byte unless overridden) and a client with short backoff. */
export async function startHarness(emulator: BoxEmulatorOptions = {}, client: Partial<BoxClientOptions> = {}): Promise<Harness> {
  // Our own data folder, so that it is removed even when the emulator's close() does not settle.
  const dataDir = await mkdtemp(path.join(os.tmpdir(), 'box-client-test-'));
  const box = await startBoxEmulator({ partSize: MiB, minChunkedFileSize: 1, dataDir, ...emulator });
  const clients: BoxClient[] = [];
  const newClient = (options: Partial<BoxClientOptions> = {}): BoxClient => {
    const c = new BoxClient({
      auth: new DeveloperTokenAuth(box.token),
      apiUrl: box.url,
      uploadUrl: box.uploadUrl,
      retry: { maxAttempts: 4, baseDelayMs: 5, maxDelayMs: 20 },
      ...client,
      ...options,
    });
    clients.push(c);
    return c;
  };
  return {
    box,
    client: newClient(),
    newClient,
    close: async () => {
      await Promise.all(clients.map((c) => c.close()));
      // The emulator's close() waits for its request handlers; our clients cancel parts in flight on
      // a fatal error or an abort, so a handler that missed the disconnect would hang here (an early
      // emulator version did). Fail fast and visibly instead of at the hook timeout.
      let timer: NodeJS.Timeout | undefined;
      const settled = await Promise.race([
        box.close().then(() => true),
        new Promise<boolean>((resolve) => (timer = setTimeout(() => resolve(false), 5000))),
      ]);
      clearTimeout(timer);
      await rm(dataDir, { recursive: true, force: true });
      if (!settled) throw new Error('the box emulator did not close within 5 s (a request handler never settled)');
    },
  };
}

/** Random bytes generated on the fly (never held whole), with the SHA-1 of what was produced. */
/** A starter of harnesses for one test file (same arguments as startHarness); each is closed after its test. */
export function harnessPerTest(): (...args: Parameters<typeof startHarness>) => Promise<Harness> {
  let open: Harness | undefined;
  afterEach(async () => {
    const h = open;
    open = undefined;
    await h?.close();
  });
  return async (...args) => {
    open = await startHarness(...args);
    return open;
  };
}

export function randomSource(size: number, chunkSize = 256 * 1024): { stream: AsyncIterable<Uint8Array>; sha1: () => string } {
  const hash = createHash('sha1');
  let digest: string | undefined;
  return {
    stream: {
      async *[Symbol.asyncIterator]() {
        for (let produced = 0; produced < size; ) {
          const n = Math.min(chunkSize, size - produced);
          const chunk = randomBytes(n);
          hash.update(chunk);
          produced += n;
          yield chunk;
        }
        digest = hash.digest('hex');
      },
    },
    sha1: () => {
      if (digest === undefined) throw new Error('source not fully read');
      return digest;
    },
  };
}

/** SHA-1 (hex) and length of a stream. */
export async function hashStream(stream: Readable | AsyncIterable<Uint8Array>): Promise<{ sha1: string; size: number }> {
  const hash = createHash('sha1');
  let size = 0;
  for await (const chunk of stream as AsyncIterable<Uint8Array>) {
    hash.update(chunk);
    size += chunk.length;
  }
  return { sha1: hash.digest('hex'), size };
}

export function rejection(promise: Promise<unknown>): Promise<BoxError> {
  return rejectionOf<BoxError>(promise);
}
