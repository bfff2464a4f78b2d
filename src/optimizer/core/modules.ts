import { literalTemplate, matchTemplate, parseTemplate, placeholderNames, renderKeepingUnknown, variableValue, type ParsedTemplate } from './templates.js';
import { wellFormed } from './text.js';

/**
 * A program's modules and which module a call belongs to. Pure.
 *
 * Order of the rules (SPEC.md, "Programs"): a module named by the caller (header or body field);
 * else the call's system text matched against each module's baseline template, the most specific
 * match winning; a call with no system text at all belongs to a one-module program's module (the
 * public API's one-prompt form, where the proxy adds the system message); else, while the job
 * discovers its modules, the text becomes a new module; else the call belongs to no module and
 * passes through untouched.
 */

export const MODULE_NAME_PATTERN = /^[a-z0-9_-]{1,64}$/;
export const MAX_MODULES = 16;

export interface ProgramModule {
  name: string;
  /** The baseline template: the prompt as the application sends it. */
  template: string;
  /**
   * `discovered` modules are literal texts seen in traffic (braces in them are text, not
   * placeholders); `declared` ones are templates.
   */
  origin?: 'declared' | 'discovered';
}

/** A module with its template parsed once (the runtime keeps these per job). */
export interface CompiledModule extends ProgramModule {
  parsed: ParsedTemplate;
}

/**
 * The placeholders of one of the module's texts, in order of first appearance: those the proxy fills,
 * which are the template's. None in a discovered module's (its braces are text). A `{word}` the
 * template lacks is text too: an earlier release let proposals add one and sent it literally, and the
 * proxy still does (proxy/programRouting.ts `candidateText`), so an export must not call it a
 * placeholder (nor make it a DSPy input field, which DSPy would apply by position to another field).
 */
export function modulePlaceholders(module: ProgramModule, text: string): string[] {
  if (module.origin === 'discovered') return [];
  const names = placeholderNames(text);
  if (text === module.template) return names;
  const filled = new Set(placeholderNames(module.template));
  return names.filter((n) => filled.has(n));
}

export function compileModules<M extends ProgramModule>(modules: readonly M[]): (M & { parsed: ParsedTemplate })[] {
  return modules.map((m) => ({ ...m, parsed: m.origin === 'discovered' ? literalTemplate(m.template) : parseTemplate(m.template) }));
}

export interface CallIdentity {
  /** From `x-mipro-module` or the body's `mipro.module`. */
  named: string | null;
  /** The call's system text; null when the call has none. */
  systemText: string | null;
}

export type ModuleAssignment =
  /**
   * The call belongs to `module`; `captures` are the placeholders' values read from its text.
   * `textUnmatched`: the call named the module, and its system text does not match the template.
   */
  | { kind: 'module'; module: CompiledModule; captures: Record<string, string>; textUnmatched?: true }
  /** A new module should be created for this call (discovery). `name` when the caller named it. */
  | { kind: 'discover'; name: string | null; template: string }
  /** The caller named a module that does not exist and cannot be created. */
  | { kind: 'unknown_name'; name: string }
  /** No module: the call passes through byte-identical. */
  | { kind: 'unmatched' };

export interface AssignmentPolicy {
  /** True while the job discovers modules (it declared none) and is below its module cap. */
  canDiscover: boolean;
}

/**
 * Longest module template, declared or discovered: a template is copied into every view of the job
 * and every candidate's program. A longer system text is never discovered; its call passes through.
 */
export const MAX_TEMPLATE_CHARS = 100_000;

export function assignModule(modules: readonly CompiledModule[], call: CallIdentity, policy: AssignmentPolicy): ModuleAssignment {
  const text = call.systemText ?? '';
  const canDiscover = policy.canDiscover && text.length <= MAX_TEMPLATE_CHARS;
  if (call.named !== null) {
    const named = modules.find((m) => m.name === call.named);
    if (!named && policy.canDiscover && !canDiscover) return { kind: 'unmatched' };
    if (!named) return canDiscover ? { kind: 'discover', name: call.named, template: text } : { kind: 'unknown_name', name: call.named };
    const captures = matchTemplate(named.parsed, text);
    // A discovered module is one exact text: another text under its name is another prompt (it may
    // carry another request's data), so it is not given this module's candidates.
    if (!captures && named.parsed.literal) return { kind: 'unmatched' };
    return { kind: 'module', module: named, captures: captures ?? {}, ...(captures === null && call.systemText !== null ? { textUnmatched: true as const } : {}) };
  }
  if (call.systemText === null) return withoutSystemText(modules, policy);
  const best = mostSpecificMatch(modules, text);
  if (best) return { kind: 'module', ...best };
  return canDiscover ? { kind: 'discover', name: null, template: text } : { kind: 'unmatched' };
}

