import type { FastifyInstance, FastifyRequest } from 'fastify';
import { z } from 'zod';
import { CorrelationIdSchema, misplacedFeedback, type RewardRequest, RewardRequestSchema } from '../schemas/reward.js';
import { type RewardCheck, type RewardFacts, rewardRefusal, scoreOf, type RewardService } from '../services/rewardService.js';
import { moduleNameSchema } from '../schemas/moduleName.js';
import type { SchedulerService } from '../services/schedulerService.js';
import type { JobRecord } from '../store/types.js';
import type { ApiDeps } from './deps.js';
import { conditionalJson } from './conditionalJson.js';
import { NO_BODY } from './jsonBody.js';
import { MAX_INT4 } from '../schemas/dbText.js';
import { integerQuery } from '../schemas/integerText.js';
import { zodProblems } from '../schemas/jobRequest.js';
import { closestName, isPlainObject } from '../schemas/unknownFields.js';
import { correlationIdParam, PageQuerySchema, parseClosed, parseQuery, parseWith, requestOrigin } from './requestContext.js';
import { PatchStateBody, refuseActionBody } from './jobRoutes.js';
import { eventView, jobView, proposalView, rewardView } from './views.js';
import { EVENT_TYPES } from '../store/eventTypes.js';

const FeedbackModuleName = moduleNameSchema();

export interface SessionDeps {
  rewards: RewardService;
  scheduler: SchedulerService;
}

const EventsQuery = z.object({
  since_seq: integerQuery(0, MAX_INT4).default(0),
  limit: integerQuery(1, 1000).default(500),
  /** Only events of this type (a job's reward events bury its few unmatched or failed-proposal ones). */
  event_type: z.enum(EVENT_TYPES, {
    error: (iss) => {
      const near = typeof iss.input === 'string' ? closestName(iss.input, EVENT_TYPES) : null;
      return `unknown event type${near ? `; did you mean ${near}?` : ''} (one of: ${EVENT_TYPES.join(', ')})`;
    },
  }).optional(),
});

/**
 * `POST .../rollouts`: at most `{split: "val", correlation_id}`. Closed like every wire object (parseClosed): a
 * misspelt `spilt` would otherwise hand out training work to a caller that asked for confirmation work only.
 * `correlation_id` tags the rollout as a proxied call's does when it makes the rollout: a scheduled
 * rollout without one takes the first correlation id its calls send (optimizer/runner/dispatcher.ts correlate).
 */
const NextRolloutBody = z.object({
  split: z.enum(['val'], { error: 'must be "val" (ask only for confirmation work) or omitted' }).optional(),
  // null as the answer shows an untagged rollout: the same as leaving it out.
  correlation_id: CorrelationIdSchema.nullable().optional(),
}, { error: 'must be an object {split?, correlation_id?}' });

/**
 * Online sessions: what MiproOnlineSession calls (SPEC "Online sessions"). A session is a job; its id
 * is the job's system id (job ids are accepted too). Served under /api/v1 and /api/v2.
 */

