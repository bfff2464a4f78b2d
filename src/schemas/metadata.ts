import { z } from 'zod';

/**
 * Largest client metadata, as JSON: a reward's and a job's (or session's). It is stored with each
 * and read back by the lists (rewards, and jobs with their metadata, a thousand at a time), so a few
 * megabytes each would let one client run the server out of memory.
 */
export const MAX_METADATA_CHARS = 64 * 1024;

/** Whether metadata stays within MAX_METADATA_CHARS as JSON. */
export const metadataFits = (m: Record<string, unknown>): boolean => JSON.stringify(m).length <= MAX_METADATA_CHARS;

/** A client's `metadata` object. */
export const MetadataObjectSchema = z.record(z.string(), z.unknown());

/**
 * A `metadata` stored as sent (a reward's), at most MAX_METADATA_CHARS as JSON (else a 422 on the
 * field). A job's is checked as stored instead (jobMetadata.ts): the server changes it first.
 */
export const MetadataSchema = MetadataObjectSchema.refine(metadataFits, `must be at most ${MAX_METADATA_CHARS} characters as JSON`);
