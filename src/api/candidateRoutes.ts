import type { FastifyInstance, FastifyRequest } from 'fastify';
import { z } from 'zod';
import { summarizeJob } from '../services/jobSummary.js';
import { addHandWrittenCandidate, unknownModuleProblems } from '../services/warmStart.js';
import { NotFoundError, ValidationError } from '../shared/errors.js';
import { CANDIDATE_SORT_KEYS } from '../store/statements.js';
import type { CandidateRecord, JobRecord } from '../store/types.js';
import type { ApiDeps } from './deps.js';
import { storableText } from '../schemas/dbText.js';
import { MAX_SEED } from '../schemas/jobConfig.js';
import { integerQuery } from '../schemas/integerText.js';
import { requiredString } from '../schemas/requiredString.js';
import { moduleNameSchema } from '../schemas/moduleName.js';
import { isPlainObject } from '../schemas/unknownFields.js';
import { MAX_DEMO_TURNS } from '../optimizer/core/demos.js';
import { PageQuerySchema, parseQuery, parseWithNames } from './requestContext.js';
import { candidateView, readBeforeAnyDelete, refusePurged, rewardView, rolloutView } from './views.js';

const SortSchema = z.string().max(200).refine(
  (s) => s.split(',').every((part) => {
    const [key, dir] = part.trim().split(':');
    return key !== undefined && CANDIDATE_SORT_KEYS.includes(key) && (dir === undefined || dir === 'asc' || dir === 'desc');
  }),
  { message: `must be key[:asc|desc] pairs separated by commas; keys: ${CANDIDATE_SORT_KEYS.join(', ')}` },
);

const CandidateQuery = PageQuerySchema.extend({
  status: z.enum(['active', 'retired'], { error: 'must be active or retired' }).optional(),
  sort: SortSchema.optional(),
  include: z.string().optional(),
});

const SeedEvalQuery = PageQuerySchema.extend({
  candidate_id: z.string().optional(),
  // The public API's "train" covers what miprox keeps apart; say which to send rather than guess.
  split: z.enum(['bootstrap', 'online', 'val', 'monitor'], {
    error: (issue) => issue.input === 'train'
      ? 'must be bootstrap, online, val or monitor: "train" is two splits here, bootstrap (bootstrap_train_seeds) and online (online_pool); ask for each'
      : 'must be bootstrap, online, val or monitor',
  }).optional(),
  // Read as the proxy reads a seed (integerText.ts): coercion would make "" seed 0 and "0x1" seed 1.
  seed: integerQuery(0, MAX_SEED).optional(),
  success: z.enum(['true', 'false'], { error: 'must be true or false' }).optional(),
});

/**
 * `GET /api/candidates/{id}?system_id=`: one system id. Read through parseQuery as every route's query
 * is: a repeated parameter (read unchecked, it reached the database as an array: a 500) is a 422 in the
 * same words as on the other routes, and the query is closed like theirs.
 */
const CandidateLookupQuery = z.object({
  system_id: z.string({ error: 'must be a string (a system id)' }).optional(),
});

/** One imported demo, in the shape the views and `export?format=json` give it (warmStart.ts). */
const DemoInput = z.strictObject({
  input: z.array(z.strictObject({
    role: z.enum(['user', 'assistant'], { error: 'must be user or assistant' }),
    content: storableText(z.string({ error: 'must be a string' })),
  }), { error: 'must be a list of {role, content} turns' }).min(1, 'must hold at least one turn')
    // Refused by its length before its turns are read (zod checks the length first); core/demos.ts says why.
    .max(MAX_DEMO_TURNS, `must hold at most ${MAX_DEMO_TURNS} turns: every demo is sent with every call of its module`),
  output: storableText(requiredString('the demo\'s answer')),
  // The source's rollout (another job's): accepted and not kept, an imported demo gets an id of its own.
  rollout_id: z.string({ error: 'must be a string' }).nullable().optional(),
  // A templated module's demo: its value of each placeholder (warmStart.ts checks the names).
  variables: z.record(z.string(), storableText(z.string({ error: 'must be a string' })), { error: 'must be an object {placeholder: value}' }).optional(),
}, {
  // zod's own words for a stray key, so each is listed at its path (requestContext.ts `zodProblems`).
  error: (issue) => (issue.code === 'unrecognized_keys' ? undefined : 'must be a demo {input, output}'),
});

