import { startsAnotherCall } from '../../providers/completionSummary.js';
import { type ContentStep, TranslatedStreamWriter } from './chatChunks.js';
import { messageId, messagesStop, messagesUsage } from './messagesRender.js';
import { OrderedItems } from './orderedItems.js';

/**
 * Chat-completions stream steps -> Anthropic's Messages event stream, pure and incremental:
 * message_start, then per content block content_block_start / content_block_delta (text_delta or
 * input_json_delta) / content_block_stop, then message_delta (stop reason, usage) and message_stop.
 * Usage arrives last in a chat stream, so message_start carries zeros and message_delta the counts.
 *
 * A chat stream may interleave tool calls by index or send text while a call is open, so a tool_use
 * block is stopped only when the stream ends (its input is then whole); the blocks still go out one
 * after another, as Anthropic sends them (orderedItems.ts). All text goes to one text block, as in the
 * answer a non-streamed call gets: text sent after a call started is added to it.
 * A stream the upstream breaks off ends with `fail` instead: the blocks so far, then `error`.
 */
interface Block { index: number }

export class MessagesStreamWriter extends TranslatedStreamWriter {
  private started = false;
  private id = 'msg_miprox';
  private model: string;
  private readonly blocks = new OrderedItems<Block>();
  private blockCount = 0;
  /** The upstream refused (chat's `delta.refusal`): the refusal went out as text. */
  private refused = false;
  /** The text block, once text came (all text goes to it). */
  private text: Block | null = null;
  /** tool_use blocks (and the upstream's call id) by the chat stream's tool index; all stay open until the stream ends. */
  private readonly toolBlocks = new Map<number, { block: Block; id: string | undefined }>();
  /**
   * tool_use blocks not started yet, with their call id and name: content_block_start waits for the
   * call's first argument delta (or the block's end), because a name may come split over several
   * deltas and content_block_start is the only event that carries it.
   */
  private readonly unstarted = new Map<Block, { id: string; name: string }>();

  /** The client's `stop_sequences`: a stop on one of them is stop_reason `stop_sequence` (messagesStop). */
  private readonly stopSequences: readonly string[];

  constructor(opts: { model: string; stopSequences?: readonly string[] }) {
    super();
    this.model = opts.model;
    this.stopSequences = opts.stopSequences ?? [];
  }

  protected onContent(step: ContentStep): string {
    switch (step.kind) {
      case 'meta':
        this.id = messageId(step.id);
        if (step.model !== '') this.model = step.model;
        return this.start();
      case 'refusal':
        // Anthropic says a refusal as text, with stop_reason "refusal".
        this.refused = true;
        return this.onContent({ kind: 'text', text: step.text });
      case 'text': {
        let out = this.start();
        if (this.text === null) {
          this.text = this.newBlock();
          out += this.begin(this.text, { type: 'text', text: '' });
        }
        const block = this.text;
        return out + this.blocks.emit(block, () => event('content_block_delta', { index: block.index, delta: { type: 'text_delta', text: step.text } }));
      }
      case 'tool_start': {
        const open = this.toolBlocks.get(step.index);
        if (open !== undefined && !startsAnotherCall(open.id, step.id)) {
          // The same call again: the rest of a name split over deltas, while its block is not started.
          const start = this.unstarted.get(open.block);
          if (start !== undefined) start.name += step.name;
          return '';
        }
        // A new call, also on an index whose earlier call (still open until the end) had another id.
        const block = this.newBlock();
        this.toolBlocks.set(step.index, { block, id: step.id });
        this.unstarted.set(block, { id: step.id ?? `toolu_${step.index}`, name: step.name });
        return this.start();
      }
      case 'tool_args': {
        const block = this.toolBlocks.get(step.index)?.block;
        if (block === undefined) return '';
        return this.beginTool(block) + this.blocks.emit(block, () => event('content_block_delta', { index: block.index, delta: { type: 'input_json_delta', partial_json: step.args } }));
      }
    }
  }

  private start(): string {
    if (this.started) return '';
    this.started = true;
    const message = { id: this.id, type: 'message', role: 'assistant', model: this.model, content: [], stop_reason: null, stop_sequence: null, usage: messagesUsage(null) };
    return event('message_start', { message });
  }

  private newBlock(): Block {
    const block: Block = { index: this.blockCount++ };
    this.blocks.add(block);
    return block;
  }

  /** A tool_use block's content_block_start, once, with the name as complete as it came. */
  private beginTool(block: Block): string {
    const start = this.unstarted.get(block);
    if (start === undefined) return '';
    this.unstarted.delete(block);
    return this.begin(block, { type: 'tool_use', id: start.id, name: start.name, input: {} });
  }

  private begin(block: Block, content: Record<string, unknown>): string {
    return this.blocks.emit(block, () => event('content_block_start', { index: block.index, content_block: content }));
  }

  private stop(block: Block): string {
    if (block === this.text) this.text = null;
    // A call that sent no arguments starts here, at the end of the stream.
    return this.beginTool(block) + this.blocks.emit(block, () => event('content_block_stop', { index: block.index }), true);
  }

  /**
   * The end of a stream the upstream broke off (proxyRoute.ts sends it instead of a completion): the
   * blocks still open are stopped, which also sends the blocks held back behind the first of them, so
   * the client gets everything the answer produced; then `errorEvent` (Anthropic's `error`), never
   * message_delta or message_stop. Nothing after a message_stop already sent.
   */
  fail(errorEvent: string): string {
    if (this.done) return '';
    this.done = true;
    let out = '';
    for (const block of this.blocks.open()) out += this.stop(block);
    return out + errorEvent;
  }

  protected complete(): string {
    let out = this.start();
    if (this.blockCount === 0) out += this.begin(this.newBlock(), { type: 'text', text: '' });
    for (const block of this.blocks.open()) out += this.stop(block);
    const usage = messagesUsage(this.usage ? { prompt_tokens: this.usage.prompt, completion_tokens: this.usage.completion, prompt_tokens_details: { cached_tokens: this.usage.cached } } : null);
    out += event('message_delta', { delta: messagesStop(this.finish, this.matchedStop, this.stopSequences, this.refused), usage });
    return out + event('message_stop', {});
  }
}

function event(type: string, fields: Record<string, unknown>): string {
  return `event: ${type}\ndata: ${JSON.stringify({ type, ...fields })}\n\n`;
}
