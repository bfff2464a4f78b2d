/**
 * Whether a GET's `If-None-Match` is satisfied by the current representation, so the answer is a 304
 * (RFC 9110 13.1.2): `*` matches any current representation, and a listed entity tag matches by the
 * weak comparison (a `W/` prefix is ignored), which is what GET uses. Only called for a resource that
 * exists: every dashboard asset does.
 */
export function ifNoneMatchHits(header: string | string[] | undefined, etag: string): boolean {
  if (header === undefined) return false;
  const tags = (Array.isArray(header) ? header.join(',') : header).split(',').map((t) => t.trim());
  return tags.some((t) => t === '*' || t.replace(/^W\//, '') === etag);
}
