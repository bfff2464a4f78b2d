import type { ChatProvider } from './types.js';

export interface ProviderCacheOptions {
  /** Providers kept at most; past it the least recently used one is retired. */
  maxProviders: number;
  /**
   * How long a retired provider stays open before it is closed: longer than any call that may still
   * hold it (attempts, waits between them and a stream's body all fit in the upstream deadlines).
   */
  retireAfterMs: number;
}

/**
 * The registry's providers by key, bounded. Jobs choose their upstream (an `openai_compatible`
 * inference URL, a `sim` model name), and every distinct one kept a provider, its connection pool and
 * its sockets for the server's whole life: about 30 KB and a socket per inference URL, 60 KB per sim
 * model. A retired provider is closed only later, so a call that took it just before keeps working.
 */
export class ProviderCache {
  private readonly live = new Map<string, ChatProvider>();
  private readonly retiring = new Map<ChatProvider, NodeJS.Timeout>();

  constructor(private readonly opts: ProviderCacheOptions) {}

  get size(): number {
    return this.live.size;
  }

  /** The provider under `key`, built on first use; the most recently used are the ones kept. */
  get(key: string, build: () => ChatProvider): ChatProvider {
    let provider = this.live.get(key);
    if (provider !== undefined) {
      this.live.delete(key); // re-inserted last: the Map's order is the eviction order
    } else {
      provider = build();
      if (this.live.size >= this.opts.maxProviders) this.retireOldest();
    }
    this.live.set(key, provider);
    return provider;
  }

  private retireOldest(): void {
    const [key, provider] = this.live.entries().next().value as [string, ChatProvider];
    this.live.delete(key);
    if (provider.close === undefined) return;
    const timer = setTimeout(() => {
      this.retiring.delete(provider);
      void provider.close?.().catch(() => undefined);
    }, this.opts.retireAfterMs);
    timer.unref(); // a pending close never holds the process open
    this.retiring.set(provider, timer);
  }

  /** Closes every provider, retiring ones included. */
  async close(): Promise<void> {
    const all = [...this.live.values(), ...this.retiring.keys()];
    for (const timer of this.retiring.values()) clearTimeout(timer);
    this.live.clear();
    this.retiring.clear();
    await Promise.all(all.map((p) => p.close?.()));
  }
}
