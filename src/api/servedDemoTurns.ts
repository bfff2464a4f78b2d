import { systemHead, type Demo } from '../optimizer/core/demos.js';
import { injectDemos } from '../proxy/injection.js';
import type { ChatCompletionRequest, ChatMessage } from '../schemas/openai.js';

/**
 * The demo turns the proxy inserted into a call, between its system text and its own messages: the
 * same injectDemos on the call as recorded (the served system text, then the client's messages),
 * so a reader of a rollout sees the whole conversation the module was given. Empty when none were
 * inserted (the candidate has none for the module, or the call's own turns ruled them out); null
 * when that cannot be told (a call of no module, or its messages no longer stored).
 */
export function servedDemoTurns(
  demos: readonly Demo[],
  systemPrompt: string | null,
  inputMessages: readonly unknown[] | null,
  variables: Readonly<Record<string, string>> | null,
): ChatMessage[] | null {
  if (systemPrompt === null || inputMessages === null) return null;
  if (demos.length === 0) return [];
  // As the proxy sent it: an empty text adds no system message (injectCandidate).
  const messages = [...(systemPrompt === '' ? [] : [{ role: 'system', content: systemPrompt }]), ...inputMessages] as ChatMessage[];
  // After every leading system message, as injection put them: a call's later system message (the
  // app's context) is recorded with its input and stays before the demos.
  const head = systemHead(messages);
  const req = { model: 'recorded', messages } as ChatCompletionRequest;
  const out = injectDemos(req, demos, variables ?? undefined);
  return out.messages.slice(head, head + out.messages.length - messages.length);
}
