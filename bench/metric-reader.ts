import type { Counter, Histogram } from 'prom-client';

/** A histogram's totals at one moment: cumulative count per upper bound `le`. */
export interface HistogramSnapshot {
  readonly count: number;
  readonly sum: number;
  readonly buckets: ReadonlyMap<number, number>;
}

/** Sum of a counter over all its label sets. */
export async function counterTotal<T extends string>(counter: Counter<T>): Promise<number> {
  return (await counter.get()).values.reduce((acc, v) => acc + v.value, 0);
}

/** A histogram over all its label sets (buckets merged). */
export async function histogramSnapshot<T extends string>(histogram: Histogram<T>): Promise<HistogramSnapshot> {
  let count = 0;
  let sum = 0;
  const buckets = new Map<number, number>();
  for (const v of (await histogram.get()).values) {
    if (v.metricName?.endsWith('_count')) count += v.value;
    else if (v.metricName?.endsWith('_sum')) sum += v.value;
    else if (v.metricName?.endsWith('_bucket')) {
      const { le: bound } = v.labels as Readonly<Record<string, string | number | undefined>>;
      const le = bound === '+Inf' ? Number.POSITIVE_INFINITY : Number(bound);
      buckets.set(le, (buckets.get(le) ?? 0) + v.value);
    }
  }
  return { count, sum, buckets };
}

/** What was observed between two snapshots. */
export function histogramDelta(before: HistogramSnapshot, after: HistogramSnapshot): HistogramSnapshot {
  const buckets = new Map<number, number>();
  for (const [le, n] of after.buckets) buckets.set(le, n - (before.buckets.get(le) ?? 0));
  return { count: after.count - before.count, sum: after.sum - before.sum, buckets };
}

/**
 * Upper bound of the bucket holding the p-th percentile (a bucketed estimate: "at most");
 * null when there are no samples or the percentile lies beyond the largest finite bucket.
 */
export function bucketPercentile(h: HistogramSnapshot, p: number): number | null {
  if (h.count === 0) return null;
  const target = (p / 100) * h.count;
  for (const [le, cumulative] of [...h.buckets].sort((a, b) => a[0] - b[0])) if (cumulative >= target) return Number.isFinite(le) ? le : null;
  return null;
}
