import type { Candidate, MiproOnlineSession } from '../sdk/index.js';
import { CliError } from './cliError.js';

/**
 * `miprox candidates --module NAME`: the candidates that changed that module, and the baseline
 * (parent none) they are all measured against, as the dashboard's module filter keeps them. The
 * candidates API has no module filter, so the pages are filtered here as they come.
 */
export function changedModule(c: Candidate, module: string): boolean {
  if (c.parent_id === null) return true;
  // Servers before changed_modules name one module (null for a whole program added by hand).
  return (c.changed_modules ?? (c.module === null ? [] : [c.module])).includes(module);
}

export async function* onlyModule(items: AsyncIterable<Candidate>, module: string): AsyncGenerator<Candidate> {
  for await (const c of items) if (changedModule(c, module)) yield c;
}

/** A name that is no module of the job lists nothing, which reads as "no candidate changed it": a usage error naming the modules instead. */
export async function checkModuleName(session: MiproOnlineSession, module: string): Promise<void> {
  const names = (await session.status()).modules.map((m) => m.name);
  if (names.includes(module)) return;
  throw new CliError(`--module ${module}: not a module of this job (modules: ${names.length > 0 ? names.join(', ') : 'none yet'})`, 'usage_error');
}
