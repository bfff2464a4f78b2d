/**
 * Whether a request's `accept-encoding` lets a response go gzip-compressed (RFC 9110 12.5.3): the
 * weight of `gzip` (or its alias `x-gzip`) where listed, else that of `*`, else not acceptable; a
 * weight of 0 means "not acceptable". A client that refuses gzip (`gzip;q=0`, or `*;q=0` without
 * gzip listed) gets the identity form, which is always acceptable here. An element whose weight is
 * not a valid qvalue counts as a refusal: when unsure, identity is the answer every client reads.
 */
export function acceptsGzip(header: string | string[] | undefined): boolean {
  const value = Array.isArray(header) ? header.join(',') : header ?? '';
  let gzip: number | undefined;
  let any: number | undefined;
  for (const element of value.split(',')) {
    const [coding = '', ...params] = element.split(';').map((p) => p.trim().toLowerCase());
    const weight = qvalue(params);
    // Several elements for one coding: the most favourable one counts.
    if (coding === 'gzip' || coding === 'x-gzip') gzip = Math.max(gzip ?? 0, weight);
    else if (coding === '*') any = Math.max(any ?? 0, weight);
  }
  return (gzip ?? any ?? 0) > 0;
}

/** The `q` parameter of one element (1 without one); 0 when it is not a qvalue (`0`..`1`, at most 3 decimals). */
function qvalue(params: readonly string[]): number {
  const q = params.find((p) => p.startsWith('q='));
  if (q === undefined) return 1;
  const text = q.slice(2).trim();
  return /^(0(\.\d{0,3})?|1(\.0{0,3})?)$/.test(text) ? Number(text) : 0;
}
