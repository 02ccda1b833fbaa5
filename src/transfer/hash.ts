// The whole-file SHA-1, beside the part fan-out. Each invocation reads its slice in ranged GETs of
// hashRangeBytes (16 MiB), up to hashRangesInFlight (8) of them in flight and being read at once: in AWS one
// S3 connection carries ~85-90 MB/s, far below what one core hashes. The GETs go through the lean reader
// (src/transfer/leanGet.ts: a plain socket read into one reused buffer, the SDK for anything else), which
// costs about a quarter of the CPU of a GetObject stream: on one vCPU the hash is that read plus SHA-1.
// How many ranges is adaptive (nextGrowth): it starts with one (the head alone) and, each window (50 ms) its
// thread sat idle, waiting on the network, for more than a share of it (event loop utilization), opens more
// (nextAllowed: at least one, at most twice as many); a thread kept busy opens none. Each opening is then
// judged on the bytes received per second, and undone when they did not rise: more ranges pay against capped
// connections (S3 in AWS) but not against a source that is itself the bound (a local S3 serving as fast as
// its core allows), where they only cost CPU (more sockets, a copy per range ahead). Ranges in flight are
// always read to their end. The signal is the whole thread's: in the local runner, where every Lambda shares
// one event loop, UploadBatch's work counts as busy too, so the hash opens fewer ranges there than alone (a
// loop busy with other work cannot be told from one the hash keeps busy). The range at the head streams its
// socket chunks straight into the hash; the ranges ahead are read into a pool of at most k - 1 reused
// buffers of one range each, and hashed strictly in order when their turn comes (a range is sent only when a
// buffer is free, so the object's bytes held stay bounded). Every step of bytes (8 MiB) it looks at the time
// left, the projection and the probe, and may stop inside a range: hash-wasm keeps the whole 64-byte blocks
// it took, the reads in flight are cancelled. A read ahead that fails ends the invocation at once; when S3
// only failed for now (Transfer.S3Throttled: a reset, a 503) hash-wasm keeps its whole blocks as at the
// deadline.
//
// Which hasher: node:crypto is 1.2-4x faster than hash-wasm (more on CPUs without SHA extensions) but
// cannot hand its state to the next invocation. So an invocation that can finish the object well within
// its deadline (at a floor rate, or at the rate it measures over a first probe of both hashers) hashes
// with node:crypto; only an object that must cross invocations uses hash-wasm's resumable state. The
// probe's rate is the invocation's own since its start, so it includes the ramp-up from one range: an
// object near the threshold goes to hash-wasm a little earlier (safe: its state is resumable). If a
// node:crypto pass falls behind (the projection no longer fits), it gives up and the rest of the object
// is hashed with hash-wasm from where the last saved state was (one invocation's reads are lost, once).
// Both hash on the reading thread: a SHA-1 worker thread beside the reads was measured slower (more CPU
// per GiB, and the bytes copied once more) even at two vCPUs, before the lean reader.
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
import { DeadlineError, S3ThrottledError } from './errors.ts';
import { streamRange } from './s3source.ts';

export type HashSettings = Pick<
  TransferSettings,
  'hashRangeBytes' | 'hashRangesInFlight' | 'hashSliceBytes' | 'hashSafetyMarginMs' | 'hashFloorBytesPerSecond' | 'hashProbeBytes'
> &
  Partial<Pick<TransferSettings, 'hashStepBytes'>> & {
    /**
     * Ranges in flight from the start (default 1; at most hashRangesInFlight), before the reader adapts: the
     * bench's fixed-k comparison and tests that need k reads at once from the first byte. Not deployed.
     */
    hashRangesAtStart?: number | undefined;
  };

/** How often the reader looks at whether its thread waited on the network (and may open more ranges). */
const GROW_WINDOW_MS = 50;
/** The share of a window the thread may sit idle before the reads count as network-bound: more ranges. */
const GROW_IDLE_SHARE = 0.15;

