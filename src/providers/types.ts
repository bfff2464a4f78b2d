import type { ChatCompletion, ChatCompletionRequest, Usage } from '../schemas/openai.js';
import type { CancelSignal } from './cancelSignal.js';
import type { FieldProblem } from '../shared/errors.js';

/**
 * What the proxy and the proposer need from an upstream model. Every provider speaks OpenAI
 * chat-completions to miprox, whatever it speaks upstream (anthropic translates, sim simulates).
 */
export interface CallOptions {
  /** Aborted when the client goes away; the upstream request must be cancelled. */
  signal?: CancelSignal;
  /** Overrides the provider's default timeout (the proposer uses its own). */
  timeoutMs?: number;
  /** The client's own protocol headers a native call forwards (Anthropic's `anthropic-beta`). */
  forwardHeaders?: Record<string, string>;
  /** How many miprox proxies the call passed before this one (its `Via`); see proxyHops.ts. */
  proxyHops?: number;
}

export interface CompletionResult {
  /** The provider's JSON body, relayed unchanged for openai-compatible upstreams. */
  raw: string;
  json: ChatCompletion;
  /** Attempts made (1 = no retry). */
  attempts: number;
}

export interface StreamResult {
  /**
   * SSE bytes in OpenAI's format (`data: {...}\n\n` ... `data: [DONE]\n\n`). The iterator throws an
   * UpstreamError if the upstream fails mid-stream; the proxy turns that into an error event.
   */
  body: AsyncIterable<Uint8Array>;
  attempts: number;
  /**
   * The usage the upstream reported in a stream whose body carries no usage chunk (Anthropic always
   * reports it; OpenAI's chat format only on `stream_options.include_usage`): read once the body
   * ended, for the call's record. Undefined before the upstream reported any.
   */
  usage?(): Usage | undefined;
}

/**
 * A provider's own API for one of the proxy's other surfaces (openai: Responses; anthropic:
 * Messages). Bodies go upstream as built by the surface and come back as the upstream wrote them.
 */
export type NativeSurface = 'responses' | 'messages';

export interface NativeApi {
  readonly surface: NativeSurface;
  /** Throws UpstreamError like `complete`; resolves with the upstream's JSON text. */
  complete(body: Record<string, unknown>, opts?: CallOptions): Promise<{ raw: string; attempts: number }>;
  /** The upstream's own event stream, cut on event boundaries. */
  stream(body: Record<string, unknown>, opts?: CallOptions): Promise<StreamResult>;
}

export interface ChatProvider {
  readonly kind: ProviderKind;
  /** Present when the upstream speaks a surface natively; the proxy then skips translation. */
  readonly native?: NativeApi;
  /** Throws UpstreamError (status kept for upstream 4xx; 502 unreachable; 504 timeout). */
  complete(req: ChatCompletionRequest, opts?: CallOptions): Promise<CompletionResult>;
  /** Resolves once the upstream accepted the request (retries happen before this resolves). */
  stream(req: ChatCompletionRequest, opts?: CallOptions): Promise<StreamResult>;
  /**
   * What of a chat-completions request this provider cannot send upstream (a translating provider's
   * refusals), by field: checked before a call is dispatched or recorded. Absent: nothing.
   */
  requestProblems?(req: ChatCompletionRequest): FieldProblem[];
  close?(): Promise<void>;
}

export type ProviderKind = 'openai' | 'openai_compatible' | 'anthropic' | 'sim';
export const PROVIDER_KINDS = ['openai', 'openai_compatible', 'anthropic', 'sim'] as const;

/** The part of a job's policy/proposer config that selects an upstream. */
export interface ProviderTarget {
  provider: ProviderKind;
  model: string;
  inferenceUrl?: string | undefined;
}

/** Text and usage extracted from a completion, for rollout records and the proposer. */
export interface CompletionSummary {
  text: string;
  usage: Usage | undefined;
}
