// Driving the official box-node-sdk@10 against the emulator: a client pointed at it, with the
// Retry-After workaround of reference §7.4 (the SDK reads 'Retry-After' from lower-cased headers,
// so it never retries a commit 202 by itself).
import { createHash, randomBytes } from 'node:crypto';
import { createWriteStream } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { finished } from 'node:stream/promises';
import type { BoxClient } from 'box-node-sdk';
import type { BoxCcgAuth, BoxDeveloperTokenAuth } from 'box-node-sdk';
import type { BoxEmulator } from '../../local/box-emulator/index.ts';
import { officialSdkClient } from '../../local/box-emulator/official-sdk.ts';

/** An SDK client for the emulator; backoff is shortened so that retried 5xx stay fast. */
export function sdkClient(box: BoxEmulator, auth: BoxDeveloperTokenAuth | BoxCcgAuth, workaround = true): BoxClient {
  return officialSdkClient({ apiUrl: box.url, uploadUrl: box.uploadUrl, auth, stockRetries: !workaround, retryBaseInterval: 0.01 });
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
