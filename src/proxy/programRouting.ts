import type { FastifyRequest } from 'fastify';
import { defineVariable, mergeVariables, renderModuleText, type CompiledModule, type ModuleAssignment } from '../optimizer/core/modules.js';
import { moduleInstruction, type Instructions } from '../optimizer/core/program.js';
import { placeholderNames, variableValue } from '../optimizer/core/templates.js';
import type { JobRuntime } from '../optimizer/runner/jobRuntime.js';
import type { OnlineEngine } from '../optimizer/runner/engine.js';
import { discoversModules } from '../optimizer/runner/moduleRouter.js';
import type { ChatCompletionRequest } from '../schemas/openai.js';
import { ModuleHeaderSchema } from '../schemas/miproCall.js';
import { optionalPlaceholders } from '../schemas/wildcards.js';
import { ValidationError } from '../shared/errors.js';
import { nameList } from '../shared/nameList.js';
import { systemText } from './injection.js';
import { wellFormed } from '../optimizer/core/text.js';

/**
 * Where a call goes in the job's program: its module with the variables to render, or none (pass
 * through). `overridden`: an explicit `mipro.variables` value replaced or supplied what the system
 * text gave for a placeholder, so the app's own text is not what the template gives with them.
 */
export type ProgramRoute = { module: CompiledModule; variables: Record<string, string>; overridden: boolean; textUnmatched: boolean; firstBlock: boolean } | { module: null };

/**
 * Assigns the call to a module (header, body field, template match, discovery) and checks that its
 * template can be rendered: a placeholder without a value is a 422 before anything is dispatched or
 * sent upstream, unless `initial_prompt.wildcards` declares it OPTIONAL (then it is ""). A call that
 * belongs to no module is reported once and passes through.
 */
export function routeToModule(p: { engine: OnlineEngine }, rt: JobRuntime, req: FastifyRequest, body: ChatCompletionRequest, firstBlock: string | null = null): ProgramRoute | Promise<ProgramRoute> {
  const named = namedModule(req, body);
  // Compared with stored texts (templates, discovered modules) in the form both databases store.
  const sent = systemText(body.messages);
  const text = sent === null ? null : wellFormed(sent);
  if (firstBlock !== null && text !== null) return routeByBlocks(p, rt, body, named, text, wellFormed(firstBlock));
  const assignment = p.engine.modules.resolve(rt, { named, systemText: text });
  // Synchronous unless a module is being discovered: a call of a known module costs no promise.
  return assignment instanceof Promise ? assignment.then((a) => routeAssigned(p, rt, body, named, text, a)) : routeAssigned(p, rt, body, named, text, assignment);
}

/**
 * A Messages call whose `system` is several text blocks (`joined`: their text joined by a blank line,
 * `first`: the first block). The joined text is matched first, as ever: an instruction split over
 * blocks, or a template with a placeholder for what follows the instruction, matches that way. Only
 * when it matches no module is the first block tried alone (an instruction block, then per-request
 * documents, Anthropic's prompt-caching layout): the call is then that module's, as a one-block call
 * with that text would be, and the other blocks are the client's own context (`firstBlock`: the
 * proxy splits the internal call so). A job that discovers modules discovers the first block: the
 * joined text of such a call changes with every request and would make each its own module.
 */
function routeByBlocks(p: { engine: OnlineEngine }, rt: JobRuntime, body: ChatCompletionRequest, named: string | null, joined: string, first: string): ProgramRoute | Promise<ProgramRoute> {
  const whole = p.engine.modules.match(rt, { named, systemText: joined });
  if (whole.kind === 'module' && whole.textUnmatched !== true) return routeAssigned(p, rt, body, named, joined, whole);
  const settle = (alone: ModuleAssignment): ProgramRoute => {
    if (alone.kind === 'module' && alone.textUnmatched !== true) return routeAssigned(p, rt, body, named, first, alone, true);
    // Neither text is the module's: as before this fallback existed. A module named by the call keeps
    // it (its template matched neither text); otherwise the joined text, what the client sent, is
    // the one reported unmatched.
    return routeAssigned(p, rt, body, named, joined, whole.kind === 'module' ? whole : alone);
  };
  const alone = p.engine.modules.resolve(rt, { named, systemText: first });
  return alone instanceof Promise ? alone.then(settle) : settle(alone);
}

