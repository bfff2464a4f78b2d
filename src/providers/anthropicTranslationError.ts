import { UpstreamError } from '../shared/errors.js';

/**
 * What the chat -> Messages translation (anthropicRequest.ts, anthropicTools.ts) cannot express,
 * by field (`messages[1].content[0].type`); anthropicRequestProblems turns it into a 422 before dispatch.
 */
export class TranslationError extends UpstreamError {
  constructor(readonly field: string, readonly reason: string) {
    super(`${field} ${reason}`, { status: 400, code: 'invalid_request_error', upstreamType: 'invalid_request_error' });
  }
}

export function invalid(field: string, message: string): UpstreamError {
  return new TranslationError(field, message);
}

export function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null;
}
