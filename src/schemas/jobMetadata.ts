import type { FieldProblem } from '../shared/errors.js';
import { MAX_METADATA_CHARS, metadataFits } from './metadata.js';

/** Where a job's name is kept: a reserved key of its metadata (the `mipro_` keys are the server's). */
export const JOB_NAME_KEY = 'mipro_job_name';

/**
 * The metadata stored for a new job: the client's keys without the `mipro_` ones (the server's: a
 * client's `mipro_job_name` would name the job behind `name`'s back, and a job view's
 * `mipro_system_id` copied into a new body must not stick), plus the name. The name is kept there
 * (no column of its own yet, so no migration); views read jobName().
 */
export function storedJobMetadata(metadata: Record<string, unknown>, name: string | null): Record<string, unknown> {
  const own = Object.fromEntries(Object.entries(metadata).filter(([key]) => !key.startsWith('mipro_')));
  return name === null ? own : { ...own, [JOB_NAME_KEY]: name };
}

/**
 * The cap holds for what is stored, not for what was sent: counted on the body, dropped `mipro_`
 * keys refused metadata that would have fit, and the name added after the check let a stored value
 * grow past the cap that job lists rely on.
 */
export function storedMetadataProblem(stored: Record<string, unknown>): FieldProblem | null {
  if (metadataFits(stored)) return null;
  const named = JOB_NAME_KEY in stored ? `, the job's name included (it is stored in metadata as ${JOB_NAME_KEY})` : '';
  return { path: 'metadata', message: `must be at most ${MAX_METADATA_CHARS} characters as JSON${named}` };
}
