import { createHash } from 'node:crypto';
import type { FastifyRequest } from 'fastify';
import { randomHex } from '../shared/ids.js';
import { ConfigError, UnauthorizedError } from '../shared/errors.js';
import type { Store } from '../store/types.js';

/** API keys: shown once at creation, stored as SHA-256 (keys are 128-bit random, so no slow hash is needed). */
export const hashApiKey = (key: string): string => createHash('sha256').update(key).digest('hex');

export function generateApiKey(): { key: string; prefix: string } {
  const key = `mpx_${randomHex(24)}`;
  return { key, prefix: key.slice(0, 12) };
}

/**
 * The part of a MIPROX_API_KEY value that `keys list` shows and the database keeps beside its hash.
 * A generated key's 12 characters are `mpx_` and 32 of its 192 random bits; a chosen value may be as
 * short as 16 characters, and 12 of those left 4 unknown (a few thousand guesses for a digit suffix).
 * A quarter of the value, at most 8 characters, names it without telling the rest.
 */
export function seededKeyPrefix(key: string): string {
  return key.slice(0, Math.min(8, Math.floor(key.length / 4)));
}

export interface Principal { tenantId: string; keyId: string }

/** Reads `Authorization: Bearer <key>` or `X-API-Key: <key>`. */
export function presentedKey(req: FastifyRequest): string | null {
  const auth = req.headers.authorization;
  if (typeof auth === 'string') {
    const m = /^Bearer\s+(.+)$/i.exec(auth.trim());
    if (m?.[1]) return m[1].trim();
  }
  const x = req.headers['x-api-key'];
  if (typeof x === 'string' && x.trim()) return x.trim();
  return null;
}

const KEY_CACHE_TTL_MS = 1000;
const KEY_CACHE_MAX = 10_000;

/**
 * Resolves API keys to principals. Valid keys are remembered for one second (the reward route is hot
 * and every call carries a key), so a revoked key stops working within a second on a running server.
 * Unknown keys are never cached: a key created a moment ago works at once.
 */
export class Authenticator {
  private readonly cache = new Map<string, { principal: Principal; until: number }>();

  constructor(private readonly store: Store, private readonly now: () => number) {}

  async authenticate(req: FastifyRequest): Promise<Principal> {
    const key = presentedKey(req);
    if (!key) throw new UnauthorizedError('missing API key: send Authorization: Bearer <key> or X-API-Key: <key>');
    const hash = hashApiKey(key);
    const now = this.now();
    const hit = this.cache.get(hash);
    if (hit && hit.until > now) return hit.principal;
    const record = await this.store.findActiveApiKey(hash);
    if (!record) {
      this.cache.delete(hash);
      throw new UnauthorizedError('invalid or revoked API key');
    }
    const principal = { tenantId: record.tenantId, keyId: record.id };
    if (this.cache.size >= KEY_CACHE_MAX) this.cache.clear();
    this.cache.set(hash, { principal, until: now + KEY_CACHE_TTL_MS });
    return principal;
  }
}

/** The name keys seeded from MIPROX_API_KEY are stored under (`miprox keys list` shows it). */
export const SEEDED_KEY_NAME = 'MIPROX_API_KEY';

/**
 * Stores the key of MIPROX_API_KEY unless it is already active (single-user setups). A key that was
 * revoked stays revoked: the server refuses to start rather than revive it.
 * A new value is a rotation of the one user's key: it joins the tenant of the key the variable
 * seeded last. Each new value used to get a new tenant, so after a rotation every job made with the
 * old key was a 404 and `jobs list` was empty, as if the jobs were gone.
 */
export async function seedApiKey(store: Store, key: string): Promise<void> {
  // One transaction that instances starting at once take in turn (store/seedKey.ts): each used to
  // make a tenant, and all but the one whose key insert won stayed behind, empty. Hashes are unique:
  // a stored hash that is not active is this very key, revoked. (Comparing the 12-character prefix
  // instead refused new keys that merely began like a revoked one.)
  const seeded = await store.seedApiKey({ name: SEEDED_KEY_NAME, keyHash: hashApiKey(key), prefix: seededKeyPrefix(key) });
  if (seeded === 'revoked') {
    throw new ConfigError('MIPROX_API_KEY names a revoked key; set a new key', [{ path: 'MIPROX_API_KEY', message: 'was revoked' }]);
  }
}
