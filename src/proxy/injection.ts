import type { ChatCompletionRequest, ChatMessage } from '../schemas/openai.js';
import type { JobPolicy } from '../schemas/jobConfig.js';
import { tokenLimit } from '../providers/tokenLimit.js';
import { systemHead, withDemoTurns, type Demo } from '../optimizer/core/demos.js';

/**
 * Candidate injection, pure: the candidate's rendered text for the call's module replaces the first
 * system (or developer) message, or is prepended when there is none; then `forcePolicy`.
 */
export function injectCandidate(req: ChatCompletionRequest, instruction: string, policy: JobPolicy): ChatCompletionRequest {
  const inject = (text: string): ChatMessage[] => {
    const messages = [...req.messages];
    const idx = messages.findIndex(isSystem);
    if (idx >= 0) messages[idx] = { ...messages[idx]!, content: text };
    else if (text.length > 0) messages.unshift({ role: 'system', content: text });
    return messages;
  };
  let messages = inject(instruction);
  // OpenAI refuses JSON mode (`response_format: {type: "json_object"}`, Responses' `text.format`) unless
  // the word "json" is in the messages. The app's system text often is where it says so, and a
  // proposed instruction may not (a proposer rewrites the format rules): the candidate would turn
  // every call of the app into a 400. So the call that lost the word gets it back, after the candidate's text.
  if (jsonMode(req) && mentionsJson(req.messages) && !mentionsJson(messages)) messages = inject(`${instruction}${instruction === '' ? '' : '\n\n'}${JSON_MODE_NOTE}`);
  return forcePolicy({ ...req, messages }, policy);
}

/** What a JSON-mode call's injected system text ends with when the candidate's text lost the word "JSON". */
export const JSON_MODE_NOTE = 'Respond in JSON.';

const jsonMode = (req: ChatCompletionRequest): boolean => (req.response_format as { type?: unknown } | null | undefined)?.type === 'json_object';

/** Whether any message says "json" (any case), as OpenAI checks for JSON mode. */
function mentionsJson(messages: readonly ChatMessage[]): boolean {
  return messages.some((m) => {
    const c = m.content;
    if (typeof c === 'string') return /json/i.test(c);
    return Array.isArray(c) && c.some((p) => typeof p.text === 'string' && /json/i.test(p.text));
  });
}

/**
 * What every call gets, also one that belongs to no module (its messages untouched): the job's
 * policy model; temperature and max tokens from the policy when the request omits them; miprox's
 * own `mipro` field removed. The temperature only where the provider the call goes to takes it
 * beside what the client sent (`takesPolicyTemperature`).
 */
export function forcePolicy(req: ChatCompletionRequest, policy: JobPolicy): ChatCompletionRequest {
  const { mipro: _ours, ...rest } = req;
  const out: ChatCompletionRequest = { ...rest, model: policy.model };
  // The app wrote its call for the model it named, and the job sends it to the policy's: on OpenAI
  // that may be a reasoning model (o3, gpt-5), which refuses `max_tokens` ("Unsupported parameter:
  // 'max_tokens' is not supported with this model. Use 'max_completion_tokens' instead"). Every
  // OpenAI chat model takes `max_completion_tokens` (`max_tokens` is deprecated in its favour), so
  // the limit goes under that name; other providers keep the field as sent (local servers know max_tokens).
  if (policy.provider === 'openai' && 'max_tokens' in out) {
    const limit = out.max_completion_tokens ?? out.max_tokens;
    delete out.max_tokens;
    if (limit !== undefined) out.max_completion_tokens = limit;
  }
  if ((out.temperature ?? null) === null && policy.temperature !== null && takesPolicyTemperature(req, policy.provider)) out.temperature = policy.temperature;
  const hasLimit = (out.max_tokens ?? null) !== null || (out.max_completion_tokens ?? null) !== null;
  return hasLimit ? out : { ...out, ...tokenLimit(policy.provider, policy.max_completion_tokens) };
}

/**
 * Whether the policy's temperature may be added to a call that sent none: not to an OpenAI reasoning
 * call (`reasoning_effort`: those models refuse any temperature but their default), not beside the
 * client's `top_p` on Anthropic (Claude 4.5-era models refuse the pair). Elsewhere those fields are
 * dropped in translation or accepted beside a temperature, so the job's temperature applies.
 */
function takesPolicyTemperature(req: ChatCompletionRequest, provider: JobPolicy['provider']): boolean {
  if (provider === 'openai') return ((req as { reasoning_effort?: unknown }).reasoning_effort ?? null) === null;
  if (provider === 'anthropic') return (req.top_p ?? null) === null;
  return true;
}

/**
 * The candidate's demos for the call's module as user/assistant turns right after the system text,
 * before the client's conversation (core/demos.ts `withDemoTurns`, the one rendering every surface
 * and the export use).
 */
