import { sql } from 'kysely';
import type { Purse } from './database.ts';
import type { Executor } from './executor.ts';

/** The meter kind and channel whose interval readings are a purse's consumption. */
const CONSUMPTION = { electricity: { kind: 'electric', channel: 'main' }, water: { kind: 'water', channel: 'water' } } as const;

/** A timestamp read from a subquery (a Date from pg, maybe text from PGlite) as ISO 8601. */
const isoOrNull = (at: Date | string | null): string | null => (at === null ? null : new Date(at).toISOString());

/** Where a dormitory is: what every ranked row carries. */
export interface DormitoryPlace {
  readonly dormitoryId: string;
  readonly buildingId: string;
  readonly floor: number;
  readonly room: string;
}

export interface ConsumerRow extends DormitoryPlace {
  /** Wh (electricity) or litres (water) recorded in the range. */
  readonly usage: number;
  /** Consumption charged in the range (positive fen). */
  readonly costFen: number;
}

/** The `limit` dormitories that recorded the most of a purse in [from, to), most first (ties by id). */
export async function topConsumers(db: Executor, input: { purse: Purse; from: Date; to: Date; buildingId?: string | undefined; limit: number }): Promise<ConsumerRow[]> {
  const { kind, channel } = CONSUMPTION[input.purse];
  let q = db
    .with('u', (w) =>
      w
        .selectFrom('interval_readings as i')
        .innerJoin('meters as m', 'm.id', 'i.meter_id')
        .where('m.kind', '=', kind)
        .where('i.channel', '=', channel)
        .where('i.interval_start', '>=', input.from)
        .where('i.interval_start', '<', input.to)
        .select(['m.dormitory_id', sql<string>`sum(i.usage)`.as('usage')])
        .groupBy('m.dormitory_id'),
    )
    .with('c', (w) =>
      w
        .selectFrom('ledger_entries as l')
        .where('l.kind', '=', 'consumption_charge')
        .where('l.purse', '=', input.purse)
        .where('l.occurred_at', '>=', input.from)
        .where('l.occurred_at', '<', input.to)
        .select(['l.dormitory_id', sql<string>`-sum(l.amount)`.as('cost')])
        .groupBy('l.dormitory_id'),
    )
    .selectFrom('u')
    .innerJoin('dormitories as d', 'd.id', 'u.dormitory_id')
    .leftJoin('c', 'c.dormitory_id', 'u.dormitory_id')
    .select(['d.id', 'd.building_id', 'd.floor', 'd.room', 'u.usage', sql<string>`coalesce(c.cost, 0)`.as('cost')])
    .where(sql<boolean>`u.usage > 0`);
  if (input.buildingId !== undefined) q = q.where('d.building_id', '=', input.buildingId);
  const rows = await q.orderBy(sql`u.usage`, 'desc').orderBy('d.id').limit(input.limit).execute();
  return rows.map((r) => ({ dormitoryId: r.id, buildingId: r.building_id, floor: r.floor, room: r.room, usage: Number(r.usage), costFen: Number(r.cost) }));
}

export interface ZeroUseRow extends DormitoryPlace {
  /** Students who stayed throughout the range. */
  readonly occupants: number;
  /** The start of the last 15-minute interval with electricity recorded before the range; null if none. */
  readonly lastUseAt: string | null;
}

/**
 * Dormitories someone stayed in throughout [from, to) whose electric meters recorded nothing in
 * it (a broken meter, a bypass, or a room left empty): a keyset page after `after` (a dormitory id).
 */
