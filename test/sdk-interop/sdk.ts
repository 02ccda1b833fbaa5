// Driving the official box-node-sdk@10 against the emulator: a client pointed at it, with the
// Retry-After workaround of reference §7.4 (the SDK reads 'Retry-After' from lower-cased headers,
// so it never retries a commit 202 by itself).
import { createHash, randomBytes } from 'node:crypto';
import { createWriteStream } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { finished } from 'node:stream/promises';
import { BoxClient } from 'box-node-sdk';
import type { BoxCcgAuth, BoxDeveloperTokenAuth } from 'box-node-sdk';
import { BaseUrls, BoxRetryStrategy, NetworkSession } from 'box-node-sdk/networking';
import type { FetchOptions, FetchResponse } from 'box-node-sdk/networking';
import type { BoxEmulator } from '../../local/box-emulator/index.ts';

function retryAfterHeader(r: FetchResponse): string | undefined {
  return r.headers['retry-after'] ?? r.headers['Retry-After'];
}

/** Honours a lower-case retry-after and retries a commit 202 (the workaround of reference §7.4). */
export class RetryAfterAware extends BoxRetryStrategy {
  override async shouldRetry(o: FetchOptions, r: FetchResponse, attempt: number): Promise<boolean> {
    if (r.status === 202 && retryAfterHeader(r) !== undefined) return attempt < 20;
    return super.shouldRetry(o, r, attempt);
  }
  override retryAfter(o: FetchOptions, r: FetchResponse, attempt: number): number {
    const ra = retryAfterHeader(r);
    return ra !== undefined ? parseFloat(ra) : super.retryAfter(o, r, attempt); // seconds in v10
  }
}

/** An SDK client for the emulator; backoff is shortened so that retried 5xx stay fast. */
export function sdkClient(box: BoxEmulator, auth: BoxDeveloperTokenAuth | BoxCcgAuth, workaround = true): BoxClient {
  const baseUrls = new BaseUrls({ baseUrl: box.url, uploadUrl: box.uploadUrl, oauth2Url: `${box.url}/oauth2` });
  const networkSession = workaround
    ? new NetworkSession({ baseUrls, retryStrategy: new RetryAfterAware({ retryBaseInterval: 0.01 }) })
    : new NetworkSession({ baseUrls, retryStrategy: new BoxRetryStrategy({ retryBaseInterval: 0.01 }) });
  return new BoxClient({ auth, networkSession });
}

export { sha1OfStream } from '../support/streams.ts';

export async function tempDir(): Promise<{ dir: string; remove: () => Promise<void> }> {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'sdk-interop-'));
  return { dir, remove: () => rm(dir, { recursive: true, force: true }) };
}

/** Writes `size` random bytes to a file, 1 MiB at a time, and returns their SHA-1 (hex). */
export async function writeTestFile(file: string, size: number): Promise<string> {
  const out = createWriteStream(file);
  const hash = createHash('sha1');
  for (let done = 0; done < size; ) {
    const chunk = randomBytes(Math.min(1024 * 1024, size - done));
    hash.update(chunk);
    if (!out.write(chunk)) await new Promise<void>((resolve) => out.once('drain', () => resolve()));
    done += chunk.length;
  }
  out.end();
  await finished(out);
  return hash.digest('hex');
}
