import type { AppConfig } from '../config/config.js';
import type { Logger } from '../shared/logger.js';
import type { ChatProvider, ProviderTarget } from './types.js';
import { AnthropicProvider } from './anthropic.js';
import { guardedLookup, type ResolveHost } from './guardedLookup.js';
import { checkInferenceUrl } from './inferenceUrlPolicy.js';
import { OpenAICompatibleProvider } from './openaiCompatible.js';
import { ProviderCache } from './providerCache.js';
import { unavailableProvider } from './unavailableProvider.js';
import type { TransportOptions } from './upstreamTransport.js';

/**
 * One provider (and so one keep-alive connection pool) per upstream, shared by every job that uses it:
 * `openai` and `anthropic` from the server's config, `openai_compatible` per job inference URL,
 * `sim` from the factory given by main.ts.
 */
export type ProviderConfig = AppConfig['providers'];

export interface ProviderRegistry {
  get(target: ProviderTarget): ChatProvider;
  /** Why calls for this target will fail for lack of a server-side key, for warnings at job creation. */
  missingKeyFor(target: ProviderTarget): string | undefined;
  /** Providers held now (bounded: MAX_PROVIDERS). */
  readonly size: number;
  close(): Promise<void>;
}

/** Far more upstreams than a deployment uses at once; only jobs naming ever new ones reach it. */
const MAX_PROVIDERS = 256;
/** Beyond the upstream deadlines, a retired provider is closed this much later. */
const RETIRE_MARGIN_MS = 5_000;

export interface RegistryExtras {
  sim?: (target: ProviderTarget) => ChatProvider;
  logger?: Logger;
  /** Retry timing and clocks, for tests. */
  transport?: Partial<Pick<TransportOptions, 'retry' | 'sleep' | 'rng' | 'clock'>>;
  /** Name resolution for inference_url hosts (tests stand in for DNS); node's resolver by default. */
  resolveHost?: ResolveHost;
  /** Bounds of the provider cache (tests make them small); MAX_PROVIDERS and the upstream deadlines by default. */
  cache?: { maxProviders?: number; retireAfterMs?: number };
}

export function missingKeyFor(config: ProviderConfig, target: ProviderTarget): string | undefined {
  if (target.provider === 'openai' && !config.openaiApiKey) {
    return 'OPENAI_API_KEY is not set on the miprox server, so provider "openai" cannot be called';
  }
  if (target.provider === 'anthropic' && !config.anthropicApiKey) {
    return 'ANTHROPIC_API_KEY is not set on the miprox server, so provider "anthropic" cannot be called';
  }
  return undefined;
}

export function createProviderRegistry(config: ProviderConfig, extra: RegistryExtras = {}): ProviderRegistry {
  const cache = new ProviderCache({
    maxProviders: extra.cache?.maxProviders ?? MAX_PROVIDERS,
    retireAfterMs: extra.cache?.retireAfterMs ?? Math.max(config.timeoutMs, config.proposerTimeoutMs) + RETIRE_MARGIN_MS,
  });
  const common = {
    timeoutMs: config.timeoutMs,
    maxRetries: config.maxRetries,
    maxResponseBytes: config.maxResponseBytes,
    ...(extra.logger !== undefined ? { logger: extra.logger } : {}),
    ...extra.transport,
  };

  const build = (target: ProviderTarget): ChatProvider => {
    const missing = missingKeyFor(config, target);
    if (missing !== undefined) return unavailableProvider(target.provider, missing);
    switch (target.provider) {
      case 'openai':
        return new OpenAICompatibleProvider({
          ...common,
          kind: 'openai',
          baseUrl: config.openaiBaseUrl,
          apiKey: config.openaiApiKey,
        });
      case 'anthropic':
        return new AnthropicProvider({ ...common, baseUrl: config.anthropicBaseUrl, apiKey: config.anthropicApiKey ?? '' });
      case 'openai_compatible': {
        const url = target.inferenceUrl;
        if (url === undefined || url === '') {
          return unavailableProvider('openai_compatible', 'policy.inference_url is required for provider "openai_compatible"');
        }
        // Checked again here, not only at job creation: the allowlist may have shrunk since.
        const check = checkInferenceUrl(url, config.allowedInferenceHosts);
        if (!check.ok) return unavailableProvider('openai_compatible', `policy.inference_url ${check.reason}`);
        // Every address the name resolves to is checked at connect time, and the socket goes to it.
        const parsed = new URL(url);
        const port = parsed.port !== '' ? parsed.port : parsed.protocol === 'https:' ? '443' : '80';
        const lookup = guardedLookup(port, config.allowedInferenceHosts, extra.resolveHost, extra.logger);
        return new OpenAICompatibleProvider({ ...common, kind: 'openai_compatible', baseUrl: url, lookup });
      }
      case 'sim':
        return extra.sim !== undefined
          ? extra.sim(target)
          : unavailableProvider('sim', 'the sim provider is not enabled on this miprox server');
    }
  };

  return {
    get: (target) => cache.get(cacheKey(target, config), () => build(target)),
    missingKeyFor: (target) => missingKeyFor(config, target),
    get size() {
      return cache.size;
    },
    close: () => cache.close(),
  };
}

/** Providers are per upstream, not per model: the model travels in each request. */
function cacheKey(target: ProviderTarget, config: ProviderConfig): string {
  switch (target.provider) {
    case 'openai':
      return `openai|${config.openaiBaseUrl}`;
    case 'anthropic':
      return `anthropic|${config.anthropicBaseUrl}`;
    case 'openai_compatible':
      return `openai_compatible|${(target.inferenceUrl ?? '').replace(/\/+$/, '')}`;
    case 'sim':
      // The simulator may behave per model, so it is the one provider keyed by model too.
      return `sim|${target.model}|${target.inferenceUrl ?? ''}`;
  }
}
