import { z } from 'zod';

/** A required string field whose errors say which of the two went wrong: absent, or not a string. */
export function requiredString(what: string) {
  return z.string({ error: (issue) => (issue.input === undefined ? `is required (${what})` : `must be a string (${what})`) });
}
