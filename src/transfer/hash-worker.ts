// node:crypto's SHA-1 on a worker thread beside the socket reads. Receiving an object (socket reads,
// HTTP parsing, stream events) and hashing it each take about half a CPU second per GiB; on one thread
// they add up, on two they overlap. The reading thread copies each chunk into a bounded ring of shared
// memory (a few MiB: the object's bytes are never held beyond it) and goes on reading; the worker hashes
// what the ring holds and frees it. A full ring pauses the reader (Atomics.waitAsync), an empty one puts
// the worker to sleep (Atomics.wait): the two threads exchange no messages per chunk.
//
// The worker is inline (`eval`), needing only node:crypto and node:worker_threads, so the Lambda bundle
// stays one file. Only for the single-pass node:crypto digest: a resumable hash-wasm state never leaves the
// invocation's own thread.
import { createHash } from 'node:crypto';
import { Worker } from 'node:worker_threads';
import { HashWorkerError } from './errors.ts';

/** Int32 slots of the control array. Positions count bytes modulo 2^32 (the ring's size is a power of two). */
const WRITTEN = 0;
const READ = 1;
/** 0 running, 1 all bytes written (digest them), 2 abandoned (stop without a digest). */
const STATE = 2;
/** Bumped to wake the worker, so a wait on it never misses a wake-up. */
const SIGNAL = 3;
/** 1 while the worker sleeps (or is about to), 1 while the reader waits for room: who must be woken. */
const WORKER_WAITS = 4;
const READER_WAITS = 5;
const SLOTS = 6;
const RUNNING = 0;
const ENDED = 1;
const ABANDONED = 2;

/** Most bytes the worker hashes before it frees them in the ring (the reader can refill meanwhile). */
const HASH_STEP = 1024 * 1024;

// Plain JavaScript run by the worker thread (no TypeScript, no imports of the project). Each side wakes the
// other only when it sleeps, and only for a batch (the worker for a step of bytes, the reader for a step
// of room): a wake-up per socket chunk costs more CPU than the copy.
const WORKER_SOURCE = `
// A CommonJS script, or an ES module when the process runs with --input-type=module (workers inherit it).
const load = typeof require === 'function' ? require : (name) => process.getBuiltinModule(name);
const { workerData, parentPort } = load('node:worker_threads');
const { createHash } = load('node:crypto');
const ring = new Uint8Array(workerData.ring);
const control = new Int32Array(workerData.control);
const size = ring.byteLength;
const batch = workerData.batch;
const hash = createHash('sha1');
let read = 0;
const ready = () => (Atomics.load(control, ${WRITTEN}) - read) >>> 0;
for (;;) {
  let available = ready();
  if (available < batch) {
    const state = Atomics.load(control, ${STATE});
    if (state === ${ABANDONED}) break;
    if (state === ${ENDED} && available === 0) {
      parentPort.postMessage({ sha1: hash.digest('base64') });
      break;
    }
    if (state === ${RUNNING}) {
      const signal = Atomics.load(control, ${SIGNAL});
      Atomics.store(control, ${WORKER_WAITS}, 1);
      // Looked at again after saying it sleeps: bytes written before that are seen here, later ones wake it.
      if (ready() < batch && Atomics.load(control, ${STATE}) === ${RUNNING}) Atomics.wait(control, ${SIGNAL}, signal);
      Atomics.store(control, ${WORKER_WAITS}, 0);
      continue;
    }
  }
  while (available > 0) {
    const at = (read >>> 0) & (size - 1);
    const n = Math.min(available, size - at, ${HASH_STEP});
    hash.update(ring.subarray(at, at + n));
    read = (read + n) | 0;
    available -= n;
    Atomics.store(control, ${READ}, read);
    if (Atomics.load(control, ${READER_WAITS}) === 1) Atomics.notify(control, ${READ});
  }
}
`;

/** Atomics.waitAsync (ES2024; Node 16+), which the project's TypeScript lib does not declare. */
interface AtomicsWaitAsync {
  waitAsync(array: Int32Array, index: number, value: number): { async: false; value: 'not-equal' | 'timed-out' } | { async: true; value: Promise<'ok' | 'timed-out'> };
}

/** node:crypto's SHA-1 of the bytes handed to `update`, in order. */
export interface Sha1Sink {
  /** Takes the chunk (copied or hashed before it returns or, when it returns a promise, before that settles). */
  update(chunk: Buffer): Promise<void> | undefined;
  /** The SHA-1 (base64) of everything handed over. */
  digest(): Promise<string>;
  /** Frees the sink without a digest (the pass was given up or failed). */
  close(): void;
}

/** node:crypto on the calling thread. */
export function inThreadSha1(): Sha1Sink {
  const hash = createHash('sha1');
  return {
    update(chunk) {
      hash.update(chunk);
      return undefined;
    },
    digest: async () => hash.digest('base64'),
    close() {},
  };
}

/**
 * node:crypto on a worker thread, fed through a ring of `ringBytes` (rounded up to a power of two).
 * A worker that fails (it cannot start, runs out of memory, exits) fails the pending and later calls
 * with Transfer.HashWorkerFailed.
 */
