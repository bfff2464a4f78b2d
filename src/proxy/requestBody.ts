import { z } from 'zod';
import { zodProblems } from '../schemas/jobRequest.js';
import { type ChatCompletionRequest, ChatCompletionRequestSchema, type ChatMessage, ChatMessageSchema } from '../schemas/openai.js';
import { ROLLOUT_ID_PATTERN, ROLLOUT_ID_RULE } from '../schemas/rolloutId.js';
import { type FieldProblem, MAX_LISTED_PROBLEMS, ValidationError } from '../shared/errors.js';

/** The request's top level with the messages left unread: they are checked one by one below. */
const EnvelopeSchema = ChatCompletionRequestSchema.extend({
  messages: z.array(z.unknown(), { error: 'must be an array of messages' }).min(1, 'must contain at least one message'),
});

/**
 * Validates a chat-completions body with bounded work: messages are checked one at a time and the
 * check stops after MAX_LISTED_PROBLEMS bad ones. One schema pass over `{"messages":[{},{},...]}`
 * (4 MB, 1.4 M bad messages) took seconds of event-loop time and built a 49 MB error; this stops
 * after 20 and says so.
 */
export function parseChatRequest(body: unknown): ChatCompletionRequest {
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
  if (problems.length > 0 || !envelope.success) {
    throw new ValidationError(stopped ? `invalid request (checking stopped after the first ${problems.length} problems)` : 'invalid request', problems);
  }
  return { ...envelope.data, messages };
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
  return param;
}
