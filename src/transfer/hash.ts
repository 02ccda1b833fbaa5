// The resumable whole-file SHA-1. Each invocation continues from the saved hash-wasm state,
// keeps several ranged GETs in flight and feeds them to one hasher in order, and stops with a
// safety margin before its deadline, returning the state for the next invocation.
import type { S3Client } from '@aws-sdk/client-s3';
import { createSHA1 } from 'hash-wasm';
import type { HashProgress, SourceObject } from './contract.ts';
import type { TransferProgressEvent } from './deps.ts';
import type { TransferSettings } from './settings.ts';
import { readRange } from './s3source.ts';

export interface HashSliceOptions {
  settings: Pick<TransferSettings, 'hashChunkBytes' | 'hashReadAhead' | 'hashSliceBytes' | 'hashSafetyMarginMs'>;
  /** Milliseconds left before the invocation's deadline (Lambda's context.getRemainingTimeInMillis). */
  remainingMs: () => number;
  /** Told the bytes hashed so far after each chunk (a local progress display). */
  onProgress?: ((event: TransferProgressEvent) => void) | undefined;
}

const noop = (): void => {};

export async function hashSlice(
  s3: S3Client,
  source: SourceObject,
  previous: HashProgress | undefined,
  opts: HashSliceOptions,
): Promise<HashProgress> {
  const invocations = (previous?.invocations ?? 0) + 1;
  if (previous?.done === true && previous.sha1 !== undefined) return { ...previous, invocations };
  if (source.sha1 !== undefined) {
    return { offset: source.size, done: true, sha1: source.sha1, via: 's3-checksum', invocations };
  }

  const hasher = await createSHA1();
  hasher.init();
  let offset = 0;
  if (previous?.state !== undefined) {
    hasher.load(Buffer.from(previous.state, 'base64'));
    offset = previous.offset;
  }
  const { hashChunkBytes, hashReadAhead, hashSliceBytes, hashSafetyMarginMs } = opts.settings;
  const sliceEnd = hashSliceBytes === undefined ? source.size : Math.min(source.size, offset + hashSliceBytes);

  const controller = new AbortController();
  const queue: Promise<Uint8Array>[] = [];
  let nextOffset = offset;
  let hashedAny = false;
  // Always hash at least one chunk per invocation, so a tight deadline still makes progress.
  const timeLeft = (): boolean => opts.remainingMs() > hashSafetyMarginMs;
  try {
    for (;;) {
      while (queue.length < Math.max(1, hashReadAhead) && nextOffset < sliceEnd && ((!hashedAny && queue.length === 0) || timeLeft())) {
        const length = Math.min(hashChunkBytes, sliceEnd - nextOffset);
        const read = readRange(s3, source, nextOffset, length, controller.signal);
        read.catch(noop); // awaited below in order; this only keeps early failures from going unhandled
        queue.push(read);
        nextOffset += length;
      }
      const next = queue.shift();
      if (next === undefined) break;
      if (hashedAny && !timeLeft()) break;
      const bytes = await next;
      hasher.update(bytes);
      offset += bytes.byteLength;
      hashedAny = true;
      opts.onProgress?.({ type: 'hashed', offset, size: source.size });
    }
  } finally {
    controller.abort();
  }

  if (offset >= source.size) {
    return {
      offset,
      done: true,
      sha1: Buffer.from(hasher.digest('binary')).toString('base64'),
      via: 'computed',
      invocations,
    };
  }
  return { offset, done: false, state: Buffer.from(hasher.save()).toString('base64'), via: 'computed', invocations };
}
