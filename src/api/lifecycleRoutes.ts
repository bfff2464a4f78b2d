import type { FastifyInstance } from 'fastify';
import { z } from 'zod';
import { championOf } from '../services/jobSummary.js';
import { servedCandidateId } from '../optimizer/runner/guardWatch.js';
import { EXPORT_FORMATS, exportProgram } from '../services/programExport.js';
import { NotFoundError } from '../shared/errors.js';
import { UNKNOWN_CANDIDATE } from '../services/jobService.js';
import type { JobRecord } from '../store/types.js';
import type { ApiDeps } from './deps.js';
import { parseQuery, parseWithNames, requestOrigin } from './requestContext.js';
import { jobView, readBeforeAnyDelete } from './views.js';
import { requiredString } from '../schemas/requiredString.js';
import { noNul } from '../schemas/dbText.js';

// The id is looked up as text: a NUL was a 500 on PostgreSQL only (dbText.ts), so it is refused on both.
const PromoteBody = z.strictObject({ candidate_id: noNul(requiredString('the candidate to serve').min(1, 'must not be empty')) });
const ExportQuery = z.object({
  format: z.enum(EXPORT_FORMATS, { error: `must be one of: ${EXPORT_FORMATS.join(', ')}` }).default('json'),
  candidate_id: z.string().min(1).optional(),
});

/**
 * After the optimization: promote a candidate (or roll back to the baseline) and export a program
 * exactly as the proxy renders it. Under the jobs paths and the sessions paths alike.
 */
export function registerLifecycleRoutes(app: FastifyInstance, deps: ApiDeps): void {
  const bases: { base: string; load: (tenantId: string, id: string) => Promise<JobRecord> }[] = [
    ...['/api/policy-optimization/online/jobs', '/api/prompt-learning/online/jobs'].map((base) => ({ base, load: (t: string, id: string) => deps.jobs.get(t, id) })),
    ...['/api/v1/online/sessions', '/api/v2/online/sessions'].map((base) => ({ base, load: (t: string, id: string) => deps.jobs.getBySystemOrJobId(t, id) })),
  ];
  for (const { base, load } of bases) {
    app.post<{ Params: { id: string } }>(`${base}/:id/promote`, async (req) => {
      const principal = await deps.authenticate(req);
      const body = await parseWithNames(PromoteBody, req.body, async (raw) => {
        if (typeof raw.candidate_id !== 'string' || raw.candidate_id === '' || raw.candidate_id.includes('\0')) return [];
        const job = await load(principal.tenantId, req.params.id);
        return (await deps.store.getCandidate(job.id, raw.candidate_id)) ? [] : [{ path: 'candidate_id', message: UNKNOWN_CANDIDATE }];
      });
      const job = await deps.jobs.promote(await load(principal.tenantId, req.params.id), body.candidate_id);
      return jobView(deps, job, requestOrigin(req, deps.config.publicUrl));
    });

    app.get<{ Params: { id: string } }>(`${base}/:id/export`, async (req) => {
      const principal = await deps.authenticate(req);
      // Closed, as the list routes' queries: a typo (`?candidate=cand_x`, the CLI flag's spelling, or
      // `?fromat=dspy`) exported the default program as a 200, another program than the one asked for.
      const q = parseQuery(ExportQuery, req.query);
      const job = await load(principal.tenantId, req.params.id);
      const [candidates, modules, missing, seedCells] = await Promise.all([
        deps.store.listCandidates(job.id), deps.store.listModules(job.id), deps.jobs.missingRewards(job.id), deps.store.onlineSeedCells(job.id),
      ]);
      await readBeforeAnyDelete(deps.store, job);
      // Default: what the job serves once it ended, else its current champion.
      const id = q.candidate_id ?? servedCandidateId(job) ?? championOf(job, candidates, missing, seedCells) ?? 'baseline';
      const candidate = candidates.find((c) => c.id === id);
      if (!candidate) throw new NotFoundError(`candidate ${id} not found in job ${job.id}`, [{ path: 'candidate_id', message: 'no candidate with this id in this job' }]);
      return exportProgram(job, modules, candidate, q.format);
    });
  }
}
