/**
 * The output items this miprox instance answered on the Responses surface, kept briefly so an
 * `item_reference` in a later call of the same system can be resolved. Clients that assume OpenAI's
 * default `store: true` (the Vercel AI SDK's default `openai()` in a tool loop) send references to
 * the previous answer's items instead of the items; miprox otherwise keeps no conversation state
 * (`previous_response_id` and `store: true` stay refused). Bounded in count, bytes and age; per instance
 * (behind a load balancer without sticky routing, a client should send the items themselves).
 */
export interface ItemCacheOptions {
  maxItems?: number;
  /** Bytes of item JSON kept in all (the items are a client's upstream's answers: any size). */
  maxBytes?: number;
  ttlMs?: number;
  now?: () => number;
}

/** An item larger than this is not kept (a reference to it is then a 400, as for any unknown item). */
const MAX_ITEM_BYTES = 1024 * 1024;

export class ResponseItemCache {
  private readonly items = new Map<string, { item: Record<string, unknown>; at: number; bytes: number }>();
  private bytes = 0;
  private readonly maxItems: number;
  private readonly maxBytes: number;
  private readonly ttlMs: number;
  private readonly now: () => number;

  constructor(opts: ItemCacheOptions = {}) {
    this.maxItems = opts.maxItems ?? 20_000;
    this.maxBytes = opts.maxBytes ?? 64 * 1024 * 1024;
    this.ttlMs = opts.ttlMs ?? 60 * 60 * 1000;
    this.now = opts.now ?? Date.now;
  }

  /** Remembers the items of one answer (a `response`'s `output`) for the system that answered. */
  remember(systemId: string, output: unknown): void {
    if (!Array.isArray(output)) return;
    const at = this.now();
    for (const item of output) {
      if (typeof item !== 'object' || item === null || typeof (item as { id?: unknown }).id !== 'string') continue;
      const bytes = JSON.stringify(item).length;
      if (bytes > MAX_ITEM_BYTES) continue;
      const key = `${systemId}\u0000${(item as { id: string }).id}`;
      this.drop(key); // re-inserted last: the Map's order is the eviction order
      this.items.set(key, { item: item as Record<string, unknown>, at, bytes });
      this.bytes += bytes;
    }
    // Oldest first: over the count or the bytes, or expired (the order is also the age order).
    for (const [key, v] of this.items) {
      if (this.items.size <= this.maxItems && this.bytes <= this.maxBytes && at - v.at <= this.ttlMs) break;
      this.drop(key);
    }
  }

  lookup(systemId: string, id: string): Record<string, unknown> | undefined {
    const hit = this.items.get(`${systemId}\u0000${id}`);
    if (hit === undefined) return undefined;
    if (this.now() - hit.at > this.ttlMs) return undefined;
    return hit.item;
  }

  /** Bytes of item JSON held (for tests and metrics). */
  get heldBytes(): number {
    return this.bytes;
  }

  private drop(key: string): void {
    const v = this.items.get(key);
    if (v === undefined) return;
    this.bytes -= v.bytes;
    this.items.delete(key);
  }
}
