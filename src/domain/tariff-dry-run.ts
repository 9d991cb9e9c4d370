/**
 * Re-pricing recorded consumption under a tariff, pure (the tariff dry-run, issue 10). The
 * recorded 15-minute interval usages of one purse of one dormitory are priced in time order,
 * each interval spread over the price boundaries inside it (gap-pricing.ts), with the room's
 * free quota and tier position: the period opens with the usage recorded earlier in its first
 * month (so tiers and quota start where they stood), and each later month is granted anew.
 */
import { chargeAcrossSchedule, type TariffSchedule } from './gap-pricing.ts';
import { localToInstant, MS_PER_MINUTE, toLocalTime, type TimeZone } from './local-time.ts';
import { initialBillingState, type BillingState, type FreeQuotaPolicy } from './tariff.ts';

export const INTERVAL_MS = 15 * MS_PER_MINUTE;

export interface IntervalUsage {
  /** Start of the 15-minute interval, epoch ms. */
  readonly start: number;
  /** Base units (Wh, litres) recorded in it. */
  readonly usage: number;
}

/** Epoch ms of the local month start that contains `at`. */
export function localMonthStart(at: number, zone: TimeZone): number {
  const local = toLocalTime(at, zone);
  return localToInstant(Date.UTC(local.year, local.month - 1, 1), zone);
}

/**
 * The billing state at `from`, given the usage recorded earlier in that local month: the quota
 * period at `from` granted, less that usage (for a semester policy only the month's earlier
 * usage is taken off; the old and the draft price see the same quota either way).
 */
export function openingState(from: number, usedEarlierThisMonth: number, quota: FreeQuotaPolicy | null, zone: TimeZone): BillingState {
  const opened = initialBillingState(from, quota, zone);
  return { ...opened, monthUsage: usedEarlierThisMonth, freeRemaining: Math.max(0, opened.freeRemaining - usedEarlierThisMonth) };
}

/** What `intervals` (ascending by start) cost under `schedule`, from `opening`; minor units. */
export function priceIntervals(intervals: readonly IntervalUsage[], schedule: TariffSchedule, quota: FreeQuotaPolicy | null, opening: BillingState, zone: TimeZone): number {
  let state = opening;
  let amount = 0;
  for (const interval of intervals) {
    if (interval.usage <= 0) continue;
    const charge = chargeAcrossSchedule(schedule, quota, state, interval.usage, interval.start, interval.start + INTERVAL_MS, zone);
    amount += charge.amount;
    state = charge.state;
  }
  return amount;
}
