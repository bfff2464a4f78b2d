/**
 * The output items (Responses) or content blocks (Messages) of a translated stream, sent one after
 * another as the providers send them, although a chat stream may interleave tool calls by index or
 * send text while a call is open. The first unsent item streams live; an event of a later item is
 * kept and rendered once every item before it has sent its last event. Rendering waits until then,
 * so a numbered event (Responses' `sequence_number`) is numbered in the order it goes out.
 *
 * Each event finds its item's entry by a map and the live item is a cursor into the queue, not its
 * first element: found by a scan and shifted off the front, an upstream stream of 40,000 tool calls
 * (every call stays open until the stream ends) took 7 s of the event loop, the square of the calls.
 */
interface Entry<I> {
  item: I;
  pending: (() => string)[];
  closed: boolean;
}

/** Items sent in full are dropped from the front of the queue once they are this many, and half of it. */
const COMPACT_FROM = 1024;

export class OrderedItems<I> {
  private queue: Entry<I>[] = [];
  /** queue[live] is the item streaming live; those before it have sent their last event. */
  private live = 0;
  /** Each item's entries still in the queue, in order (an item added twice has two). */
  private readonly entries = new Map<I, Entry<I>[]>();

  add(item: I): void {
    const entry: Entry<I> = { item, pending: [], closed: false };
    this.queue.push(entry);
    const same = this.entries.get(item);
    if (same === undefined) this.entries.set(item, [entry]);
    else same.push(entry);
  }

  /** What goes out now for one event of `item`; `last`: the item's final event (it is then closed). */
  emit(item: I, render: () => string, last = false): string {
    const entry = this.entries.get(item)?.[0];
    if (entry === undefined) return '';
    if (last) entry.closed = true;
    if (this.queue[this.live] !== entry) {
      entry.pending.push(render);
      return '';
    }
    let out = render();
    // The live item is done: the items after it send what they kept, up to the next one still open.
    while (this.queue[this.live]?.closed) {
      this.forget(this.queue[this.live]!);
      this.live++;
      for (const r of this.queue[this.live]?.pending.splice(0) ?? []) out += r();
    }
    if (this.live >= COMPACT_FROM && this.live * 2 >= this.queue.length) {
      this.queue = this.queue.slice(this.live);
      this.live = 0;
    }
    return out;
  }

  /** The items not closed yet, in output order. */
  open(): I[] {
    return this.queue.slice(this.live).filter((e) => !e.closed).map((e) => e.item);
  }

  private forget(entry: Entry<I>): void {
    const same = this.entries.get(entry.item);
    if (same === undefined) return;
    same.shift();
    if (same.length === 0) this.entries.delete(entry.item);
  }
}
