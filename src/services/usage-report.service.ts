import type { Clock } from '../clock.ts';
import type { Executor } from '../db/executor.ts';
import { chargeSlices, resolveUsageScope, usageSlices, type UsageScope } from '../db/usage.repository.ts';
import { MS_PER_DAY, offsetAt, type TimeZone } from '../domain/local-time.ts';
import { bucketStart, bucketStarts, cellGridFor, foldBuckets, nextBucketStart, type UsageBucket, type UsageInterval } from '../domain/reports/usage-buckets.ts';
import { DomainError } from '../errors.ts';
import { reportRange } from './report-range.ts';

export type UsageScopeKind = UsageScope['kind'];
export type { UsageBucket, UsageInterval };

/** A report covers at most this many buckets (e.g. 104 days of quarter hours). */
export const MAX_USAGE_BUCKETS = 10_000;

/** What `GET /api/reports/usage` answers (docs/reports.md). */
export interface UsageReport {
  readonly scope: UsageScopeKind;
  readonly id: string;
  readonly interval: UsageInterval;
  /** The first bucket's start and the last one's end (the asked range widened to whole buckets). */
  readonly from: string;
  readonly to: string;
  /** The campus's IANA zone the buckets are cut on (a day is 23 or 25 hours on a daylight saving switch). */
  readonly timeZone: string;
  /** The zone's UTC offset at `from` (minutes east); it may change inside the range. */
  readonly utcOffsetMinutes: number;
  readonly buckets: readonly UsageBucket[];
}

export interface UsageQuery {
  readonly scope: UsageScopeKind;
  readonly id: string;
  readonly interval?: UsageInterval | undefined;
  /** ISO 8601; default: `to` minus one day. */
  readonly from?: string | undefined;
  /** ISO 8601; default: now on the injected clock. */
  readonly to?: string | undefined;
}

/** `<building>:<floor>` names a floor (the floor number after the last colon). */
function scopeOf(kind: UsageScopeKind, id: string): UsageScope {
  switch (kind) {
    case 'campus':
      return { kind, campusId: id };
    case 'building':
      return { kind, buildingId: id };
    case 'dormitory':
      return { kind, dormitoryId: id };
    case 'circuit':
      return { kind, circuitId: id };
    case 'floor': {
      const colon = id.lastIndexOf(':');
      const floor = Number(id.slice(colon + 1));
      if (colon <= 0 || !/^-?\d{1,3}$/.test(id.slice(colon + 1)) || !Number.isSafeInteger(floor)) throw new DomainError('VALIDATION_FAILED', 'a floor is named <building>:<floor>, e.g. A:3', 'id');
      return { kind, buildingId: id.slice(0, colon), floor };
    }
  }
}

/**
 * Consumption statistics of a campus, building, floor, dormitory or circuit: energy, water,
 * money charged and peak power per bucket, buckets on the campus's clock. Energy and peak come
 * from the recorded 15-minute interval readings, money from the ledger's consumption charges.
 * Every bucket of the range is listed, empty ones as zeros, so a chart needs no gap filling.
 */
export async function usageReport(db: Executor, clock: Clock, query: UsageQuery): Promise<UsageReport> {
  const interval = query.interval ?? 'hour';
  const scope = scopeOf(query.scope, query.id);
  const { from, to } = reportRange(query, clock, MS_PER_DAY);
  const resolved = await resolveUsageScope(db, scope);
  if (!resolved) throw new DomainError('NOT_FOUND', `${query.scope} ${query.id} does not exist`, 'id');
  const zone: TimeZone = resolved.zone;
  const starts = bucketStarts(from, to, interval, zone, MAX_USAGE_BUCKETS);
  if (!starts) throw new DomainError('VALIDATION_FAILED', `at most ${MAX_USAGE_BUCKETS} buckets: a shorter range or a longer interval`, 'interval');
  const first = bucketStart(from, interval, zone);
  const last = bucketStart(to - 1, interval, zone);
  const end = nextBucketStart(last, interval, zone);
  // Grouped in SQL on the coarsest fixed cells that never straddle a bucket (folded here).
  const grid = cellGridFor(starts, end);
  const usage = await usageSlices(db, scope, resolved.circuit, new Date(first), new Date(end), grid);
  const costs = scope.kind === 'circuit' ? null : await chargeSlices(db, scope, new Date(first), new Date(end), grid);
  return {
    scope: query.scope,
    id: query.id,
    interval,
    from: new Date(first).toISOString(),
    to: new Date(end).toISOString(),
    timeZone: resolved.timeZone,
    utcOffsetMinutes: offsetAt(zone, first),
    buckets: foldBuckets(starts, end, usage, costs),
  };
}