/**
 * SPEC.md's `{module, instruction}`, or a whole program `{instructions: {module: text}}`, each with
 * optional `demos: {module: [{input, output}]}`, or demos alone (warmStart.ts).
 */
const HandWrittenCandidate = z.strictObject({
  module: z.string({ error: 'must be a string (a module name)' }).optional(),
  // Stored text: a NUL is refused here on both databases (PostgreSQL's text cannot hold one).
  instruction: storableText(requiredString('the instruction text')).optional(),
  instructions: z.record(moduleNameSchema('must be a module name ([a-z0-9_-]{1,64})'), storableText(z.string({ error: 'must be a string' })), { error: 'must be an object {module: instruction}' }).optional(),
  demos: z.record(moduleNameSchema('must be a module name ([a-z0-9_-]{1,64})'), z.array(DemoInput, { error: 'must be a list of demos' }), { error: 'must be an object {module: [demo]}' }).optional(),
}).superRefine((v, ctx) => {
  if (v.instruction === undefined && v.instructions === undefined && v.demos === undefined) {
    ctx.addIssue({ code: 'custom', path: ['instruction'], message: 'is required (the instruction text; or instructions: {module: text} for a whole program; or demos: {module: [demo]})' });
  } else if (v.instruction !== undefined && v.instructions !== undefined) {
    ctx.addIssue({ code: 'custom', path: ['instructions'], message: 'goes without instruction: send one module\'s instruction or a whole program, not both' });
  } else if (v.instructions !== undefined && v.module !== undefined) {
    ctx.addIssue({ code: 'custom', path: ['module'], message: 'goes with instruction; instructions names its modules itself' });
  } else if (v.module !== undefined && v.instruction === undefined) {
    ctx.addIssue({ code: 'custom', path: ['module'], message: 'goes with instruction; demos names its modules itself' });
  }
  // It reads only which keys were sent, so it runs beside a refused value too: one 422 lists every problem.
}, { when: (payload) => isPlainObject(payload.value) });

