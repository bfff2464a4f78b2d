import { h, uid } from '../dom.js';
import { fmtDateTime } from '../format.js';
import { leadingSystemCount, messageText } from '../messageText.js';
import type { RolloutCallView } from '../types.js';
import { foldedText } from './foldedText.js';

/**
 * One LLM call of a rollout, as the proxy recorded it: its module (or none), the system text it was
 * served, its own messages and the model's answer, each long text folded to a preview.
 */
export function rolloutCall(c: RolloutCallView, count: number): HTMLLIElement {
  const headingId = uid('call');
  const where = c.module === null ? 'no module' : `module ${c.module}`;
  // In the order the upstream got them: the app's further system messages come before the demo turns.
  const context = c.input_messages === null ? [] : c.input_messages.slice(0, leadingSystemCount(c.input_messages));
  const input = c.input_messages === null ? null : c.input_messages.slice(context.length);
  const text = (value: string, what: string) => (value === '' ? h('p', { class: 'muted' }, '(empty)') : foldedText(value, `${what} of call ${c.seq}`));
  return h('li', { class: 'rollout-call', 'data-seq': c.seq, 'data-module': c.module ?? '' },
    h('article', { 'aria-labelledby': headingId },
      h('h3', { id: headingId, class: 'call-head' },
        `Call ${c.seq} of ${count} · `,
        c.module === null ? h('span', { class: 'tag call-module no-module' }, 'no module') : h('code', { class: 'tag tag-module call-module' }, c.module),
        c.failed ? h('span', { class: 'tag tag-failed' }, 'failed') : null,
        c.truncated ? h('span', { class: 'tag', title: 'miprox stores at most 65,536 characters of each text: this record holds a prefix' }, 'stored text cut') : null),
      h('p', { class: 'muted call-time' }, h('time', { datetime: c.created_at }, fmtDateTime(c.created_at))),
      h('section', { class: 'call-part call-system', 'aria-label': `System prompt of call ${c.seq} (${where})` },
        h('h4', {}, 'System prompt, as served'),
        c.system_prompt === null
          ? h('p', { class: 'muted' }, c.module === null
            // Why it matched no module is the question here: the job keeps the text's start and the
            // declared module it nearly follows in its module.unmatched event, which jobs show lists.
            ? 'Not known: a call of no module is sent with its own system text, unchanged, and miprox does not store it. The start of each such text, with the declared module it nearly follows and where it leaves that template, is in the job\'s module.unmatched events (the job page\'s event log, miprox jobs show).'
            : 'Not known: either the call was sent its own system text (it named its module, with a text the template does not match), which miprox does not store, or the values it was rendered with were cleared after RETENTION_DAYS.')
          : c.system_prompt === ''
            ? h('p', { class: 'muted' }, '(empty: no system message)')
            : foldedText(c.system_prompt, `the system prompt of call ${c.seq}`)),
      variablesOf(c),
      contextOf(c, context, text),
      demoTurnsOf(c, text),
      h('section', { class: 'call-part call-input', 'aria-label': `Input messages of call ${c.seq}` },
        h('h4', {}, 'Input messages'),
        input === null
          ? h('p', { class: 'muted' }, 'Not stored (cleared after RETENTION_DAYS).')
          : input.length === 0
            ? h('p', { class: 'muted' }, 'None besides the system prompt.')
            : messageList(input, 'call-message', 'message', text)),
      h('section', { class: 'call-part call-output', 'aria-label': `Output of call ${c.seq}` },
        h('h4', {}, 'Output'),
        // A tool-calling answer's text is its calls as `name(arguments)` lines: say so, or it reads as prose.
        (c.output_tool_calls ?? 0) > 0
          ? h('p', { class: 'muted call-tool-calls' }, `${c.output_tool_calls} tool call${c.output_tool_calls === 1 ? '' : 's'}, each shown as name(arguments):`)
          : null,
        c.output_text === null
          ? h('p', { class: 'muted' }, c.failed ? 'None: the call failed.' : 'Not stored (the call is still running, or it was cleared after RETENTION_DAYS).')
          : text(c.output_text, 'the output'))));
}

/** The app's own system messages after the system prompt (context beside the instruction; none: nothing shown). */
function contextOf(c: RolloutCallView, context: readonly unknown[], text: (value: string, what: string) => HTMLElement): HTMLElement | null {
  if (context.length === 0) return null;
  return h('section', { class: 'call-part call-context', 'aria-label': `Further system messages of call ${c.seq}` },
    h('h4', {}, 'Further system messages, the app\'s own'),
    messageList(context, 'call-message', 'system message', text));
}

/** The candidate's demos the proxy put between the system prompt and the app's messages (none: nothing shown). */
function demoTurnsOf(c: RolloutCallView, text: (value: string, what: string) => HTMLElement): HTMLElement | null {
  const turns = c.demo_turns ?? [];
  if (turns.length === 0) return null;
  return h('section', { class: 'call-part call-demos', 'aria-label': `Demo turns inserted into call ${c.seq}` },
    h('h4', {}, `Demos inserted by the candidate (${turns.length} turns)`),
    messageList(turns, 'call-message demo-message', 'demo turn', text));
}

/** Recorded chat messages as a numbered list, each its role and its text (folded when long). */
function messageList(messages: readonly unknown[], itemClass: string, what: string, text: (value: string, what: string) => HTMLElement): HTMLElement {
  return h('ol', { class: 'call-messages' }, ...messages.map((m, i) => {
    const { role, text: body } = messageText(m);
    return h('li', { class: itemClass, 'data-role': role }, h('p', { class: 'msg-role' }, role), text(body, `${what} ${i + 1} (${role})`));
  }));
}

/** A templated module's values, captured from the system text or sent in mipro.variables. */
function variablesOf(c: RolloutCallView): HTMLElement | null {
  const entries = Object.entries(c.variables ?? {});
  if (entries.length === 0) return null;
  return h('section', { class: 'call-part call-variables', 'aria-label': `Variables of call ${c.seq}` },
    h('h4', {}, 'Variables'),
    h('dl', { class: 'call-vars' }, ...entries.flatMap(([name, value]) => [
      h('dt', {}, h('code', {}, `{${name}}`)),
      h('dd', {}, value === '' ? h('span', { class: 'muted' }, '(empty)') : foldedText(value, `variable ${name} of call ${c.seq}`)),
    ])));
}
