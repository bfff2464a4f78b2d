import { EventEmitter } from 'node:events';

/**
 * A cancellation signal as cheap as an EventEmitter. The proxy needs one per call (a client that goes
 * away cancels the upstream request), and an AbortController there, with undici adding and removing
 * its listener on the AbortSignal (an EventTarget), cost ~8% of the proxy's CPU at 32 connections
 * (measured: 5,260 -> 5,992 req/s without it). undici takes an EventEmitter signal as well.
 */
export class ClientGone extends EventEmitter {
  aborted = false;
  reason: unknown = undefined;

  abort(reason: unknown = new Error('the client went away')): void {
    if (this.aborted) return;
    this.aborted = true;
    this.reason = reason;
    this.emit('abort');
  }
}

/** What providers accept: a standard AbortSignal (the proposer, tests) or the proxy's ClientGone. */
export type CancelSignal = AbortSignal | ClientGone;

/** Calls `listener` once on abort; returns the function that removes it. */
export function onCancel(signal: CancelSignal, listener: () => void): () => void {
  if (signal instanceof ClientGone) {
    signal.once('abort', listener);
    return () => signal.removeListener('abort', listener);
  }
  signal.addEventListener('abort', listener, { once: true });
  return () => signal.removeEventListener('abort', listener);
}

/** A standard AbortSignal for APIs that take nothing else (node:timers/promises). */
export function toAbortSignal(signal: CancelSignal): AbortSignal {
  if (!(signal instanceof ClientGone)) return signal;
  const controller = new AbortController();
  if (signal.aborted) controller.abort(signal.reason);
  else onCancel(signal, () => controller.abort(signal.reason));
  return controller.signal;
}