export function sessionRoutes(s: SessionDeps) {
  return (app: FastifyInstance, deps: ApiDeps): void => {
    const load = async (req: FastifyRequest<{ Params: { id: string } }>): Promise<JobRecord> => {
      const principal = await deps.authenticate(req);
      return deps.jobs.getBySystemOrJobId(principal.tenantId, req.params.id);
    };
    const origin = (req: FastifyRequest) => requestOrigin(req, deps.config.publicUrl);

    for (const v of ['v1', 'v2']) {
      const base = `/api/${v}/online/sessions`;

      app.post(base, async (req) => {
        const principal = await deps.authenticate(req);
        const job = await deps.jobs.create(principal.tenantId, req.body);
        return { ...(await jobView(deps, job, origin(req))), correlation_id: job.correlationId };
      });

      // The same view as a job's, with the same ETag and 304 (conditionalJson.ts).
      app.get<{ Params: { id: string } }>(`${base}/:id`, async (req, reply) => conditionalJson(req, reply, await jobView(deps, await load(req), origin(req))));

      app.get<{ Params: { id: string }; Querystring: { correlation_id?: unknown } }>(`${base}/:id/prompt`, async (req) => {
        const job = await load(req);
        const urls = deps.urls(job, origin(req));
        // The correlation id the proxy and a reward take (an empty one is none).
        const cid = correlationIdParam(req.query.correlation_id);
        return {
          online_url: urls.online_url,
          proxy_url: urls.proxy_url,
          chat_completions_url: cid ? `${urls.chat_completions_url}?cid=${encodeURIComponent(cid)}` : urls.chat_completions_url,
          correlation_id: cid,
        };
      });

      app.post<{ Params: { id: string } }>(`${base}/:id/reward`, async (req) => {
        const principal = await deps.authenticate(req);
        const parsed = parseRewardBody(req.body);
        if ('refused' in parsed) {
          // The job's checks too: one 422 lists every problem, or fixing these would meet the next.
          throw rewardRefusal([...parsed.refused, ...await s.rewards.checksFor(principal.tenantId, req.params.id, parsed.facts)]);
        }
        const { body, reward, rewardPath } = parsed;
        return s.rewards.report(principal.tenantId, req.params.id, {
          rolloutId: body.rollout_id, candidateId: body.candidate_id, correlationId: body.correlation_id,
          reward, rewardPath, metadata: body.metadata, stop: body.stop,
          feedback: body.reward_info?.feedback, feedbackByModule: body.reward_info?.feedback_by_module,
        });
      });

      app.patch<{ Params: { id: string } }>(`${base}/:id`, async (req) => {
        const job = await load(req);
        const body = parseWith(PatchStateBody, req.body);
        return jobView(deps, await deps.jobs.transition(job, deps.jobs.actionForState(body.state)), origin(req));
      });
      for (const action of ['pause', 'resume', 'cancel'] as const) {
        app.post<{ Params: { id: string } }>(`${base}/:id/${action}`, NO_BODY, async (req) => {
          const job = await load(req);
          refuseActionBody(action, req.body);
          return jobView(deps, await deps.jobs.transition(job, action), origin(req));
        });
      }

      app.get<{ Params: { id: string } }>(`${base}/:id/events`, async (req) => {
        const job = await load(req);
        const q = parseQuery(EventsQuery, req.query);
        const events = await deps.store.listEvents(job.id, q.since_seq, q.limit, q.event_type);
        return {
          events: events.map(eventView),
          next_seq: events.at(-1)?.seq ?? q.since_seq,
        };
      });

      app.post<{ Params: { id: string } }>(`${base}/:id/rollouts`, NO_BODY, async (req) => {
        const job = await load(req);
        const body = parseClosed(NextRolloutBody, req.body ?? {});
        const next = await s.scheduler.next(job, { valOnly: body.split === 'val', correlationId: body.correlation_id ?? null });
        const urls = deps.urls(job, origin(req));
        const inference = `${urls.proxy_url}/${next.rolloutId}`;
        return {
          rollout_id: next.rolloutId, seed: next.seed, split: next.split, candidate_id: next.candidateId,
          correlation_id: body.correlation_id ?? null, inference_url: inference, chat_completions_url: `${inference}/chat/completions`,
        };
      });

      app.get<{ Params: { id: string } }>(`${base}/:id/proposals`, async (req) => {
        const job = await load(req);
        const q = parseQuery(PageQuerySchema, req.query);
        // What the list shows is current: a proposal whose instance died is failed now, not at the next sweep.
        await deps.store.closeExpiredProposals(job.id);
        const page = await deps.store.pageProposals(job.id, q);
        return { items: page.items.map(proposalView), next_cursor: page.nextCursor };
      });

      app.get<{ Params: { id: string } }>(`${base}/:id/rewards`, async (req) => {
        const job = await load(req);
        const q = parseQuery(PageQuerySchema, req.query);
        const page = await deps.store.listRewards(job.id, q);
        return { items: page.items.map((r) => rewardView(r)), next_cursor: page.nextCursor };
      });
    }
  };
}

/**
 * A reward body and the reward it states (with the field it was in), or the body's failed checks:
 * the schema's, the score's (checked on the raw `reward_info` and `metadata`, so a bad id does not
 * hide a bad score) and feedback sent beside `reward_info`; with what the job's checks can still read
 * (the score, the feedback's module names), so they are listed in the same 422.
 */
function parseRewardBody(raw: unknown): { body: RewardRequest; reward: number; rewardPath: string } | { refused: RewardCheck[]; facts: RewardFacts } {
  const parsed = RewardRequestSchema.safeParse(raw ?? {});
  const obj = (v: unknown) => (isPlainObject(v) ? v : undefined);
  const info = obj(raw)?.reward_info;
  const score = scoreOf(obj(info), obj(obj(raw)?.metadata));
  const refused: RewardCheck[] = [];
  if (!parsed.success) refused.push({ summary: 'invalid request', problems: zodProblems(parsed.error, ''), count: parsed.error.issues.length });
  // A reward_info that is not an object is one mistake, which the schema names: not also "no score".
  if ('problem' in score && (info === undefined || obj(info) !== undefined)) refused.push({ summary: score.summary, problems: [score.problem] });
  const misplaced = misplacedFeedback(raw);
  if (misplaced.length > 0) refused.push({ summary: 'invalid request', problems: misplaced });
  if (parsed.success && !('problem' in score) && refused.length === 0) return { body: parsed.data, reward: score.value, rewardPath: score.path };
  // Names the schema refused are already reported; only well-formed ones are looked up in the job.
  const feedback = obj(obj(info)?.feedback_by_module);
  const feedbackModules = Object.keys(feedback ?? {}).filter((name) => FeedbackModuleName.safeParse(name).success);
  return { refused, facts: { reward: 'value' in score ? score.value : undefined, rewardPath: 'path' in score ? score.path : undefined, feedbackModules } };
}
