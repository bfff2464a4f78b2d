import { z } from 'zod';
import { tokenLimit } from '../providers/tokenLimit.js';
import type { ProviderKind } from '../providers/types.js';
import { hasNul, NUL_MESSAGE } from '../schemas/dbText.js';
import type { JobPolicy } from '../schemas/jobConfig.js';
import { zodProblems } from '../schemas/jobRequest.js';
import { type ChatCompletionRequest, ChatCompletionRequestSchema, type ChatMessage, ChatMessageSchema, MAX_MESSAGES } from '../schemas/openai.js';
import { ROLLOUT_ID_PATTERN, ROLLOUT_ID_RULE } from '../schemas/rolloutId.js';
import { type FieldProblem, MAX_LISTED_PROBLEMS, ValidationError } from '../shared/errors.js';
import { requireObjectBody } from './surfaces/translationProblems.js';

export { MAX_MESSAGES };

/** The request's top level with the messages left unread: they are checked one by one below. */
const EnvelopeSchema = ChatCompletionRequestSchema.extend({
  messages: z.array(z.unknown(), { error: 'must be an array of messages' }).min(1, 'must contain at least one message')
    .max(MAX_MESSAGES, `must have at most ${MAX_MESSAGES} messages`),
});

/**
 * Validates a chat-completions body with bounded work: messages are checked one at a time and the
 * check stops after MAX_LISTED_PROBLEMS bad ones. One schema pass over `{"messages":[{},{},...]}`
 * (4 MB, 1.4 M bad messages) took seconds of event-loop time and built a 49 MB error; this stops
 * after 20 and says so.
 */
export function parseChatRequest(body: unknown): ChatCompletionRequest {
  requireObjectBody(body);
  const envelope = EnvelopeSchema.safeParse(body ?? {});
  let problems: FieldProblem[] = envelope.success ? [] : zodProblems(envelope.error, '');
  const raw = envelope.success ? envelope.data.messages : messagesOf(body);
  const messages: ChatMessage[] = [];
  let stopped = false;
  for (let i = 0; i < raw.length; i++) {
    const m = ChatMessageSchema.safeParse(raw[i]);
    if (m.success) {
      messages.push(m.data);
      continue;
    }
    problems = problems.concat(zodProblems(m.error, `messages.${i}`, MAX_LISTED_PROBLEMS - problems.length));
    if (problems.length >= MAX_LISTED_PROBLEMS) {
      stopped = i < raw.length - 1;
      break;
    }
  }
  // The system message may become the stored baseline instruction (text: see dbText.ts).
  const system = messages.findIndex((m) => m.role === 'system' || m.role === 'developer');
  if (system >= 0 && messageHasNul(messages[system]!)) problems.push({ path: `messages.${system}.content`, message: NUL_MESSAGE });
  if (problems.length > 0 || !envelope.success) {
    throw new ValidationError(stopped ? `invalid request (checking stopped after the first ${problems.length} problems)` : 'invalid request', problems);
  }
  return { ...envelope.data, messages };
}

function messageHasNul(m: ChatMessage): boolean {
  if (typeof m.content === 'string') return hasNul(m.content);
  return Array.isArray(m.content) && m.content.some((p) => typeof p.text === 'string' && hasNul(p.text));
}

function messagesOf(body: unknown): unknown[] {
  const m = typeof body === 'object' && body !== null ? (body as { messages?: unknown }).messages : undefined;
  return Array.isArray(m) ? m : [];
}

/**
 * The rollout id from the proxy path (null when absent; `v1` is the optional API-version segment),
 * checked before anything else: it ends up in a response header and in the database.
 */
export function rolloutIdOf(param: string | undefined): string | null {
  if (param === undefined || param === 'v1') return null;
  if (!ROLLOUT_ID_PATTERN.test(param)) {
    throw new ValidationError('invalid rollout id in the path', [{ path: 'rollout_id', message: ROLLOUT_ID_RULE }]);
  }
  return ownCopy(param);
}

/** The request header that carries a call's rollout id when the path has none (the response header's name). */
export const ROLLOUT_ID_HEADER = 'x-mipro-rollout-id';

/**
 * The call's rollout id: the proxy path's, else the `x-mipro-rollout-id` request header's. Client
 * libraries keep one base URL for their client's life but take headers per call (the AI SDK's
 * `headers`, LangChain's `options.headers`, the openai SDK's request options), so a program built
 * once can name each run's rollout there; the header was ignored, and every call became a rollout
 * of its own, served its own candidate. Both given and different is a 422: which one the app meant
 * cannot be told.
 */
