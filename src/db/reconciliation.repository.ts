import { sql } from 'kysely';
import type { BalanceSum, MovementSum } from '../domain/reports/reconciliation.ts';
import type { Executor } from './executor.ts';
import { campusZoneReader, timeZoneNameOf } from '../domain/campus-settings.ts';
import type { TimeZone } from '../domain/local-time.ts';

/** A campus and its zone: its local days are the report's days. */
export async function campusesForReports(db: Executor): Promise<{ id: string; zone: TimeZone; timeZone: string }[]> {
  const rows = await db.selectFrom('campuses').select(['id', 'utc_offset_minutes', 'time_zone']).orderBy('id').execute();
  const zoneOf = campusZoneReader();
  return rows.map((r) => ({ id: r.id, zone: zoneOf(r), timeZone: timeZoneNameOf(r) }));
}

const ledgerOfCampus = (db: Executor, campusId: string) =>
  db
    .selectFrom('ledger_entries as l')
    .innerJoin('dormitories as d', 'd.id', 'l.dormitory_id')
    .innerJoin('buildings as b', 'b.id', 'd.building_id')
    .where('b.campus_id', '=', campusId);

// Sums of bigint are numeric (text on the wire): read as text, turned into numbers here (fen stay far below 2^53).
const total = sql<string>`coalesce(sum(l.amount), 0)`;

/** Each (building, purse) balance: the sum of every entry that occurred before `before`. */
export async function balancesBefore(db: Executor, campusId: string, before: Date): Promise<BalanceSum[]> {
  const rows = await ledgerOfCampus(db, campusId).where('l.occurred_at', '<', before).select(['b.id as building', 'l.purse', total.as('amount')]).groupBy(['b.id', 'l.purse']).execute();
  return rows.map((r) => ({ campus: campusId, building: r.building, purse: r.purse, amount: Number(r.amount) }));
}

/** The movements in [from, to) by (building, purse, kind), signed as posted. */
export async function movementsBetween(db: Executor, campusId: string, from: Date, to: Date): Promise<MovementSum[]> {
  const rows = await ledgerOfCampus(db, campusId)
    .where('l.occurred_at', '>=', from)
    .where('l.occurred_at', '<', to)
    .select(['b.id as building', 'l.purse', 'l.kind', total.as('amount')])
    .groupBy(['b.id', 'l.purse', 'l.kind'])
    .execute();
  return rows.map((r) => ({ campus: campusId, building: r.building, purse: r.purse, kind: r.kind, amount: Number(r.amount) }));
}

export interface ChannelSum {
  readonly campus: string;
  readonly building: string;
  readonly purse: 'electricity' | 'water';
  readonly method: string | null;
  readonly provider: string | null;
  readonly amount: number;
  readonly count: number;
}

/** The recharges in [from, to) by (building, purse, method, online provider), from the ledger entries' own details. */
export async function rechargesByChannel(db: Executor, campusId: string, from: Date, to: Date): Promise<ChannelSum[]> {
  const method = sql<string | null>`l.details->>'method'`;
  const provider = sql<string | null>`l.details->>'provider'`;
  const rows = await ledgerOfCampus(db, campusId)
    .where('l.kind', '=', 'recharge')
    .where('l.occurred_at', '>=', from)
    .where('l.occurred_at', '<', to)
    .select(['b.id as building', 'l.purse', method.as('method'), provider.as('provider'), total.as('amount'), sql<string>`count(*)`.as('n')])
    .groupBy(['b.id', 'l.purse', method, provider])
    .execute();
  return rows.map((r) => ({ campus: campusId, building: r.building, purse: r.purse, method: r.method, provider: r.provider, amount: Number(r.amount), count: Number(r.n) }));
}
