// The whole-file SHA-1, beside the part fan-out. Each invocation keeps several ranged GETs in flight,
// read into reused buffers, and feeds them to one hasher in order.
//
// Which hasher: node:crypto is 1.2-4x faster than hash-wasm (more on CPUs without SHA extensions) but
// cannot hand its state to the next invocation. So an invocation that can finish the object well within
// its deadline (at a floor rate, or at the rate it measures over a first probe of both hashers) hashes
// with node:crypto; only an object that must cross invocations uses hash-wasm's resumable state. If a
// node:crypto pass falls behind (the projection no longer fits), it gives up and the rest of the object
// is hashed with hash-wasm from where the last saved state was (one invocation's reads are lost, once).
//
// The saved hash-wasm state travels in the execution's data: slices end on 64-byte SHA-1 block
// boundaries and the state's block buffer is cleared (cleanState), so it holds no bytes of the object.
import { createHash } from 'node:crypto';
import type { Hash } from 'node:crypto';
import type { S3Client } from '@aws-sdk/client-s3';
import { createSHA1 } from 'hash-wasm';
import type { IHasher } from 'hash-wasm';
import type { HashProgress, SourceObject } from './contract.ts';
import type { TransferProgressEvent } from './deps.ts';
import type { TransferSettings } from './settings.ts';
import { DeadlineError } from './errors.ts';
import { readRange } from './s3source.ts';

export type HashSettings = Pick<
  TransferSettings,
  'hashChunkBytes' | 'hashReadAhead' | 'hashSliceBytes' | 'hashSafetyMarginMs' | 'hashFloorBytesPerSecond' | 'hashProbeBytes'
>;

export interface HashSliceOptions {
  settings: HashSettings;
  /** Milliseconds left before the invocation's deadline (Lambda's context.getRemainingTimeInMillis). */
  remainingMs: () => number;
  /** Told the bytes hashed so far after each chunk (a local progress display). */
  onProgress?: ((event: TransferProgressEvent) => void) | undefined;
}

/** SHA-1 works on 64-byte blocks: a slice that ends on one leaves nothing of the object buffered. */
const SHA1_BLOCK_BYTES = 64;
/**
 * hash-wasm 4.13.0's SHA-1 save() layout (96 bytes): 4 bytes identifying the wasm build, the five
 * 32-bit state words, the 64-bit message length, then the 64-byte block buffer. The package is pinned
 * to that exact version; test/transfer/hash-state.test.ts checks this layout against it.
 */
export const HASH_WASM_STATE_BYTES = 96;
export const HASH_WASM_BLOCK_AT = 32;

/**
 * The saved state with its block buffer cleared. Only valid when the hashed length is a whole number
 * of blocks: then the buffer holds an already-processed block (object bytes) that load() ignores.
 */
export function cleanState(state: Uint8Array, hashedBytes: number): Uint8Array {
  if (hashedBytes % SHA1_BLOCK_BYTES !== 0) {
    throw new Error(`a hash state may only be saved on a ${SHA1_BLOCK_BYTES}-byte boundary (at ${hashedBytes})`);
  }
  if (state.byteLength !== HASH_WASM_STATE_BYTES) {
    throw new Error(`unexpected hash-wasm state of ${state.byteLength} bytes (expected ${HASH_WASM_STATE_BYTES}); is hash-wasm the pinned version?`);
  }
  const clean = Uint8Array.from(state);
  clean.fill(0, HASH_WASM_BLOCK_AT);
  return clean;
}

type Engine = NonNullable<HashProgress['engine']>;

