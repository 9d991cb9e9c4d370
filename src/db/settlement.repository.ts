import { sql } from 'kysely';
import type { Purse, SettlementPolicy } from './database.ts';
import type { Executor } from './executor.ts';
import type { SettlementVerdict } from '../domain/settlement/settlement.ts';
import { dayFromNumber, dayNumber, daysBetween, startOfLocalDay } from '../domain/settlement/local-day.ts';
import type { TimeZone } from '../domain/local-time.ts';

/** One local day of a room's shared ledger entries (docs/settlement.md). */
export interface RoomDayTotals {
  readonly day: string;
  readonly consumptionFen: number;
  readonly sharedCreditFen: number;
}

/**
 * The room's shared entries of one purse on local days [fromDay, toDay), summed per local day:
 * every entry except recharges that name a payer (those are the payer's own) and the entries
 * settlements made (those close a stay that was settled). Days are cut at the campus's local
 * midnights from its zone's rules (a day of 23 or 25 hours is one day): the midnights are
 * computed here and handed to PostgreSQL as one ordered array, and `width_bucket` numbers the
 * day an entry falls in (1 = fromDay), so the database's own time-zone data plays no part.
 */
export async function roomDays(db: Executor, dormitoryId: string, purse: Purse, fromDay: string, toDay: string, zone: TimeZone): Promise<RoomDayTotals[]> {
  const count = daysBetween(fromDay, toDay);
  if (count <= 0) return [];
  const midnights = Array.from({ length: count + 1 }, (_, i) => new Date(startOfLocalDay(dayFromNumber(dayNumber(fromDay) + i), zone)));
  const thresholds = `{${midnights.map((m) => m.toISOString()).join(',')}}`;
  const rows = await db
    .selectFrom('ledger_entries as le')
    .leftJoin('recharges as r', 'r.ledger_entry_id', 'le.id')
    .select([
      sql<number>`width_bucket(le.occurred_at, ${thresholds}::timestamptz[])`.as('bucket'),
      sql<number>`coalesce(sum(case when le.kind = 'consumption_charge' then le.amount else 0 end), 0)`.as('consumption'),
      sql<number>`coalesce(sum(case when le.kind = 'consumption_charge' then 0 else le.amount end), 0)`.as('shared'),
    ])
    .where('le.dormitory_id', '=', dormitoryId)
    .where('le.purse', '=', purse)
    .where('le.occurred_at', '>=', midnights[0]!)
    .where('le.occurred_at', '<', midnights[count]!)
    .where('r.payer_student_number', 'is', null)
    .where(sql<boolean>`le.details->>'settlementId' is null`)
    .groupBy(sql`1`)
    .orderBy(sql`1`)
    .execute();
  return rows.map((r) => ({ day: dayFromNumber(dayNumber(fromDay) + Number(r.bucket) - 1), consumptionFen: Number(r.consumption), sharedCreditFen: Number(r.shared) }));
}

/** The student's own recharges into this purse during the stay. */
export async function contributionsOf(db: Executor, occupancyId: number, purse: Purse): Promise<number> {
  const row = await db
    .selectFrom('recharges')
    .select(sql<number>`coalesce(sum(amount), 0)`.as('total'))
    .where('occupancy_id', '=', occupancyId)
    .where('purse', '=', purse)
    .executeTakeFirstOrThrow();
  return Number(row.total);
}

/** A settlement as recorded for finance: the verdict of src/domain/settlement and who, where, when. */
export interface SettlementRecord extends SettlementVerdict {
  readonly id: number;
  readonly occupancyId: number;
  readonly studentId: string;
  readonly dormitoryId: string;
  readonly purse: Purse;
  readonly policy: SettlementPolicy;
  readonly ledgerEntryId: number | null;
  readonly operator: string;
  readonly settledAt: string;
}

export type NewSettlement = Omit<SettlementRecord, 'id' | 'ledgerEntryId' | 'settledAt'> & { readonly settledAt: Date };

const columns = [
  'id',
  'occupancy_id',
  'student_number',
  'dormitory_id',
  'purse',
  'policy',
  'days',
  'contributions',
  'consumption_share',
  'shared_credit_share',
  'equity',
  'direction',
  'amount',
  'ledger_entry_id',
  'operator',
  'settled_at',
] as const;

function toRecord(r: {
  id: number;
  occupancy_id: number;
  student_number: string;
  dormitory_id: string;
  purse: Purse;
  policy: SettlementPolicy;
  days: number;
  contributions: number;
  consumption_share: number;
  shared_credit_share: number;
  equity: number;
  direction: SettlementRecord['direction'];
  amount: number;
  ledger_entry_id: number | null;
  operator: string;
  settled_at: Date;
}): SettlementRecord {
  return {
    id: r.id,
    occupancyId: r.occupancy_id,
    studentId: r.student_number,
    dormitoryId: r.dormitory_id,
    purse: r.purse,
    policy: r.policy,
    days: r.days,
    contributionsFen: r.contributions,
    consumptionShareFen: r.consumption_share,
    sharedCreditShareFen: r.shared_credit_share,
    equityFen: r.equity,
    direction: r.direction,
    amountFen: r.amount,
    ledgerEntryId: r.ledger_entry_id,
    operator: r.operator,
    settledAt: new Date(r.settled_at).toISOString(),
  };
}

/** Inserts the settlement record (unique per stay and purse: a stay is settled once). */
export async function insertSettlement(db: Executor, s: NewSettlement): Promise<SettlementRecord> {
  const row = await db
    .insertInto('settlements')
    .values({
      occupancy_id: s.occupancyId,
      student_number: s.studentId,
      dormitory_id: s.dormitoryId,
      purse: s.purse,
      policy: s.policy,
      days: s.days,
      contributions: s.contributionsFen,
      consumption_share: s.consumptionShareFen,
      shared_credit_share: s.sharedCreditShareFen,
      equity: s.equityFen,
      direction: s.direction,
      amount: s.amountFen,
      operator: s.operator,
      settled_at: s.settledAt,
    })
    .returning(columns)
    .executeTakeFirstOrThrow();
  return toRecord(row);
}

export async function linkSettlementEntry(db: Executor, id: number, ledgerEntryId: number): Promise<void> {
  await db.updateTable('settlements').set({ ledger_entry_id: ledgerEntryId }).where('id', '=', id).execute();
}

export async function listSettlements(
  db: Executor,
  filter: { studentId?: string | undefined; dormitoryId?: string | undefined; direction?: SettlementRecord['direction'] | undefined; page: number; pageSize: number },
): Promise<{ items: SettlementRecord[]; total: number }> {
  let query = db.selectFrom('settlements');
  if (filter.studentId) query = query.where('student_number', '=', filter.studentId);
  if (filter.dormitoryId) query = query.where('dormitory_id', '=', filter.dormitoryId);
  if (filter.direction) query = query.where('direction', '=', filter.direction);
  const [rows, count] = await Promise.all([
    query.select(columns).orderBy('id', 'desc').limit(filter.pageSize).offset((filter.page - 1) * filter.pageSize).execute(),
    query.select((eb) => eb.fn.countAll<number>().as('n')).executeTakeFirstOrThrow(),
  ]);
  return { items: rows.map(toRecord), total: Number(count.n) };
}
