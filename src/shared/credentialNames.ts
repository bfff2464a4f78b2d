/**
 * Query parameter names that carry a credential (`?api_key=`, `?key=`, `?token=`, a SAS `sig=`): an
 * upstream URL's are looked for in its answers (providers/secretRedaction.ts), and a request URL's
 * values are not logged (logger.ts loggableUrl).
 */
export const CREDENTIAL_PARAMETER = /key|token|secret|sig|pass|auth/i;
