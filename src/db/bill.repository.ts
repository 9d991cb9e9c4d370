import { sql } from 'kysely';
import type { KindSums } from '../domain/reports/monthly-bill.ts';
import type { MoneyColumns } from '../domain/reports/reconciliation.ts';
import type { BillPeriodRow, BillShareRow, Purse, SettlementPolicy } from './database.ts';
import type { Executor } from './executor.ts';
import { campusZoneReader } from '../domain/campus-settings.ts';
import type { TimeZone } from '../domain/local-time.ts';

/** A campus as billing sees it: its clock, its settlement policy, and when its ledger begins. */
export interface CampusToBill {
  readonly id: string;
  /** The campus's zone: its months begin at local midnight under the zone's rules. */
  readonly zone: TimeZone;
  readonly settlementPolicy: SettlementPolicy;
}

const ofCampus = (campusId: string) => sql<boolean>`d.building_id in (select b.id from buildings b where b.campus_id = ${campusId})`;

export async function campusesToBill(db: Executor): Promise<CampusToBill[]> {
  const rows = await db.selectFrom('campuses as c').select(['c.id', 'c.utc_offset_minutes', 'c.time_zone', 'c.settings']).orderBy('c.id').execute();
  const zoneOf = campusZoneReader();
  return rows.map((r) => ({ id: r.id, zone: zoneOf(r), settlementPolicy: r.settings.settlement === 'none' ? 'none' : 'per-share' }));
}

/** When the campus's ledger begins; null when it has no entry (nothing to bill). */
export async function firstEntryAt(db: Executor, campusId: string): Promise<Date | null> {
  const row = await db
    .selectFrom('ledger_entries as l')
    .innerJoin('dormitories as d', 'd.id', 'l.dormitory_id')
    .where(ofCampus(campusId))
    .select(sql<Date | string | null>`min(l.occurred_at)`.as('first_at'))
    .executeTakeFirst();
  return row?.first_at ? new Date(row.first_at) : null;
}

/** The months of a campus whose bills are all written. */
export async function billedMonths(db: Executor, campusId: string): Promise<Set<string>> {
  const rows = await db.selectFrom('bill_runs').select('month').where('campus_id', '=', campusId).execute();
  return new Set(rows.map((r) => r.month));
}

export async function recordBillRun(db: Executor, campusId: string, month: string, bills: number, at: Date): Promise<void> {
  await db.insertInto('bill_runs').values({ campus_id: campusId, month, bills, completed_at: at }).onConflict((oc) => oc.columns(['campus_id', 'month']).doNothing()).execute();
}

export async function campusDormitories(db: Executor, campusId: string): Promise<{ id: string; buildingId: string }[]> {
  const rows = await db.selectFrom('dormitories as d').select(['d.id', 'd.building_id']).where(ofCampus(campusId)).orderBy('d.id').execute();
  return rows.map((r) => ({ id: r.id, buildingId: r.building_id }));
}

const key = (dormitoryId: string, purse: string) => `${dormitoryId}\u0000${purse}`;
export const billKey = key;

/** Each dormitory purse's balance before `before` (the sum of its earlier entries), by billKey. */
export async function balancesBefore(db: Executor, campusId: string, before: Date): Promise<Map<string, number>> {
  const rows = await db
    .selectFrom('ledger_entries as l')
    .innerJoin('dormitories as d', 'd.id', 'l.dormitory_id')
    .where(ofCampus(campusId))
    .where('l.occurred_at', '<', before)
    .select(['l.dormitory_id', 'l.purse', sql<string>`sum(l.amount)`.as('amount')])
    .groupBy(['l.dormitory_id', 'l.purse'])
    .execute();
  return new Map(rows.map((r) => [key(r.dormitory_id, r.purse), Number(r.amount)]));
}

export interface MonthSums {
  readonly kinds: KindSums;
  /** Base units charged (consumption charges' usage). */
  usage: number;
  quotaGranted: number;
  quotaUsed: number;
}

