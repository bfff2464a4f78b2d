import { performance } from 'node:perf_hooks';
import { Readable } from 'node:stream';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { ApiDeps } from '../api/deps.js';
import { openAiErrorBody, toHttpProblem } from '../api/errorMapping.js';
import type { Metrics } from '../api/metrics.js';
import { extractCompletionSummary, StreamAccumulator } from '../providers/completionSummary.js';
import type { ProviderRegistry } from '../providers/registry.js';
import type { ChatProvider } from '../providers/types.js';
import { ClientGone } from '../providers/cancelSignal.js';
import { MAX_SEED } from '../schemas/jobConfig.js';
import type { ChatCompletionRequest } from '../schemas/openai.js';
import type { BackgroundTasks } from '../shared/backgroundTasks.js';
import { type AppError, NotFoundError, UpstreamError, ValidationError } from '../shared/errors.js';
import type { OnlineEngine } from '../optimizer/runner/engine.js';
import type { JobRuntime } from '../optimizer/runner/jobRuntime.js';
import type { RolloutCall } from '../store/types.js';
import { forcePolicy, injectCandidate, injectDemos, inputForRecord } from './injection.js';
import type { LiveStreams } from './liveStreams.js';
import { candidateText, routeToModule } from './programRouting.js';
import { capStoredMessages, capStoredText, capStoredVariables } from './recordLimits.js';
import { limitSpend, parseChatRequest, rolloutIdOf } from './requestBody.js';

export interface ProxyDeps {
  engine: OnlineEngine;
  providers: ProviderRegistry;
  metrics: Metrics;
  background: BackgroundTasks;
  /** Streams in flight, ended with an error event when a shutdown runs out of grace. */
  streams: LiveStreams;
}

interface ProxyParams { systemId: string; rolloutId?: string }

const ROUTES = [
  '/api/mipro/v1/:systemId/chat/completions',
  '/api/mipro/v1/:systemId/v1/chat/completions',
  '/api/mipro/v1/:systemId/:rolloutId/chat/completions',
  '/api/mipro/v1/:systemId/:rolloutId/v1/chat/completions',
];

/**
 * The proxy URL: OpenAI chat completions in and out. Per call: find the job, pick the rollout's
 * candidate, inject its instruction, call the policy model, relay the answer unchanged. The rollout
 * record is written in parallel with the upstream call; the output record after the answer is sent.
 */
export function proxyRoutes(p: ProxyDeps) {
  return (app: FastifyInstance, deps: ApiDeps): void => {
    const handler = (req: FastifyRequest<{ Params: ProxyParams; Querystring: Record<string, string | undefined> }>, reply: FastifyReply) =>
      handle(req, reply, deps, p);
    for (const url of ROUTES) app.post(url, handler);
  };
}

async function handle(
  req: FastifyRequest<{ Params: ProxyParams; Querystring: Record<string, string | undefined> }>,
  reply: FastifyReply,
  deps: ApiDeps,
  p: ProxyDeps,
): Promise<FastifyReply> {
  const rolloutId = rolloutIdOf(req.params.rolloutId);
  // The key (when required) before the lookup: without one, unknown and existing systems answer alike.
  const principal = deps.config.proxyRequireKey ? await deps.authenticate(req) : null;
  const rt = await p.engine.runtimeForSystem(req.params.systemId);
  if (!rt || (principal && principal.tenantId !== rt.job.tenantId)) throw new NotFoundError(`unknown system ${req.params.systemId}`);
  // Only after the credential checks: a stranger's body costs no validation work. Validated, then
  // used as the client sent it: the parsed copy reorders keys, and what is not ours to change (the
  // messages of a call that keeps its own prompt) must go upstream unchanged.
  parseChatRequest(req.body);
  const body = limitSpend({ ...(req.body as ChatCompletionRequest) }, rt.job.config.policy);
  const inputMessages = capStoredMessages(inputForRecord(body.messages));
  const program = await routeToModule(p, rt, req, body);
  const dispatch = await p.engine.dispatch(rt, {
    rolloutId,
    seed: seedOf(req),
    correlationId: req.query.cid ?? req.query.correlation_id ?? header(req, 'x-mipro-correlation-id') ?? null,
    inputMessages,
  });
  const policy = rt.job.config.policy;
  const text = program.module ? candidateText(dispatch.candidate.instructions, program.module, program.variables, body) : null;
  const demos = program.module ? (dispatch.candidate.demos[program.module.name] ?? []) : [];
  const upstreamReq = injectDemos(text === null ? forcePolicy(body, policy) : injectCandidate(body, text, policy), demos);
  const provider = p.providers.get({ provider: policy.provider, model: policy.model, inferenceUrl: policy.inference_url });
  reply.header('x-mipro-candidate-id', dispatch.candidate.id).header('x-mipro-rollout-id', dispatch.rolloutId);

  // The response's 'close' (not the request's, which fires once the body is read) tells us the
  // client went away before the answer was written: cancel the upstream call.
  const gone = new ClientGone();
  reply.raw.once('close', () => {
    if (!reply.raw.writableFinished) gone.abort();
  });
  const call = {
    provider, upstreamReq, signal: gone, rt, rolloutId: dispatch.rolloutId, persisted: dispatch.persisted,
    // Every call record keeps its own input; the rollout keeps the first one it sees.
    record: { inputMessages, module: program.module?.name ?? null, variables: program.module ? capStoredVariables(program.variables) : null },
  };
  if (body.stream === true) return relayStream(reply, p, call);
  return relayJson(reply, p, call);
}

