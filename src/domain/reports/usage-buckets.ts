import { MS_PER_DAY, MS_PER_MINUTE, offsetAt, toLocalTime, type TimeZone } from '../local-time.ts';
import { dayFromNumber, dayNumber, localDayOf, startOfLocalDay } from '../settlement/local-day.ts';

/**
 * Consumption statistics' time buckets on the campus's clock (its zone's rules, as billing):
 * a day or a month begins at local midnight (a day lasts 23 or 25 hours on a daylight saving
 * switch), an hour and a quarter hour on the local clock. Epoch ms in and out.
 */
export type UsageInterval = '15m' | 'hour' | 'day' | 'month';

export const USAGE_INTERVALS: readonly UsageInterval[] = ['15m', 'hour', 'day', 'month'];

const CLOCK_MS: Readonly<Record<'15m' | 'hour', number>> = { '15m': 15 * MS_PER_MINUTE, hour: 60 * MS_PER_MINUTE };

/** The start of the bucket that contains `at`. */
export function bucketStart(at: number, interval: UsageInterval, zone: TimeZone): number {
  switch (interval) {
    case '15m':
    case 'hour': {
      const size = CLOCK_MS[interval];
      const local = at + offsetAt(zone, at) * MS_PER_MINUTE;
      return at - (((local % size) + size) % size);
    }
    case 'day':
      return startOfLocalDay(localDayOf(at, zone), zone);
    case 'month': {
      const local = toLocalTime(at, zone);
      return startOfLocalDay(`${String(local.year).padStart(4, '0')}-${String(local.month).padStart(2, '0')}-01`, zone);
    }
  }
}

/** The start of the bucket after the one starting at `start` (a bucket start). */
export function nextBucketStart(start: number, interval: UsageInterval, zone: TimeZone): number {
  switch (interval) {
    case '15m':
    case 'hour': {
      // A switch by a part of an hour (Lord Howe's 30 minutes) makes one local hour shorter.
      const next = bucketStart(start + CLOCK_MS[interval], interval, zone);
      return next > start ? next : start + CLOCK_MS[interval];
    }
    case 'day':
      return startOfLocalDay(dayFromNumber(dayNumber(localDayOf(start, zone)) + 1), zone);
    case 'month': {
      const local = toLocalTime(start, zone);
      const [y, m] = local.month === 12 ? [local.year + 1, 1] : [local.year, local.month + 1];
      return startOfLocalDay(`${String(y).padStart(4, '0')}-${String(m).padStart(2, '0')}-01`, zone);
    }
  }
}

/**
 * The start of the last `days` local days up to `at` (the day of `at` included): local midnight
 * `days - 1` days before today, counted in calendar days of the zone (not 24-hour steps, which
 * a 23-hour spring day would make one day too many).
 */
export function lastDaysStart(at: number, days: number, zone: TimeZone): number {
  return startOfLocalDay(dayFromNumber(dayNumber(localDayOf(at, zone)) - Math.max(0, days - 1)), zone);
}

/** The bucket starts covering [from, to): from the bucket containing `from` to the last one starting before `to`. */
export function bucketStarts(from: number, to: number, interval: UsageInterval, zone: TimeZone, max: number): number[] | null {
  const starts: number[] = [];
  for (let at = bucketStart(from, interval, zone); at < to; at = nextBucketStart(at, interval, zone)) {
    if (starts.length === max) return null;
    starts.push(at);
  }
  return starts;
}

/** How SQL may pre-group rows: fixed cells of `sizeMs`, shifted by `shiftMs` (a cell starts where `(t + shiftMs) % sizeMs == 0`). */
export interface CellGrid {
  readonly sizeMs: number;
  readonly shiftMs: number;
}

/**
 * The coarsest fixed grid (a day, an hour, a quarter hour) whose cells never straddle a bucket
 * boundary: every bucket start and `end` is a cell start. A day's or month's buckets of a zone
 * without daylight saving fit whole-day cells; across a switch the midnights move by an hour in
 * UTC, so hour cells (quarter hours for a half-hour switch) are what fits. Every offset in use is
 * a multiple of 15 minutes, so the quarter hour always fits.
 */
export function cellGridFor(starts: readonly number[], end: number): CellGrid {
  const first = starts[0] ?? end;
  for (const sizeMs of [MS_PER_DAY, 60 * MS_PER_MINUTE, 15 * MS_PER_MINUTE]) {
    const shiftMs = (((-first) % sizeMs) + sizeMs) % sizeMs;
    if ([...starts, end].every((at) => (at + shiftMs) % sizeMs === 0)) return { sizeMs, shiftMs };
  }
  return { sizeMs: MS_PER_MINUTE, shiftMs: (((-first) % MS_PER_MINUTE) + MS_PER_MINUTE) % MS_PER_MINUTE };
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
