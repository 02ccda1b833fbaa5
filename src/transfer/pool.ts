// A small bounded-concurrency runner: at most `limit` calls of `fn` at once. After the first error no call
// starts, and an error is thrown once the calls under way have ended: they are told to stop through their
// signal (their errors dropped), unless `letFinish(error)` says they may finish first. An error that one of
// those calls then meets replaces the one kept only if it ranks higher (`rank`), and stops the others at
// once if `letFinish` says so of it.

export interface ForEachLimitOptions {
  /** Whether the calls under way may finish after this error (default: no, their signal aborts at once). */
  letFinish?: (error: unknown) => boolean;
  /** An error's weight: a later error is thrown instead of the one kept only if it weighs more (default: the first is thrown). */
  rank?: (error: unknown) => number;
  /** Aborted on the first error, whatever `letFinish` says: for the caller's own work that stops with the calls. */
  stopped?: AbortController;
}

export async function forEachLimit<T>(
  items: readonly T[],
  limit: number,
  fn: (item: T, signal: AbortSignal) => Promise<void>,
  options: ForEachLimitOptions = {},
): Promise<void> {
  const controller = new AbortController();
  const rank = options.rank ?? (() => 0);
  let next = 0;
  let failed: { error: unknown; rank: number } | undefined;
  /** Keeps `error` if it is the first, or weighs more than the one kept. */
  const keep = (error: unknown): void => {
    const weight = rank(error);
    if (failed === undefined || weight > failed.rank) failed = { error, rank: weight };
  };
  const worker = async (): Promise<void> => {
    while (failed === undefined && next < items.length) {
      const item = items[next++] as T;
      try {
        await fn(item, controller.signal);
      } catch (error) {
        // Once the signal is aborted, the calls' errors are most likely that abort's: they never replace the kept one.
        if (controller.signal.aborted) continue;
        keep(error);
        options.stopped?.abort(error);
        if (options.letFinish?.(error) !== true) controller.abort(error);
      }
    }
  };
  await Promise.all(Array.from({ length: Math.max(1, Math.min(limit, items.length)) }, () => worker()));
  if (failed !== undefined) throw failed.error;
}

/**
 * A fixed set of reused buffers of one size, handed out first come, first served: a caller waits for one
 * to be given back when all are taken. The buffers are allocated on first use, never more than `count`.
 */
export class BufferPool {
  readonly #count: number;
  readonly #size: number;
  #made = 0;
  readonly #free: Buffer[] = [];
  readonly #waiting: { resolve: (buffer: Buffer) => void; reject: (error: unknown) => void; signal: AbortSignal | undefined; onAbort: () => void }[] = [];

  constructor(count: number, size: number) {
    this.#count = Math.max(1, count);
    this.#size = size;
  }

  /** A buffer of the pool's size: a free one, a new one while fewer than `count` exist, else the next one given back. */
  take(signal?: AbortSignal): Promise<Buffer> {
    if (signal?.aborted === true) return Promise.reject(signal.reason as Error);
    const free = this.#free.pop();
    if (free !== undefined) return Promise.resolve(free);
    if (this.#made < this.#count) {
      this.#made++;
      // Outside Node's shared slab: a part-sized buffer is its own allocation either way, and is reused.
      return Promise.resolve(Buffer.allocUnsafeSlow(this.#size));
    }
    return new Promise<Buffer>((resolve, reject) => {
      const waiter = {
        resolve,
        reject,
        signal,
        onAbort: () => {
          const at = this.#waiting.indexOf(waiter);
          if (at >= 0) this.#waiting.splice(at, 1);
          reject(signal?.reason as Error);
        },
      };
      signal?.addEventListener('abort', waiter.onAbort, { once: true });
      this.#waiting.push(waiter);
    });
  }

  /** Gives a buffer taken from this pool back: to the longest waiting caller, else to the free list. */
  give(buffer: Buffer): void {
    const waiter = this.#waiting.shift();
    if (waiter === undefined) {
      this.#free.push(buffer);
      return;
    }
    waiter.signal?.removeEventListener('abort', waiter.onAbort);
    waiter.resolve(buffer);
  }

  /** Buffers allocated so far (at most `count`). */
  get allocated(): number {
    return this.#made;
  }
}
