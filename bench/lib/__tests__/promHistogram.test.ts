import { Histogram, Registry } from 'prom-client';
import { describe, expect, it } from 'vitest';
import { diffHistogram, histogramQuantile, parseHistogram } from '../promHistogram.js';

async function scrape(values: number[], registry = new Registry(), h?: Histogram): Promise<{ text: string; registry: Registry; h: Histogram }> {
  const hist = h ?? new Histogram({ name: 'x_seconds', help: 'x', buckets: [0.001, 0.002, 0.005], registers: [registry] });
  for (const v of values) hist.observe(v);
  return { text: await registry.metrics(), registry, h: hist };
}

describe('parseHistogram', () => {
  it('reads cumulative buckets, count and sum from a prom-client page', async () => {
    const { text } = await scrape([0.0005, 0.0015, 0.0015, 0.004, 0.01]);
    const h = parseHistogram(text, 'x_seconds');
    expect(h).not.toBeNull();
    expect(h!.buckets.map((b) => b.count)).toEqual([1, 3, 4, 5]);
    expect(h!.buckets.at(-1)!.le).toBe(Number.POSITIVE_INFINITY);
    expect(h!.count).toBe(5);
    expect(h!.sum).toBeCloseTo(0.0175);
  });

  it('returns null when the metric is absent', () => {
    expect(parseHistogram('other_total 3\n', 'x_seconds')).toBeNull();
  });
});

describe('histogramQuantile', () => {
  it('interpolates inside the bucket that holds the rank', async () => {
    // 10 observations in (0.001, 0.002]: the median sits halfway through that bucket.
    const { text } = await scrape(Array.from({ length: 10 }, () => 0.0015));
    const h = parseHistogram(text, 'x_seconds')!;
    expect(histogramQuantile(h, 0.5)).toBeCloseTo(0.0015, 6);
  });

  it('caps at the last finite bound when the rank is in +Inf', async () => {
    const { text } = await scrape([1, 2, 3]);
    expect(histogramQuantile(parseHistogram(text, 'x_seconds')!, 0.99)).toBe(0.005);
  });
});

describe('diffHistogram', () => {
  it('keeps only what was observed between two scrapes', async () => {
    const first = await scrape([0.0005, 0.0005]);
    const before = parseHistogram(first.text, 'x_seconds');
    const second = await scrape([0.004], first.registry, first.h);
    const d = diffHistogram(parseHistogram(second.text, 'x_seconds')!, before);
    expect(d.count).toBe(1);
    expect(d.buckets.map((b) => b.count)).toEqual([0, 0, 1, 1]);
    expect(histogramQuantile(d, 0.5)).toBeGreaterThan(0.002);
  });
});
