import { describe, expect, it } from 'vitest';
import { MAX_LIMIT, PagedList } from '../../web/src/pagedList.js';
import type { PageOf } from '../../web/src/types.js';

/**
 * The paging the jobs list and the proposals timeline share, against a fake API: a list of numbers,
 * newest (highest) first, with keyset cursors, where each answer can be held back to land late.
 */
function fakeApi(total: number) {
  let items = Array.from({ length: total }, (_, k) => total - k);
  const calls: Array<{ cursor: string | null; limit: number }> = [];
  const held: Array<() => void> = [];
  let hold = false;
  const fetchPage = async (cursor: string | null, limit: number): Promise<PageOf<number>> => {
    calls.push({ cursor, limit });
    if (limit < 1 || limit > MAX_LIMIT) throw new Error(`limit ${limit} out of range`);
    const after = cursor === null ? Infinity : Number(cursor);
    const page = items.filter((x) => x < after).slice(0, limit);
    const last = page.at(-1);
    const answer = { items: page, next_cursor: page.length === limit && last !== undefined && items.some((x) => x < last) ? String(last) : null };
    if (hold) await new Promise<void>((resolve) => held.push(resolve));
    return answer;
  };
  return {
    fetchPage,
    calls,
    add: (n: number) => { items = [...Array.from({ length: n }, (_, k) => items[0]! + n - k), ...items]; },
    holdAnswers: (on: boolean) => { hold = on; },
    releaseOldest: () => held.shift()?.(),
  };
}

describe('paged lists (jobs, proposals)', () => {
  it('loads a page, then a page more at each "Load more", until the last', async () => {
    const api = fakeApi(12);
    const list = new PagedList(api.fetchPage, 5);
    expect(await list.reload()).toBe(true);
    expect(list.items).toEqual([12, 11, 10, 9, 8]);
    expect(list.hasMore).toBe(true);
    expect(await list.more()).toBe(true);
    expect(await list.more()).toBe(true);
    expect(list.items).toEqual(Array.from({ length: 12 }, (_, k) => 12 - k));
    expect(list.hasMore).toBe(false);
    expect(await list.more()).toBe(false);
  });

  it('re-reads from the top as far as the user loaded, in pages the API accepts', async () => {
    const api = fakeApi(2600);
    const list = new PagedList(api.fetchPage, 900);
    await list.reload();
    await list.more();
    await list.more();
    expect(list.items).toHaveLength(2600);
    api.add(3);
    api.calls.length = 0;
    // 2,700 wanted (three pages of 900): more than one request may ask for (1,000).
    await list.reload();
    expect(list.items).toEqual(Array.from({ length: 2603 }, (_, k) => 2603 - k));
    expect(api.calls.map((c) => c.limit)).toEqual([1000, 1000, 700]);
    expect(list.hasMore).toBe(false);
  });

  it('drops an answer a newer load superseded, and a click superseded by a refresh still gets its page', async () => {
    const api = fakeApi(30);
    const list = new PagedList(api.fetchPage, 10);
    await list.reload();
    api.holdAnswers(true);
    const click = list.more();
    const refresh = list.reload(); // started after the click: it reads the click's page too
    api.releaseOldest();
    expect(await click).toBe(false);
    api.releaseOldest();
    expect(await refresh).toBe(true);
    expect(list.items).toEqual(Array.from({ length: 20 }, (_, k) => 30 - k));

    // A filter change (reset) while a refresh is on its way: the refresh's answer is not shown.
    const late = list.reload();
    list.reset();
    api.releaseOldest();
    expect(await late).toBe(false);
    expect(list.items).toEqual([]);
    api.holdAnswers(false);
    await list.reload();
    expect(list.items).toHaveLength(10);
  });

  it('reports an error only for the newest load', async () => {
    let fail = false;
    const list = new PagedList<number>(async () => {
      if (fail) throw new Error('boom');
      return { items: [1], next_cursor: null };
    }, 10);
    fail = true;
    await expect(list.reload()).rejects.toThrow('boom');
    const superseded = list.reload();
    list.reset();
    expect(await superseded).toBe(false);
  });
});