/**
 * The adaptive rule: ranges allowed in flight after a window in which the reading thread sat idle (waiting on
 * the network) `idleShare` (0-1) of the time. Idle more than GROW_IDLE_SHARE: the reads, not the hash, are
 * what it waits on. Each range carries about the same, so allowed / busy share would keep the thread busy: at
 * least one more, at most twice as many (one stalled window, a slow first byte, does not open them all at
 * once), never above `max`. Otherwise (busy, or already at `max`) it stays (nextGrowth may undo an opening
 * that did not pay).
 */
export function nextAllowed(allowed: number, idleShare: number, max: number): number {
  if (allowed >= max || !(idleShare > GROW_IDLE_SHARE)) return allowed;
  const busy = 1 - idleShare;
  return Math.min(max, 2 * allowed, Math.max(allowed + 1, Math.floor(allowed / Math.max(busy, 0.01))));
}

/** Windows after an opening before it is judged: the first (the new ranges' first bytes) is skipped. */
const JUDGE_AFTER_WINDOWS = 3;
/**
 * An opening from n to m ranges pays when the bytes received per second rise by at least this share of what m/n
 * ranges could give at best (1 -> 2: 1.5x; 7 -> 8: 1.07x), over the two windows before it.
 */
const OPENING_PAYS_SHARE = 0.5;
/** After an opening that did not pay, windows before the reader may try again (the source may have changed). */
const RETRY_AFTER_WINDOWS = 40;

/**
 * The reader's growth across windows: ranges allowed now, and the opening being judged. More ranges pay when
 * each connection is capped (S3 in AWS: ~85-90 MB/s each) but not when the source itself is the bound (a
 * local S3 whose one core is busy serving, or a saturated link): there they only cost CPU (sockets, and a
 * copy per range ahead). So each opening is judged on the bytes received per second, the mean of the 2nd and
 * 3rd windows after it against the 2 windows before; one that did not raise them by half of what it could (m/n
 * ranges for n) is undone (the ranges in flight are read to their end, no new ones beyond the earlier number)
 * and none is tried for RETRY_AFTER_WINDOWS windows. Windows without a rate (a scripted signal) judge nothing:
 * idle alone decides.
 */
export interface Growth {
  allowed: number;
  /** Set while an opening is judged: what was allowed before it, and the rate it must beat. */
  judging?: { from: number; before: number; rates: number[] } | undefined;
  /** Rates (bytes/s) of the last two windows. */
  recent: number[];
  /** Windows left before another opening may be tried (after one that did not pay). */
  holdWindows: number;
}

/** The growth after one window: its idle share and, when measured, the bytes per second received in it. */
export function nextGrowth(g: Growth, idleShare: number, bytesPerSecond: number | undefined, max: number): Growth {
  const recent = bytesPerSecond === undefined ? g.recent : [...g.recent, bytesPerSecond].slice(-2);
  if (g.judging !== undefined && bytesPerSecond !== undefined) {
    const rates = [...g.judging.rates, bytesPerSecond];
    if (rates.length < JUDGE_AFTER_WINDOWS) return { ...g, recent, judging: { ...g.judging, rates } };
    const after = (rates[rates.length - 1]! + rates[rates.length - 2]!) / 2;
    const best = g.allowed / g.judging.from;
    if (after < g.judging.before * (1 + OPENING_PAYS_SHARE * (best - 1))) return { allowed: g.judging.from, recent, holdWindows: RETRY_AFTER_WINDOWS };
    g = { ...g, judging: undefined };
  }
  if (g.holdWindows > 0) return { ...g, recent, holdWindows: g.holdWindows - 1 };
  // Measured windows: two of them since the last change first, the rate the opening must beat.
  if (g.judging !== undefined || (bytesPerSecond !== undefined && recent.length < 2)) return { ...g, recent };
  const allowed = nextAllowed(g.allowed, idleShare, max);
  if (allowed === g.allowed) return { ...g, recent };
  const judging = bytesPerSecond === undefined ? undefined : { from: g.allowed, before: (recent[0]! + recent[1]!) / 2, rates: [] };
  return { allowed, recent: [], holdWindows: 0, judging };
}

