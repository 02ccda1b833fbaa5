// Keeps one child workflow within its share of the run's Box upload budget. Box documents 240 upload
// requests per minute per user; the run's budget (options.uploadsPerMinute) is split statically: each
// of the N children that run at once paces itself at budget / N, with no shared state.
// What counts: each request that creates a file or a version (direct upload POST, upload session
// create); part PUTs, commits, folder, listing and metadata requests do not.
// After a 429 the pace halves for a minute (the client has already waited Box's Retry-After).
// A child ends only once its last slot has passed (drain): the next child the Map starts in its place
// would otherwise upload at once, and a run of small batches would go above its budget.

export class UploadPacer {
  readonly #intervalMs: number;
  #slowUntil = 0;
  #next = 0;
  readonly #now: () => number;
  readonly #sleep: (ms: number) => Promise<void>;

  constructor(uploadsPerMinute: number, clock?: { now: () => number; sleep: (ms: number) => Promise<void> }) {
    this.#intervalMs = 60_000 / Math.max(uploadsPerMinute, 1e-9);
    this.#now = clock?.now ?? Date.now;
    this.#sleep = clock?.sleep ?? ((ms) => new Promise((resolve) => setTimeout(resolve, ms)));
  }

  /** Waits for the next upload slot. */
  async take(): Promise<void> {
    const now = this.#now();
    const interval = now < this.#slowUntil ? this.#intervalMs * 2 : this.#intervalMs;
    const at = Math.max(now, this.#next);
    this.#next = at + interval;
    if (at > now) await this.#sleep(at - now);
  }

  /** Waits (at most `limitMs`) until the last slot taken has passed: a child of k uploads spans k intervals. */
  async drain(limitMs = Number.POSITIVE_INFINITY): Promise<void> {
    const wait = Math.min(this.#next - this.#now(), limitMs);
    if (wait > 0) await this.#sleep(wait);
  }

  /** Box answered 429 (after the client's own waits): slow down for a minute. */
  rateLimited(): void {
    this.#slowUntil = this.#now() + 60_000;
  }
}
