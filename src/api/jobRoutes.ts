import type { FastifyInstance } from 'fastify';
import { z } from 'zod';
import { JOB_STATUSES } from '../store/types.js';
import { ValidationError } from '../shared/errors.js';
import type { JobAction } from '../services/jobLifecycle.js';
import type { ApiDeps } from './deps.js';
import { conditionalJson } from './conditionalJson.js';
import { NO_BODY } from './jsonBody.js';
import { unreadBodyProblems } from './unreadBody.js';
import { PageQuerySchema, parseQuery, parseWith, requestOrigin } from './requestContext.js';
import { jobListViews, jobView } from './views.js';

/** `PATCH .../{id}` (jobs and sessions): `{"state"}` only; another key (a typo) is a 422, as on promote. */
export const PatchStateBody = z.strictObject({ state: z.unknown() });

/** Public clients' spellings of two statuses, accepted as they mean the same. */
const STATUS_ALIASES: Readonly<Record<string, string>> = { completed: 'succeeded', canceled: 'cancelled' };

const ListQuery = PageQuerySchema.extend({
  status: z.preprocess(
    (v) => (typeof v === 'string' ? STATUS_ALIASES[v] ?? v : v),
    z.enum(JOB_STATUSES, { error: `must be one of: ${JOB_STATUSES.join(', ')} (completed and canceled are accepted too)` }),
  ).optional(),
});

/**
 * The jobs API (SPEC "Jobs"), served under the current path and the older prompt-learning path that
 * public demos still call.
 */
export function registerJobRoutes(app: FastifyInstance, deps: ApiDeps): void {
  for (const base of ['/api/policy-optimization/online/jobs', '/api/prompt-learning/online/jobs']) {
    app.post(base, async (req) => {
      const principal = await deps.authenticate(req);
      const job = await deps.jobs.create(principal.tenantId, req.body);
      const origin = requestOrigin(req, deps.config.publicUrl);
      return { ...(await jobView(deps, job, origin)), ...deps.urls(job, origin) };
    });

    app.get(base, async (req) => {
      const principal = await deps.authenticate(req);
      const q = parseQuery(ListQuery, req.query);
      const page = await deps.jobs.list(principal.tenantId, q);
      const origin = requestOrigin(req, deps.config.publicUrl);
      const items = await jobListViews(deps, page.items, origin);
      return { items, jobs: items, next_cursor: page.nextCursor };
    });

    // Polled by the dashboard: an ETag, and a 304 when nothing changed (conditionalJson.ts).
    app.get<{ Params: { jobId: string } }>(`${base}/:jobId`, async (req, reply) => {
      const principal = await deps.authenticate(req);
      const job = await deps.jobs.get(principal.tenantId, req.params.jobId);
      return conditionalJson(req, reply, await jobView(deps, job, requestOrigin(req, deps.config.publicUrl)));
    });

    /** `unread`: the body of a route that reads none (pause/resume/cancel), refused once the job is found. */
    const act = async (jobId: string, tenantId: string, action: JobAction, origin: string, unread?: unknown) => {
      const job = await deps.jobs.get(tenantId, jobId);
      refuseActionBody(action, unread);
      return jobView(deps, await deps.jobs.transition(job, action), origin);
    };
    for (const action of ['pause', 'resume', 'cancel'] as const) {
      app.post<{ Params: { jobId: string } }>(`${base}/:jobId/${action}`, NO_BODY, async (req) => {
        const principal = await deps.authenticate(req);
        return act(req.params.jobId, principal.tenantId, action, requestOrigin(req, deps.config.publicUrl), req.body);
      });
    }
    // Deleting an ended job (docs/API.md, "Deleting a job"): `{id, deleted: true}`; a running or paused one is a 409.
    app.delete<{ Params: { jobId: string } }>(`${base}/:jobId`, NO_BODY, async (req) => {
      const principal = await deps.authenticate(req);
      refuseDeleteInput(req.query, req.body);
      return deps.jobs.delete(principal.tenantId, req.params.jobId);
    });
    app.patch<{ Params: { jobId: string } }>(`${base}/:jobId`, async (req) => {
      const principal = await deps.authenticate(req);
      const body = parseWith(PatchStateBody, req.body);
      const action = deps.jobs.actionForState(body.state);
      return act(req.params.jobId, principal.tenantId, action, requestOrigin(req, deps.config.publicUrl));
    });
  }
}

/**
 * A DELETE takes no body and no query parameter, and one that says something is refused (422) before
 * anything is deleted: a delete cannot be undone, and a client that sent `{"dry_run": true}` or
 * `?force=false` had the job deleted as if it had sent nothing. An empty body, `{}` or `null` says
 * nothing.
 */
function refuseDeleteInput(query: unknown, body: unknown): void {
  const why = 'it deletes an ended job with everything recorded for it, whatever it is sent; nothing was deleted';
  const params = typeof query === 'object' && query !== null ? Object.keys(query) : [];
  const problems = params.map((path) => ({ path, message: `unknown query parameter; a DELETE takes none: ${why}` }));
  problems.push(...unreadBodyProblems(body, 'a DELETE', why));
  if (problems.length > 0) throw new ValidationError('invalid request', problems);
}

/**
 * `POST .../pause|resume|cancel` (jobs and sessions) take no body, and one that says something is a
 * 422 before the job moves, as on every other route: a cancel is final, and `{"state": "paused"}`
 * sent to cancel, or `{"force": false}`, cancelled the job as if nothing had been sent.
 */
export function refuseActionBody(action: JobAction, body: unknown): void {
  const problems = unreadBodyProblems(body, `${action}`, `send none, or {} (PATCH takes {"state"}); the job was left as it was`);
  if (problems.length > 0) throw new ValidationError('invalid request', problems);
}
