import { UpstreamError } from '../shared/errors.js';
import { notToRetry } from './upstreamErrors.js';
import type { ChatProvider, CompletionResult, ProviderKind, StreamResult } from './types.js';

/**
 * A provider that cannot work in this deployment (no API key, refused inference URL...). It fails
 * every call with the reason, so a job is still created and the reason reaches whoever calls the
 * proxy, instead of the server refusing to start or failing somewhere obscure.
 */
export function unavailableProvider(kind: ProviderKind, reason: string): ChatProvider {
  const fail = (): Promise<never> => Promise.reject(notToRetry(new UpstreamError(reason, { status: 502, code: 'provider_unavailable' })));
  return {
    kind,
    complete: (): Promise<CompletionResult> => fail(),
    stream: (): Promise<StreamResult> => fail(),
  };
}
