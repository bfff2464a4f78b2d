import { z } from 'zod';
import { noNul } from './dbText.js';
import { moduleNameSchema } from './moduleName.js';

/**
 * The `mipro` field a proxied call may carry in its body (any surface): which module the call
 * belongs to and explicit template variables. It is miprox's own namespace, so it is strict, and it
 * is removed before the call goes upstream.
 */
export const MiproCallFieldSchema = z.strictObject({
  module: moduleNameSchema().optional(),
  // A NUL would reach the upstream and the call record (PostgreSQL text cannot hold it): refused like one in the system message.
  variables: z.record(z.string(), noNul(z.string({ error: 'must be a string' })), { error: 'must be an object of strings' }).optional(),
}, {
  error: (issue) => issue.code === 'unrecognized_keys'
    ? `unknown key${issue.keys.length > 1 ? 's' : ''} ${issue.keys.join(', ')}: mipro takes module and variables`
    : 'must be an object {module?, variables?}',
});

export type MiproCallField = z.infer<typeof MiproCallFieldSchema>;

/** The module named by the `x-mipro-module` header, checked like the body field. */
export const ModuleHeaderSchema = moduleNameSchema();