/**
 * Where the reader's windows come from: calls `onWindow` once per window with the share of it the thread
 * sat idle and the window's length (ms: the rate is the bytes received in it; a scripted signal may leave it
 * out, and then no opening is judged, or give the rate itself, `bytesPerSecond`); returns what stops them
 * (called when the slice ends).
 */
export type IdleWindows = (onWindow: (idleShare: number, ms?: number, bytesPerSecond?: number) => void) => () => void;

/** The deployed signal: the event loop's utilization over each GROW_WINDOW_MS. */
const eventLoopIdleWindows: IdleWindows = (onWindow) => {
  // The first window includes the head's time to first byte.
  let mark = performance.eventLoopUtilization();
  let at = performance.now();
  const timer = setInterval(() => {
    const now = performance.eventLoopUtilization();
    const idle = 1 - performance.eventLoopUtilization(now, mark).utilization;
    mark = now;
    const t = performance.now();
    onWindow(idle, t - at);
    at = t;
  }, GROW_WINDOW_MS);
  // Not what keeps the process alive: the reads are.
  timer.unref();
  return () => clearInterval(timer);
};

export interface HashSliceOptions {
  settings: HashSettings;
  /** Milliseconds left before the invocation's deadline (Lambda's context.getRemainingTimeInMillis). */
  remainingMs: () => number;
  /** Told the bytes hashed so far after each chunk (a local progress display). */
  onProgress?: ((event: TransferProgressEvent) => void) | undefined;
  /** Told each ranged GET as it is sent, with the reads in flight and the buffers held (tests, the bench). */
  onRead?: ((event: HashReadEvent) => void) | undefined;
  /**
   * The idle signal the reader adapts on (default: the event loop's utilization every 50 ms). Tests script
   * it, so what the rule opens does not depend on the machine's timing.
   */
  idleWindows?: IdleWindows | undefined;
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
  /** Drops node:crypto (the probe chose hash-wasm, or the pass ended without a digest). */
  dropNode(): void {
    this.node = undefined;
  }
}

/**
 * One ranged GET of the hash, read as soon as it is sent. While ranges before it are hashed, its bytes are
 * copied into a buffer of the bounded pool; once it is the head, what it buffered is hashed and its next
 * socket chunks go straight into the hash.
 */
interface RangeRead {
  offset: number;
  length: number;
  /** The pool buffer it fills while ahead (undefined once it is the head and that buffer was handed back). */
  buffer: Buffer | undefined;
  /** Bytes copied into `buffer`. */
  filled: number;
  isHead: boolean;
  done: Promise<void>;
}

/** What the ranged reads of one invocation look like when a new one is sent (tests and the bench check the bound). */
export interface HashReadEvent {
  offset: number;
  length: number;
  /** Ranged GETs in flight, this one included (at most `allowed`). */
  inFlight: number;
  /**
   * Ranges the reader allows in flight when this one is sent: 1 at the start (or hashRangesAtStart), more
   * after a window its thread waited on the network (nextGrowth), fewer again after an opening that did not
   * pay, at most hashRangesInFlight.
   */
  allowed: number;
  /** Pool buffers allocated so far (at most hashRangesInFlight - 1; reused, never freed before the end). */
  buffers: number;
  /** Bytes of each pool buffer (hashRangeBytes, or the slice when it is smaller). */
  bufferBytes: number;
}