export function callRolloutIdOf(param: string | undefined, header: string | string[] | undefined): string | null {
  const fromPath = rolloutIdOf(param);
  if (header === undefined || header === '') return fromPath;
  if (typeof header !== 'string' || !ROLLOUT_ID_PATTERN.test(header)) {
    throw new ValidationError(`invalid ${ROLLOUT_ID_HEADER} header`, [{ path: ROLLOUT_ID_HEADER, message: ROLLOUT_ID_RULE }]);
  }
  if (fromPath !== null && fromPath !== header) {
    throw new ValidationError('two rollout ids', [{ path: ROLLOUT_ID_HEADER, message: `differs from the rollout id in the path (${fromPath}); send one of them` }]);
  }
  return fromPath ?? ownCopy(header);
}

/**
 * The router hands out path parameters as slices of the request URL, and V8 keeps the whole URL
 * alive for as long as a slice lives: the job cache remembers rollout ids for hours, so each cost
 * its URL (269 bytes per cached rollout instead of 182, `npm run bench:memory`'s server part). The id is ASCII
 * (ROLLOUT_ID_PATTERN), so a latin1 round trip is an exact, independent copy.
 */
function ownCopy(id: string): string {
  return Buffer.from(id, 'latin1').toString('latin1');
}

/**
 * What one call may spend is the job owner's decision, not the caller's: anyone with the proxy URL
 * can call it with the server's provider key (issue 14, item 10). A completion-length limit above the
 * policy's `max_completion_tokens` is clamped to it (clients often send a generous default, which
 * should not fail); `n` other than 1 is refused by the request schema (schemas/openai.ts).
 */
export function limitSpend(req: ChatCompletionRequest, policy: JobPolicy): ChatCompletionRequest {
  const cap = policy.max_completion_tokens;
  if (!over(req.max_tokens, cap) && !over(req.max_completion_tokens, cap)) return req;
  return {
    ...req,
    ...(over(req.max_tokens, cap) ? { max_tokens: cap } : {}),
    ...(over(req.max_completion_tokens, cap) ? { max_completion_tokens: cap } : {}),
  };
}

/** A module-level function, not a closure per call (limitSpend runs on every proxied call). */
function over(v: number | null | undefined, cap: number): boolean {
  return typeof v === 'number' && v > cap;
}

/**
 * A translated call's completion-length limit under the name its provider reads (tokenLimit.ts).
 * The client named the limit in its own API (Messages `max_tokens`, Responses `max_output_tokens`),
 * so the chat field is miprox's choice: OpenAI's reasoning models refuse `max_tokens`, local
 * OpenAI-compatible servers know it best. Chat-completions calls keep the client's own field.
 */
export function translatedTokenLimit(req: ChatCompletionRequest, provider: ProviderKind): ChatCompletionRequest {
  const limit = req.max_completion_tokens ?? req.max_tokens;
  if (limit === null || limit === undefined) return req;
  const { max_tokens: _tokens, max_completion_tokens: _completionTokens, ...rest } = req;
  return { ...rest, ...tokenLimit(provider, limit) };
}

/**
 * Where the system text of a Responses or Messages call holds a NUL, or null. That text may become a
 * discovered module's stored template, which PostgreSQL text cannot hold: refused on every surface,
 * as chat completions refuses it on `messages.N.content` (the Messages `system`; the Responses
 * `instructions`, else its first system or developer input item).
 */
export function systemNulPath(surface: 'responses' | 'messages', raw: unknown, chat: ChatCompletionRequest): string | null {
  const system = chat.messages.find((m) => m.role === 'system' || m.role === 'developer');
  if (!system || !messageHasNul(system)) return null;
  if (surface === 'messages') return 'system';
  const body = raw as { instructions?: unknown; input?: unknown };
  if (typeof body.instructions === 'string' && body.instructions !== '') return 'instructions'; // "" is none (responsesRequest.ts hasInstructions)
  const index = Array.isArray(body.input)
    ? body.input.findIndex((item) => typeof item === 'object' && item !== null && ['system', 'developer'].includes((item as { role?: unknown }).role as string))
    : -1;
  return index >= 0 ? `input.${index}.content` : 'input';
}
