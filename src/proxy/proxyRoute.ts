import { performance } from 'node:perf_hooks';
import { Readable } from 'node:stream';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { ApiDeps } from '../api/deps.js';
import { toHttpProblem } from '../api/errorMapping.js';
import type { Metrics } from '../api/metrics.js';
import { extractCompletionSummary } from '../providers/completionSummary.js';
import { MAX_PROXY_HOPS, proxyHopsOf, proxyLoopError } from '../providers/proxyHops.js';
import type { ProviderRegistry } from '../providers/registry.js';
import type { ChatProvider, NativeApi } from '../providers/types.js';
import { ClientGone } from '../providers/cancelSignal.js';
import { MAX_SEED } from '../schemas/jobConfig.js';
import { integerTextMessage, readIntegerText } from '../schemas/integerText.js';
import type { ChatCompletionRequest } from '../schemas/openai.js';
import type { BackgroundTasks } from '../shared/backgroundTasks.js';
import { retryWhileDatabaseDown } from '../shared/outageRetry.js';
import { type AppError, JobGoneError, NotFoundError, UpstreamError, ValidationError } from '../shared/errors.js';
import type { Dispatch } from '../optimizer/runner/dispatcher.js';
import type { OnlineEngine } from '../optimizer/runner/engine.js';
import type { JobRuntime } from '../optimizer/runner/jobRuntime.js';
import type { RolloutCall } from '../store/types.js';
import { forcePolicy, injectCandidate, injectDemos, inputForRecord, joinSystemHead, splitSystemHead } from './injection.js';
import { clientMessageParam } from './clientParam.js';
import { tapChatStream } from './chatStreamTap.js';
import type { LiveStreams } from './liveStreams.js';
import { candidateText, routeToModule, type ProgramRoute } from './programRouting.js';
import { capStoredMessages, capStoredVariables, storedAnswerText } from './recordLimits.js';
import { callRolloutIdOf, limitSpend, ROLLOUT_ID_HEADER, systemNulPath, translatedTokenLimit } from './requestBody.js';
import { NUL_MESSAGE } from '../schemas/dbText.js';
import { registerModelsRoutes } from './modelsRoute.js';
import { correlationOf } from './correlationParam.js';
import { chatSurface } from './surfaces/chatSurface.js';
import { messagesSurface } from './surfaces/messagesSurface.js';
import { ResponseItemCache } from './surfaces/responseItems.js';
import { createResponsesSurface } from './surfaces/responsesSurface.js';
import type { AnswerSummary, Surface, SurfaceCall, SurfaceStream } from './surfaces/surface.js';

export interface ProxyDeps {
  engine: OnlineEngine;
  providers: ProviderRegistry;
  metrics: Metrics;
  background: BackgroundTasks;
  /** Streams in flight, ended with an error event when a shutdown runs out of grace. */
  streams: LiveStreams;
  /** Fires when a shutdown runs out of grace: call records still waiting for the database give up. */
  stopping?: AbortSignal;
}

/** How long a call record waits for a database that went away (the answer itself was already sent). */
const CALL_RECORD_RETRY_MS = 60_000;

interface ProxyParams { systemId: string; rolloutId?: string }

/** Every surface under the proxy URL, with and without a rollout id and the optional `v1` segment. */
function routesFor(path: string): string[] {
  return [
    `/api/mipro/v1/:systemId/${path}`,
    `/api/mipro/v1/:systemId/v1/${path}`,
    `/api/mipro/v1/:systemId/:rolloutId/${path}`,
    `/api/mipro/v1/:systemId/:rolloutId/v1/${path}`,
  ];
}


type ProxyRequest = FastifyRequest<{ Params: ProxyParams; Querystring: Record<string, string | undefined> }>;

/**
 * The proxy URL: chat completions, Responses and Messages in and out (surfaces/). Per call: find
 * the job, parse the surface's body into the internal call, pick the rollout's candidate, inject
 * its instruction, call the policy model (natively when it speaks the surface), render the answer
 * in the surface's protocol. The rollout record is written in parallel with the upstream call; the
 * output record after the answer is sent.
 */
