import { type ContentStep, TranslatedStreamWriter } from './chatChunks.js';
import { messageId, stopReasonFor } from './messagesRender.js';

/**
 * Chat-completions stream steps -> Anthropic's Messages event stream, pure and incremental:
 * message_start, then per content block content_block_start / content_block_delta (text_delta or
 * input_json_delta) / content_block_stop, then message_delta (stop reason, usage) and message_stop.
 * Usage arrives last in a chat stream, so message_start carries zeros and message_delta the counts.
 */
export class MessagesStreamWriter extends TranslatedStreamWriter {
  private started = false;
  private id = 'msg_miprox';
  private model: string;
  private blockIndex = -1;
  private openKind: 'text' | 'tool' | null = null;
  private readonly toolBlocks = new Map<number, number>();

  constructor(opts: { model: string }) {
    super();
    this.model = opts.model;
  }

  protected onContent(step: ContentStep): string {
    switch (step.kind) {
      case 'meta':
        this.id = messageId(step.id);
        if (step.model !== '') this.model = step.model;
        return this.start();
      case 'text': {
        let out = this.start();
        if (this.openKind !== 'text') out += this.closeOpen() + this.openBlock('text', { type: 'text', text: '' });
        return out + event('content_block_delta', { index: this.blockIndex, delta: { type: 'text_delta', text: step.text } });
      }
      case 'tool_start': {
        if (this.toolBlocks.has(step.index)) return '';
        let out = this.start() + this.closeOpen();
        out += this.openBlock('tool', { type: 'tool_use', id: step.id ?? `toolu_${step.index}`, name: step.name, input: {} });
        this.toolBlocks.set(step.index, this.blockIndex);
        return out;
      }
      case 'tool_args': {
        const index = this.toolBlocks.get(step.index);
        if (index === undefined) return '';
        return event('content_block_delta', { index, delta: { type: 'input_json_delta', partial_json: step.args } });
      }
    }
  }

  private start(): string {
    if (this.started) return '';
    this.started = true;
    const message = { id: this.id, type: 'message', role: 'assistant', model: this.model, content: [], stop_reason: null, stop_sequence: null, usage: { input_tokens: 0, output_tokens: 0 } };
    return event('message_start', { message });
  }

  private openBlock(kind: 'text' | 'tool', block: Record<string, unknown>): string {
    this.blockIndex++;
    this.openKind = kind;
    return event('content_block_start', { index: this.blockIndex, content_block: block });
  }

  private closeOpen(): string {
    if (this.openKind === null) return '';
    this.openKind = null;
    return event('content_block_stop', { index: this.blockIndex });
  }

  protected complete(): string {
    let out = this.start();
    if (this.blockIndex < 0) out += this.openBlock('text', { type: 'text', text: '' });
    out += this.closeOpen();
    out += event('message_delta', { delta: { stop_reason: stopReasonFor(this.finish), stop_sequence: null }, usage: { input_tokens: this.usage?.prompt ?? 0, output_tokens: this.usage?.completion ?? 0 } });
    return out + event('message_stop', {});
  }
}

function event(type: string, fields: Record<string, unknown>): string {
  return `event: ${type}\ndata: ${JSON.stringify({ type, ...fields })}\n\n`;
}
