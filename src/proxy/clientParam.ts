import { systemHead } from '../optimizer/core/demos.js';
import type { ChatMessage } from '../schemas/openai.js';
import { isSystem } from './injection.js';

/**
 * An upstream 4xx's `param` as the client would read it. A param naming a list item by index
 * (`messages[3].content`, `messages.[3]`, `messages.3`; `input[4]`) counts the items miprox sent,
 * where it may have added some (the module's text, the candidate's demo turns): the client's own
 * item has another index, and an item miprox added is none of the client's (undefined).
 */

/** Items miprox put into the list the upstream got: `count` of them from index `at` (of that list). */
interface Added {
  at: number;
  count: number;
}

/** `param` with the index of `field` counted as in the client's list; unchanged when it names no item of it. */
function clientIndexParam(param: string, field: 'messages' | 'input', added: readonly Added[]): string | undefined {
  const m = new RegExp(`^${field}(\\.?\\[|\\.)(\\d+)(\\]?)`).exec(param);
  if (m === null) return param;
  const at = Number(m[2]);
  let index = at;
  for (const a of added) {
    if (at >= a.at && at < a.at + a.count) return undefined;
    if (at >= a.at + a.count) index -= a.count;
  }
  return `${field}${m[1]}${index}${m[3]}${param.slice(m[0].length)}`;
}

/** A chat call's `messages[N]`: `sent`, the upstream's messages; `own`, the client's. */
export function clientMessageParam(param: string, sent: readonly ChatMessage[], own: readonly ChatMessage[]): string | undefined {
  if (sent.length === own.length) return param;
  // The module's text is prepended only to a call without a system message of its own (injectCandidate).
  const prepended = !own.some(isSystem) && sent[0] !== undefined && isSystem(sent[0]) ? 1 : 0;
  // The demo turns went after the leading system messages (withDemoTurns).
  const demos = { at: systemHead(sent), count: sent.length - own.length - prepended };
  return clientIndexParam(param, 'messages', [{ at: 0, count: prepended }, demos]);
}

/** Where a native Responses body gained the candidate's demo turns: `count` items at `at` of `input`. */
export interface InputShift extends Added {
  /** The client sent `input` as a string, which became one user item after the turns. */
  wasString: boolean;
}

/**
 * A native Responses call's `input[N]`; the item a string `input` became is `input`. `dropped`: the
 * client's items left out of the body (their indices in the client's `input`, ascending), counted
 * back in after the demo turns are taken out.
 */
export function clientInputParam(param: string, shift: InputShift | null, dropped: readonly number[] = []): string | undefined {
  const shifted = shift === null || shift.count === 0 ? param : clientIndexParam(param, 'input', [shift]);
  if (shifted === undefined) return undefined;
  const mapped = dropped.length === 0 ? shifted : withDroppedItems(shifted, dropped);
  if (shift === null || shift.count === 0 || !shift.wasString || mapped === param) return mapped;
  return 'input'; // an item after the turns: the one item the string became
}

/** `input[N]` of the body that left out `dropped` (client indices, ascending) as the client's index. */
function withDroppedItems(param: string, dropped: readonly number[]): string {
  const m = /^input(\.?\[|\.)(\d+)(\]?)/.exec(param);
  if (m === null) return param;
  let index = Number(m[2]);
  for (const d of dropped) if (d <= index) index++;
  return `input${m[1]}${index}${m[3]}${param.slice(m[0].length)}`;
}

/** A message path in an error's text, as Anthropic writes it (`messages.7`, `messages.7.content.0`), not inside a longer name. */
const MESSAGES_PATH = /(?<![\w.])messages\.\d+(?:\.\w+)*/g;

/**
 * An Anthropic 4xx's message as the client would read it. Anthropic sends no `param`: it names the
 * refused message in the text (`messages.7: \`tool_use\` ids were found without \`tool_result\` blocks
 * immediately after: ...`), counting the messages miprox sent, where a native Messages call got the
 * candidate's `inserted` demo turns first. Each such index becomes the client's own; one naming a
 * demo turn says so instead of naming a message of the client's that is not the one refused.
 */
export function clientMessagesText(message: string, inserted: number): string {
  if (inserted === 0) return message;
  // The same index mapping as a param's: the demo turns are `inserted` items at the head.
  return message.replace(MESSAGES_PATH, (path: string) =>
    clientIndexParam(path, 'messages', [{ at: 0, count: inserted }])
      ?? `one of the demo turns miprox inserted before your messages (${path} of the request it sent)`);
}