/**
 * A call with no system message: templates are not matched against it (a bare `{x}` would take every
 * such call). A module whose template is empty (declared so, or discovered from such calls) takes
 * it; a program of one declared module takes it too, the public API's one-prompt form, where the
 * proxy adds the system message.
 */
function withoutSystemText(modules: readonly CompiledModule[], policy: AssignmentPolicy): ModuleAssignment {
  const empty = modules.find((m) => m.template === '');
  if (empty) return { kind: 'module', module: empty, captures: {} };
  const only = modules.length === 1 ? modules[0] : undefined;
  if (only && !only.parsed.literal) return { kind: 'module', module: only, captures: {} };
  return policy.canDiscover ? { kind: 'discover', name: null, template: '' } : { kind: 'unmatched' };
}

/** More literal text wins; then fewer placeholders; then declaration order. */
function mostSpecificMatch(modules: readonly CompiledModule[], text: string): { module: CompiledModule; captures: Record<string, string> } | null {
  let best: { module: CompiledModule; captures: Record<string, string> } | null = null;
  for (const m of modules) {
    // Cheap rejections first: a literal-only template must be the text itself.
    if (m.parsed.literalLength > text.length) continue;
    if (best && !moreSpecific(m.parsed, best.module.parsed)) continue;
    const captures = matchTemplate(m.parsed, text);
    if (captures) best = { module: m, captures };
  }
  return best;
}

function moreSpecific(a: ParsedTemplate, b: ParsedTemplate): boolean {
  if (a.literalLength !== b.literalLength) return a.literalLength > b.literalLength;
  return a.names.length < b.names.length;
}

/** The name a discovered module gets: `m1`, `m2`, ... the first unused. */
export function discoveredModuleName(existing: readonly { name: string }[]): string {
  const taken = new Set(existing.map((m) => m.name));
  for (let i = 1; ; i++) if (!taken.has(`m${i}`)) return `m${i}`;
}

/**
 * Variables for rendering: for each placeholder of the template (`names`), the capture of the match,
 * overridden by explicit `mipro.variables`. Nothing else: other keys render nothing (a candidate cannot
 * add a placeholder), so the call record keeps only what the model saw. Values are made well-formed
 * (text.ts `wellFormed`): context cut mid-emoji by the app renders, and is stored, alike on both databases.
 */
export function mergeVariables(names: readonly string[], captures: Readonly<Record<string, string>>, explicit: Readonly<Record<string, string>> | undefined): Record<string, string> {
  const out: Record<string, string> = {};
  for (const name of names) {
    const value = (explicit && variableValue(explicit, name)) ?? variableValue(captures, name);
    if (value !== undefined) defineVariable(out, name, wellFormed(value));
  }
  return out;
}

/** Sets a variable: defined, not assigned, since a placeholder may be named like an Object member (`{__proto__}`). */
export function defineVariable(variables: Record<string, string>, name: string, value: string): void {
  Object.defineProperty(variables, name, { value, enumerable: true, writable: true, configurable: true });
}

/** A candidate's `text` for `module` as parsed for rendering: the module's own parse when it is the template. */
export function parsedModuleText(module: CompiledModule, text: string): ParsedTemplate {
  return text === module.template ? module.parsed : parseTemplate(text);
}

/**
 * A candidate's text for `module` rendered with a call's variables, as the proxy sends it (and the
 * rollout view shows it): a discovered module's text as it is; otherwise the module's placeholders
 * filled, and any other `{word}` of an older candidate's text left literal, as the release that
 * wrote it sent it.
 */
export function renderModuleText(module: CompiledModule, text: string, variables: Readonly<Record<string, string>>): string {
  return module.parsed.literal ? text : renderKeepingUnknown(parsedModuleText(module, text), variables);
}
