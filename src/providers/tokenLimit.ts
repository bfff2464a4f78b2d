import type { ChatCompletionRequest } from '../schemas/openai.js';
import type { ProviderKind } from './types.js';

/**
 * A completion-length limit under the name the provider understands: OpenAI's newer models take
 * only max_completion_tokens; local servers (vLLM, Ollama) know max_tokens; anthropic and sim read either.
 */
export function tokenLimit(provider: ProviderKind, tokens: number): Pick<ChatCompletionRequest, 'max_tokens' | 'max_completion_tokens'> {
  return provider === 'openai' ? { max_completion_tokens: tokens } : { max_tokens: tokens };
}
