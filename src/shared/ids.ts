import { randomBytes } from 'node:crypto';

/** 128 random bits as hex: system ids double as proxy credentials, so they must be unguessable. */
export function randomHex(bytes = 16): string {
  return randomBytes(bytes).toString('hex');
}

export const newJobId = (): string => `pl_${randomHex(16)}`;
export const newSystemId = (): string => `sys_${randomHex(16)}`;
export const newCandidateId = (): string => `cand_${randomHex(8)}`;
export const newRolloutId = (): string => `ro_${randomHex(12)}`;
export const newProposalId = (): string => `prop_${randomHex(8)}`;
export const newTenantId = (): string => `ten_${randomHex(8)}`;
export const newKeyId = (): string => `key_${randomHex(8)}`;
export const BASELINE_ID = 'baseline';
