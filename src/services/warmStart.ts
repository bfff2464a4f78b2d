import { createHash } from 'node:crypto';
import { nameList } from '../shared/nameList.js';
import { type Demo, type DemoTurn, MAX_DEMO_SET_CHARS, demoChars, demoKey, demoLengthProblem, demoShapeProblem, variablesProblem } from '../optimizer/core/demos.js';
import { modulePlaceholders } from '../optimizer/core/modules.js';
import { instructionProblem } from '../optimizer/core/proposalParser.js';
import { normalizeInstruction } from '../optimizer/core/text.js';
import { moduleInstruction, withModuleInstruction } from '../optimizer/core/program.js';
import { BASELINE_ID, newCandidateId } from '../shared/ids.js';
import { ConflictError, type FieldProblem, ValidationError } from '../shared/errors.js';
import type { CandidateRecord, JobRecord, JobStatus, ModuleRecord, NewCandidate, Store } from '../store/types.js';
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
 * `demos` (also an extension) gives modules their demo sets, beside either form or alone.
 */
export interface DemoImport {
  input: DemoTurn[];
  output: string;
  rollout_id?: string | null | undefined;
  /** A templated module's demo: the value of each of its template's placeholders, no other. */
  variables?: Record<string, string> | undefined;
}

export interface WarmStartRequest {
  module?: string | undefined;
  instruction?: string | undefined;
  instructions?: Record<string, string> | undefined;
  /**
   * Demos per module (an extension of SPEC.md), e.g. those of an exported program: the candidate's
   * demo set for each module named, in order; the baseline has none. At most `max_demos` per module.
   */
  demos?: Record<string, DemoImport[]> | undefined;
}

export async function addHandWrittenCandidate(store: Store, job: JobRecord, req: WarmStartRequest): Promise<CandidateRecord> {
  const ended = (status: JobStatus) => new ConflictError(`job ${job.id} is ${status}: it takes no new candidates`);
  if (isFinal(job.status)) throw ended(job.status);
  const max = job.config.mipro.online_proposer_max_candidates;
  const modules = await store.listModules(job.id);
  // Checked on the candidates read, and written only if they are still all there are (the same import
  // sent twice at once, on any instance, must not make two copies): else read and check again.
  for (let attempt = 0; attempt < MAX_ATTEMPTS; attempt++) {
    const candidates = await store.listCandidates(job.id);
    // The request is checked first: a body that is wrong anyway says why, also on a full job.
    const candidate = checkedCandidate(job, modules, req, candidates);
    if (candidates.length >= max) break;
    const created = await store.addCandidate(job.id, candidate, max, candidates.length);
    if (created) return created;
    // Refused under the job's lock: the job may have ended since `job` was read (a cancel racing this request).
    const current = await store.getJob(job.id);
    if (current && isFinal(current.status)) throw ended(current.status);
  }
  const count = (await store.listCandidates(job.id)).length;
  if (count >= max) throw new ConflictError(`job ${job.id} already has online_proposer_max_candidates (${max}) candidates`);
  throw new ConflictError(`job ${job.id}: candidates were added meanwhile ${MAX_ATTEMPTS} times in a row; retry`);
}

const MAX_ATTEMPTS = 5;

