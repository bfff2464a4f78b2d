import type { PageOf } from './types.js';

/** A page of a list the user grows ("Load more"): the API's default `limit`. */
export const LIST_PAGE = 50;
/** The API's largest `limit` on every paged list. */
export const MAX_LIMIT = 1000;

export type FetchPage<T> = (cursor: string | null, limit: number) => Promise<PageOf<T>>;

/**
 * A cursor-paged list as the dashboard shows it (the jobs list, the proposals timeline): the first
 * page, then a page more at each "Load more", and re-read from the top when it is refreshed.
 *
 * A refresh re-reads as many items as the user asked to see, in pages of at most MAX_LIMIT. Loads
 * overlap (a refresh timer, a filter change, a click) and answers may land in any order: only the
 * answer to the newest request is applied, the others report `false`. A click superseded by a
 * refresh that started after it is not lost: that refresh already reads the page the click asked for.
 */
export class PagedList<T> {
  items: T[] = [];
  /** Where the next page starts; null once the last item is in. */
  cursor: string | null = null;
  /** How many items the user asked to see: one page, plus one per "Load more". */
  private wanted: number;
  private requested = 0;

  constructor(private readonly fetchPage: FetchPage<T>, readonly pageSize = LIST_PAGE) {
    this.wanted = pageSize;
  }

  /** Items beyond the loaded ones exist. */
  get hasMore(): boolean {
    return this.cursor !== null;
  }

  /** Back to an empty list of one page (the listing changed, e.g. a new filter); answers in flight are dropped. */
  reset(): void {
    this.requested++;
    this.items = [];
    this.cursor = null;
    this.wanted = this.pageSize;
  }

  /** Reads the list again from the top, as far as the user has loaded it. False: a newer load superseded it. */
  async reload(): Promise<boolean> {
    const ticket = ++this.requested;
    const items: T[] = [];
    let cursor: string | null = null;
    try {
      do {
        const page: PageOf<T> = await this.fetchPage(cursor, Math.min(MAX_LIMIT, Math.max(1, this.wanted - items.length)));
        if (ticket !== this.requested) return false;
        items.push(...page.items);
        cursor = page.next_cursor;
      } while (cursor !== null && items.length < this.wanted);
    } catch (err) {
      if (ticket !== this.requested) return false;
      throw err;
    }
    this.items = items;
    this.cursor = cursor;
    return true;
  }

  /** Adds the next page. False: nothing more to load, or a newer load superseded it. */
  async more(): Promise<boolean> {
    const from = this.cursor;
    if (from === null) return false;
    const ticket = ++this.requested;
    this.wanted = this.items.length + this.pageSize;
    let page: PageOf<T>;
    try {
      page = await this.fetchPage(from, this.pageSize);
    } catch (err) {
      if (ticket !== this.requested) return false;
      throw err;
    }
    if (ticket !== this.requested) return false;
    this.items = [...this.items, ...page.items];
    this.cursor = page.next_cursor;
    return true;
  }
}
