import { MiproxError } from '../sdk/index.js';
import { isAppError } from '../shared/errors.js';

/**
 * An error a command reports to the person (or script) running it: one line for people, and with
 * --json the same facts as JSON, so a script never has to parse prose.
 */
export class CliError extends Error {
  constructor(
    message: string,
    readonly code: string,
    readonly extra: { status?: number; details?: Array<{ path: string; message: string }>; requestId?: string } = {},
  ) {
    super(message);
    this.name = 'CliError';
  }
}

/** The JSON shape of a failed command under --json (written to stderr, exit code 1). */
export function errorAsJson(err: unknown): { error: { code: string; message: string; status?: number; details?: unknown; request_id?: string } } {
  const message = err instanceof Error ? err.message : String(err);
  if (err instanceof CliError) {
    const { status, details, requestId } = err.extra;
    return {
      error: {
        code: err.code, message,
        ...(status !== undefined ? { status } : {}),
        ...(details !== undefined && details.length > 0 ? { details } : {}),
        ...(requestId !== undefined ? { request_id: requestId } : {}),
      },
    };
  }
  // The server's message: `details` carry what the SDK's message appends to it.
  if (err instanceof MiproxError) return errorAsJson(new CliError(err.serverMessage, err.code, { ...(err.status !== undefined ? { status: err.status } : {}), details: err.details }));
  // The server's own typed errors (a bad DATABASE_URL is a config_error) keep their code and fields;
  // their HTTP status means nothing to a command.
  if (isAppError(err)) return errorAsJson(new CliError(message, err.code, { details: err.details }));
  return { error: { code: 'error', message } };
}
