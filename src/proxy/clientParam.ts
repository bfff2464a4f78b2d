import { systemHead } from '../optimizer/core/demos.js';
import type { ChatMessage } from '../schemas/openai.js';

const MESSAGE_PARAM = /^messages(\.?\[|\.)(\d+)(\]?)/;

/**
 * An upstream 4xx's `param` as the chat client would read it. A param naming a message by index
 * (`messages[3].content`, `messages.[3]`, `messages.3`) counts the messages miprox sent: with the
 * module's text added before a call that had no system message, or the candidate's demo turns
 * inserted after the system text, the client's own message has another index (undefined: the
 * message is one of miprox's, not the client's). `sent`: the upstream's messages; `own`: the client's.
 */
export function clientMessageParam(param: string, sent: readonly ChatMessage[], own: readonly ChatMessage[]): string | undefined {
  const m = MESSAGE_PARAM.exec(param);
  if (m === null || sent.length === own.length) return param;
  const isSystem = (x: ChatMessage | undefined) => x?.role === 'system' || x?.role === 'developer';
  // The module's text is prepended only to a call without a system message of its own (injectCandidate).
  const added = !own.some(isSystem) && isSystem(sent[0]) ? 1 : 0;
  const demos = sent.length - own.length - added;
  const head = systemHead(sent); // where the demo turns went (withDemoTurns)
  const at = Number(m[2]);
  if (at < added || (at >= head && at < head + demos)) return undefined;
  const index = at - added - (at >= head + demos ? demos : 0);
  return `messages${m[1]}${index}${m[3]}${param.slice(m[0].length)}`;
}

const INPUT_PARAM = /^input(\.?\[|\.)(\d+)(\]?)/;

/** Where a native Responses body gained the candidate's demo turns: `count` items at `at` of `input`. */
export interface InputShift {
  at: number;
  count: number;
  /** The client sent `input` as a string, which became one user item after the turns. */
  wasString: boolean;
}

/**
 * An upstream 4xx's `param` naming an `input` item by index, as the Responses client would read it:
 * the items after the inserted demo turns move back by their count, a param naming one of those
 * turns is undefined (miprox's, not the client's), and the item a string `input` became is `input`.
 */
export function clientInputParam(param: string, shift: InputShift | null): string | undefined {
  const m = INPUT_PARAM.exec(param);
  if (m === null || shift === null || shift.count === 0) return param;
  const at = Number(m[2]);
  if (at >= shift.at && at < shift.at + shift.count) return undefined;
  if (shift.wasString) return 'input';
  const index = at < shift.at ? at : at - shift.count;
  return `input${m[1]}${index}${m[3]}${param.slice(m[0].length)}`;
}
