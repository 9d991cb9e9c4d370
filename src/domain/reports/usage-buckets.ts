import { MS_PER_DAY, MS_PER_MINUTE, toLocalTime } from '../local-time.ts';

/**
 * Consumption statistics' time buckets on the campus's clock (fixed UTC offset, as billing):
 * a day or a month begins at local midnight, an hour and a quarter hour on the local clock.
 * Pure integer arithmetic; epoch ms in and out.
 */
export type UsageInterval = '15m' | 'hour' | 'day' | 'month';

export const USAGE_INTERVALS: readonly UsageInterval[] = ['15m', 'hour', 'day', 'month'];

const FIXED_MS: Readonly<Record<Exclude<UsageInterval, 'month'>, number>> = { '15m': 15 * MS_PER_MINUTE, hour: 60 * MS_PER_MINUTE, day: MS_PER_DAY };

/** The start of the bucket that contains `at`. */
export function bucketStart(at: number, interval: UsageInterval, utcOffsetMinutes: number): number {
  const shift = utcOffsetMinutes * MS_PER_MINUTE;
  if (interval !== 'month') {
    const size = FIXED_MS[interval];
    return Math.floor((at + shift) / size) * size - shift;
  }
  const local = toLocalTime(at, utcOffsetMinutes);
  return Date.UTC(local.year, local.month - 1, 1) - shift;
}

/** The start of the bucket after the one starting at `start` (a bucket start). */
export function nextBucketStart(start: number, interval: UsageInterval, utcOffsetMinutes: number): number {
  if (interval !== 'month') return start + FIXED_MS[interval];
  const local = toLocalTime(start, utcOffsetMinutes);
  return Date.UTC(local.year, local.month, 1) - utcOffsetMinutes * MS_PER_MINUTE;
}

/** The bucket starts covering [from, to): from the bucket containing `from` to the last one starting before `to`. */
export function bucketStarts(from: number, to: number, interval: UsageInterval, utcOffsetMinutes: number, max: number): number[] | null {
  const starts: number[] = [];
  for (let at = bucketStart(from, interval, utcOffsetMinutes); at < to; at = nextBucketStart(at, interval, utcOffsetMinutes)) {
    if (starts.length === max) return null;
    starts.push(at);
  }
  return starts;
}

/** One recorded 15-minute slice of a scope, every meter summed (peak: the sum of the meters' peaks, see docs/reports.md). */
export interface UsageSlice {
  readonly at: number;
  readonly energyWh: number;
  readonly peakW: number;
  readonly waterL: number;
}

/** Money charged in a slice of time (ledger consumption charges, positive). */
export interface CostSlice {
  readonly at: number;
  readonly costFen: number;
  readonly waterCostFen: number;
}

export interface UsageBucket {
  readonly start: string;
  readonly energyWh: number;
  /** Electricity charged in the bucket; null for a circuit (circuits are not billed apart). */
  readonly costFen: number | null;
  readonly peakW: number;
  /** Water used (litres); null for a circuit. */
  readonly waterL: number | null;
  readonly waterCostFen: number | null;
}

/**
 * Folds the slices into the buckets (`starts` ascending, as from bucketStarts): sums of energy,
 * water and money, the highest peak. A slice before the first bucket or from `end` on is left out.
 */
export function foldBuckets(starts: readonly number[], end: number, usage: readonly UsageSlice[], costs: readonly CostSlice[] | null): UsageBucket[] {
  const acc = starts.map(() => ({ energyWh: 0, peakW: 0, waterL: 0, costFen: 0, waterCostFen: 0 }));
  const indexOf = (at: number): number => {
    if (starts.length === 0 || at < starts[0]! || at >= end) return -1;
    let lo = 0;
    let hi = starts.length - 1;
    while (lo < hi) {
      const mid = (lo + hi + 1) >> 1;
      if (starts[mid]! <= at) lo = mid;
      else hi = mid - 1;
    }
    return lo;
  };
  for (const slice of usage) {
    const bucket = acc[indexOf(slice.at)];
    if (!bucket) continue;
    bucket.energyWh += slice.energyWh;
    bucket.waterL += slice.waterL;
    bucket.peakW = Math.max(bucket.peakW, slice.peakW);
  }
  for (const slice of costs ?? []) {
    const bucket = acc[indexOf(slice.at)];
    if (!bucket) continue;
    bucket.costFen += slice.costFen;
    bucket.waterCostFen += slice.waterCostFen;
  }
  return starts.map((start, i) => {
    const a = acc[i]!;
    const billed = costs !== null;
    return { start: new Date(start).toISOString(), energyWh: a.energyWh, costFen: billed ? a.costFen : null, peakW: a.peakW, waterL: billed ? a.waterL : null, waterCostFen: billed ? a.waterCostFen : null };
  });
}
