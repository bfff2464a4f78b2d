import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { ApiDeps } from '../api/deps.js';
import type { OnlineEngine } from '../optimizer/runner/engine.js';
import { NotFoundError } from '../shared/errors.js';
import { rolloutIdOf } from './requestBody.js';

/**
 * `GET {proxy}[/{rollout_id}][/v1]/models`: OpenAI's list shape with the one model a job serves (its
 * policy model; the proxy forces it on every call whatever the client names). Several clients list
 * models when they start; the same credential rules as the proxy's POST routes apply.
 */
export function registerModelsRoutes(app: FastifyInstance, deps: ApiDeps, engine: OnlineEngine, urls: readonly string[]): void {
  const handler = async (req: FastifyRequest<{ Params: { systemId: string; rolloutId?: string } }>) => {
    rolloutIdOf(req.params.rolloutId);
    const principal = deps.config.proxyRequireKey ? await deps.authenticate(req) : null;
    const rt = await engine.runtimeForSystem(req.params.systemId, principal?.tenantId);
    if (!rt || (principal && principal.tenantId !== rt.job.tenantId)) throw new NotFoundError(`unknown system ${req.params.systemId}`);
    const created = Math.floor(Date.parse(rt.job.createdAt) / 1000);
    return { object: 'list', data: [{ id: rt.job.config.policy.model, object: 'model', created, owned_by: rt.job.config.policy.provider }] };
  };
  for (const url of urls) app.get(url, handler);
}