/** Why an invocation stopped in the middle of a read (its other reads are cancelled). */
class Stop extends Error {
  readonly why: 'deadline' | 'gave-up' | 's3-failed';
  constructor(why: 'deadline' | 'gave-up' | 's3-failed') {
    super(`hash slice stopped: ${why}`);
    this.why = why;
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
  const { hashRangesInFlight, hashSliceBytes, hashSafetyMarginMs, hashFloorBytesPerSecond, hashProbeBytes } = opts.settings;
  // Whole blocks per read and per step, so every stop is on a block boundary.
  const wholeBlocks = (n: number): number => Math.max(SHA1_BLOCK_BYTES, n - (n % SHA1_BLOCK_BYTES));
  const rangeBytes = wholeBlocks(opts.settings.hashRangeBytes);
  const stepBytes = Math.min(rangeBytes, wholeBlocks(opts.settings.hashStepBytes ?? rangeBytes));

  const startOffset = previous?.state !== undefined ? previous.offset : 0;
  const wasmOnly = previous?.wasmOnly === true;
  let sliceEnd = source.size;
  if (hashSliceBytes !== undefined && startOffset + hashSliceBytes < source.size) {
    sliceEnd = startOffset + wholeBlocks(hashSliceBytes);
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
  if (decided !== 'node:crypto') {
    hashers.wasm = await createSHA1();
    hashers.wasm.init();
    if (previous?.state !== undefined) hashers.wasm.load(Buffer.from(previous.state, 'base64'));
  }
  if (decided !== 'hash-wasm') hashers.node = createHash('sha1');

  const controller = new AbortController();
  /** The ranged GETs in flight, in object order: the first is the head, the one being hashed. */
  const queue: RangeRead[] = [];
  /** Every read sent (settled before this invocation returns, so no request outlives it). */
  const sent = new Set<Promise<void>>();
  const inFlight = Math.max(1, Math.floor(hashRangesInFlight));
  /** Ranges allowed in flight now: grows (nextGrowth) while the thread waits on the network and more pays. */
  let allowed = Math.min(inFlight, Math.max(1, Math.floor(opts.settings.hashRangesAtStart ?? 1)));
  let growth: Growth = { allowed, recent: [], holdWindows: 0 };
  /** Bytes received by every range (the head's and the ones ahead), for the rate each window judges. */
  let received = 0;
  let receivedAtWindow = 0;
  // The reads ahead of the head fill buffers of a pool: at most inFlight - 1 of them, allocated when first
  // needed and reused, so an invocation holds at most (inFlight - 1) x the range size of the object.
  const bufferBytes = Math.min(rangeBytes, Math.max(1, sliceEnd - startOffset));
  const pool: Buffer[] = [];
  let buffers = 0;
  const takeBuffer = (): Buffer | undefined => {
    const free = pool.pop();
    if (free !== undefined || buffers >= inFlight - 1) return free;
    buffers++;
    return Buffer.allocUnsafeSlow(bufferBytes);
  };
  /** The first failure of a read ahead of the head: it ends the invocation at once, not in its turn. */
  const ahead: { failed: boolean; err: unknown } = { failed: false, err: undefined };
  let nextOffset = startOffset;
  /** Bytes handed to the hashers, and where the next step (progress, deadline, projection) is. */
  let offset = startOffset;
  let nextStep = Math.min(sliceEnd, startOffset + stepBytes);
  let steps = 0;
  let stopped: Stop | undefined;
  const rate = (): number => (offset - startOffset) / Math.max(0.001, (performance.now() - started) / 1000);
  // Always hash at least one step per invocation, so a tight deadline still makes progress.
  const timeLeft = (): boolean => availableMs() > 0;
  const stop = (why: Stop['why']): void => {
    stopped = new Stop(why);
    controller.abort(stopped);
  };
  /**
   * A read cut by the budget or failed by S3 for now, once hash-wasm holds whole blocks of this invocation:
   * stop there and save them (the next invocation reads on from them). Without progress it is rethrown, for
   * the state machine's Retry (else the HashDone -> HashObject loop would never end).
   */
  const keepsBlocks = (err: unknown): boolean =>
    (err instanceof DeadlineError || err instanceof S3ThrottledError) && hashers.wasm !== undefined && hashers.wasmBytes > 0;
  /** Each `stepBytes` handed over (and at the slice's end): progress, the probe's choice, the deadline. */
  const step = (): void => {
    steps++;
    opts.onProgress?.({ type: 'hashed', offset, size: source.size });
    if (decided === undefined && (offset - startOffset >= hashProbeBytes || offset === sliceEnd)) {
      // The probe is over: keep the hasher the measured rate allows.
      decided = fitsWell(source.size - offset, rate()) ? 'node:crypto' : 'hash-wasm';
      if (decided === 'node:crypto') hashers.wasm = undefined;
      else hashers.dropNode();
    }
    if (offset >= sliceEnd) return;
    if (hashers.wasm === undefined && !fitsProjection(source.size - offset, rate(), availableMs())) {
      // node:crypto fell behind and cannot save its state: stop now rather than at the deadline.
      stop('gave-up');
    } else if (hashers.wasm !== undefined && !timeLeft()) {
      stop('deadline');
    }
  };
  // Bytes in object order into the hashers, split at each step's edge, so an invocation stops exactly on a
  // step (a whole number of blocks).
  const hashInOrder = (chunk: Buffer): void => {
    for (let at = 0; at < chunk.byteLength && stopped === undefined; ) {
      const n = Math.min(chunk.byteLength - at, nextStep - offset);
      hashers.update(n === chunk.byteLength ? chunk : chunk.subarray(at, at + n));
      offset += n;
      at += n;
      if (offset >= nextStep) {
        nextStep = Math.min(sliceEnd, nextStep + stepBytes);
        step();
      }
    }
  };
  /** Sends the next range: the head streams into the hash, a range ahead needs a free buffer (false: none). */
  const send = (): boolean => {
    const isHead = queue.length === 0;
    const buffer = isHead ? undefined : takeBuffer();
    if (!isHead && buffer === undefined) return false;
    const length = Math.min(rangeBytes, sliceEnd - nextOffset);
    const read: RangeRead = { offset: nextOffset, length, buffer, filled: 0, isHead, done: Promise.resolve() };
    const onChunk = (chunk: Buffer): void => {
      received += chunk.byteLength;
      if (read.isHead) return hashInOrder(chunk);
      // streamRange hands over at most `length` bytes: the buffer (>= length) cannot overflow.
      chunk.copy(read.buffer as Buffer, read.filled);
      read.filled += chunk.byteLength;
    };
    read.done = streamRange(s3, source, nextOffset, length, { signal: controller.signal, onChunk });
    read.done.catch((err: unknown) => {
      // A read ahead that fails (S3's error, a changed source, a short body) ends the invocation now; the
      // budget's cut (Transfer.Deadline) reaches every read at once and is handled in order, at the head.
      if (read.isHead || stopped !== undefined || ahead.failed || err instanceof DeadlineError) return;
      ahead.failed = true;
      ahead.err = err;
      controller.abort(err);
    });
    sent.add(read.done);
    void read.done.finally(() => sent.delete(read.done)).catch(() => {});
    queue.push(read);
    nextOffset += length;
    opts.onRead?.({ offset: read.offset, length, inFlight: queue.length, allowed, buffers, bufferBytes });
    return true;
  };
  const sendAhead = (): void => {
    // Nothing more once stopped: a pass that gave up with time still left would otherwise send reads it then cancels.
    while (stopped === undefined && queue.length < allowed && nextOffset < sliceEnd && !ahead.failed && ((steps === 0 && queue.length === 0) || timeLeft())) {
      if (!send()) break;
    }
  };
  // Every window: was this thread idle (waiting on the sockets) for more than its share? Then the reads, not the
  // hash, are what it waits on: open more ranges (nextGrowth), and judge the last opening on the rate. Nothing
  // once the slice has stopped or ended.
  let finished = false;
  const onWindow = (idleShare: number, ms?: number, bytesPerSecond?: number): void => {
    const rate = bytesPerSecond ?? (ms === undefined || ms <= 0 ? undefined : ((received - receivedAtWindow) / ms) * 1000);
    receivedAtWindow = received;
    if (finished || nextOffset >= sliceEnd || stopped !== undefined || ahead.failed) return;
    growth = nextGrowth(growth, idleShare, rate, inFlight);
    if (growth.allowed === allowed) return;
    const opened = growth.allowed > allowed;
    allowed = growth.allowed;
    if (opened) sendAhead();
  };
  const stopWindows = allowed < inFlight ? (opts.idleWindows ?? eventLoopIdleWindows)(onWindow) : undefined;
  try {
    for (;;) {
      sendAhead();
      const head = queue[0];
      if (head === undefined || stopped !== undefined || ahead.failed) break;
      try {
        if (!head.isHead) {
          // Its turn: what it buffered while ahead goes into the hash, then its next chunks as they arrive.
          head.isHead = true;
          const buffer = head.buffer as Buffer;
          hashInOrder(buffer.subarray(0, head.filled));
          head.buffer = undefined;
          pool.push(buffer);
          sendAhead();
        }
        await head.done;
      } catch (err) {
        if (ahead.failed || stopped !== undefined) break;
        // The invocation's request budget cut a read (a stalled S3), or S3 failed it for now: hash-wasm keeps
        // the whole blocks it hashed so far, up to the middle of the range that was cut.
        if (keepsBlocks(err)) {
          stop(err instanceof DeadlineError ? 'deadline' : 's3-failed');
          break;
        }
        throw err;
      }
      queue.shift();
      if (stopped !== undefined) break;
      // Out of time between two reads (a read that ended exactly on a step has already been looked at).
      if (steps > 0 && hashers.wasm !== undefined && !timeLeft() && offset < sliceEnd) {
        stop('deadline');
        break;
      }
    }
    if (ahead.failed) {
      // Bytes reach the hashers only in object order: what hash-wasm took ends before the range that failed.
      // (A range that fails once it is the head may have handed over its first bytes: still in order.)
      if (!keepsBlocks(ahead.err)) throw ahead.err;
      stopped = new Stop('s3-failed');
    }
    // node:crypto alone ran out of time before the end: it has no state to save.
    if (stopped === undefined && hashers.wasm === undefined && offset < source.size) stopped = new Stop('gave-up');
    // A deadline or S3 stop keeps hash-wasm's whole blocks; the bytes it still carries are read again next time.
    if (stopped !== undefined && stopped.why !== 'gave-up') offset = startOffset + hashers.wasmBytes;

    const engine: Engine = hashers.wasm !== undefined ? 'hash-wasm' : 'node:crypto';
    const measured = Math.round(rate());
    if (stopped?.why === 'gave-up') {
      // Back to where this invocation started (no state: offset 0); the next ones use hash-wasm.
      return { offset: startOffset, done: false, via: 'computed', invocations, engine, bytesPerSecond: measured, wasmOnly: true };
    }
    if (offset >= source.size) {
      let sha1: string;
      if (hashers.node !== undefined) sha1 = hashers.node.digest('base64');
      else {
        hashers.flush();
        sha1 = Buffer.from((hashers.wasm as IHasher).digest('binary')).toString('base64');
      }
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
  } finally {
    finished = true;
    stopWindows?.();
    // Cancels the reads still in flight and waits for them to end: no request outlives the invocation.
    controller.abort();
    await Promise.allSettled(sent);
    hashers.dropNode();
  }
}

/** Can `bytes` still be hashed at `rate` in the time left? */
function fitsProjection(bytes: number, rate: number, availableMs: number): boolean {
  return rate > 0 && (bytes / rate) * 1000 <= availableMs;
}
