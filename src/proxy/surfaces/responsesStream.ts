import { startsAnotherCall } from '../../providers/completionSummary.js';
import { type ContentStep, TranslatedStreamWriter } from './chatChunks.js';
import { OrderedItems } from './orderedItems.js';
import {
  contentPart, functionCallItem, functionItemId, incompleteReason, messageItem, type MessagePart, type OutputItem, type ResponseEcho, responseIds, responseObject, responsesUsage, wholeArguments,
} from './responsesRender.js';

/**
 * Chat-completions stream steps -> the Responses event stream, pure and incremental:
 * response.created, response.in_progress, then per output item output_item.added,
 * content_part.added / output_text.delta... / output_text.done / content_part.done (text) or
 * function_call_arguments.delta... / .done (tool calls), output_item.done, and last
 * response.completed (or response.incomplete when the length limit or a content filter cut the
 * answer) with usage. Every event carries `type` and a `sequence_number` from 0, as OpenAI sends them.
 * A stream the upstream breaks off ends with `fail` instead: error, then response.failed.
 *
 * Chat completions may interleave tool calls by index (call 0 opens, call 1 opens, then arguments
 * for either) and may send text while a call is open, so a function_call item is closed only when
 * the stream ends: only then are its arguments known to be whole. The items still go out one after
 * another, as OpenAI sends them (orderedItems.ts): in OpenAI's own chat streams, which send one call
 * after another, the second and later calls' events go out at the end. All text goes to one message
 * item, as in the answer a non-streamed call gets: text sent after a call started is added to it.
 */
interface OpenItem {
  kind: 'message' | 'function_call';
  outputIndex: number;
  id: string;
  /** A function call's arguments so far. */
  text: string;
  /** A message's content parts so far (text, or a refusal), in content_index order. */
  parts: MessagePart[];
  callId: string;
  /** The upstream's id of the call, when it sent one (`callId` is then the same). */
  upstreamId: string | undefined;
  name: string;
}

export class ResponsesStreamWriter extends TranslatedStreamWriter {
  private seq = 0;
  private started = false;
  // Until the stream's first chunk names the upstream's id (a stream without one keeps these).
  private responseId: string;
  private messageId: string;
  private nonce: string;
  private model: string;
  private createdAt: number;
  private readonly output: OutputItem[] = [];
  private readonly items = new OrderedItems<OpenItem>();
  /** The message item, once text came (all text goes to it). */
  private message: OpenItem | null = null;
  /** Function-call items by the chat stream's tool index; all stay open until the stream ends. */
  private readonly toolItems = new Map<number, OpenItem>();

  constructor(private readonly echo: ResponseEcho, opts: { model: string; createdAt: number }) {
    super();
    this.model = opts.model;
    this.createdAt = opts.createdAt;
    ({ response: this.responseId, message: this.messageId, nonce: this.nonce } = responseIds(''));
  }

  /** Why the stream failed, once `fail` ended it. */
  private failure: { code: string; message: string } | null = null;

  /** The whole response once the stream completed (what response.completed carried). */
  get finalResponse(): Record<string, unknown> | undefined {
    return this.done && this.failure === null ? this.response(incompleteReason(this.finish) !== null ? 'incomplete' : 'completed') : undefined;
  }

  protected onContent(step: ContentStep): string {
    switch (step.kind) {
      case 'meta': {
        const ids = responseIds(step.id);
        this.responseId = ids.response;
        this.messageId = ids.message;
        this.nonce = ids.nonce;
        if (step.model !== '') this.model = step.model;
        if (step.created !== undefined) this.createdAt = step.created;
        return this.start();
      }
      case 'text':
      case 'refusal': {
        // A refusal (chat's `delta.refusal`) goes to a part of its own, as OpenAI streams one.
        const type = step.kind === 'text' ? 'output_text' : 'refusal';
        let out = this.start();
        if (this.message === null) out += this.openMessage();
        const item = this.message!;
        if (item.parts.at(-1)?.type !== type) out += this.openPart(item, type);
        const index = item.parts.length - 1;
        const part = item.parts[index]!;
        if (part.type === 'refusal') {
          part.refusal += step.text;
          return out + this.emit(item, 'response.refusal.delta', { item_id: item.id, output_index: item.outputIndex, content_index: index, delta: step.text });
        }
        part.text += step.text;
        return out + this.emit(item, 'response.output_text.delta', { item_id: item.id, output_index: item.outputIndex, content_index: index, delta: step.text, logprobs: [] });
      }
      case 'tool_start': {
        let out = this.start();
        const existing = this.toolItems.get(step.index);
        if (existing !== undefined && !startsAnotherCall(existing.upstreamId, step.id)) {
          existing.name += step.name; // a name split over deltas (rare) is completed in place
          return out;
        }
        // A new call, also on an index whose earlier call (still open until the end) had another id.
        const callId = step.id ?? `call_${step.index}`;
        const item = this.newItem('function_call', functionItemId(callId, this.nonce), { callId, upstreamId: step.id, name: step.name });
        this.toolItems.set(step.index, item);
        return out + this.emit(item, 'response.output_item.added', { output_index: item.outputIndex, item: this.functionItem(item, 'in_progress') });
      }
      case 'tool_args': {
        const item = this.toolItems.get(step.index);
        if (item === undefined) return '';
        item.text += step.args;
        return this.emit(item, 'response.function_call_arguments.delta', { item_id: item.id, output_index: item.outputIndex, delta: step.args });
      }
    }
  }

  private start(): string {
    if (this.started) return '';
    this.started = true;
    const response = this.response('in_progress');
    return this.event('response.created', { response }) + this.event('response.in_progress', { response });
  }

