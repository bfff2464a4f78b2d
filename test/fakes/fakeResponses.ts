import type { FakeBehavior } from './fakeBehavior.js';
import { splitText } from './fakeBehavior.js';

/**
 * The OpenAI Responses API side of the fake OpenAI upstream (`POST {url}/responses`): a `response`
 * object as JSON, or its event stream with the events and fields OpenAI sends (recorded shape:
 * test/fixtures/sse/openai-responses-*.sse), text and function calls from the fake's behaviour.
 */
const CREATED = 1_700_000_000;

function shell(body: Record<string, unknown>, model: string, status: string, output: unknown[], usage: unknown): Record<string, unknown> {
  return {
    id: 'resp_fake', object: 'response', created_at: CREATED, status, background: false, error: null, incomplete_details: null,
    instructions: body.instructions ?? null, max_output_tokens: body.max_output_tokens ?? null, model, output,
    parallel_tool_calls: true, previous_response_id: null, reasoning: { effort: null, summary: null }, store: body.store ?? true,
    temperature: body.temperature ?? 1, text: body.text ?? { format: { type: 'text' } }, tool_choice: body.tool_choice ?? 'auto',
    tools: body.tools ?? [], top_p: 1, truncation: 'disabled', usage, user: null, metadata: {},
  };
}

function usageOf(b: FakeBehavior): Record<string, unknown> {
  const { prompt_tokens: input, completion_tokens: output } = b.usage;
  return { input_tokens: input, input_tokens_details: { cached_tokens: 0 }, output_tokens: output, output_tokens_details: { reasoning_tokens: 0 }, total_tokens: input + output };
}

function items(b: FakeBehavior, text: string): Array<Record<string, unknown>> {
  const out: Array<Record<string, unknown>> = [];
  if (text !== '' || b.toolCalls === undefined) {
    out.push({ id: 'msg_fake', type: 'message', status: 'completed', role: 'assistant', content: [{ type: 'output_text', text, annotations: [], logprobs: [] }] });
  }
  (b.toolCalls ?? []).forEach((c, i) => out.push({ id: `fc_fake_${i}`, type: 'function_call', status: 'completed', call_id: c.id ?? `call_fake_${i}`, name: c.name, arguments: c.arguments }));
  return out;
}

export function responseJson(b: FakeBehavior, body: Record<string, unknown>, text: string, model: string): string {
  return JSON.stringify(shell(body, model, 'completed', items(b, text), usageOf(b)));
}

export function responseEvents(b: FakeBehavior, body: Record<string, unknown>, text: string, model: string): string[] {
  let seq = 0;
  const events: string[] = [];
  const ev = (type: string, fields: Record<string, unknown>): void => {
    events.push(`event: ${type}\ndata: ${JSON.stringify({ type, sequence_number: seq++, ...fields })}\n\n`);
  };
  ev('response.created', { response: shell(body, model, 'in_progress', [], null) });
  ev('response.in_progress', { response: shell(body, model, 'in_progress', [], null) });
  const done = items(b, text);
  done.forEach((item, outputIndex) => {
    if (item.type === 'message') {
      ev('response.output_item.added', { output_index: outputIndex, item: { ...item, status: 'in_progress', content: [] } });
      ev('response.content_part.added', { item_id: item.id, output_index: outputIndex, content_index: 0, part: { type: 'output_text', text: '', annotations: [], logprobs: [] } });
      for (const delta of splitText(text, b.chunks)) ev('response.output_text.delta', { item_id: item.id, output_index: outputIndex, content_index: 0, delta, logprobs: [] });
      ev('response.output_text.done', { item_id: item.id, output_index: outputIndex, content_index: 0, text, logprobs: [] });
      ev('response.content_part.done', { item_id: item.id, output_index: outputIndex, content_index: 0, part: { type: 'output_text', text, annotations: [], logprobs: [] } });
    } else {
      ev('response.output_item.added', { output_index: outputIndex, item: { ...item, status: 'in_progress', arguments: '' } });
      for (const delta of splitText(item.arguments as string, 2)) ev('response.function_call_arguments.delta', { item_id: item.id, output_index: outputIndex, delta });
      ev('response.function_call_arguments.done', { item_id: item.id, output_index: outputIndex, arguments: item.arguments });
    }
    ev('response.output_item.done', { output_index: outputIndex, item });
  });
  ev('response.completed', { response: shell(body, model, 'completed', done, usageOf(b)) });
  const cut = b.errorEventAfterChunks;
  if (cut === undefined) return events;
  const error = { type: 'error', sequence_number: cut, code: 'server_error', message: b.errorEventMessage ?? 'The server had an error while processing your request.', param: null };
  return [...events.slice(0, cut), `event: error\ndata: ${JSON.stringify(error)}\n\n`];
}
