import type { FieldProblem } from '../shared/errors.js';

/**
 * What is wrong with a body sent to a route that reads none (jsonBody.ts NO_BODY): nothing when it
 * says nothing (no body, an empty one, `{}` or `null`), else one problem per key it holds, or one for
 * a body that is not an object. Such a route would otherwise act as if the body had not been sent
 * (`{"dry_run": true}` on a delete, `{"force": false}` on a cancel), where every other route refuses
 * a key it does not know with a 422 naming it.
 */
export function unreadBodyProblems(body: unknown, route: string, why: string): FieldProblem[] {
  if (body === undefined || body === null) return [];
  if (typeof body !== 'object' || Array.isArray(body)) return [{ path: '', message: `${route} takes no body: ${why}` }];
  return Object.keys(body).map((path) => ({ path, message: `unknown field; ${route} takes no body: ${why}` }));
}