export function proxyRoutes(p: ProxyDeps) {
  const surfaces: ReadonlyArray<readonly [string, Surface]> = [
    ['chat/completions', chatSurface],
    ['responses', createResponsesSurface(new ResponseItemCache())],
    ['messages', messagesSurface],
  ];
  return (app: FastifyInstance, deps: ApiDeps): void => {
    for (const [path, surface] of surfaces) {
      const handler = (req: ProxyRequest, reply: FastifyReply) => handle(req, reply, deps, p, surface).catch((err: unknown) => {
        // The job was deleted on another instance while this one still held it: forget it now.
        if (err instanceof JobGoneError) p.engine.systemDeleted(req.params.systemId);
        throw err;
      });
      for (const url of routesFor(path)) app.post(url, handler);
    }
    registerModelsRoutes(app, deps, p.engine, routesFor('models'));
  };
}

async function handle(req: ProxyRequest, reply: FastifyReply, deps: ApiDeps, p: ProxyDeps, surface: Surface): Promise<FastifyReply> {
  const gone = clientGoneOf(reply);
  const rolloutId = callRolloutIdOf(req.params.rolloutId, req.headers[ROLLOUT_ID_HEADER]);
  // The key (when required) before the lookup: without one, unknown and existing systems answer alike.
  const principal = deps.config.proxyRequireKey ? await deps.authenticate(req) : null;
  // The job as this instance holds it when fresh (no promise), else the lookup (which may refresh it).
  // Another tenant's job goes to the lookup too, which refuses it after the read an unknown id costs.
  const fresh = p.engine.freshRuntimeForSystem(req.params.systemId);
  const rt = fresh && (!principal || principal.tenantId === fresh.job.tenantId)
    ? fresh
    : await p.engine.runtimeForSystem(req.params.systemId, principal?.tenantId);
  if (!rt) throw new NotFoundError(`unknown system ${req.params.systemId}`);
  // A chain of jobs whose inference_url is another proxy URL ends here (proxyHops.ts), before anything is recorded.
  const hops = proxyHopsOf(req.headers.via);
  if (hops >= MAX_PROXY_HOPS) throw proxyLoopError(hops);
  // Only after the credential checks: a stranger's body costs no validation work.
  const surfaceCall = surface.parse(req.body, rt.job.systemId, req.headers);
  const nulPath = surface.name === 'chat' ? null : systemNulPath(surface.name, req.body, surfaceCall.chat);
  if (nulPath !== null) throw new ValidationError('invalid request', [{ path: nulPath, message: NUL_MESSAGE }]);
  const policy = rt.job.config.policy;
  const provider = providerOf(p, policy);
  const native = nativeApiFor(provider, surfaceCall) !== undefined;
  if (surfaceCall.untranslatable.length > 0 && !native) {
    // Checked before anything is dispatched or recorded, as any other bad request.
    throw new ValidationError('invalid request', surfaceCall.untranslatable);
  }
  // A surface with a native form (Responses, Messages) was translated into `chat` by miprox.
  const body = limitSpend(surfaceCall.native ? translatedTokenLimit(surfaceCall.chat, policy.provider) : surfaceCall.chat, policy);
  // What only a native upstream would refuse (a translated call leaves those fields out), checked before anything is recorded.
  // Read with the policy's defaults filled, as the call will go: a Messages call without max_tokens
  // goes with the job's limit, which an enabled thinking budget must stay below.
  const nativeProblems = surfaceCall.native?.problems?.(forcePolicy(body, policy)) ?? [];
  if (nativeProblems.length > 0 && native) throw new ValidationError('invalid request', nativeProblems);
  // What the provider's own translation would refuse (chat to Anthropic Messages), refused before anything is recorded.
  const translation = native ? [] : (provider.requestProblems?.({ ...body, model: policy.model }) ?? []);
  // Named as the client sent them: a Responses client has no `messages.N`.
  const fieldOf = surfaceCall.fieldOf;
  if (translation.length > 0) throw new ValidationError('invalid request', fieldOf ? translation.map((pr) => ({ ...pr, path: fieldOf(pr.path) })) : translation);
  const inputMessages = capStoredMessages(inputForRecord(body.messages));
  const dispatchReq = {
    rolloutId,
    seed: seedOf(req),
    correlationId: correlationOf(req),
    inputMessages,
  };
  // A call refused for its seed is refused before routing, which may discover a module or report an unmatched text.
  const refusal = p.engine.refuseHeldOut(rt, dispatchReq);
  if (refusal) await refusal;
  const firstBlock = surfaceCall.firstSystemBlock ?? null;
  const routed = routeToModule(p, rt, req, body, firstBlock);
  const program = routed instanceof Promise ? await routed : routed;
  // A program's call without a rollout id becomes a rollout of its own: said once (perCallRollouts.ts).
  if (rolloutId === null && program.module !== null) void p.engine.perCallRollouts.note(rt, program.module.name);
  // Routed by its first system block alone: the internal call is split there, so injection replaces
  // that block only and the record keeps the other blocks as the app's own system message.
  const split = program.module !== null && program.firstBlock && firstBlock !== null;
  const routedBody = split ? splitSystemHead(body, firstBlock) : body;
  const routedReq = split ? { ...dispatchReq, inputMessages: capStoredMessages(inputForRecord(routedBody.messages)) } : dispatchReq;
  const ctx: CallContext = { reply, p, rt, surfaceCall, body: routedBody, program, inputMessages: routedReq.inputMessages, gone, hops };
  // A JSON answer is held until the rollout's claim is known, so its upstream call may run beside
  // the claim; a stream is relayed as it comes, so it waits for the claim.
  const served = await relayDispatched(ctx, await p.engine.dispatch(rt, { ...routedReq, speculate: !surfaceCall.stream }));
  if (served) return reply;
  // The speculation was wrong (the id is stored with another candidate): its answer was dropped,
  // and the call now gets the stored candidate, which this instance remembers since the claim.
  if (!(await relayDispatched(ctx, await p.engine.dispatch(rt, routedReq)))) {
    throw new Error(`rollout ${dispatchReq.rolloutId ?? ''}: a dispatch without speculation was not confirmed`);
  }
  return reply;
}

