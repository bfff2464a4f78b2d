import { expect } from 'vitest';
import { UpstreamError } from '../../src/shared/errors.js';

/** Awaits a promise that must reject with an UpstreamError, and returns that error. */
export async function upstreamFailure(p: Promise<unknown>): Promise<UpstreamError> {
  try {
    await p;
  } catch (err) {
    expect(err).toBeInstanceOf(UpstreamError);
    return err as UpstreamError;
  }
  throw new Error('expected an UpstreamError');
}
