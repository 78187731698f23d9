// Runs an async function over many items with at most `limit` in flight, collecting failures instead of
// stopping at the first one (one bad drain must not stop a tick for a thousand others).

export interface Settled<T> {
  item: T;
  error: unknown;
}

/** Applies `fn` to every item, `limit` at a time; resolves with the items whose call threw. */
export async function mapConcurrent<T>(
  items: readonly T[],
  limit: number,
  fn: (item: T) => Promise<void>,
): Promise<Settled<T>[]> {
  const failures: Settled<T>[] = [];
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < items.length) {
      const item = items[next] as T;
      next += 1;
      try {
        await fn(item);
      } catch (error) {
        failures.push({ item, error });
      }
    }
  };
  await Promise.all(Array.from({ length: Math.max(1, Math.min(limit, items.length)) }, worker));
  return failures;
}