interface UpstreamCall {
  provider: ChatProvider;
  upstreamReq: ChatCompletionRequest;
  signal: ClientGone;
  rt: JobRuntime;
  rolloutId: string;
  /** The rollout record's insert; the call record is written after it. */
  persisted: Promise<void>;
  /** What the call record keeps besides the outcome: its input, module and variables. */
  record: Pick<RolloutCall, 'inputMessages' | 'module' | 'variables'>;
}

async function relayJson(reply: FastifyReply, p: ProxyDeps, c: UpstreamCall): Promise<FastifyReply> {
  const t0 = performance.now();
  let upstreamMs = 0;
  let result;
  try {
    // Only the provider call counts as upstream time: waiting on our own rollout insert is overhead.
    const upstream = c.provider.complete(c.upstreamReq, { signal: c.signal }).then((r) => {
      upstreamMs = performance.now() - t0;
      return r;
    });
    [result] = await Promise.all([upstream, c.persisted]);
  } catch (err) {
    recordCall(p, c, null, performance.now() - t0, null, true);
    throw err;
  }
  p.metrics.upstreamDuration.observe({ provider: c.provider.kind, outcome: 'ok' }, upstreamMs / 1000);
  const summary = extractCompletionSummary(result.json);
  recordCall(p, c, summary.text, upstreamMs, summary.usage ?? null, false);
  // From the first byte of the request (fastify's clock) to the answer being handed to the socket.
  p.metrics.proxyOverhead.observe(Math.max(0, reply.elapsedTime - upstreamMs) / 1000);
  return reply.header('content-type', 'application/json').send(result.raw);
}

async function relayStream(reply: FastifyReply, p: ProxyDeps, c: UpstreamCall): Promise<FastifyReply> {
  const t0 = performance.now();
  let upstream;
  try {
    [upstream] = await Promise.all([c.provider.stream(c.upstreamReq, { signal: c.signal }), c.persisted]);
  } catch (err) {
    recordCall(p, c, null, performance.now() - t0, null, true);
    throw err;
  }
  const acc = new StreamAccumulator();
  const body = upstream.body;
  let stopped: AppError | null = null;
  const untrack = p.streams.track((reason) => {
    stopped = reason;
    c.signal.abort(reason); // ends the upstream read below
  });
  reply.raw.once('close', untrack); // also when the relay below never started (client gone at once)
  async function* relay(): AsyncGenerator<Uint8Array | string> {
    let failed = false;
    try {
      for await (const chunk of body) {
        acc.push(chunk);
        yield chunk;
      }
    } catch (err) {
      // Never a silent cut: the client gets an error event it can surface, then the stream ends.
      failed = true;
      if (!c.signal.aborted || stopped) {
        const problem = toHttpProblem(stopped ?? (err instanceof UpstreamError ? err : new UpstreamError('upstream stream failed', { status: 502 })));
        yield `data: ${JSON.stringify(openAiErrorBody(problem))}\n\n`;
      }
    } finally {
      untrack();
      acc.end();
      const s = acc.summary();
      const ms = performance.now() - t0;
      p.metrics.upstreamDuration.observe({ provider: c.provider.kind, outcome: failed || c.signal.aborted ? 'error' : 'ok' }, ms / 1000);
      recordCall(p, c, s.text, ms, s.usage ?? null, failed || c.signal.aborted);
    }
  }
  reply
    .header('content-type', 'text/event-stream; charset=utf-8')
    .header('cache-control', 'no-cache')
    .header('x-accel-buffering', 'no');
  // Readable.from pulls from the generator only as fast as the socket drains: backpressure end to end.
  return reply.send(Readable.from(relay(), { objectMode: false }));
}

function recordCall(p: ProxyDeps, c: UpstreamCall, outputText: string | null, latencyMs: number, usage: Record<string, unknown> | null, failed: boolean): void {
  p.background.add(
    c.persisted.then(() => p.engine.recordCall(c.rt, c.rolloutId, { outputText: capStoredText(outputText), latencyMs, usage, failed, ...c.record })),
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
  const n = Number(raw);
  if (!Number.isInteger(n) || n < 0 || n > MAX_SEED) throw new ValidationError('seed must be a non-negative integer', [{ path: 'seed', message: `must be an integer between 0 and ${MAX_SEED}, got ${raw}` }]);
  return n;
}

