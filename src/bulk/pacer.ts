// Keeps one child workflow within its share of the run's Box upload budget. Box documents 240 upload
// requests per minute per user; the run's budget (options.uploadsPerMinute) is split statically: each
// of the N children that run at once paces itself at budget / N, with no shared state.
// What counts: each request that creates a file or a version (direct upload POST, upload session
// create); part PUTs, commits, folder, listing and metadata requests do not.
// After a 429 the pace halves for a minute (the client has already waited Box's Retry-After).

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

  /** Box answered 429 (after the client's own waits): slow down for a minute. */
  rateLimited(): void {
    this.#slowUntil = this.#now() + 60_000;
  }
}