/** Feeds both hashers during the probe, then the chosen one. */
class Hashers {
  node: Hash | undefined;
  wasm: IHasher | undefined;
  update(bytes: Uint8Array): void {
    this.node?.update(bytes);
    this.wasm?.update(bytes);
  }
}

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
  const started = performance.now();
  const { hashReadAhead, hashSliceBytes, hashSafetyMarginMs, hashFloorBytesPerSecond, hashProbeBytes } = opts.settings;
  // Whole blocks per read, so every stop is on a block boundary.
  const chunkBytes = Math.max(SHA1_BLOCK_BYTES, opts.settings.hashChunkBytes - (opts.settings.hashChunkBytes % SHA1_BLOCK_BYTES));

  const startOffset = previous?.state !== undefined ? previous.offset : 0;
  const wasmOnly = previous?.wasmOnly === true;
  let sliceEnd = source.size;
  if (hashSliceBytes !== undefined && startOffset + hashSliceBytes < source.size) {
    sliceEnd = startOffset + Math.max(SHA1_BLOCK_BYTES, hashSliceBytes - (hashSliceBytes % SHA1_BLOCK_BYTES));
  }
  const remainingBytes = source.size - startOffset;
  const availableMs = (): number => opts.remainingMs() - hashSafetyMarginMs;
  /** Would `bytes` at `rate` take at most half the time left? (Headroom for a slowing S3.) */
  const fitsWell = (bytes: number, rate: number): boolean => (bytes / rate) * 1000 <= availableMs() / 2;

  const hashers = new Hashers();
  // node:crypto only when this invocation may finish the object: from its start, no slice limit.
  const nodeCandidate = startOffset === 0 && sliceEnd === source.size && !wasmOnly;
  let decided: Engine | undefined;
  if (nodeCandidate && fitsWell(remainingBytes, hashFloorBytesPerSecond)) decided = 'node:crypto';
  else if (!nodeCandidate) decided = 'hash-wasm';
  if (decided !== 'hash-wasm') hashers.node = createHash('sha1');
  if (decided !== 'node:crypto') {
    hashers.wasm = await createSHA1();
    hashers.wasm.init();
    if (previous?.state !== undefined) hashers.wasm.load(Buffer.from(previous.state, 'base64'));
  }

  const controller = new AbortController();
  const free: Buffer[] = [];
  const queue: { read: Promise<Buffer>; buffer: Buffer }[] = [];
  let nextOffset = startOffset;
  let offset = startOffset;
  let hashedAny = false;
  let gaveUp = false;
  const rate = (): number => (offset - startOffset) / Math.max(0.001, (performance.now() - started) / 1000);
  // Always hash at least one chunk per invocation, so a tight deadline still makes progress.
  const timeLeft = (): boolean => availableMs() > 0;
  try {
    for (;;) {
      while (queue.length < Math.max(1, hashReadAhead) && nextOffset < sliceEnd && ((!hashedAny && queue.length === 0) || timeLeft())) {
        const length = Math.min(chunkBytes, sliceEnd - nextOffset);
        const buffer = free.pop() ?? Buffer.allocUnsafeSlow(chunkBytes);
        const read = readRange(s3, source, nextOffset, length, controller.signal, buffer);
        read.catch(() => {}); // awaited below in order; this only keeps early failures from going unhandled
        queue.push({ read, buffer });
        nextOffset += length;
      }
      const next = queue.shift();
      if (next === undefined) break;
      if (hashedAny && !timeLeft() && hashers.wasm !== undefined) break;
      let bytes: Buffer;
      try {
        bytes = await next.read;
      } catch (err) {
        // The invocation's request budget cut a read (a stalled S3): hash-wasm keeps what it hashed so far.
        if (err instanceof DeadlineError && hashedAny && hashers.wasm !== undefined) break;
        throw err;
      }
      hashers.update(bytes);
      free.push(next.buffer);
      offset += bytes.byteLength;
      hashedAny = true;
      opts.onProgress?.({ type: 'hashed', offset, size: source.size });
      if (decided === undefined && (offset - startOffset >= hashProbeBytes || offset === sliceEnd)) {
        // The probe is over: keep the hasher the measured rate allows.
        decided = fitsWell(source.size - offset, rate()) ? 'node:crypto' : 'hash-wasm';
        if (decided === 'node:crypto') hashers.wasm = undefined;
        else hashers.node = undefined;
      }
      if (hashers.wasm === undefined && offset < source.size && !fitsProjection(source.size - offset, rate(), availableMs())) {
        // node:crypto fell behind and cannot save its state: stop now rather than at the deadline.
        gaveUp = true;
        break;
      }
    }
    // node:crypto alone ran out of time before the end: it has no state to save.
    if (hashers.wasm === undefined && offset < source.size) gaveUp = true;
  } finally {
    controller.abort();
  }

  const engine: Engine = hashers.wasm !== undefined ? 'hash-wasm' : 'node:crypto';
  const measured = Math.round(rate());
  if (gaveUp) {
    // Back to where this invocation started (no state: offset 0); the next ones use hash-wasm.
    return { offset: startOffset, done: false, via: 'computed', invocations, engine, bytesPerSecond: measured, wasmOnly: true };
  }
  if (offset >= source.size) {
    const sha1 = hashers.node !== undefined ? hashers.node.digest('base64') : Buffer.from((hashers.wasm as IHasher).digest('binary')).toString('base64');
    return { offset, done: true, sha1, via: 'computed', invocations, engine, bytesPerSecond: measured };
  }
  const state = cleanState((hashers.wasm as IHasher).save(), offset);
  return {
    offset,
    done: false,
    state: Buffer.from(state).toString('base64'),
    via: 'computed',
    invocations,
    engine,
    bytesPerSecond: measured,
    ...(wasmOnly ? { wasmOnly } : {}),
  };
}

/** Can `bytes` still be hashed at `rate` in the time left? */
function fitsProjection(bytes: number, rate: number, availableMs: number): boolean {
  return rate > 0 && (bytes / rate) * 1000 <= availableMs;
}
