import { z } from 'zod';
import type { ProgramModule } from '../optimizer/core/modules.js';

/**
 * `initial_prompt.wildcards`: `{placeholder: "REQUIRED" | "OPTIONAL"}`, as public clients send it.
 *
 * OPTIONAL means a placeholder of the `main` module (the system pattern) that has no value for a
 * call (nothing captured from a system text, nothing in `mipro.variables`) renders as "" instead of
 * the call being a 422. REQUIRED and undeclared placeholders keep the 422.
 *
 * A wildcard naming a placeholder the system pattern does not have is accepted and ignored: the
 * public demos name the placeholders of their *user* message pattern (`"Query: {query}"`), which
 * miprox does not template, and refusing them would break those configs.
 */

/**
 * Any text, as earlier releases documented (`{"name": "text"}`) and accepted: a client that followed
 * them must not start failing at job creation. OPTIONAL (in any case) makes a placeholder optional;
 * anything else leaves it required, and a call without its value is the 422 that names it.
 */
const WildcardKind = z.string({ error: 'must be a string ("REQUIRED" or "OPTIONAL")' });

// Lengths are checked before entries (the record's size first): a million entries cost nothing to refuse.
export const WildcardsSchema = z.record(z.string(), z.unknown())
  .refine((r) => Object.keys(r).length <= 256, 'must have at most 256 entries')
  .pipe(z.record(z.string(), WildcardKind));

const NONE: ReadonlySet<string> = new Set();

/**
 * The answer per stored wildcards object: this runs on every proxied call, and the object changes
 * only when the job's config is read again (the runtime's refresh), so the entries, their upper-cased
 * copies and the Set are built once per read instead of once per call. Weak: a config read again
 * lets the old answer go.
 */
const optionalByWildcards = new WeakMap<object, ReadonlySet<string>>();

/**
 * The placeholders of `module` that render as "" when a call has no value for them. Only the `main`
 * module built from `initial_prompt` has wildcards; declared `modules` and discovered texts have none.
 * Anything but OPTIONAL (in any case) keeps the placeholder required, as it was when earlier releases
 * ignored wildcards.
 */
export function optionalPlaceholders(config: { modules?: unknown; initial_prompt?: { wildcards?: Readonly<Record<string, unknown>> | undefined } | undefined }, module: ProgramModule): ReadonlySet<string> {
  const wildcards = config.initial_prompt?.wildcards;
  if (!wildcards || config.modules !== undefined || module.name !== 'main' || module.origin === 'discovered') return NONE;
  let optional = optionalByWildcards.get(wildcards);
  if (optional === undefined) {
    const names = Object.entries(wildcards).filter(([, kind]) => typeof kind === 'string' && kind.toUpperCase() === 'OPTIONAL').map(([name]) => name);
    optional = names.length === 0 ? NONE : new Set(names);
    optionalByWildcards.set(wildcards, optional);
  }
  return optional;
}