/**
 * Aborted when the client goes away before the answer was written: the upstream call is cancelled (or
 * never made). The response's 'close' says so (not the request's, which fires once the body is read).
 * Listened to from the handler's first step, and a client already gone counts: one that left while the
 * job was looked up (a slow database) used to miss the event, and its upstream call ran to the end.
 */
function clientGoneOf(reply: FastifyReply): ClientGone {
  const gone = new ClientGone();
  if (reply.raw.destroyed) gone.abort();
  else {
    reply.raw.once('close', () => {
      if (!reply.raw.writableFinished) gone.abort();
    });
  }
  return gone;
}

function providerOf(p: ProxyDeps, policy: JobRuntime['job']['config']['policy']): ChatProvider {
  return p.providers.get({ provider: policy.provider, model: policy.model, inferenceUrl: policy.inference_url });
}

/** The provider's own API for the call's surface, when it speaks it: then the client's body goes upstream untranslated. */
function nativeApiFor(provider: ChatProvider, surfaceCall: SurfaceCall): NativeApi | undefined {
  return surfaceCall.native !== undefined && provider.native?.surface === surfaceCall.native.surface ? provider.native : undefined;
}

/** What a proxied call's upstream request is made from, whichever candidate serves it. */
interface CallContext {
  reply: FastifyReply;
  p: ProxyDeps;
  rt: JobRuntime;
  surfaceCall: SurfaceCall;
  body: ChatCompletionRequest;
  program: ProgramRoute;
  inputMessages: RolloutCall['inputMessages'];
  gone: ClientGone;
  /** The miprox proxies the call passed before this one (proxyHops.ts). */
  hops: number;
}

/**
 * Serves the call with the dispatch's candidate: false (nothing sent) when a speculative dispatch's
 * candidate was wrong. Booleans, not the reply: a FastifyReply is a thenable, which settles to
 * undefined once the answer is written, so it cannot travel through an await.
 */