/** The month's movements of every dormitory purse of the campus: sums by kind, usage, quota granted and used; by billKey. */
export async function monthSums(db: Executor, campusId: string, from: Date, to: Date): Promise<Map<string, MonthSums>> {
  const rows = await db
    .selectFrom('ledger_entries as l')
    .innerJoin('dormitories as d', 'd.id', 'l.dormitory_id')
    .where(ofCampus(campusId))
    .where('l.occurred_at', '>=', from)
    .where('l.occurred_at', '<', to)
    .select([
      'l.dormitory_id',
      'l.purse',
      'l.kind',
      sql<string>`sum(l.amount)`.as('amount'),
      sql<string>`coalesce(sum(l.usage), 0)`.as('usage'),
      sql<string>`coalesce(sum((l.details->>'freeUsed')::bigint), 0)`.as('free_used'),
    ])
    .groupBy(['l.dormitory_id', 'l.purse', 'l.kind'])
    .execute();
  const out = new Map<string, MonthSums>();
  for (const r of rows) {
    const k = key(r.dormitory_id, r.purse);
    const sums = out.get(k) ?? { kinds: {}, usage: 0, quotaGranted: 0, quotaUsed: 0 };
    (sums.kinds as Record<string, number>)[r.kind] = Number(r.amount);
    if (r.kind === 'consumption_charge') {
      sums.usage += Number(r.usage);
      sums.quotaUsed += Number(r.free_used);
    }
    if (r.kind === 'quota_grant') sums.quotaGranted += Number(r.usage);
    out.set(k, sums);
  }
  return out;
}

/** The month's charged usage by tariff version, period or tier label and rate (the charges' parts), by billKey. */
export async function monthPeriods(db: Executor, campusId: string, from: Date, to: Date): Promise<Map<string, BillPeriodRow[]>> {
  const rows = await db
    .selectFrom(sql<{ dormitory_id: string; purse: Purse; part: unknown }>`(select l.dormitory_id, l.purse, p.part from ledger_entries l join dormitories d on d.id = l.dormitory_id, jsonb_array_elements(coalesce(l.details->'parts', '[]'::jsonb)) as p(part) where ${ofCampus(campusId)} and l.kind = 'consumption_charge' and l.occurred_at >= ${from} and l.occurred_at < ${to})`.as('x'))
    .select([
      'x.dormitory_id',
      'x.purse',
      sql<string>`x.part->>'label'`.as('label'),
      sql<string>`x.part->>'rate'`.as('rate'),
      sql<string | null>`x.part->>'version'`.as('version'),
      sql<string>`sum((x.part->>'usage')::bigint)`.as('usage'),
    ])
    .groupBy(['x.dormitory_id', 'x.purse', sql`x.part->>'label'`, sql`x.part->>'rate'`, sql`x.part->>'version'`])
    .orderBy('x.dormitory_id')
    .orderBy(sql`x.part->>'version'`)
    .orderBy(sql`x.part->>'label'`)
    .orderBy(sql`x.part->>'rate'`)
    .execute();
  const out = new Map<string, BillPeriodRow[]>();
  for (const r of rows) {
    const k = key(r.dormitory_id, r.purse);
    const list = out.get(k) ?? [];
    list.push({ label: r.label, rate: Number(r.rate), version: r.version === null ? null : Number(r.version), usage: Number(r.usage) });
    out.set(k, list);
  }
  return out;
}

/** Each stay's own recharges into a purse in [from, to) (the payer's money), by `${occupancyId}\0${purse}`. */
export async function monthContributions(db: Executor, campusId: string, from: Date, to: Date): Promise<Map<string, number>> {
  const rows = await db
    .selectFrom('recharges as r')
    .innerJoin('ledger_entries as l', 'l.id', 'r.ledger_entry_id')
    .innerJoin('dormitories as d', 'd.id', 'l.dormitory_id')
    .where(ofCampus(campusId))
    .where('r.occupancy_id', 'is not', null)
    .where('l.occurred_at', '>=', from)
    .where('l.occurred_at', '<', to)
    .select(['r.occupancy_id', 'l.purse', sql<string>`sum(l.amount)`.as('amount')])
    .groupBy(['r.occupancy_id', 'l.purse'])
    .execute();
  return new Map(rows.map((r) => [key(String(r.occupancy_id), r.purse), Number(r.amount)]));
}