export async function zeroUseDormitories(db: Executor, input: { from: Date; to: Date; buildingId?: string | undefined; after: string | null; limit: number }): Promise<ZeroUseRow[]> {
  const stayedThroughout = (d: string) => sql`o.dormitory_id = ${sql.ref(d)} and o.checked_in_at <= ${input.from} and (o.checked_out_at is null or o.checked_out_at >= ${input.to})`;
  const used = sql`m.dormitory_id = d.id and m.kind = 'electric' and i.channel = 'main' and i.usage > 0`;
  let q = db
    .selectFrom('dormitories as d')
    .select([
      'd.id',
      'd.building_id',
      'd.floor',
      'd.room',
      sql<string>`(select count(*) from occupancies o where ${stayedThroughout('d.id')})`.as('occupants'),
      sql<Date | null>`(select max(i.interval_start) from interval_readings i join meters m on m.id = i.meter_id where ${used} and i.interval_start < ${input.from})`.as('last_use'),
    ])
    .where(sql<boolean>`exists (select 1 from occupancies o where ${stayedThroughout('d.id')})`)
    .where(sql<boolean>`not exists (select 1 from interval_readings i join meters m on m.id = i.meter_id where ${used} and i.interval_start >= ${input.from} and i.interval_start < ${input.to})`);
  if (input.buildingId !== undefined) q = q.where('d.building_id', '=', input.buildingId);
  if (input.after !== null) q = q.where('d.id', '>', input.after);
  const rows = await q.orderBy('d.id').limit(input.limit).execute();
  return rows.map((r) => ({ dormitoryId: r.id, buildingId: r.building_id, floor: r.floor, room: r.room, occupants: Number(r.occupants), lastUseAt: isoOrNull(r.last_use) }));
}

export interface ArrearsRow extends DormitoryPlace {
  readonly purse: Purse;
  /** The purse's balance (fen; negative when owed). */
  readonly balanceFen: number;
  /** When the balance last went below zero (the first entry after the last one that left it at or above zero); null if it is not below zero. */
  readonly belowZeroSince: string | null;
  /** Whether the purse stands cut for arrears (it stays cut until a recharge reaches the restore threshold). */
  readonly cut: boolean;
  /** When it was cut; null if it is not. */
  readonly cutSince: string | null;
}

/** The keyset of the arrears list: most owed first. */
export interface ArrearsKey {
  readonly balanceFen: number;
  readonly dormitoryId: string;
  readonly purse: Purse;
}

/** Purses below zero or cut for arrears: a keyset page after `after`, ordered by balance, dormitory, purse. */
export async function arrearsPage(db: Executor, input: { purse?: Purse | undefined; buildingId?: string | undefined; after: ArrearsKey | null; limit: number }): Promise<ArrearsRow[]> {
  const standing = sql`e.dormitory_id = a.dormitory_id and e.kind = 'purse_standing' and e.details->>'purse' = a.purse`;
  const inner = db
    .selectFrom('accounts as a')
    .innerJoin('dormitories as d', 'd.id', 'a.dormitory_id')
    .select([
      'a.id as account_id',
      'a.dormitory_id',
      'a.purse',
      'a.balance',
      'd.building_id',
      'd.floor',
      'd.room',
      sql<string | null>`(select e.to_state from events e where ${standing} order by e.occurred_at desc, e.id desc limit 1)`.as('standing'),
      sql<Date | null>`(select e.occurred_at from events e where ${standing} order by e.occurred_at desc, e.id desc limit 1)`.as('standing_since'),
    ])
    .$if(input.purse !== undefined, (q) => q.where('a.purse', '=', input.purse!))
    .$if(input.buildingId !== undefined, (q) => q.where('d.building_id', '=', input.buildingId!))
    .as('s');
  let q = db
    .selectFrom(inner)
    .selectAll('s')
    .select(
      sql<Date | null>`case when s.balance < 0 then (select min(l.occurred_at) from ledger_entries l where l.account_id = s.account_id and l.id > coalesce((select max(p.id) from ledger_entries p where p.account_id = s.account_id and p.balance_after >= 0), 0)) end`.as('below_since'),
    )
    .where(sql<boolean>`(s.balance < 0 or s.standing = 'cut')`);
  if (input.after !== null) q = q.where(sql<boolean>`(s.balance, s.dormitory_id, s.purse) > (${input.after.balanceFen}, ${input.after.dormitoryId}, ${input.after.purse})`);
  const rows = await q.orderBy('s.balance').orderBy('s.dormitory_id').orderBy('s.purse').limit(input.limit).execute();
  return rows.map((r) => ({
    dormitoryId: r.dormitory_id,
    buildingId: r.building_id,
    floor: r.floor,
    room: r.room,
    purse: r.purse,
    balanceFen: r.balance,
    belowZeroSince: isoOrNull(r.below_since),
    cut: r.standing === 'cut',
    cutSince: r.standing === 'cut' ? isoOrNull(r.standing_since) : null,
  }));
}