async function relayDispatched(ctx: CallContext, dispatch: Dispatch): Promise<boolean> {
  const { reply, p, rt, surfaceCall, body, program, inputMessages } = ctx;
  const policy = rt.job.config.policy;
  const text = program.module ? candidateText(dispatch.candidate.instructions, program.module, program, body) : null;
  const demos = program.module ? (dispatch.candidate.demos[program.module.name] ?? []) : [];
  // The call's values: a templated module's demo is its own input only under the same values.
  const upstreamReq = injectDemos(text === null ? forcePolicy(body, policy) : injectCandidate(body, text, policy), demos, program.module ? program.variables : undefined);
  const provider = providerOf(p, policy);
  reply.header('x-mipro-candidate-id', dispatch.candidate.id).header(ROLLOUT_ID_HEADER, dispatch.rolloutId);
  // Which module the call was optimized as; a call of none passed through unchanged, which an app
  // with a typo in a system text would otherwise only learn from the job's events.
  if (program.module) reply.header('x-mipro-module', program.module.name);
  else reply.header('x-mipro-unmatched', 'true');
  const native = nativeApiFor(provider, surfaceCall);
  const firstBlock = program.module !== null && program.firstBlock;
  const call: UpstreamCall = {
    provider, surfaceCall, native, signal: ctx.gone, hops: ctx.hops, rt, rolloutId: dispatch.rolloutId, persisted: dispatch.persisted, confirmed: dispatch.confirmed,
    // Translated, a call split at its first system block goes as the translation sends any: one
    // system message, the blocks joined by a blank line (the first now the candidate's text).
    upstreamReq: firstBlock && native === undefined ? joinSystemHead(upstreamReq) : upstreamReq,
    // Injection changed the conversation (a new messages array): the native body must carry it.
    changed: upstreamReq.messages !== body.messages, firstBlock,
    // Every call record keeps its own input; the rollout keeps the first one it sees.
    record: {
      inputMessages, module: program.module?.name ?? null, variables: program.module ? capStoredVariables(program.variables) : null,
      // The app's text went as sent, and it is not the template's: the rollout view cannot rebuild it.
      ...(text === null && program.module !== null && program.textUnmatched ? { ownSystemText: true } : {}),
    },
  };
  if (!surfaceCall.stream) return relayJson(reply, p, call);
  await relayStream(reply, p, call);
  return true;
}

interface UpstreamCall {
  provider: ChatProvider;
  surfaceCall: SurfaceCall;
  /** The provider's own API for this surface, when it has one: then no translation. */
  native: NativeApi | undefined;
  upstreamReq: ChatCompletionRequest;
  changed: boolean;
  /** Routed by its first system block (Messages): natively the candidate's text replaces that block only. */
  firstBlock: boolean;
  signal: ClientGone;
  hops: number;
  rt: JobRuntime;
  rolloutId: string;
  /** The rollout record's insert; the call record is written after it. */
  persisted: Promise<void>;
  /** A speculative dispatch's verdict (Dispatch.confirmed): false, drop the answer unsent and unrecorded. */
  confirmed: Promise<boolean> | undefined;
  /** What the call record keeps besides the outcome: its input, module and variables. */
  record: Pick<RolloutCall, 'inputMessages' | 'module' | 'variables' | 'ownSystemText'>;
}

/** One upstream call for a JSON answer: the surface's body to send and the summary for the record. */
async function completeOnce(c: UpstreamCall): Promise<{ out: string; summary: AnswerSummary }> {
  if (c.native !== undefined && c.surfaceCall.native !== undefined) {
    const res = await c.native.complete(c.surfaceCall.native.body(c.upstreamReq, c.changed, c.firstBlock), { signal: c.signal, forwardHeaders: c.surfaceCall.native.forwardHeaders });
    return c.surfaceCall.native.json(res.raw);
  }
  const result = await c.provider.complete(c.upstreamReq, { signal: c.signal, proxyHops: c.hops });
  const summary = extractCompletionSummary(result.json);
  return { out: c.surfaceCall.renderJson(result.json, result.raw, summary.toolCalls), summary };
}

