/**
 * The output items (Responses) or content blocks (Messages) of a translated stream, sent one after
 * another as the providers send them, although a chat stream may interleave tool calls by index or
 * send text while a call is open. The first unsent item streams live; an event of a later item is
 * kept and rendered once every item before it has sent its last event. Rendering waits until then,
 * so a numbered event (Responses' `sequence_number`) is numbered in the order it goes out.
 */
export class OrderedItems<I> {
  private readonly queue: { item: I; pending: (() => string)[]; closed: boolean }[] = [];

  add(item: I): void {
    this.queue.push({ item, pending: [], closed: false });
  }

  /** What goes out now for one event of `item`; `last`: the item's final event (it is then closed). */
  emit(item: I, render: () => string, last = false): string {
    const entry = this.queue.find((e) => e.item === item);
    if (entry === undefined) return '';
    if (last) entry.closed = true;
    if (this.queue[0] !== entry) {
      entry.pending.push(render);
      return '';
    }
    let out = render();
    // The live item is done: the items after it send what they kept, up to the next one still open.
    while (this.queue[0]?.closed) {
      this.queue.shift();
      for (const r of this.queue[0]?.pending.splice(0) ?? []) out += r();
    }
    return out;
  }

  /** The items not closed yet, in output order. */
  open(): I[] {
    return this.queue.filter((e) => !e.closed).map((e) => e.item);
  }
}