export interface NewBill extends MoneyColumns {
  readonly month: string;
  readonly dormitoryId: string;
  readonly purse: Purse;
  readonly campusId: string;
  readonly buildingId: string;
  readonly from: Date;
  readonly to: Date;
  readonly usage: number;
  readonly quotaGranted: number;
  readonly quotaUsed: number;
  readonly periods: readonly BillPeriodRow[];
  readonly settlementPolicy: SettlementPolicy;
  readonly shares: readonly BillShareRow[];
  readonly generatedAt: Date;
}

/** Writes bills; one already written for the same month, dormitory and purse stays as it was. */
export async function insertBills(db: Executor, bills: readonly NewBill[]): Promise<void> {
  for (let i = 0; i < bills.length; i += 200) {
    await db
      .insertInto('monthly_bills')
      .values(
        bills.slice(i, i + 200).map((b) => ({
          month: b.month,
          dormitory_id: b.dormitoryId,
          purse: b.purse,
          campus_id: b.campusId,
          building_id: b.buildingId,
          period_from: b.from,
          period_to: b.to,
          opening: b.opening,
          recharges: b.recharges,
          charges: b.charges,
          refunds: b.refunds,
          adjustments: b.adjustments,
          settlements: b.settlements,
          closing: b.closing,
          usage: b.usage,
          quota_granted: b.quotaGranted,
          quota_used: b.quotaUsed,
          periods: JSON.stringify(b.periods),
          settlement_policy: b.settlementPolicy,
          shares: JSON.stringify(b.shares),
          generated_at: b.generatedAt,
        })),
      )
      .onConflict((oc) => oc.columns(['month', 'dormitory_id', 'purse']).doNothing())
      .execute();
  }
}

/** A stored bill as the report shows it. */
export type Bill = Omit<NewBill, 'from' | 'to' | 'generatedAt'> & { readonly from: string; readonly to: string; readonly generatedAt: string };

export interface BillKey {
  readonly month: string;
  readonly dormitoryId: string;
  readonly purse: Purse;
}

/** Stored bills by month, dormitory and purse: a keyset page after `after`. */
export async function billsPage(db: Executor, input: { month?: string | undefined; dormitoryId?: string | undefined; buildingId?: string | undefined; after: BillKey | null; limit: number }): Promise<Bill[]> {
  let q = db.selectFrom('monthly_bills as m').selectAll('m');
  if (input.month !== undefined) q = q.where('m.month', '=', input.month);
  if (input.dormitoryId !== undefined) q = q.where('m.dormitory_id', '=', input.dormitoryId);
  if (input.buildingId !== undefined) q = q.where('m.building_id', '=', input.buildingId);
  if (input.after !== null) q = q.where(sql<boolean>`(m.month, m.dormitory_id, m.purse) > (${input.after.month}, ${input.after.dormitoryId}, ${input.after.purse})`);
  const rows = await q.orderBy('m.month').orderBy('m.dormitory_id').orderBy('m.purse').limit(input.limit).execute();
  return rows.map((r) => ({
    month: r.month,
    dormitoryId: r.dormitory_id,
    purse: r.purse,
    campusId: r.campus_id,
    buildingId: r.building_id,
    from: new Date(r.period_from).toISOString(),
    to: new Date(r.period_to).toISOString(),
    opening: r.opening,
    recharges: r.recharges,
    charges: r.charges,
    refunds: r.refunds,
    adjustments: r.adjustments,
    settlements: r.settlements,
    closing: r.closing,
    usage: r.usage,
    quotaGranted: r.quota_granted,
    quotaUsed: r.quota_used,
    periods: r.periods,
    settlementPolicy: r.settlement_policy,
    shares: r.shares,
    generatedAt: new Date(r.generated_at).toISOString(),
  }));
}
