// The whole-file SHA-1, beside the part fan-out. Each invocation keeps several ranged GETs in flight and
// hashes each one's socket chunks as they arrive, in order, copying nothing: the GETs ahead are sent and
// their answers wait on their connections until their turn (TCP holds the bytes back), so they hide
// S3's latency without holding the object's bytes in memory.
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
import { streamRange } from './s3source.ts';

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

/**
 * Feeds both hashers during the probe, then the chosen one. hash-wasm gets whole 64-byte blocks only
 * (the rest of a chunk waits for the next one), so its state can be saved whenever `carried` is 0.
 */
class Hashers {
  node: Hash | undefined;
  wasm: IHasher | undefined;
  /** Bytes hash-wasm has taken in this invocation: whole blocks, until flush(). */
  wasmBytes = 0;
  private readonly carry = Buffer.alloc(SHA1_BLOCK_BYTES);
  private carried = 0;
  update(bytes: Buffer): void {
    this.node?.update(bytes);
    if (this.wasm === undefined) return;
    let at = 0;
    if (this.carried > 0) {
      at = Math.min(SHA1_BLOCK_BYTES - this.carried, bytes.byteLength);
      bytes.copy(this.carry, this.carried, 0, at);
      this.carried += at;
      if (this.carried < SHA1_BLOCK_BYTES) return;
      this.wasm.update(this.carry);
      this.wasmBytes += SHA1_BLOCK_BYTES;
      this.carried = 0;
    }
    const rest = (bytes.byteLength - at) % SHA1_BLOCK_BYTES;
    if (bytes.byteLength - rest > at) {
      this.wasm.update(bytes.subarray(at, bytes.byteLength - rest));
      this.wasmBytes += bytes.byteLength - rest - at;
    }
    if (rest > 0) {
      bytes.copy(this.carry, 0, bytes.byteLength - rest);
      this.carried = rest;
    }
  }
  /** Hands hash-wasm what it still carries: the object's last bytes, before the digest. */
  flush(): void {
    if (this.wasm !== undefined && this.carried > 0) this.wasm.update(this.carry.subarray(0, this.carried));
    this.carried = 0;
  }
}

/** A ranged GET kept ahead: sent at once, its body read only once `open` is called. */
interface RangeAhead {
  length: number;
  done: Promise<void>;
  open: () => void;
  cancel: (reason: unknown) => void;
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
  const queue: RangeAhead[] = [];
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
        let open = (): void => {};
        let cancel: (reason: unknown) => void = () => {};
        const gate = new Promise<void>((resolve, reject) => {
          open = resolve;
          cancel = reject;
        });
        gate.catch(() => {}); // a cancelled gate is seen by its read, if that is still waiting
        const done = streamRange(s3, source, nextOffset, length, { signal: controller.signal, after: gate, onChunk: (chunk) => hashers.update(chunk) });
        done.catch(() => {}); // awaited below in order; this only keeps early failures from going unhandled
        queue.push({ length, done, open, cancel });
        nextOffset += length;
      }
      const next = queue[0];
      if (next === undefined) break;
      if (hashedAny && !timeLeft() && hashers.wasm !== undefined) break;
      queue.shift();
      next.open();
      try {
        await next.done;
      } catch (err) {
        // The invocation's request budget cut a read (a stalled S3): hash-wasm keeps the whole blocks it
        // hashed so far, up to the middle of the range that was cut.
        if (err instanceof DeadlineError && hashers.wasm !== undefined && hashers.wasmBytes > 0) {
          offset = startOffset + hashers.wasmBytes;
          break;
        }
        throw err;
      }
      offset += next.length;
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
    for (const ahead of queue) ahead.cancel(controller.signal.reason);
  }

  const engine: Engine = hashers.wasm !== undefined ? 'hash-wasm' : 'node:crypto';
  const measured = Math.round(rate());
  if (gaveUp) {
    // Back to where this invocation started (no state: offset 0); the next ones use hash-wasm.
    return { offset: startOffset, done: false, via: 'computed', invocations, engine, bytesPerSecond: measured, wasmOnly: true };
  }
  if (offset >= source.size) {
    hashers.flush();
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
