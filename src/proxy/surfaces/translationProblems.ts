import { type FieldProblem, ValidationError } from '../../shared/errors.js';

/** A request field the translation refuses: a 422 naming it. */
export function invalid(path: string, message: string): ValidationError {
  return new ValidationError('invalid request', [{ path, message }]);
}

/** Every surface's body is one JSON object; anything else (`[]`, `5`, `"x"`) is a 422 saying so. */
export function requireObjectBody(body: unknown): void {
  if (body !== undefined && body !== null && (typeof body !== 'object' || Array.isArray(body))) throw invalid('body', 'must be a JSON object');
}

/**
 * Something chat completions cannot carry: refused when translating (`lossy` null); listed in
 * `lossy` when the call goes to the provider natively, which gets the client's own body.
 */
export function untranslatable(lossy: FieldProblem[] | null, path: string, message: string): void {
  if (lossy === null) throw invalid(path, message);
  lossy.push({ path, message });
}