/** The new candidate, or the 422 saying why the request cannot be one, against `candidates`. */
function checkedCandidate(job: JobRecord, modules: readonly ModuleRecord[], req: WarmStartRequest, candidates: readonly CandidateRecord[]): NewCandidate {
  const baseline = candidates.find((c) => c.id === BASELINE_ID);
  const texts = req.instructions !== undefined ? req.instructions : req.instruction !== undefined ? oneModule(modules, req) : {};
  const field = (name: string) => (req.instructions === undefined ? 'instruction' : `instructions.${name}`);
  const changed: { module: ModuleRecord; text: string }[] = [];
  const withDemos = Object.entries(req.demos ?? {}).filter(([, list]) => list.length > 0).map(([name]) => name);
  // Every module's problem is listed at once (a program may have several), each under its own path.
  const problems: { summary: string; field: FieldProblem }[] = [];
  for (const [name, text] of Object.entries(texts)) {
    const module = modules.find((m) => m.name === name);
    if (!module) {
      problems.push({ summary: `unknown module "${name}"`, field: { path: req.instructions === undefined ? 'module' : `instructions.${name}`, message: `is not a module of this job (modules: ${moduleList(modules)})` } });
      continue;
    }
    // Unchanged: the baseline's text in a program, or beside demos that make the module new; also a
    // copy differing only in case, punctuation or spacing, which the proposals' rules call a duplicate
    // (another job's untouched template may differ so).
    const unchanged = normalizeInstruction(text) === normalizeInstruction(moduleInstruction(baseline?.instructions ?? {}, module));
    if ((req.instructions !== undefined || withDemos.includes(name)) && unchanged) continue;
    // One module alone: not a text any candidate already has for it. With demos or as a program: the
    // whole program is compared below.
    const existing = req.instructions === undefined && withDemos.length === 0 ? candidates.map((c) => moduleInstruction(c.instructions, module)) : [module.template];
    // A whole program is what an export gives (or what a user wrote the same way): a `{word}` its
    // module's template lacks is text there, as the export and the proxy treat it (an earlier release
    // let proposals add one, and its candidates send it as written). One instruction typed by hand
    // keeps the refusal: a `{word}` in it is most likely meant as a placeholder nothing would fill.
    const problem = instructionProblem(text, { baseline: module.template, existing, literal: module.origin === 'discovered', addedAreText: req.instructions !== undefined });
    if (problem) problems.push({ summary: `instruction refused: ${problem}`, field: { path: field(name), message: withOwner(problem, text, module, candidates) } });
    else changed.push({ module, text });
  }
  if (problems.length > 0) {
    const more = problems.length > 1 ? ` (and ${problems.length - 1} more)` : '';
    throw new ValidationError(`${problems[0]!.summary}${more}`, problems.map((p) => p.field));
  }
  const demos = importedDemos(job, modules, req.demos ?? {});
  const touched = [...new Set([...changed.map((c) => c.module.name), ...Object.keys(demos)])];
  if (touched.length === 0) throw new ValidationError('the program changes no module', [{ path: req.demos !== undefined && changed.length === 0 ? 'demos' : 'instructions', message: 'must change at least one module (this is the baseline program)' }]);
  const program = changed.reduce((p, c) => withModuleInstruction(p, c.module.name, c.text), baseline?.instructions ?? {});
  // Compared as the proposals' duplicate rule compares texts (case, punctuation and spacing aside):
  // a near-copy of a program would take a candidate slot to measure the same thing again.
  const same = candidates.find((c) => modules.every((m) => normalizeInstruction(moduleInstruction(c.instructions, m)) === normalizeInstruction(moduleInstruction(program, m))
    && demoSetKey(c.demos[m.name] ?? []) === demoSetKey(demos[m.name] ?? [])));
  if (same) {
    const path = req.instructions !== undefined ? 'instructions' : req.instruction !== undefined ? 'instruction' : 'demos';
    throw new ValidationError('the same program exists', [{ path, message: `is the program of candidate ${same.id}` }]);
  }
  const single = touched.length === 1 ? touched[0]! : null;
  // In the program's module order, as changed_modules lists them: the body's key order is no
  // meaning of the client's, and a CLI row read 'extract,answer' beside answer's text.
  const firstChanged = modules.map((m) => changed.find((c) => c.module === m)).find((c) => c !== undefined);
  const instruction = firstChanged?.text ?? moduleInstruction(program, modules.find((m) => touched.includes(m.name))!);
  return { id: newCandidateId(), parentId: BASELINE_ID, instruction, module: single, instructions: program, demos, tip: null, proposalId: null };
}

/** A duplicate names the candidate whose text it repeats (the rules compare texts as normalizeInstruction does). */
function withOwner(problem: string, text: string, module: ModuleRecord, candidates: readonly CandidateRecord[]): string {
  if (!problem.startsWith('duplicate')) return problem;
  const owner = candidates.find((c) => normalizeInstruction(moduleInstruction(c.instructions, module)) === normalizeInstruction(text));
  return owner ? `${problem}: candidate ${owner.id}'s text for module ${module.name}` : problem;
}

/**
 * The demo sets a request imports, checked: each module named exists, at most the job's `max_demos`
 * demos, each following the rules of the demos miprox collects itself (core/demos.ts `demoProblem`,
 * `variablesProblem`). A demo of a module whose template has placeholders must carry `variables`,
 * exactly those placeholders: without them it would be shown under another call's values, the
 * defect templated demos carry their values to avoid. A plain module's demo carries none.
 * An imported demo's id is a hash of its content (`import:...`): it came from no rollout of this job.
 * An empty list is no demos (the baseline's) and changes nothing.
 */