export function injectDemos(req: ChatCompletionRequest, demos: readonly Demo[], variables?: Readonly<Record<string, string>>): ChatCompletionRequest {
  // A call with no turns of its own (the whole prompt in its system text) has no input for the demos
  // to lead up to: its conversation would end on a demo's answer, which Anthropic continues as a
  // prefill and chat models take as already answered. A conversation that opens with an assistant
  // turn (the app's greeting) gets none either: a demo's answer would stand right before it, two
  // assistant turns in a row, which Anthropic merges into one answer or refuses.
  if (demos.length === 0) return req;
  const own = turnsAfterSystem(req.messages);
  if (own.length === 0 || own[0]!.role === 'assistant') return req;
  return { ...req, messages: withDemoTurns<ChatMessage>(req.messages, demos, (t) => ({ role: t.role, content: t.content }), variables) };
}

export const isSystem = (m: ChatMessage): boolean => m.role === 'system' || m.role === 'developer';

/** The text of the request's first system message (the baseline when the job has none yet). */
export function systemText(messages: readonly ChatMessage[]): string | null {
  const m = messages.find(isSystem);
  if (!m) return null;
  if (typeof m.content === 'string') return m.content;
  if (Array.isArray(m.content)) {
    return m.content.map((p) => (typeof p.text === 'string' ? p.text : '')).join('');
  }
  return null;
}

/**
 * What the proposer may later see of this call: the conversation minus our own instruction, the
 * first system message (the one systemText reads and a candidate replaces). Any later system or
 * developer message is the app's own (retrieved passages sent beside a fixed instruction, a
 * Responses developer item after `instructions`): it stays, or the record, the rollout view and the
 * proposer lost the context the answer was written from.
 */
export function inputForRecord(messages: readonly ChatMessage[]): ChatMessage[] {
  const first = messages.findIndex(isSystem);
  return first < 0 ? [...messages] : [...messages.slice(0, first), ...messages.slice(first + 1)];
}

/**
 * Turns put right after the system text (the leading system/developer messages, as withDemoTurns
 * places demos), before the client's own conversation: the one place where a call gains turns
 * (few-shot demos), whatever surface it came in on. The chat path sends the result as is; the
 * Responses and Messages native paths copy the inserted turns into their `input` / `messages` at
 * the same position (see insertedCount in surfaces/responsesNative.ts).
 */
export function insertAfterSystem(req: ChatCompletionRequest, turns: readonly ChatMessage[]): ChatCompletionRequest {
  if (turns.length === 0) return req;
  const at = systemHead(req.messages); // 0 when there is no system message: the turns open the conversation
  return { ...req, messages: [...req.messages.slice(0, at), ...turns, ...req.messages.slice(at)] };
}

/**
 * The conversation after its leading system text: the inserted turns (if any) followed by the
 * client's own. The same position withDemoTurns uses, so the head of this list is what injection
 * inserted (a later system message stays where the client put it).
 */
export function turnsAfterSystem(messages: readonly ChatMessage[]): ChatMessage[] {
  return messages.slice(systemHead(messages));
}

/**
 * The internal call of a Messages request routed by its first `system` block alone
 * (programRouting.ts): the system text, those blocks joined by a blank line, becomes the first
 * block (`head`) as the first system message, which injection replaces, and the other blocks as a
 * second system message right after it: the app's own context, which stays before the demos and in
 * the record, as a later system message of a chat call does.
 */
export function splitSystemHead(req: ChatCompletionRequest, head: string): ChatCompletionRequest {
  const at = req.messages.findIndex(isSystem);
  const joined = req.messages[at]?.content;
  if (typeof joined !== 'string' || !joined.startsWith(`${head}\n\n`)) return req;
  const rest = joined.slice(head.length + 2);
  return { ...req, messages: [...req.messages.slice(0, at), { role: 'system', content: head }, { role: 'system', content: rest }, ...req.messages.slice(at + 1)] };
}

/**
 * A call split by splitSystemHead as the translation sends a Messages `system`: one system message,
 * its parts joined by a blank line (the first now the candidate's text), so a chat upstream sees the
 * shape it saw before (some local servers' chat templates refuse a second system message).
 */
export function joinSystemHead(req: ChatCompletionRequest): ChatCompletionRequest {
  const at = req.messages.findIndex(isSystem);
  const head = req.messages[at];
  const rest = req.messages[at + 1];
  if (head === undefined || rest === undefined || !isSystem(rest) || typeof rest.content !== 'string') return req;
  const text = typeof head.content === 'string' ? head.content : systemText([head]) ?? '';
  // An empty candidate text (a module whose text is empty) leaves the client's other blocks alone.
  const content = text === '' ? rest.content : `${text}\n\n${rest.content}`;
  return { ...req, messages: [...req.messages.slice(0, at), { ...head, content }, ...req.messages.slice(at + 2)] };
}
