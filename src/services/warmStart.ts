import { instructionProblem } from '../optimizer/core/proposalParser.js';
import { moduleInstruction, withModuleInstruction } from '../optimizer/core/program.js';
import { BASELINE_ID, newCandidateId } from '../shared/ids.js';
import { ConflictError, ValidationError } from '../shared/errors.js';
import type { CandidateRecord, JobRecord, ModuleRecord, NewCandidate, Store } from '../store/types.js';
import { isFinal } from './jobLifecycle.js';

/**
 * Warm start (SPEC.md, "After a job ends"): a prompt the user already has becomes a candidate. It is
 * the baseline program with one module's instruction replaced, follows the rules proposals follow,
 * counts toward `online_proposer_max_candidates`, and enters the nursery like a proposal's child.
 *
 * `instructions` (an extension of SPEC.md's `{module, instruction}`): a whole program, `{module: text}`,
 * e.g. the best program a finished job exported, to go on from it in a new job. Modules left out,
 * or given their baseline text, keep the baseline's; each changed text follows the same rules; the
 * program as a whole must be new. Changing several modules, it names none as its `module` (module
 * choice learns only from single-module changes, whose lift says which module moved the reward).
 */
export interface WarmStartRequest { module?: string | undefined; instruction?: string | undefined; instructions?: Record<string, string> | undefined }

export async function addHandWrittenCandidate(store: Store, job: JobRecord, req: WarmStartRequest): Promise<CandidateRecord> {
  if (isFinal(job.status)) throw new ConflictError(`job ${job.id} is ${job.status}: it takes no new candidates`);
  const max = job.config.mipro.online_proposer_max_candidates;
  const modules = await store.listModules(job.id);
  // Checked on the candidates read, and written only if they are still all there are (the same import
  // sent twice at once, on any instance, must not make two copies): else read and check again.
  for (let attempt = 0; attempt < MAX_ATTEMPTS; attempt++) {
    const candidates = await store.listCandidates(job.id);
    if (candidates.length >= max) break;
    const created = await store.addCandidate(job.id, checkedCandidate(modules, req, candidates), max, candidates.length);
    if (created) return created;
  }
  const count = (await store.listCandidates(job.id)).length;
  if (count >= max) throw new ConflictError(`job ${job.id} already has online_proposer_max_candidates (${max}) candidates`);
  throw new ConflictError(`job ${job.id}: candidates were added meanwhile ${MAX_ATTEMPTS} times in a row; retry`);
}

const MAX_ATTEMPTS = 5;

/** The new candidate, or the 422 saying why the request cannot be one, against `candidates`. */
function checkedCandidate(modules: readonly ModuleRecord[], req: WarmStartRequest, candidates: readonly CandidateRecord[]): NewCandidate {
  const baseline = candidates.find((c) => c.id === BASELINE_ID);
  const texts = req.instructions === undefined ? oneModule(modules, req) : req.instructions;
  const field = (name: string) => (req.instructions === undefined ? 'instruction' : `instructions.${name}`);
  const changed: { module: ModuleRecord; text: string }[] = [];
  for (const [name, text] of Object.entries(texts)) {
    const module = modules.find((m) => m.name === name);
    if (!module) throw new ValidationError(`unknown module "${name}"`, [{ path: req.instructions === undefined ? 'module' : `instructions.${name}`, message: `is not a module of this job (modules: ${moduleList(modules)})` }]);
    if (req.instructions !== undefined && text === moduleInstruction(baseline?.instructions ?? {}, module)) continue; // unchanged
    // One module: not a text any candidate already has for it. A program: the whole program is compared below.
    const existing = req.instructions === undefined ? candidates.map((c) => moduleInstruction(c.instructions, module)) : [module.template];
    const problem = instructionProblem(text, { baseline: module.template, existing, literal: module.origin === 'discovered' });
    if (problem) throw new ValidationError(`instruction refused: ${problem}`, [{ path: field(name), message: problem }]);
    changed.push({ module, text });
  }
  if (changed.length === 0) throw new ValidationError('the program changes no module', [{ path: 'instructions', message: 'must change at least one module (this is the baseline program)' }]);
  const program = changed.reduce((p, c) => withModuleInstruction(p, c.module.name, c.text), baseline?.instructions ?? {});
  const same = candidates.find((c) => modules.every((m) => moduleInstruction(c.instructions, m) === moduleInstruction(program, m)));
  if (same) throw new ValidationError('the same program exists', [{ path: 'instructions', message: `is the program of candidate ${same.id}` }]);
  const single = changed.length === 1 ? changed[0]!.module.name : null;
  return { id: newCandidateId(), parentId: BASELINE_ID, instruction: changed[0]!.text, module: single, instructions: program, tip: null, proposalId: null };
}

/** SPEC.md's form: `{module, instruction}`; `module` may be left out in a job of one module. */
function oneModule(modules: readonly ModuleRecord[], req: WarmStartRequest): Record<string, string> {
  const name = req.module ?? (modules.length === 1 ? modules[0]?.name : undefined);
  if (name === undefined) {
    const why = modules.length === 0
      ? 'the job has no module yet (it discovers its modules from the calls it sees, and has seen none)'
      : `the job has several modules (${moduleList(modules)})`;
    throw new ValidationError('say which module the instruction is for', [{ path: 'module', message: `is required: ${why}` }]);
  }
  return { [name]: req.instruction ?? '' };
}

const moduleList = (modules: readonly ModuleRecord[]): string => modules.map((m) => m.name).join(', ') || '(none yet: the job has not seen a call)';
