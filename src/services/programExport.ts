import { moduleInstruction } from '../optimizer/core/program.js';
import { modulePlaceholders } from '../optimizer/core/modules.js';
import { type Demo, demoProblem, demoView, withDemoTurns } from '../optimizer/core/demos.js';
import { servedCandidateId } from '../optimizer/runner/guardWatch.js';
import { dspyProgramState } from './dspyExport.js';
import type { CandidateRecord, JobRecord, ModuleRecord } from '../store/types.js';

export const EXPORT_FORMATS = ['json', 'messages', 'dspy'] as const;
export type ExportFormat = (typeof EXPORT_FORMATS)[number];

/**
 * A candidate program as the proxy renders it, for use outside miprox (SPEC.md, "getting the result
 * out"). Each module's text is the template the proxy fills with the call's variables before sending
 * it as the system message; rendering it with the same variables gives the same bytes.
 *
 * - `json`: per module its template (this candidate's text), placeholders and whether this candidate
 *   changed it, plus the policy settings the proxy forces.
 * - `messages`: per module the chat messages the proxy puts before the app's own conversation: the
 *   system text, then the demos as user/assistant turns (a demo's variables in its first user turn).
 * - `dspy`: a DSPy program state (dspyExport.ts), loadable with `program.load(path)`.
 */
export function exportProgram(job: JobRecord, modules: readonly ModuleRecord[], candidate: CandidateRecord, format: ExportFormat) {
  const texts = modules.map((m) => ({ module: m, text: moduleInstruction(candidate.instructions, m) }));
  const head = {
    job_id: job.id,
    candidate_id: candidate.id,
    format,
    served: servedCandidateId(job) === candidate.id,
  };
  const demosOf = (m: ModuleRecord) => candidate.demos[m.name] ?? [];
  if (format === 'messages') {
    // The same rendering the proxy uses: system text, then the demo turns, then the app's conversation.
    // An empty text (a module of calls without a system message) adds no system message (injectCandidate).
    return {
      ...head,
      modules: Object.fromEntries(texts.map(({ module, text }) => [module.name,
        withDemoTurns<{ role: string; content: string }>(text === '' ? [] : [{ role: 'system', content: text }], demosOf(module), (t) => ({ ...t }))])),
    };
  }
  const { model, provider, temperature, max_completion_tokens: maxTokens } = job.config.policy;
  const policy = { model, provider, temperature, max_completion_tokens: maxTokens };
  if (format === 'dspy') {
    const modules = texts.map(({ module, text }) => ({ name: module.name, text, placeholders: modulePlaceholders(module, text), demos: demosOf(module) }));
    return dspyProgramState(modules, { ...head, policy });
  }
  return {
    ...head,
    policy,
    modules: texts.map(({ module, text }) => ({
      name: module.name,
      template: text,
      placeholders: modulePlaceholders(module, text),
      baseline_template: module.template,
      // Against the baseline, which has no demos: a module given demos alone is changed too.
      changed: text !== module.template || demosOf(module).length > 0,
      ...importableDemos(demosOf(module)),
    })),
  };
}

/**
 * A module's demos as `json` gives them: those a warm start takes back (the rules miprox collects
 * demos under today, core/demos.ts `demoProblem`), in the view's shape (a templated module's demos add
 * the `variables` they were answered under). A demo an older release collected that breaks them (an
 * empty turn, an input not ending on a user turn) would make the whole import a 422, and taken into a
 * new job would carry its defect there (an empty block some providers refuse, two assistant turns in
 * a row): it is left out, and `demos_left_out` says which and why. The candidate keeps it, and the
 * proxy and `messages` still send it as before.
 */
function importableDemos(demos: readonly Demo[]): { demos: ReturnType<typeof demoView>[]; demos_left_out?: { index: number; rollout_id: string; reason: string }[] } {
  const kept: ReturnType<typeof demoView>[] = [];
  const leftOut: { index: number; rollout_id: string; reason: string }[] = [];
  demos.forEach((d, index) => {
    const reason = demoProblem(d.input, d.output);
    if (reason === null) kept.push(demoView(d));
    else leftOut.push({ index, rollout_id: d.rolloutId, reason });
  });
  return leftOut.length === 0 ? { demos: kept } : { demos: kept, demos_left_out: leftOut };
}
