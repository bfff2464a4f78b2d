import { z } from 'zod';

/**
 * Rollout ids travel in the proxy path, come back in the `x-mipro-rollout-id` response header, and
 * are stored as text on both databases. So they are limited to characters that are safe in all three:
 * ASCII letters and digits and `. _ ~ : @ + = -`, 1 to 256 of them (UUIDs, `rollout_17`, `run:3/a`
 * without the slash). A NUL, a newline, DEL or a non-ASCII character once got as far as the header
 * and failed there, after the upstream had been paid (issue 14, item 4).
 */
export const MAX_ROLLOUT_ID_LENGTH = 256;
export const ROLLOUT_ID_PATTERN = /^[A-Za-z0-9._~:@+=-]{1,256}$/;
export const ROLLOUT_ID_RULE = 'must be 1 to 256 of the characters A-Z a-z 0-9 . _ ~ : @ + = -';

export const RolloutIdSchema = z.string({ error: 'must be a string' }).regex(ROLLOUT_ID_PATTERN, ROLLOUT_ID_RULE);
