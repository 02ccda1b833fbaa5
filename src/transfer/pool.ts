// A small bounded-concurrency runner: at most `limit` calls of `fn` at once, first error wins
// (the others are told through the signal and their results dropped). `slot` (0 .. limit-1) names the
// worker running a call: no two calls with the same slot overlap, so a slot can own a reused buffer.

export async function forEachLimit<T>(
  items: readonly T[],
  limit: number,
  fn: (item: T, signal: AbortSignal, slot: number) => Promise<void>,
): Promise<void> {
  const controller = new AbortController();
  let next = 0;
  let failed: { error: unknown } | undefined;
  const worker = async (slot: number): Promise<void> => {
    while (failed === undefined && next < items.length) {
      const item = items[next++] as T;
      try {
        await fn(item, controller.signal, slot);
      } catch (error) {
        if (failed === undefined) {
          failed = { error };
          controller.abort(error);
        }
      }
    }
  };
  await Promise.all(Array.from({ length: Math.max(1, Math.min(limit, items.length)) }, (_, slot) => worker(slot)));
  if (failed !== undefined) throw failed.error;
}
