import type { ProgramModule } from './modules.js';

/**
 * A candidate is a whole program: one instruction per module. It stores only the modules it sets;
 * every other module keeps its baseline template (so a module discovered after the candidate was
 * written is the app's own prompt in every candidate). Pure.
 */

export type Instructions = Readonly<Record<string, string>>;

/** The candidate's text for one module. */
export function moduleInstruction(instructions: Instructions, module: ProgramModule): string {
  return Object.hasOwn(instructions, module.name) ? (instructions[module.name] ?? module.template) : module.template;
}

/** The candidate's whole program, module by module in the given order. */
export function programOf(instructions: Instructions, modules: readonly ProgramModule[]): Record<string, string> {
  return Object.fromEntries(modules.map((m) => [m.name, moduleInstruction(instructions, m)]));
}

/** A child program: the parent's with one module's instruction replaced. */
export function withModuleInstruction(parent: Instructions, module: string, instruction: string): Record<string, string> {
  return { ...parent, [module]: instruction };
}

/**
 * The modules a candidate changed itself: its `module` (a proposal or a one-module warm start), or,
 * for a whole program imported by hand (`module` null, parent the baseline), every module whose text
 * differs from the baseline's or that has demos (the baseline has none); none for the baseline (no parent).
 */
export function changedModules(
  c: { module: string | null; parentId: string | null; instructions: Instructions; demos: Readonly<Record<string, readonly unknown[]>> },
  modules: readonly ProgramModule[],
): string[] {
  if (c.module !== null) return [c.module];
  if (c.parentId === null) return [];
  return modules.filter((m) => moduleInstruction(c.instructions, m) !== m.template || (c.demos[m.name]?.length ?? 0) > 0).map((m) => m.name);
}
