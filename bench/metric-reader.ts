import type { Counter, Histogram } from 'prom-client';

/** A histogram's totals at one moment: cumulative count per upper bound `le`. */
export interface HistogramSnapshot {
  readonly count: number;
  readonly sum: number;
  readonly buckets: ReadonlyMap<number, number>;
}

/** Sum of a counter over all its label sets. */
export async function counterTotal(counter: Counter<string>): Promise<number> {
  return (await counter.get()).values.reduce((acc, v) => acc + v.value, 0);
}

/** A histogram over all its label sets (buckets merged). */
export async function histogramSnapshot(histogram: Histogram<string>): Promise<HistogramSnapshot> {
  let count = 0;
  let sum = 0;
  const buckets = new Map<number, number>();
  for (const v of (await histogram.get()).values) {
    if (v.metricName?.endsWith('_count')) count += v.value;
    else if (v.metricName?.endsWith('_sum')) sum += v.value;
    else if (v.metricName?.endsWith('_bucket')) {
      const le = v.labels.le === '+Inf' ? Number.POSITIVE_INFINITY : Number(v.labels.le);
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

/** Upper bound of the bucket holding the p-th percentile (a bucketed estimate: "at most"). */
export function bucketPercentile(h: HistogramSnapshot, p: number): number | null {
  if (h.count === 0) return null;
  const target = (p / 100) * h.count;
  for (const [le, cumulative] of [...h.buckets].sort((a, b) => a[0] - b[0])) if (cumulative >= target) return le;
  return null;
}
