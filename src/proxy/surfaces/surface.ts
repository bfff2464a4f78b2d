import type { IncomingHttpHeaders } from 'node:http';
import type { HttpProblem, UpstreamTyping } from '../../api/errorMapping.js';
import type { ToolCallSummary } from '../../providers/completionSummary.js';
import type { NativeSurface } from '../../providers/types.js';
import type { ChatCompletion, ChatCompletionRequest, Usage } from '../../schemas/openai.js';
import type { FieldProblem } from '../../shared/errors.js';

/**
 * One proxied call, whatever API it came in on. Every surface parses its body at the edge into the
 * internal call (a chat-completions request: system text, turns, tools, output format, stream flag);
 * module matching, variables, injection, rollout records, usage and error mapping run once on it
 * (proxyRoute.ts), and the surface renders the answer back in its own protocol. When the provider
 * speaks the surface natively, the surface builds the upstream body from the client's own (so fields
 * miprox does not model still reach the upstream) and relays the upstream's answer.
 */
export type SurfaceName = 'chat' | 'responses' | 'messages';

export interface AnswerSummary {
  text: string;
  usage: Usage | undefined;
  toolCalls: ToolCallSummary[];
}

/** A stream relay: bytes for the client, read as they pass; `summary` once the body has ended. */
export interface SurfaceStream {
  body: AsyncIterable<Uint8Array | string>;
  summary(): AnswerSummary;
  /**
   * Native streams, and chat streams relayed as written: the upstream's own stream reported a failure
   * (Anthropic's `error` event, Responses' `error` or `response.failed`, chat's `data: {"error":...}`),
   * which the client already got as the provider wrote it.
   * The call is recorded as failed, and no error event of miprox's follows it.
   */
  failed?(): boolean;
}

export interface NativeCall {
  readonly surface: NativeSurface;
  /**
   * The upstream body, from the client's own body and what injection decided on the internal call.
   * `firstBlock`: the call was routed by its first system block (SurfaceCall.firstSystemBlock).
   */
  body(injected: ChatCompletionRequest, changed: boolean, firstBlock: boolean): Record<string, unknown>;
  json(raw: string): { out: string; summary: AnswerSummary };
  /** Throws (after relaying what came) when the upstream's stream ends unfinished. */
  stream(body: AsyncIterable<Uint8Array>): SurfaceStream;
  /** The client's protocol headers the upstream must see too (Messages: `anthropic-beta`). */
  forwardHeaders: Record<string, string>;
  /**
   * An upstream 4xx's `param` as the client would read it, after `body` was built (undefined: it
   * names something miprox added). Absent: relayed as the upstream wrote it.
   */
  clientParam?(param: string): string | undefined;
  /**
   * An upstream 4xx's message as the client would read it, after `body` was built: a provider that
   * names the refused field in its text (Anthropic: `messages.7: ...`) counted the items miprox sent.
   * Absent: relayed as the upstream wrote it.
   */
  clientMessage?(message: string): string;
  /**
   * What the upstream would refuse once the job's limits apply (`limited`: the internal call after
   * them), checked before anything is dispatched or recorded. Absent: nothing.
   */
  problems?(limited: ChatCompletionRequest): FieldProblem[];
}

export interface SurfaceCall {
  /** The internal call, before injection. */
  chat: ChatCompletionRequest;
  /**
   * What the client sent that chat completions cannot carry (built-in or server tools, file inputs,
   * other item types), left out of `chat`. Refused (422) when the call is translated; a native call
   * sends the client's own body, so there it is no problem.
   */
  untranslatable: FieldProblem[];
  /**
   * The client's own name for a field of `chat` (`messages.2.tool_calls.0.function.arguments` is
   * Responses' `input.1.arguments`), for problems found on the internal call. Absent: the same name.
   */
  fieldOf?(chatPath: string): string;
  stream: boolean;
  /**
   * Messages with several `system` text blocks: the first one's text (not empty). Routing tries it
   * alone when their joined text, the internal call's system text, matches no module
   * (programRouting.ts). Absent: a system text of one part.
   */
  firstSystemBlock?: string;
  /** A chat completion (translated path) as this surface's JSON body. */
  renderJson(completion: ChatCompletion, raw: string, toolCalls: readonly ToolCallSummary[]): string;
  /** A chat-completions SSE stream (translated path) as this surface's event stream. */
  renderStream(chatSse: AsyncIterable<Uint8Array | string>): AsyncIterable<Uint8Array | string>;
  native: NativeCall | undefined;
  /**
   * The event that tells a streaming client the answer failed, in this surface's protocol; `upstream`:
   * the provider's own type for the error, when it gave one (errorMapping.ts types it for the surface).
   */
  errorEvent(problem: HttpProblem, upstream: UpstreamTyping | undefined): string;
}

export interface Surface {
  readonly name: SurfaceName;
  /** Validates the client's body (4xx naming the field) and builds the internal call. */
  parse(body: unknown, systemId: string, headers: IncomingHttpHeaders): SurfaceCall;
}