export function workerSha1(ringBytes: number, options: { workerSource?: string } = {}): Sha1Sink {
  const size = 2 ** Math.ceil(Math.log2(Math.max(64 * 1024, ringBytes)));
  /** What the worker waits for before it wakes; the reader waits for half the ring (a pause costs syscalls). */
  const batch = Math.min(HASH_STEP, size / 4);
  const roomToResume = size / 2;
  const ring = new Uint8Array(new SharedArrayBuffer(size));
  const control = new Int32Array(new SharedArrayBuffer(SLOTS * Int32Array.BYTES_PER_ELEMENT));
  let written = 0;
  let failure: HashWorkerError | undefined;
  let closed = false;
  let onFailure: ((err: HashWorkerError) => void) | undefined;
  const failed = new Promise<never>((_, reject) => {
    onFailure = reject;
  });
  failed.catch(() => {}); // seen by whichever call is waiting, if any
  let settleDigest: ((sha1: string) => void) | undefined;
  const digested = new Promise<string>((resolve) => {
    settleDigest = resolve;
  });

  // `workerSource`: tests stand in a worker that fails.
  const worker = new Worker(options.workerSource ?? WORKER_SOURCE, { eval: true, workerData: { ring: ring.buffer, control: control.buffer, batch } });
  const fail = (message: string, cause?: unknown): void => {
    if (failure !== undefined || closed) return;
    failure = new HashWorkerError(`the SHA-1 worker thread ${message}`, cause === undefined ? undefined : { cause });
    onFailure?.(failure);
  };
  worker.on('message', (m: { sha1?: string }) => {
    if (typeof m.sha1 === 'string') settleDigest?.(m.sha1);
  });
  worker.on('error', (err) => fail(`failed: ${err instanceof Error ? err.message : String(err)}`, err));
  worker.on('exit', (code) => fail(`exited (code ${code}) before the digest`));

  /** Wakes the worker if it sleeps and has a batch to hash (or the end, `always`). */
  const wake = (always: boolean): void => {
    if (Atomics.load(control, WORKER_WAITS) !== 1) return;
    if (!always && ((written - Atomics.load(control, READ)) >>> 0) < batch) return;
    Atomics.add(control, SIGNAL, 1);
    Atomics.notify(control, SIGNAL);
  };

  /** Copies what fits of `chunk` from `at`; returns the bytes copied. */
  const copy = (chunk: Buffer, at: number): number => {
    const free = size - ((written - Atomics.load(control, READ)) >>> 0);
    let done = 0;
    while (done < free && at + done < chunk.byteLength) {
      const pos = (written >>> 0) & (size - 1);
      const n = Math.min(free - done, size - pos, chunk.byteLength - at - done);
      ring.set(chunk.subarray(at + done, at + done + n), pos);
      written = (written + n) | 0;
      done += n;
    }
    if (done > 0) {
      Atomics.store(control, WRITTEN, written);
      wake(false);
    }
    return done;
  };

  /** Waits until the worker has freed half the ring (or failed). */
  const room = async (): Promise<void> => {
    for (;;) {
      const seen = Atomics.load(control, READ);
      if (size - ((written - seen) >>> 0) >= roomToResume) return;
      Atomics.store(control, READER_WAITS, 1);
      // Looked at again after saying it waits: room freed before that is seen here, later room wakes it.
      if (Atomics.load(control, READ) === seen) {
        const wait = (Atomics as unknown as AtomicsWaitAsync).waitAsync(control, READ, seen);
        if (wait.async) await Promise.race([wait.value, failed]).finally(() => Atomics.store(control, READER_WAITS, 0));
      }
      Atomics.store(control, READER_WAITS, 0);
    }
  };

  /** The copy of an earlier chunk still waiting for room: later chunks go after it, in order. */
  let pending: Promise<void> | undefined;
  const copyAll = async (chunk: Buffer, from: number): Promise<void> => {
    let at = from;
    while (at < chunk.byteLength) {
      await room();
      if (failure !== undefined) throw failure;
      at += copy(chunk, at);
    }
  };

  return {
    update(chunk) {
      if (failure !== undefined) throw failure;
      if (pending === undefined) {
        const at = copy(chunk, 0);
        if (at === chunk.byteLength) return undefined;
        pending = copyAll(chunk, at);
      } else pending = pending.then(() => copyAll(chunk, 0));
      const mine = pending;
      void mine.then(
        () => {
          if (pending === mine) pending = undefined;
        },
        () => {},
      );
      return mine;
    },
    async digest() {
      if (failure !== undefined) throw failure;
      // Every byte handed over is in the ring before the worker is told the end.
      if (pending !== undefined) await pending;
      Atomics.store(control, STATE, ENDED);
      wake(true);
      try {
        return await Promise.race([digested, failed]);
      } finally {
        closed = true;
        void worker.terminate();
      }
    },
    close() {
      if (closed) return;
      closed = true;
      Atomics.store(control, STATE, ABANDONED);
      wake(true);
      void worker.terminate();
    },
  };
}
