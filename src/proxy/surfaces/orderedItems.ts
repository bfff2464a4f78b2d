/**
 * The output items (Responses) or content blocks (Messages) of a translated stream, sent one after
 * another as the providers send them, although a chat stream may interleave tool calls by index or
 * send text while a call is open. The first unsent item streams live; an event of a later item is
 * kept and rendered once every item before it has sent its last event. Rendering waits until then,
 * so a numbered event (Responses' `sequence_number`) is numbered in the order it goes out, and an
 * index read while rendering is the item's place at that time.
 *
 * The non-streamed answer puts the text first and the tool calls after it (a chat completion does
 * not say which came first), so the stream does too: a tool call is `held` (nothing of it goes out)
 * until `release`, at the stream's end, and text that comes after calls takes the first place
 * (`add` with `first`), ahead of the calls that sent nothing yet.
 */
interface Entry<I> {
  item: I;
  pending: (() => string)[];
  closed: boolean;
  held: boolean;
}

export class OrderedItems<I> {
  private readonly queue: Entry<I>[] = [];

  /** `first`: ahead of every item so far, which must all be held (none has sent anything). */
  add(item: I, opts: { held?: boolean; first?: boolean } = {}): void {
    const entry = { item, pending: [], closed: false, held: opts.held === true };
    if (opts.first === true) {
      if (this.queue.some((e) => !e.held)) throw new Error('an item can only go first ahead of held items');
      this.queue.unshift(entry);
    } else this.queue.push(entry);
  }

  /** What goes out now for one event of `item`; `last`: the item's final event (it is then closed). */
  emit(item: I, render: () => string, last = false): string {
    const entry = this.queue.find((e) => e.item === item);
    if (entry === undefined) return '';
    if (last) entry.closed = true;
    entry.pending.push(render);
    return this.queue[0] === entry ? this.flush() : '';
  }

  /** The stream ended: held items may go out now, in their order. */
  release(): string {
    for (const e of this.queue) e.held = false;
    return this.flush();
  }

  /** The items not closed yet, in output order. */
  open(): I[] {
    return this.queue.filter((e) => !e.closed).map((e) => e.item);
  }

  /** The live item's kept events; when it is done, the next item's, up to one still open or held. */
  private flush(): string {
    let out = '';
    for (let head = this.queue[0]; head !== undefined && !head.held; head = this.queue[0]) {
      for (const render of head.pending.splice(0)) out += render();
      if (!head.closed) break;
      this.queue.shift();
    }
    return out;
  }
}
