import { z } from 'zod';

/**
 * Largest client metadata, as JSON: a reward's and a job's (or session's). It is stored with each
 * and read back by the lists (rewards, and jobs with their metadata, a thousand at a time), so a few
 * megabytes each would let one client run the server out of memory.
 */
export const MAX_METADATA_CHARS = 64 * 1024;

/** A client's `metadata` object, at most MAX_METADATA_CHARS as JSON (else a 422 on the field). */
export const MetadataSchema = z.record(z.string(), z.unknown()).refine((m) => JSON.stringify(m).length <= MAX_METADATA_CHARS, `must be at most ${MAX_METADATA_CHARS} characters as JSON`);