function routeAssigned(p: { engine: OnlineEngine }, rt: JobRuntime, body: ChatCompletionRequest, named: string | null, text: string | null, assignment: ModuleAssignment, firstBlock = false): ProgramRoute {
  if (assignment.kind === 'unknown_name') {
    const known = rt.modules.map((m) => m.name).join(', ') || '(none)';
    // A discovering job refuses a new name only once it holds mipro.max_modules modules: say so.
    const full = discoversModules(rt) ? `; the job discovers modules and has reached mipro.max_modules (${rt.job.config.mipro.max_modules})` : '';
    throw new ValidationError(`unknown module "${assignment.name}"`, [
      { path: named === body.mipro?.module ? 'mipro.module' : 'x-mipro-module', message: `is not a module of this job (modules: ${known})${full}` },
    ]);
  }
  if (assignment.kind !== 'module') {
    void p.engine.modules.noteUnmatched(rt, text, named);
    return { module: null };
  }
  const names = placeholderNames(assignment.module.parsed);
  const explicit = body.mipro?.variables;
  const variables = mergeVariables(names, assignment.captures, explicit);
  // An OPTIONAL wildcard without a value renders as "" (in every candidate's text alike) and is
  // recorded so. It is not an override: the app's own text, when kept, says nothing to contradict.
  const optional = optionalPlaceholders(rt.job.config, assignment.module);
  const missing = names.filter((n) => variableValue(variables, n) === undefined && !optional.has(n));
  if (missing.length > 0) throw missingVariables(assignment.module.name, missing, text !== null);
  for (const n of names) if (variableValue(variables, n) === undefined) defineVariable(variables, n, '');
  const overridden = explicit !== undefined && names.some((n) => variableValue(explicit, n) !== undefined && variableValue(explicit, n) !== variableValue(assignment.captures, n));
  // Named by header or mipro.module, its text not the template's: a record cannot rebuild that text.
  return { module: assignment.module, variables, overridden, textUnmatched: assignment.textUnmatched === true, firstBlock };
}

/**
 * The system text the serving candidate sends for this call, or null to keep the call's own. A
 * candidate that does not change the module keeps the app's own prompt exactly as sent (the baseline
 * is the program as the app runs it: content parts, cache_control and all), unless `mipro.variables`
 * overrode what the text gave for a placeholder (`overridden`): then the baseline renders its template
 * with them like any candidate, as explicit values win (SPEC.md), so the model sees the variables
 * recorded for the call and the baseline meets its children on the same inputs. Without a system
 * message the module's text is added, as the public API does. A changed module's text is rendered
 * with the call's variables.
 */
export function candidateText(instructions: Instructions, module: CompiledModule, route: { variables: Record<string, string>; overridden: boolean }, body: ChatCompletionRequest): string | null {
  const text = moduleInstruction(instructions, module);
  const { variables } = route;
  if (text === module.template && systemText(body.messages) !== null && (module.parsed.literal || !route.overridden)) return null;
  // Placeholders of the module's template were checked before dispatch.
  return renderModuleText(module, text, variables);
}

function missingVariables(module: string, names: string[], hasSystemText: boolean): ValidationError {
  const why = hasSystemText ? `the system text did not match module "${module}"'s template` : 'the call has no system message to capture it from';
  const named = nameList(names);
  return new ValidationError(`module "${module}" needs variable${names.length > 1 ? 's' : ''} ${named}`, names.map((n) => ({
    path: `mipro.variables.${n}`,
    message: `has no value: ${why}, so send it in mipro.variables`,
  })));
}

function namedModule(req: FastifyRequest, body: ChatCompletionRequest): string | null {
  const raw = req.headers['x-mipro-module'];
  if (typeof raw === 'string' && raw.length > 0) {
    const ok = ModuleHeaderSchema.safeParse(raw);
    if (!ok.success) throw new ValidationError('invalid x-mipro-module header', [{ path: 'x-mipro-module', message: ok.error.issues[0]?.message ?? 'must be a module name' }]);
    return raw;
  }
  return body.mipro?.module ?? null;
}