  private newItem(kind: OpenItem['kind'], id: string, call: Pick<OpenItem, 'callId' | 'upstreamId' | 'name'> = { callId: '', upstreamId: undefined, name: '' }): OpenItem {
    const item: OpenItem = { kind, outputIndex: this.output.length, id, text: '', parts: [], ...call };
    this.output.push({});
    this.items.add(item);
    return item;
  }

  private openMessage(): string {
    const item = this.newItem('message', this.messageId);
    this.message = item;
    return this.emit(item, 'response.output_item.added', { output_index: item.outputIndex, item: { id: item.id, type: 'message', status: 'in_progress', role: 'assistant', content: [] } });
  }

  private openPart(item: OpenItem, type: MessagePart['type']): string {
    const part: MessagePart = type === 'refusal' ? { type, refusal: '' } : { type, text: '' };
    item.parts.push(part);
    return this.emit(item, 'response.content_part.added', { item_id: item.id, output_index: item.outputIndex, content_index: item.parts.length - 1, part: contentPart(part) });
  }

  /** `status`: `incomplete` for the item a length limit or content filter cut (the last one). */
  private close(item: OpenItem, status: 'completed' | 'incomplete' = 'completed'): string {
    if (item.kind === 'message') {
      this.message = null;
      const done = messageItem(item.id, item.parts, status);
      this.output[item.outputIndex] = done;
      let out = '';
      item.parts.forEach((part, index) => {
        const where = { item_id: item.id, output_index: item.outputIndex, content_index: index };
        out += part.type === 'refusal'
          ? this.emit(item, 'response.refusal.done', { ...where, refusal: part.refusal })
          : this.emit(item, 'response.output_text.done', { ...where, text: part.text, logprobs: [] });
        out += this.emit(item, 'response.content_part.done', { ...where, part: contentPart(part) });
      });
      return out + this.emit(item, 'response.output_item.done', { output_index: item.outputIndex, item: done }, true);
    }
    // No argument text at all (a tool without parameters, from some servers): `{}`, streamed as a delta
    // too, so a client that joins the deltas reads what the done event and the JSON answer say.
    let out = '';
    if (status === 'completed' && item.text === '') {
      item.text = wholeArguments('');
      out = this.emit(item, 'response.function_call_arguments.delta', { item_id: item.id, output_index: item.outputIndex, delta: item.text });
    }
    const done = this.functionItem(item, status);
    this.output[item.outputIndex] = done;
    return out + this.emit(item, 'response.function_call_arguments.done', { item_id: item.id, output_index: item.outputIndex, name: item.name, arguments: item.text })
      + this.emit(item, 'response.output_item.done', { output_index: item.outputIndex, item: done }, true);
  }

  /** One event of `item`, numbered when it goes out (orderedItems.ts); `last`: its output_item.done. */
  private emit(item: OpenItem, type: string, fields: Record<string, unknown>, last = false): string {
    return this.items.emit(item, () => this.event(type, fields), last);
  }

  protected complete(): string {
    let out = this.start();
    if (this.output.length === 0) out += this.openMessage() + this.openPart(this.message!, 'output_text');
    const cut = incompleteReason(this.finish) !== null;
    // Every item still open (the function calls, the last text item), in output order; the last one
    // is what a cut answer was writing.
    const last = this.output.length - 1;
    for (const item of this.items.open()) out += this.close(item, cut && item.outputIndex === last ? 'incomplete' : 'completed');
    const response = this.response(cut ? 'incomplete' : 'completed');
    return out + this.event(cut ? 'response.incomplete' : 'response.completed', { response });
  }

  /**
   * The end of a stream the upstream broke off (proxyRoute.ts sends it instead of a completion). The
   * items still open are closed as `incomplete`, which also sends the events held back behind the
   * first of them: the client gets everything the answer produced, not only the item that was live.
   * Then `error` (docs/API.md) and response.failed, the terminal event a Responses client waits for,
   * with that output and the error. Nothing after a terminal event already sent.
   */
  fail(error: { code: string; message: string; param: string | null }): string {
    if (this.done) return '';
    this.done = true;
    this.failure = { code: error.code, message: error.message };
    let out = this.start();
    for (const item of this.items.open()) out += this.close(item, 'incomplete');
    out += this.event('error', { code: error.code, message: error.message, param: error.param });
    return out + this.event('response.failed', { response: this.response('failed') });
  }

  private functionItem(item: OpenItem, status: string): OutputItem {
    return { ...functionCallItem({ id: item.callId, name: item.name, arguments: item.text }, item.outputIndex, this.nonce, status), id: item.id };
  }

  private response(status: 'in_progress' | 'completed' | 'incomplete' | 'failed'): Record<string, unknown> {
    const final = status !== 'in_progress';
    return responseObject({
      id: this.responseId,
      createdAt: this.createdAt,
      model: this.model,
      status,
      output: final ? this.output : [],
      usage: final && this.usage ? responsesUsage({
        prompt_tokens: this.usage.prompt, completion_tokens: this.usage.completion, total_tokens: this.usage.total,
        prompt_tokens_details: { cached_tokens: this.usage.cached }, completion_tokens_details: { reasoning_tokens: this.usage.reasoning },
      }) : null,
      incomplete: status === 'incomplete' ? incompleteReason(this.finish) : null,
      error: status === 'failed' ? this.failure : null,
    }, this.echo);
  }

  private event(type: string, fields: Record<string, unknown>): string {
    const data = JSON.stringify({ type, sequence_number: this.seq++, ...fields });
    return `event: ${type}\ndata: ${data}\n\n`;
  }
}