/** Candidates and seed evaluations of a system (SPEC "Candidates"). */
export function registerCandidateRoutes(app: FastifyInstance, deps: ApiDeps): void {
  const load = async (req: FastifyRequest<{ Params: { id: string } }>): Promise<JobRecord> => {
    const principal = await deps.authenticate(req);
    return deps.jobs.getBySystemOrJobId(principal.tenantId, req.params.id);
  };

  for (const base of ['/api/systems', '/api/v1/systems']) {
    app.get<{ Params: { id: string } }>(`${base}/:id/candidates`, async (req) => {
      const job = await load(req);
      const q = parseQuery(CandidateQuery, req.query);
      const page = await deps.store.pageCandidates(job.id, { limit: q.limit, cursor: q.cursor ?? null, ...(q.status ? { status: q.status } : {}), ...(q.sort ? { sort: q.sort } : {}) });
      const [all, modules, missing, seedCells] = await Promise.all([
        deps.store.listCandidates(job.id), deps.store.listModules(job.id), deps.jobs.missingRewards(job.id), deps.store.onlineSeedCells(job.id),
      ]);
      refusePurged(all, `no job or session ${req.params.id}`);
      const summary = summarizeJob(job, all, new Map(), missing, seedCells);
      return { items: page.items.map((c) => candidateView(c, job.systemId, summary.byId.get(c.id), modules)), next_cursor: page.nextCursor };
    });

    // Warm start: the user's own prompt for one module, or a whole program, becomes a candidate (nursery, like a proposal's child).
    app.post<{ Params: { id: string } }>(`${base}/:id/candidates`, async (req) => {
      const job = await load(req);
      const body = await parseWithNames(HandWrittenCandidate, req.body, async (raw) => unknownModuleProblems(raw, await deps.store.listModules(job.id)));
      const created = await addHandWrittenCandidate(deps.store, job, body);
      const [all, modules] = await Promise.all([deps.store.listCandidates(job.id), deps.store.listModules(job.id)]);
      return candidateView(created, job.systemId, summarizeJob(job, all).byId.get(created.id), modules);
    });

    app.get<{ Params: { id: string } }>(`${base}/:id/seed-evals`, async (req) => {
      const job = await load(req);
      const q = parseQuery(SeedEvalQuery, req.query);
      const page = await deps.store.listSeedEvals(job.id, {
        limit: q.limit, cursor: q.cursor ?? null,
        ...(q.candidate_id ? { candidateId: q.candidate_id } : {}), ...(q.split ? { split: q.split } : {}), ...(q.seed !== undefined ? { seed: q.seed } : {}),
        ...(q.success !== undefined ? { success: q.success === 'true' } : {}),
      });
      const calls = await deps.store.callModules(job.id, page.items.map((r) => r.rolloutId));
      const items = page.items.map((r) => rewardView(r, calls.get(r.rolloutId) ?? []));
      return { items, next_cursor: page.nextCursor };
    });

    // One rollout with every call it made: which module each call went to, its input and output.
    app.get<{ Params: { id: string; rolloutId: string } }>(`${base}/:id/rollouts/:rolloutId`, async (req) => {
      const job = await load(req);
      const rollout = await deps.store.getRollout(job.id, req.params.rolloutId);
      if (!rollout) throw new NotFoundError(`rollout ${req.params.rolloutId} not found`);
      const [calls, candidate, modules] = await Promise.all([
        deps.store.rolloutCalls(job.id, [rollout.id]), deps.store.getCandidate(job.id, rollout.candidateId), deps.store.listModules(job.id),
      ]);
      await readBeforeAnyDelete(deps.store, job);
      return rolloutView(rollout, calls, candidate, modules);
    });
  }

  app.get<{ Params: { candidateId: string } }>('/api/candidates/:candidateId', async (req) => {
    const principal = await deps.authenticate(req);
    const { candidateId } = req.params;
    const q = parseQuery(CandidateLookupQuery, req.query);
    const notFound = () => new NotFoundError(`candidate ${candidateId} not found`);
    let found: { c: CandidateRecord; job: JobRecord };
    if (q.system_id) {
      // The system first, then its candidate: no search across anyone else's rows.
      const job = await deps.jobs.getBySystemOrJobId(principal.tenantId, q.system_id);
      const c = await deps.store.getCandidate(job.id, candidateId);
      if (!c) throw notFound();
      found = { c, job };
    } else {
      // Two are enough to tell "unique" from "ambiguous".
      const matches = await deps.store.findCandidatesById(candidateId, principal.tenantId, 2);
      if (matches.length > 1) {
        throw new ValidationError('candidate id is ambiguous', [{ path: 'system_id', message: 'is required: several of your systems have this candidate id (e.g. "baseline")' }]);
      }
      const c = matches[0];
      const job = c ? await deps.store.getJob(c.jobId) : null;
      if (!c || !job) throw notFound();
      found = { c, job };
    }
    const { c, job } = found;
    const [all, modules, missing, seedCells] = await Promise.all([
      deps.store.listCandidates(job.id), deps.store.listModules(job.id), deps.jobs.missingRewards(job.id), deps.store.onlineSeedCells(job.id),
    ]);
    return candidateView(c, job.systemId, summarizeJob(job, all, new Map(), missing, seedCells).byId.get(c.id), modules);
  });
}
