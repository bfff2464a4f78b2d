/**
 * Reads one Prometheus histogram out of a `/metrics` text page, so a benchmark can check what the
 * server says about itself (miprox_proxy_overhead_seconds) against what the client measured.
 */
export interface HistogramSnapshot {
  /** Cumulative counts by upper bound (seconds), ascending; the last bound is +Inf. */
  buckets: Array<{ le: number; count: number }>;
  count: number;
  sum: number;
}

export function parseHistogram(metricsText: string, name: string): HistogramSnapshot | null {
  const buckets: Array<{ le: number; count: number }> = [];
  let count = Number.NaN;
  let sum = Number.NaN;
  for (const line of metricsText.split('\n')) {
    if (line.startsWith(`${name}_bucket{`)) {
      const m = /le="([^"]+)"\}\s+(\S+)/.exec(line);
      if (m?.[1] && m[2]) buckets.push({ le: m[1] === '+Inf' ? Number.POSITIVE_INFINITY : Number(m[1]), count: Number(m[2]) });
    } else if (line.startsWith(`${name}_count`)) {
      count = Number(line.split(/\s+/)[1]);
    } else if (line.startsWith(`${name}_sum`)) {
      sum = Number(line.split(/\s+/)[1]);
    }
  }
  if (buckets.length === 0) return null;
  buckets.sort((a, b) => a.le - b.le);
  return { buckets, count, sum };
}

/** The observations made between two scrapes of the same histogram. */
export function diffHistogram(after: HistogramSnapshot, before: HistogramSnapshot | null): HistogramSnapshot {
  if (!before) return after;
  return {
    buckets: after.buckets.map((b, i) => ({ le: b.le, count: b.count - (before.buckets[i]?.count ?? 0) })),
    count: after.count - before.count,
    sum: after.sum - before.sum,
  };
}

/**
 * Quantile estimate as Prometheus' histogram_quantile does it: linear inside the bucket that holds
 * the rank. Only as good as the bucket bounds; a quantile in the +Inf bucket returns the last finite bound.
 */
export function histogramQuantile(h: HistogramSnapshot, q: number): number {
  const total = h.buckets[h.buckets.length - 1]?.count ?? 0;
  if (total <= 0) return Number.NaN;
  const rank = q * total;
  let prevLe = 0;
  let prevCount = 0;
  for (const b of h.buckets) {
    if (b.count >= rank) {
      if (!Number.isFinite(b.le)) return prevLe;
      const inBucket = b.count - prevCount;
      return inBucket <= 0 ? b.le : prevLe + ((b.le - prevLe) * (rank - prevCount)) / inBucket;
    }
    prevLe = b.le;
    prevCount = b.count;
  }
  return prevLe;
}
