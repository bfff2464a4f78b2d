import type { Page } from './wire.js';

/**
 * Walks a cursor-paged list route to the end, one page request at a time, yielding items. Stops on a
 * null cursor, an empty page, or a cursor that repeats (a server bug must not become an endless loop).
 */
export async function* paginate<T>(fetchPage: (cursor: string | undefined) => Promise<Page<T>>, startCursor?: string): AsyncGenerator<T, void, undefined> {
  let cursor = startCursor;
  const seen = new Set<string>();
  for (;;) {
    const page = await fetchPage(cursor);
    yield* page.items;
    const next = page.next_cursor;
    if (next === null || page.items.length === 0 || seen.has(next)) return;
    seen.add(next);
    cursor = next;
  }
}

/** Collects an async iterable into an array, at most `max` items. */
export async function collect<T>(items: AsyncIterable<T>, max = Number.POSITIVE_INFINITY): Promise<T[]> {
  const out: T[] = [];
  if (max <= 0) return out;
  for await (const item of items) {
    out.push(item);
    if (out.length >= max) break;
  }
  return out;
}
