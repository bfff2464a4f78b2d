import type { CandidateView, JobView } from './types.js';

/** A job's program as the dashboard reads it (job.modules, candidate.instructions, candidate.module). */
export type ModuleView = JobView['modules'][number];

/**
 * Several modules make a program worth showing module by module. A one-module job (initial_prompt is
 * the module `main`) keeps the single-instruction layout it always had.
 */
export const isProgram = (job: Pick<JobView, 'modules'>): boolean => job.modules.length > 1;

/** The candidate's text for a module: its own, else the module's template (what the proxy serves). */
export function moduleText(c: Pick<CandidateView, 'instructions'>, m: Pick<ModuleView, 'name' | 'template'>): string {
  return Object.hasOwn(c.instructions, m.name) ? (c.instructions[m.name] ?? m.template) : m.template;
}

/** The text a proposal's diff compares: the changed module's, or the one instruction of a one-module job. */
export function changedText(c: Pick<CandidateView, 'instruction' | 'instructions'>, module: string | null): string {
  return module !== null && Object.hasOwn(c.instructions, module) ? (c.instructions[module] ?? c.instruction) : c.instruction;
}
