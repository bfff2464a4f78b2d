import { z } from 'zod';
import { MODULE_NAME_PATTERN } from '../optimizer/core/modules.js';

/**
 * The names `[a-z0-9_-]{1,64}` allows that are also properties every JavaScript object inherits
 * (`constructor`, `__proto__`). Module names key objects everywhere (`instructions`, demos,
 * `feedback_by_module`, exports), and JSON parsers refuse `__proto__` keys, so such a module could
 * not be served, exported or blamed: the name is refused where it enters, with the reason.
 */
export const RESERVED_MODULE_NAMES: readonly string[] = Object.getOwnPropertyNames(Object.prototype).filter((n) => MODULE_NAME_PATTERN.test(n));

const RESERVED_MESSAGE = `must not be ${RESERVED_MODULE_NAMES.map((n) => `"${n}"`).join(' or ')} (reserved: every JavaScript object has a property of that name)`;

/** A module name, wherever one is sent: job declarations, the call's header or body field, feedback keys. */
export function moduleNameSchema(patternMessage = 'must match [a-z0-9_-]{1,64}') {
  return z.string({ error: 'must be a string (a module name)' })
    .regex(MODULE_NAME_PATTERN, patternMessage)
    .refine((name) => !RESERVED_MODULE_NAMES.includes(name), RESERVED_MESSAGE);
}