function importedDemos(job: JobRecord, modules: readonly ModuleRecord[], sets: Record<string, DemoImport[]>): Record<string, Demo[]> {
  const max = job.config.mipro.max_demos;
  const out: Record<string, Demo[]> = {};
  for (const [name, list] of Object.entries(sets)) {
    const module = modules.find((m) => m.name === name);
    if (!module) {
      throw new ValidationError(`unknown module "${name}"`, [{ path: `demos.${name}`, message: `is not a module of this job (modules: ${moduleList(modules)})` }]);
    }
    if (list.length > max) throw new ValidationError('too many demos', [{ path: `demos.${name}`, message: `holds ${list.length} demos: this job's mipro.max_demos is ${max}` }]);
    const placeholders = modulePlaceholders(module, module.template);
    const demos: Demo[] = [];
    list.forEach((sent, i) => {
      const path = `demos.${name}.${i}`;
      // demoProblem's rules; a length over the cap names its field (input or output) and the count.
      const shape = demoShapeProblem(sent.input, sent.output);
      if (shape) throw new ValidationError('demo refused', [{ path, message: shape }]);
      const long = demoLengthProblem(sent.input, sent.output);
      if (long) throw new ValidationError('demo refused', [{ path: `${path}.${long.field}`, message: long.message }]);
      const d = importedDemo(sent, module, placeholders, path);
      // The same input twice would be injected twice (the pool keeps one demo per input, too).
      const first = demos.findIndex((e) => demoKey(e) === demoKey(d));
      if (first >= 0) throw new ValidationError('demo refused', [{ path, message: `repeats the input of demo ${first}${d.variables ? ' under the same variables' : ''}` }]);
      demos.push(d);
    });
    const chars = demos.reduce((n, d) => n + demoChars(d), 0);
    if (chars > MAX_DEMO_SET_CHARS) {
      throw new ValidationError('demo set too large', [{ path: `demos.${name}`, message: `holds ${chars} characters of demos (inputs, answers and variables): at most ${MAX_DEMO_SET_CHARS}, since every call of the candidate carries them` }]);
    }
    if (demos.length > 0) out[name] = demos;
  }
  return out;
}

/** One imported demo with its variables checked against the module's placeholders, in their order. */
function importedDemo(d: DemoImport, module: ModuleRecord, placeholders: readonly string[], path: string): Demo {
  const input = d.input.map((t) => ({ role: t.role, content: t.content }));
  const sent = d.variables ?? {};
  const refuse = (at: string, message: string) => new ValidationError('demo refused', [{ path: at, message }]);
  const listed = nameList(placeholders.map((p) => `{${p}}`));
  const names = `module "${module.name}"'s placeholders: ${listed || 'none'}`;
  if (placeholders.length > 0 && d.variables === undefined) {
    throw refuse(`${path}.variables`, `is required: ${names}; a demo carries the values its answer was written under, or it would be shown under another call's (an export from before demos carried them: import its instructions alone, add-candidate --program FILE --no-demos)`);
  }
  const stray = Object.keys(sent).find((n) => !placeholders.includes(n));
  if (stray !== undefined) throw refuse(`${path}.variables.${stray}`, `is not a placeholder of the module's template (${names})`);
  const missing = placeholders.find((n) => !Object.hasOwn(sent, n));
  if (missing !== undefined) throw refuse(`${path}.variables.${missing}`, `is required: every placeholder of the module's template needs its value (${names})`);
  if (placeholders.length === 0) {
    // Content-addressed as before demos carried variables: an import sent again is the same demo.
    return { input, output: d.output, rolloutId: importId([input, d.output]) };
  }
  // Template order whatever order they were sent in: that is the order they are shown in.
  const variables = Object.fromEntries(placeholders.map((n) => [n, sent[n]!]));
  const problem = variablesProblem(variables);
  if (problem) throw refuse(`${path}.variables`, problem);
  return { input, output: d.output, rolloutId: importId([input, d.output, variables]), variables };
}

const importId = (content: unknown): string => `import:${createHash('sha256').update(JSON.stringify(content)).digest('hex').slice(0, 16)}`;

/** A demo set by content (its turns and answers in order): two imports of the same demos are one set. */
const demoSetKey = (demos: readonly Demo[]): string => JSON.stringify(demos.map((d) => [demoKey(d), d.output]));

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

/**
 * The module names a raw request gives (`module`, the keys of `instructions` and `demos`) that are no
 * module of the job, with the paths and words checkedCandidate and importedDemos use: listed beside
 * the schema's problems when the body is refused anyway (candidateRoutes.ts), so one 422 names them all.
 */
export function unknownModuleProblems(raw: Record<string, unknown>, modules: readonly ModuleRecord[]): FieldProblem[] {
  const known = (name: string) => modules.some((m) => m.name === name);
  const keys = (v: unknown) => (typeof v === 'object' && v !== null && !Array.isArray(v) ? Object.keys(v) : []);
  const message = `is not a module of this job (modules: ${moduleList(modules)})`;
  return [
    ...(typeof raw.module === 'string' && !known(raw.module) ? [{ path: 'module', message }] : []),
    ...keys(raw.instructions).filter((n) => !known(n)).map((n) => ({ path: `instructions.${n}`, message })),
    ...keys(raw.demos).filter((n) => !known(n)).map((n) => ({ path: `demos.${n}`, message })),
  ];
}

const moduleList = (modules: readonly ModuleRecord[]): string => modules.map((m) => m.name).join(', ') || '(none yet: the job has not seen a call)';