/**
 * How long the upstream took, measured from `t0` to when the promise given to `time` settled, and
 * whether it failed: the share of a call's time that is not the proxy's.
 */
function timedUpstream(t0: number) {
  const timing = {
    ms: 0,
    failed: false,
    time<T>(work: Promise<T>): Promise<T> {
      return work.then((r) => {
        timing.ms = performance.now() - t0;
        return r;
      }, (err: unknown) => {
        timing.failed = true;
        timing.ms = performance.now() - t0;
        throw err;
      });
    },
  };
  return timing;
}

/** False when the call was speculative and its candidate turned out wrong: nothing sent, nothing recorded. */
async function relayJson(reply: FastifyReply, p: ProxyDeps, c: UpstreamCall): Promise<boolean> {
  const t0 = performance.now();
  // Only the provider call counts as upstream time: waiting on our own rollout insert is overhead.
  const upstream = timedUpstream(t0);
  let answer;
  try {
    [answer] = await Promise.all([upstream.time(completeOnce(c)), c.persisted]);
  } catch (err) {
    // A failed upstream call of the wrong candidate is not this rollout's either: dispatch again.
    if (c.confirmed && !(await c.confirmed.catch(() => true))) return false;
    // The `error` outcome counted only streams that broke mid-way: a failed JSON call was not observed.
    if (upstream.failed) {
      p.metrics.upstreamDuration.observe({ provider: c.provider.kind, outcome: 'error' }, upstream.ms / 1000);
      withClientParam(err, c);
    } else {
      // The rollout could not be stored while the upstream worked on an answer nobody will get: end it.
      c.signal.abort(err);
    }
    recordCall(p, c, null, performance.now() - t0, true);
    throw err;
  }
  if (c.confirmed && !(await c.confirmed)) return false;
  p.metrics.upstreamDuration.observe({ provider: c.provider.kind, outcome: 'ok' }, upstream.ms / 1000);
  recordCall(p, c, answer.summary, upstream.ms, false);
  // From the first byte of the request (fastify's clock) to the answer being handed to the socket.
  p.metrics.proxyOverhead.observe(Math.max(0, reply.elapsedTime - upstream.ms) / 1000);
  reply.header('content-type', 'application/json').send(answer.out);
  return true;
}

/**
 * An upstream 4xx's `param`, made the client's (the error goes to the client as it is): it names a
 * field of the request the upstream got. On a native call the surface maps it (Responses: `input`
 * items after the inserted demo turns); on a translated call (a Responses or Messages call sent as
 * chat completions) that request is miprox's chat request, whose fields the client never sent, so
 * none is relayed; on a chat call a message named by index gets the client's index (injection may
 * have added some). A native call's message is mapped too where the provider names the field in its
 * text (Anthropic, which sends no param); a translated call's is left as written (docs/API.md).
 */
function withClientParam(err: unknown, c: UpstreamCall): void {
  if (!(err instanceof UpstreamError)) return;
  const surface = c.surfaceCall.native;
  const clientError = err.upstreamStatus !== undefined && err.upstreamStatus >= 400 && err.upstreamStatus < 500;
  if (clientError && c.native !== undefined && surface?.clientMessage) err.message = surface.clientMessage(err.message);
  if (err.upstreamParam === undefined) return;
  if (c.native !== undefined && surface !== undefined) err.upstreamParam = surface.clientParam ? surface.clientParam(err.upstreamParam) : err.upstreamParam;
  else err.upstreamParam = surface !== undefined ? undefined : clientMessageParam(err.upstreamParam, c.upstreamReq.messages, c.surfaceCall.chat.messages);
}

