import type { TimeZone } from '../local-time.ts';
import { localDayOf, startOfLocalDay } from '../settlement/local-day.ts';
import { settleStay, type RoomDay, type SettlementPolicy, type Stay } from '../settlement/settlement.ts';
import type { LedgerEntryKindName } from './ledger-kinds.ts';
import { columnOf, type Column, type MoneyColumns } from './reconciliation.ts';

/**
 * A dormitory purse's monthly bill, pure: month arithmetic on the campus's clock, the bill's
 * money columns from the month's ledger sums, and each occupant's share (the settlement rule,
 * docs/settlement.md, applied to the days of the month).
 */
const MONTH = /^(\d{4})-(0[1-9]|1[0-2])$/;

export function isBillMonth(value: unknown): value is string {
  return typeof value === 'string' && MONTH.test(value);
}

/** The instant local month `month` ('YYYY-MM') begins: its first local midnight under the zone's rules. */
export function startOfLocalMonth(month: string, zone: TimeZone): number {
  return startOfLocalDay(`${month}-01`, zone);
}

export function nextMonth(month: string): string {
  const [y, m] = month.split('-').map(Number) as [number, number];
  return m === 12 ? `${String(y + 1).padStart(4, '0')}-01` : `${String(y).padStart(4, '0')}-${String(m + 1).padStart(2, '0')}`;
}

/** The first local day of a month ('YYYY-MM-01'). */
export const firstDayOf = (month: string): string => `${month}-01`;

/** The months from `first` through `last`, in order (none when last is before first). */
export function monthsThrough(first: string, last: string): string[] {
  const out: string[] = [];
  for (let m = first; m <= last; m = nextMonth(m)) out.push(m);
  return out;
}

/** The month's ledger movements of one purse, summed by kind (signed as posted). */
export type KindSums = Partial<Record<LedgerEntryKindName, number>>;

/** The month's money columns of one purse, from the balance before the month and its movements by kind. */
export function billMoney(opening: number, sums: KindSums): MoneyColumns {
  const columns: Record<Column, number> = { recharges: 0, charges: 0, refunds: 0, adjustments: 0, settlements: 0 };
  for (const [kind, amount] of Object.entries(sums) as [LedgerEntryKindName, number][]) {
    const { column, sign } = columnOf(kind);
    columns[column] += sign * amount;
  }
  const closing = opening + columns.recharges - columns.charges - columns.refunds + columns.adjustments + columns.settlements;
  return { opening, ...columns, closing };
}

export interface OccupantShare {
  readonly occupancyId: number;
  readonly days: number;
  readonly contributionsFen: number;
  readonly consumptionShareFen: number;
  readonly sharedCreditShareFen: number;
  readonly equityFen: number;
}

/**
 * Each stay's share of the month: the stay clipped to the month's days, the room's shared days
 * split among those present as at check-out (so a month's shares and a later settlement agree),
 * plus the occupant's own recharges in the month. Under policy `none` nobody has a share.
 */
export function occupantShares(month: string, policy: SettlementPolicy, stays: readonly Stay[], days: readonly RoomDay[], contributions: ReadonlyMap<number, number>): OccupantShare[] {
  if (policy === 'none') return [];
  const first = firstDayOf(month);
  const end = firstDayOf(nextMonth(month));
  const clip = (s: Stay) => ({ occupancyId: s.occupancyId, fromDay: s.fromDay > first ? s.fromDay : first, toDay: s.toDay === null || s.toDay > end ? end : s.toDay });
  const inMonth = stays.map(clip).filter((s) => s.fromDay < s.toDay);
  return inMonth.map((leaver) => {
    const verdict = settleStay({ policy, leaver, stays: inMonth, days, contributionsFen: contributions.get(leaver.occupancyId) ?? 0 });
    return { occupancyId: leaver.occupancyId, days: verdict.days, contributionsFen: verdict.contributionsFen, consumptionShareFen: verdict.consumptionShareFen, sharedCreditShareFen: verdict.sharedCreditShareFen, equityFen: verdict.equityFen };
  });
}

/** The month ('YYYY-MM') of a local day. */
export const monthOfDay = (day: string): string => day.slice(0, 7);

/** The last local month that has ended by `at`. */
export function lastEndedMonth(at: number, zone: TimeZone): string {
  const today = localDayOf(at, zone);
  const current = monthOfDay(today);
  const [y, m] = current.split('-').map(Number) as [number, number];
  return m === 1 ? `${String(y - 1).padStart(4, '0')}-12` : `${String(y).padStart(4, '0')}-${String(m - 1).padStart(2, '0')}`;
}
