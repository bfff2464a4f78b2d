import { type ContentStep, TranslatedStreamWriter } from './chatChunks.js';
import {
  functionCallItem, messageItem, type OutputItem, type ResponseEcho, responseIds, responseObject, responsesUsage,
} from './responsesRender.js';

/**
 * Chat-completions stream steps -> the Responses event stream, pure and incremental:
 * response.created, response.in_progress, then per output item output_item.added,
 * content_part.added / output_text.delta... / output_text.done / content_part.done (text) or
 * function_call_arguments.delta... / .done (tool calls), output_item.done, and last
 * response.completed (or response.incomplete when the length limit cut the answer) with usage.
 * Every event carries `type` and a `sequence_number` from 0, as OpenAI sends them.
 */
interface OpenItem {
  kind: 'message' | 'function_call';
  outputIndex: number;
  id: string;
  text: string;
  callId: string;
  name: string;
}

export class ResponsesStreamWriter extends TranslatedStreamWriter {
  private seq = 0;
  private started = false;
  private responseId = 'resp_miprox';
  private messageId = 'msg_miprox';
  private model: string;
  private createdAt: number;
  private readonly output: OutputItem[] = [];
  private open: OpenItem | null = null;
  private readonly toolItems = new Map<number, OpenItem>();

  constructor(private readonly echo: ResponseEcho, opts: { model: string; createdAt: number }) {
    super();
    this.model = opts.model;
    this.createdAt = opts.createdAt;
  }

  /** The whole response once the stream completed (what response.completed carried). */
  get finalResponse(): Record<string, unknown> | undefined {
    return this.done ? this.response(this.finish === 'length' ? 'incomplete' : 'completed') : undefined;
  }

  /** The sequence number the next event takes (an error event appended by the proxy uses it). */
  get nextSequence(): number {
    return this.seq;
  }

  protected onContent(step: ContentStep): string {
    switch (step.kind) {
      case 'meta': {
        const ids = responseIds(step.id);
        this.responseId = ids.response;
        this.messageId = ids.message;
        if (step.model !== '') this.model = step.model;
        if (step.created !== undefined) this.createdAt = step.created;
        return this.start();
      }
      case 'text': {
        let out = this.start();
        if (this.open?.kind !== 'message') out += this.closeOpen() + this.openMessage();
        this.open!.text += step.text;
        return out + this.event('response.output_text.delta', { item_id: this.open!.id, output_index: this.open!.outputIndex, content_index: 0, delta: step.text, logprobs: [] });
      }
      case 'tool_start': {
        let out = this.start();
        const existing = this.toolItems.get(step.index);
        if (existing !== undefined) {
          existing.name += step.name; // a name split over deltas (rare) is completed in place
          return out;
        }
        out += this.closeOpen();
        const callId = step.id ?? `call_${step.index}`;
        const item: OpenItem = { kind: 'function_call', outputIndex: this.output.length, id: `fc_${callId.replace(/^call_/, '')}`, text: '', callId, name: step.name };
        this.toolItems.set(step.index, item);
        this.open = item;
        this.output.push({});
        return out + this.event('response.output_item.added', { output_index: item.outputIndex, item: this.functionItem(item, 'in_progress') });
      }
      case 'tool_args': {
        const item = this.toolItems.get(step.index);
        if (item === undefined) return '';
        item.text += step.args;
        return this.event('response.function_call_arguments.delta', { item_id: item.id, output_index: item.outputIndex, delta: step.args });
      }
    }
  }

  private start(): string {
    if (this.started) return '';
    this.started = true;
    const response = this.response('in_progress');
    return this.event('response.created', { response }) + this.event('response.in_progress', { response });
  }

  private openMessage(): string {
    const item: OpenItem = { kind: 'message', outputIndex: this.output.length, id: this.messageId, text: '', callId: '', name: '' };
    // A second text item after a tool call (rare) needs its own id.
    if (this.output.some((o) => o.id === item.id)) item.id = `${item.id}_${item.outputIndex}`;
    this.open = item;
    this.output.push({});
    return this.event('response.output_item.added', { output_index: item.outputIndex, item: { id: item.id, type: 'message', status: 'in_progress', role: 'assistant', content: [] } })
      + this.event('response.content_part.added', { item_id: item.id, output_index: item.outputIndex, content_index: 0, part: { type: 'output_text', text: '', annotations: [], logprobs: [] } });
  }

  private closeOpen(): string {
    const item = this.open;
    if (item === null) return '';
    this.open = null;
    if (item.kind === 'message') {
      const done = messageItem(item.id, item.text);
      this.output[item.outputIndex] = done;
      const part = { type: 'output_text', text: item.text, annotations: [], logprobs: [] };
      return this.event('response.output_text.done', { item_id: item.id, output_index: item.outputIndex, content_index: 0, text: item.text, logprobs: [] })
        + this.event('response.content_part.done', { item_id: item.id, output_index: item.outputIndex, content_index: 0, part })
        + this.event('response.output_item.done', { output_index: item.outputIndex, item: done });
    }
    const done = this.functionItem(item, 'completed');
    this.output[item.outputIndex] = done;
    return this.event('response.function_call_arguments.done', { item_id: item.id, output_index: item.outputIndex, name: item.name, arguments: item.text })
      + this.event('response.output_item.done', { output_index: item.outputIndex, item: done });
  }

  protected complete(): string {
    let out = this.start();
    // Tool calls stream interleaved by index in chat completions; every one still open is closed here.
    for (const item of this.toolItems.values()) {
      if (item !== this.open && this.output[item.outputIndex]?.status !== 'completed') {
        const done = this.functionItem(item, 'completed');
        this.output[item.outputIndex] = done;
        out += this.event('response.function_call_arguments.done', { item_id: item.id, output_index: item.outputIndex, name: item.name, arguments: item.text })
          + this.event('response.output_item.done', { output_index: item.outputIndex, item: done });
      }
    }
    if (this.output.length === 0) out += this.openMessage();
    out += this.closeOpen();
    const cut = this.finish === 'length';
    const response = this.response(cut ? 'incomplete' : 'completed');
    return out + this.event(cut ? 'response.incomplete' : 'response.completed', { response });
  }

  private functionItem(item: OpenItem, status: string): OutputItem {
    return { ...functionCallItem({ id: item.callId, name: item.name, arguments: item.text }, item.outputIndex, status), id: item.id };
  }

  private response(status: 'in_progress' | 'completed' | 'incomplete'): Record<string, unknown> {
    const final = status !== 'in_progress';
    return responseObject({
      id: this.responseId,
      createdAt: this.createdAt,
      model: this.model,
      status,
      output: final ? this.output : [],
      usage: final && this.usage ? responsesUsage({ prompt_tokens: this.usage.prompt, completion_tokens: this.usage.completion, total_tokens: this.usage.total }) : null,
      incomplete: status === 'incomplete' ? 'max_output_tokens' : null,
    }, this.echo);
  }

  private event(type: string, fields: Record<string, unknown>): string {
    const data = JSON.stringify({ type, sequence_number: this.seq++, ...fields });
    return `event: ${type}\ndata: ${data}\n\n`;
  }
}
