import { instructionProblem } from '../optimizer/core/proposalParser.js';
import { moduleInstruction, withModuleInstruction } from '../optimizer/core/program.js';
import { BASELINE_ID, newCandidateId } from '../shared/ids.js';
import { ConflictError, ValidationError } from '../shared/errors.js';
import type { CandidateRecord, JobRecord, Store } from '../store/types.js';
import { isFinal } from './jobLifecycle.js';

/**
 * Warm start (SPEC.md, "After a job ends"): a prompt the user already has becomes a candidate. It is
 * the baseline program with one module's instruction replaced, follows the rules proposals follow,
 * counts toward `online_proposer_max_candidates`, and enters the nursery like a proposal's child.
 */
export async function addHandWrittenCandidate(store: Store, job: JobRecord, req: { module?: string | undefined; instruction: string }): Promise<CandidateRecord> {
  if (isFinal(job.status)) throw new ConflictError(`job ${job.id} is ${job.status}: it takes no new candidates`);
  const modules = await store.listModules(job.id);
  const name = req.module ?? (modules.length === 1 ? modules[0]?.name : undefined);
  const module = modules.find((m) => m.name === name);
  if (!module) {
    const known = modules.map((m) => m.name).join(', ') || '(none yet: the job has not seen a call)';
    throw new ValidationError(req.module === undefined ? 'say which module the instruction is for' : `unknown module "${req.module}"`, [{
      path: 'module', message: req.module === undefined ? `is required: the job has several modules (${known})` : `is not a module of this job (modules: ${known})`,
    }]);
  }
  const candidates = await store.listCandidates(job.id);
  const problem = instructionProblem(req.instruction, {
    baseline: module.template, existing: candidates.map((c) => moduleInstruction(c.instructions, module)), literal: module.origin === 'discovered',
  });
  if (problem) throw new ValidationError(`instruction refused: ${problem}`, [{ path: 'instruction', message: problem }]);
  const baseline = candidates.find((c) => c.id === BASELINE_ID);
  const created = await store.addCandidate(job.id, {
    id: newCandidateId(), parentId: BASELINE_ID, instruction: req.instruction, module: module.name,
    instructions: withModuleInstruction(baseline?.instructions ?? {}, module.name, req.instruction), tip: null, proposalId: null,
  }, job.config.mipro.online_proposer_max_candidates);
  if (!created) throw new ConflictError(`job ${job.id} already has online_proposer_max_candidates (${job.config.mipro.online_proposer_max_candidates}) candidates`);
  return created;
}
