/**
 * The API's JSON as the dashboard reads it. The shapes are derived from the server's own view functions
 * (type-only imports: erased by the bundler, so no server code reaches the browser) so that a change
 * to the wire format fails the type check here instead of drifting silently.
 */
import type { candidateView, eventView, jobView, proposalView, rewardView, rolloutView } from '../../src/api/views.js';

export type JobView = Awaited<ReturnType<typeof jobView>>;
export type CandidateView = ReturnType<typeof candidateView>;
export type ProposalView = ReturnType<typeof proposalView>;
export type RewardView = ReturnType<typeof rewardView>;
export type RolloutView = ReturnType<typeof rolloutView>;
export type RolloutCallView = RolloutView['calls'][number];
export type JobStatus = JobView['status'];

export type EventView = ReturnType<typeof eventView>;

export interface PageOf<T> { items: T[]; next_cursor: string | null }
export interface EventsPage { events: EventView[] }

export const FINAL_STATUSES: readonly JobStatus[] = ['succeeded', 'failed', 'cancelled'];
export const isFinal = (s: JobStatus): boolean => FINAL_STATUSES.includes(s);
