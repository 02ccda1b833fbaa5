// A small bounded-concurrency runner: at most `limit` calls of `fn` at once, first error wins
// (the others are told through the signal and their results dropped).

export async function forEachLimit<T>(
  items: readonly T[],
  limit: number,
  fn: (item: T, signal: AbortSignal) => Promise<void>,
): Promise<void> {
  const controller = new AbortController();
  let next = 0;
  let failed: { error: unknown } | undefined;
  const worker = async (): Promise<void> => {
    while (failed === undefined && next < items.length) {
      const item = items[next++] as T;
      try {
        await fn(item, controller.signal);
      } catch (error) {
        if (failed === undefined) {
          failed = { error };
          controller.abort(error);
        }
      }
    }
  };
  await Promise.all(Array.from({ length: Math.max(1, Math.min(limit, items.length)) }, worker));
  if (failed !== undefined) throw failed.error;
}
