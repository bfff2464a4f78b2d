import type { AppError } from '../shared/errors.js';

/**
 * The proxy's streams in flight, so a shutdown that runs out of grace can end each with an error
 * event (which the client's SDK surfaces) instead of cutting its connection mid-answer, which looks
 * like a short but successful stream (issue 14, item 9).
 */
export class LiveStreams {
  private readonly stops = new Set<(reason: AppError) => void>();

  /** Registers a stream's stop function; returns the function that unregisters it. */
  track(stop: (reason: AppError) => void): () => void {
    this.stops.add(stop);
    return () => this.stops.delete(stop);
  }

  /** Stops every stream in flight; returns how many there were. */
  stopAll(reason: AppError): number {
    const n = this.stops.size;
    for (const stop of [...this.stops]) stop(reason);
    return n;
  }
}
