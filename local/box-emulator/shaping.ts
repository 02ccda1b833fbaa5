// Link shaping: a per-connection bandwidth cap shared by request-body reads and download writes,
// and abortable sleeps so that close() never waits on a pending timer.
import type { Socket } from 'node:net';
import { setTimeout as sleepTimer } from 'node:timers/promises';

/** Sleep that rejects (with an AbortError) when the emulator closes. */
export async function sleep(ms: number, signal: AbortSignal): Promise<void> {
  if (ms <= 0) return;
  await sleepTimer(ms, undefined, { signal });
}

/** Waits until `until` settles (a test's gate), or until `signal` fires (the emulator closes). */
export async function held(until: PromiseLike<unknown>, signal: AbortSignal): Promise<void> {
  signal.throwIfAborted();
  await new Promise<void>((resolve, reject) => {
    const onAbort = (): void => reject(signal.reason as Error);
    signal.addEventListener('abort', onAbort, { once: true });
    const settle = (): void => {
      signal.removeEventListener('abort', onAbort);
      resolve();
    };
    Promise.resolve(until).then(settle, settle);
  });
}

/** A token bucket per connection: bytes may pass at `bytesPerSecond`, with a little burst. */
export class ConnectionBucket {
  private readonly bytesPerSecond: number;
  private readonly now: () => number;
  /** Time (ms) at which the bytes charged so far have "drained" through the link. */
  private drainedAt = 0;
  constructor(bytesPerSecond: number, now: () => number = () => performance.now()) {
    this.bytesPerSecond = bytesPerSecond;
    this.now = now;
  }
  /** Charges `bytes` and returns how long (ms) to wait before letting them through. */
  charge(bytes: number): number {
    const now = this.now();
    this.drainedAt = Math.max(this.drainedAt, now) + (bytes / this.bytesPerSecond) * 1000;
    // Sleep only once the debt is noticeable: fewer timers, same average rate.
    const wait = this.drainedAt - now;
    return wait > 4 ? wait : 0;
  }
}

export class LinkShaper {
  private readonly bytesPerSecond: number | undefined;
  private readonly buckets = new WeakMap<Socket, ConnectionBucket>();
  /** Aborted when the emulator closes. */
  readonly signal: AbortSignal;

  constructor(bytesPerSecond: number | undefined, signal: AbortSignal) {
    this.bytesPerSecond = bytesPerSecond !== undefined && bytesPerSecond > 0 ? bytesPerSecond : undefined;
    this.signal = signal;
  }

  get enabled(): boolean {
    return this.bytesPerSecond !== undefined;
  }

  /** Waits as long as the connection's cap requires for `bytes` more bytes. */
  async pass(socket: Socket, bytes: number): Promise<void> {
    if (this.bytesPerSecond === undefined) return;
    let bucket = this.buckets.get(socket);
    if (bucket === undefined) {
      bucket = new ConnectionBucket(this.bytesPerSecond);
      this.buckets.set(socket, bucket);
    }
    await sleep(bucket.charge(bytes), this.signal);
  }
}
