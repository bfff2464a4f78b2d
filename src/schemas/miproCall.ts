import { z } from 'zod';
import { moduleNameSchema } from './moduleName.js';

/**
 * The `mipro` field a proxied call may carry in its body (any surface): which module the call
 * belongs to and explicit template variables. It is miprox's own namespace, so it is strict, and it
 * is removed before the call goes upstream.
 */
export const MiproCallFieldSchema = z.strictObject({
  module: moduleNameSchema().optional(),
  variables: z.record(z.string(), z.string({ error: 'must be a string' }), { error: 'must be an object of strings' }).optional(),
}, {
  error: (issue) => issue.code === 'unrecognized_keys'
    ? `unknown key${issue.keys.length > 1 ? 's' : ''} ${issue.keys.join(', ')}: mipro takes module and variables`
    : 'must be an object {module?, variables?}',
});

export type MiproCallField = z.infer<typeof MiproCallFieldSchema>;

/** The module named by the `x-mipro-module` header, checked like the body field. */
export const ModuleHeaderSchema = moduleNameSchema();
