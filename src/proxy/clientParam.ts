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
