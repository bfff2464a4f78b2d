import { randomBytes } from 'node:crypto';
import type { ChatCompletion, Usage } from '../../schemas/openai.js';
import type { ResponsesRequest } from '../../schemas/responses.js';
import type { ToolCallSummary } from '../../providers/completionSummary.js';
import { usageDetail } from './chatChunks.js';

/**
 * Chat completion -> OpenAI Responses `response` object, pure. The echo of the request is the
 * client's own (its `instructions`, never the candidate's: candidate text never reaches a client).
 */
export interface ResponseEcho {
  instructions: string | null;
  tools: unknown[];
  toolChoice: unknown;
  parallelToolCalls: boolean;
  temperature: number | null;
  topP: number | null;
  maxOutputTokens: number | null;
  text: unknown;
  metadata: unknown;
}

export function echoOf(req: ResponsesRequest): ResponseEcho {
  return {
    instructions: typeof req.instructions === 'string' ? req.instructions : null,
    tools: req.tools ?? [],
    toolChoice: req.tool_choice ?? 'auto',
    parallelToolCalls: req.parallel_tool_calls ?? true,
    temperature: req.temperature ?? null,
    topP: req.top_p ?? null,
    maxOutputTokens: req.max_output_tokens ?? null,
    text: req.text ?? { format: { type: 'text' } },
    metadata: req.metadata ?? {},
  };
}

export type OutputItem = Record<string, unknown>;

/**
 * `resp_`, `msg_` and the `fc_` suffix of one answer: the upstream's id (so the answer's ids agree with
 * each other and with the upstream's logs) plus a nonce of this answer. The items are kept for
 * `item_reference`s, and a server that answers every call with the same id (a constant
 * `chatcmpl-...`) must not make a reference fetch another answer's item.
 */
export interface ResponseIds { response: string; message: string; nonce: string }

export function responseIds(upstreamId: string, nonce = randomBytes(4).toString('hex')): ResponseIds {
  const core = upstreamId.replace(/[^A-Za-z0-9_-]/g, '').replace(/^(chatcmpl|simcmpl|msg|resp)[-_]?/, '') || 'miprox';
  return { response: `resp_${core}_${nonce}`, message: `msg_${core}_${nonce}`, nonce };
}

/** A function call item's id: its call id (kept as `call_id`, which function_call_output names) and the answer's nonce. */
export const functionItemId = (callId: string, nonce: string): string => `fc_${callId.replace(/^call_/, '')}_${nonce}`;

/** A content part of an assistant message: its text, or the model's refusal (chat's `refusal`). */
export type MessagePart = { type: 'output_text'; text: string } | { type: 'refusal'; refusal: string };

export function contentPart(p: MessagePart): Record<string, unknown> {
  return p.type === 'refusal' ? { type: 'refusal', refusal: p.refusal } : { type: 'output_text', text: p.text, annotations: [], logprobs: [] };
}

export function messageItem(id: string, parts: readonly MessagePart[], status = 'completed'): OutputItem {
  return { id, type: 'message', status, role: 'assistant', content: parts.map(contentPart) };
}

export function functionCallItem(call: ToolCallSummary, index: number, nonce: string, status = 'completed'): OutputItem {
  const callId = call.id ?? `call_${index}`;
  const args = status === 'completed' ? wholeArguments(call.arguments) : call.arguments;
  return { id: functionItemId(callId, nonce), type: 'function_call', status, call_id: callId, name: call.name, arguments: args };
}

/**
 * A finished call's arguments as JSON text. Some chat-completions servers send none at all for a tool
 * without parameters; the Responses API always sends JSON (`{}`), and the openai SDK parses a strict
 * tool's arguments, which fails on `""`.
 */
export function wholeArguments(args: string): string {
  return args === '' ? '{}' : args;
}

/** Chat usage as Responses reports it; cached and reasoning tokens come from the chat usage's details (0 without). */
export function responsesUsage(u: Usage | null | undefined): Record<string, unknown> | null {
  if (!u) return null;
  const input = u.prompt_tokens ?? 0;
  const output = u.completion_tokens ?? 0;
  return {
    input_tokens: input,
    input_tokens_details: { cached_tokens: usageDetail(u.prompt_tokens_details, 'cached_tokens') },
    output_tokens: output,
    output_tokens_details: { reasoning_tokens: usageDetail(u.completion_tokens_details, 'reasoning_tokens') },
    total_tokens: u.total_tokens ?? input + output,
  };
}


/** Responses' `incomplete_details.reason` for a chat finish reason; null when the answer is whole. */
export function incompleteReason(finish: string | null | undefined): 'max_output_tokens' | 'content_filter' | null {
  if (finish === 'length') return 'max_output_tokens';
  if (finish === 'content_filter') return 'content_filter';
  return null;
}

export interface ResponseShell {
  id: string;
  createdAt: number;
  model: string;
  status: 'in_progress' | 'completed' | 'incomplete' | 'failed';
  output: OutputItem[];
  usage: Record<string, unknown> | null;
  /** Why an incomplete answer stopped early. */
  incomplete: string | null;
  /** Why a failed answer failed. */
  error?: { code: string; message: string } | null;
}

export function responseObject(s: ResponseShell, echo: ResponseEcho): Record<string, unknown> {
  return {
    id: s.id,
    object: 'response',
    created_at: s.createdAt,
    status: s.status,
    background: false,
    error: s.error ?? null,
    incomplete_details: s.incomplete === null ? null : { reason: s.incomplete },
    instructions: echo.instructions,
    max_output_tokens: echo.maxOutputTokens,
    model: s.model,
    output: s.output,
    parallel_tool_calls: echo.parallelToolCalls,
    previous_response_id: null,
    reasoning: { effort: null, summary: null },
    store: false,
    temperature: echo.temperature,
    text: echo.text,
    tool_choice: echo.toolChoice,
    tools: echo.tools,
    top_p: echo.topP,
    truncation: 'disabled',
    usage: s.usage,
    metadata: echo.metadata,
  };
}

/** A whole chat completion as a Responses `response`. */
export function chatToResponse(c: ChatCompletion, echo: ResponseEcho, toolCalls: readonly ToolCallSummary[]): Record<string, unknown> {
  const ids = responseIds(c.id);
  const choice = c.choices[0];
  const text = choice?.message.content ?? '';
  const refusal = choice?.message.refusal ?? '';
  const output: OutputItem[] = [];
  // A refusal is a part of its own (Responses' `refusal`), not text the client would take as the answer.
  const parts: MessagePart[] = [];
  if (text !== '' || (refusal === '' && toolCalls.length === 0)) parts.push({ type: 'output_text', text });
  if (refusal !== '') parts.push({ type: 'refusal', refusal });
  if (parts.length > 0) output.push(messageItem(ids.message, parts));
  toolCalls.forEach((call, i) => output.push(functionCallItem(call, i, ids.nonce)));
  const incomplete = incompleteReason(choice?.finish_reason);
  // The item a length limit or content filter cut is the last one, as OpenAI marks it.
  if (incomplete !== null && output.length > 0) output[output.length - 1] = { ...output.at(-1), status: 'incomplete' };
  return responseObject({
    id: ids.response,
    createdAt: c.created ?? Math.floor(Date.now() / 1000),
    model: c.model ?? '',
    status: incomplete !== null ? 'incomplete' : 'completed',
    output,
    usage: responsesUsage(c.usage),
    incomplete,
  }, echo);
}
