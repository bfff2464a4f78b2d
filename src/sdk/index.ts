/**
 * miprox TypeScript SDK. Talks to a miprox server over HTTP only (it imports nothing from the server).
 * Defaults: base URL from MIPROX_BASE_URL (else http://127.0.0.1:8700), API key from MIPROX_API_KEY.
 */
export { MiproOnlineSession } from './session.js';
export type {
  CallOptions, CandidateListOptions, RewardInput, SeedEvalFilters, SessionConnectOptions, SessionCreateOptions,
} from './session.js';
export { MiproJobsClient } from './jobs.js';
export type { JobListOptions, JobState, WaitOptions } from './jobs.js';
export {
  AuthenticationError, ConfigFileError, ConflictError, ConnectionError, JobWaitTimeoutError, MiproxError, NotFoundError,
  RateLimitError, ResponseFormatError, ServerError, TimeoutError, ValidationError, errorClassForStatus, errorFromResponse,
} from './errors.js';
export type { ErrorDetail, MiproxErrorInit } from './errors.js';
export { DEFAULT_BASE_URL, normalizeBaseUrl, resolveClientOptions } from './options.js';
export type { ClientOptions, FetchLike, ResolvedClientOptions } from './options.js';
export { HttpClient } from './http.js';
export type { QueryValue, RequestSpec } from './http.js';
export { MAX_RETRY_AFTER_MS, backoffDelayMs, parseRetryAfterMs, retryDelayMs } from './retry.js';
export type { RetryPolicy } from './retry.js';
export { collect, paginate } from './pagination.js';
export { watchEvents } from './watchEvents.js';
export type { EventSource, WatchEventsOptions } from './watchEvents.js';
export { loadConfigFile, parseConfigText } from './configFile.js';
export type { JsonObject } from './configFile.js';
export * from './wire.js';