/** Opens the upstream stream: the surface's event stream for the client and its summary for the record. */
async function openStream(c: UpstreamCall): Promise<SurfaceStream> {
  if (c.native !== undefined && c.surfaceCall.native !== undefined) {
    const upstream = await c.native.stream(c.surfaceCall.native.body(c.upstreamReq, c.changed, c.firstBlock), { signal: c.signal, forwardHeaders: c.surfaceCall.native.forwardHeaders });
    return c.surfaceCall.native.stream(upstream.body);
  }
  const upstream = await c.provider.stream(c.upstreamReq, { signal: c.signal, proxyHops: c.hops });
  // The record reads the internal (chat) stream as it passes, whatever the client's surface.
  const { chunks, acc } = tapChatStream(upstream.body);
  // A usage chunk the client did not ask for is not sent; the usage the upstream reported anyway still counts.
  const summary = (): AnswerSummary => {
    const s = acc.summary();
    return s.usage === undefined ? { ...s, usage: upstream.usage?.() } : s;
  };
  // The chat surface relays the upstream's events as written, its error event included: the client
  // has the provider's own error, and the relay adds none after it (an "ended without data: [DONE]"
  // would contradict it). The translated surfaces throw at that event and end with their own.
  const relayed = c.surfaceCall.native === undefined;
  return { body: c.surfaceCall.renderStream(chunks), summary, ...(relayed ? { failed: () => acc.sawError } : {}) };
}

async function relayStream(reply: FastifyReply, p: ProxyDeps, c: UpstreamCall): Promise<FastifyReply> {
  const t0 = performance.now();
  let upstream: SurfaceStream;
  const opening = timedUpstream(t0);
  try {
    [upstream] = await Promise.all([opening.time(openStream(c)), c.persisted]);
  } catch (err) {
    // The rollout could not be stored (a database outage) while the stream opened: nobody will read
    // it, and left open the provider went on generating (and billing) the whole answer. The call's
    // signal ends the upstream request, opened or still opening; this request answers the error.
    if (!opening.failed) c.signal.abort(err);
    // A stream the upstream refused before it started is a failed call too (only mid-way failures were counted).
    if (opening.failed) {
      p.metrics.upstreamDuration.observe({ provider: c.provider.kind, outcome: 'error' }, opening.ms / 1000);
      withClientParam(err, c);
    }
    recordCall(p, c, null, performance.now() - t0, true);
    throw err;
  }
  // What the proxy added before the stream could start (the upstream's time to open it excluded), as
  // relayJson's before the answer: streamed calls were not observed at all. Relaying the chunks costs
  // next to nothing and their pace is the model's.
  p.metrics.proxyOverhead.observe(Math.max(0, reply.elapsedTime - opening.ms) / 1000);
  let stopped: AppError | null = null;
  const untrack = p.streams.track((reason) => {
    stopped = reason;
    c.signal.abort(reason); // ends the upstream read below
  });
  let ended = false;
  /** Once per call, whichever way it ends: out of the live streams, its metric, its record. */
  const end = (failed: boolean): void => {
    if (ended) return;
    ended = true;
    untrack();
    const ms = performance.now() - t0;
    const callFailed = failed || c.signal.aborted || (upstream.failed?.() ?? false);
    p.metrics.upstreamDuration.observe({ provider: c.provider.kind, outcome: callFailed ? 'error' : 'ok' }, ms / 1000);
    recordCall(p, c, upstream.summary(), ms, callFailed);
  };
  // A client that left before the relay below started (while the stream opened, or before its first
  // pull) never runs the relay: Fastify destroys the stream, and a generator returned before its
  // first step skips its `finally`. The stream then stayed in the live streams for the server's life,
  // holding its call and job state, and the call had no record. Its connection closed, so `gone`
  // (clientGoneOf) has cancelled the upstream read; only the end is left to do.
  let relayStarted = false;
  const abandoned = (): void => {
    if (relayStarted) return;
    relayStarted = true;
    end(true);
  };
  reply.raw.once('close', abandoned);
  if (reply.raw.destroyed) abandoned(); // its 'close' came while the stream opened
  const chunks = upstream.body[Symbol.asyncIterator]();
  // The answer's head waits for the stream's first event: a stream the upstream cut, or left silent
  // past UPSTREAM_TIMEOUT_MS, before sending any was a 200 whose first event was the error, which no
  // SDK retries; answered as the error itself (502, 504) it is retried like a refused call. A stream
  // that sent something malformed is still a 200 ending with the error event (documented). A stream
  // that begins with the provider's own error never gets here: the transport retried or threw it as
  // the status it stands for (providers/streamStartError.ts).
  let first: IteratorResult<Uint8Array | string> = { done: true, value: undefined };
  let firstError: unknown;
  try {
    first = await chunks.next();
  } catch (err) {
    if (!stopped && err instanceof UpstreamError && err.code === 'upstream_bad_stream') firstError = err;
    else {
      end(true);
      throw stopped ?? err;
    }
  }
  async function* relay(): AsyncGenerator<Uint8Array | string> {
    if (relayStarted) return; // the client left first (abandoned)
    relayStarted = true;
    let failed = false;
    /** Still suspended at a yield when the relay ends: the client left, and the upstream read must be closed. */
    let leftEarly = false;
    try {
      if (firstError !== undefined) throw firstError;
      for (let next = first; !next.done;) {
        leftEarly = true;
        yield next.value;
        leftEarly = false;
        next = await chunks.next();
      }
    } catch (err) {
      // Never a silent cut: the client gets an error event it can surface, then the stream ends.
      failed = true;
      // After the provider's own error event the client knows; a second one would contradict it.
      if ((!c.signal.aborted || stopped) && !(upstream.failed?.() ?? false)) {
        const cause = stopped ?? (err instanceof UpstreamError ? err : new UpstreamError('upstream stream failed', { status: 502 }));
        // The provider's own error type (an Anthropic stream's `overloaded_error`), typed for the surface as the JSON path does.
        const end = c.surfaceCall.errorEvent(toHttpProblem(cause), cause instanceof UpstreamError ? cause : undefined);
        if (end !== '') yield end; // '' when the surface's terminal event already went out
      }
    } finally {
      // As `for await` did: only a relay left at a yield closes the upstream request (one read to its
      // end keeps its connection, and one that threw is closed already).
      if (leftEarly) await chunks.return?.().catch(() => undefined);
      end(failed);
    }
  }
  reply
    .header('content-type', 'text/event-stream; charset=utf-8')
    .header('cache-control', 'no-cache')
    .header('x-accel-buffering', 'no');
  // Readable.from pulls from the generator only as fast as the socket drains: backpressure end to end.
  return reply.send(Readable.from(relay(), { objectMode: false }));
}

