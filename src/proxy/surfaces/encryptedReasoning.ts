import type { ResponsesRequest } from '../../schemas/responses.js';
import { isRecord } from './chatChunks.js';

/** The `include` value that makes OpenAI put a reasoning item's content, encrypted, in the answer. */
export const ENCRYPTED_REASONING = 'reasoning.encrypted_content';

/**
 * The `include` a native Responses call goes with. miprox sends every call with `store: false`
 * (it keeps no conversation state, and OpenAI then keeps none either), so a reasoning item of one
 * answer can come back in the next call's `input` only with its `encrypted_content`: an item that
 * has only its id is a 400 ("Item with id 'rs_...' not found. Items are not persisted when `store`
 * is set to false"), which broke every tool loop of a client that left `store` to OpenAI's default
 * (the OpenAI Agents SDK, the Vercel AI SDK's item references). So OpenAI is asked for it, but only
 * on a call that is certainly to a reasoning model: one with a `reasoning` field, or with reasoning
 * items in its input. Other models refuse the value ("Encrypted content is not supported with this
 * model", gpt-4o, gpt-4.1, gpt-5-chat-latest), and a model's name is no safe test.
 * Undefined: the client's `include` stays as sent (or absent).
 */
export function includeForStatelessReasoning(original: ResponsesRequest): unknown[] | undefined {
  const reasoning = (original as { reasoning?: unknown }).reasoning != null
    || (Array.isArray(original.input) && original.input.some((item) => isRecord(item) && item.type === 'reasoning'));
  if (!reasoning) return undefined;
  const include = (original as { include?: unknown }).include;
  const own = Array.isArray(include) ? include : [];
  return own.includes(ENCRYPTED_REASONING) ? undefined : [...own, ENCRYPTED_REASONING];
}

/**
 * The indices of `input`'s reasoning items that carry no `encrypted_content`: under `store: false`
 * OpenAI cannot look them up by id and refuses the call ("Item with id 'rs_...' not found ... or
 * remove this item from your input"). They come from an answer that was not asked for encrypted
 * reasoning (a first call without a `reasoning` field, its items relayed or referenced by id), and
 * are left out of the native body: the model loses that turn's reasoning, the call goes through.
 */
export function unsendableReasoning(input: ResponsesRequest['input']): number[] {
  if (!Array.isArray(input)) return [];
  const dropped: number[] = [];
  input.forEach((item, i) => {
    if (!isRecord(item) || item.type !== 'reasoning') return;
    const encrypted = item.encrypted_content;
    if (typeof encrypted !== 'string' || encrypted === '') dropped.push(i);
  });
  return dropped;
}

/** `original` without the items `unsendableReasoning` names (the same object when there are none). */
export function withoutUnsendableReasoning(original: ResponsesRequest): ResponsesRequest {
  const dropped = unsendableReasoning(original.input);
  if (dropped.length === 0 || !Array.isArray(original.input)) return original;
  return { ...original, input: original.input.filter((_, i) => !dropped.includes(i)) };
}