/** `answer` null: no answer came (the upstream call failed before one). */
function recordCall(p: ProxyDeps, c: UpstreamCall, answer: AnswerSummary | null, latencyMs: number, failed: boolean): void {
  const record = {
    outputText: storedAnswerText(answer?.text ?? null), latencyMs, usage: answer?.usage ?? null, failed,
    // The text renders tool calls as `name(arguments)`: the count tells such an answer from prose (no demo).
    toolCalls: answer?.toolCalls.length ?? 0, ...c.record,
  };
  // The rollout is stored and the client has (or will have) its answer: an outage must not leave the
  // rollout without its call. The write is tried again once the database answers, for a while:
  // elapsed time, on the monotonic clock (with Date.now a step of the machine's clock forward gave the
  // write up at once, a step back kept it going for as long as the step).
  const deadline = performance.now() + CALL_RECORD_RETRY_MS;
  p.background.add(
    c.persisted.then(
      () => retryWhileDatabaseDown(() => p.engine.recordCall(c.rt, c.rolloutId, record), { now: () => performance.now(), deadline, stopping: p.stopping }),
      // The rollout was never stored, so there is no call to record, and the request itself answered
      // (and logged) that failure: logging it again as a failed record read as a lost call record.
      () => undefined,
    ),
    'rollout call record',
  );
}

function header(req: FastifyRequest, name: string): string | undefined {
  const v = req.headers[name];
  return typeof v === 'string' && v.length > 0 ? v : undefined;
}

function seedOf(req: FastifyRequest<{ Querystring: Record<string, string | undefined> }>): number | null {
  const raw = req.query.seed ?? header(req, 'x-mipro-seed');
  if (raw === undefined) return null;
  const n = readIntegerText(raw, 0, MAX_SEED);
  if (n === undefined) throw new ValidationError('seed must be a non-negative integer', [{ path: 'seed', message: integerTextMessage(0, MAX_SEED, raw) }]);
  return n;
}

