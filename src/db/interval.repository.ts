import { sql } from 'kysely';
import type { FreeQuotaPolicy } from '../domain/tariff.ts';
import { occupantStays, quotaPolicyOf } from './quota-policy.repository.ts';
import { ZoneRules, type TimeZone } from '../domain/local-time.ts';
import { isTimeZone } from '../domain/campus-settings.ts';
import type { IntervalUsage } from '../domain/tariff-dry-run.ts';
import type { Purse } from './database.ts';
import type { Executor } from './executor.ts';

/** The meter channel whose intervals are a purse's consumption. */
const CHANNEL: Readonly<Record<Purse, { channel: string; kind: 'electric' | 'water' }>> = {
  electricity: { channel: 'main', kind: 'electric' },
  water: { channel: 'water', kind: 'water' },
};

/** Recorded interval usage of a purse per dormitory in [from, to), every meter of the purse summed, ascending. */
export async function dormitoryIntervals(db: Executor, dormitoryIds: readonly string[], purse: Purse, from: Date, to: Date): Promise<Map<string, IntervalUsage[]>> {
  const out = new Map<string, IntervalUsage[]>();
  if (dormitoryIds.length === 0) return out;
  const { channel, kind } = CHANNEL[purse];
  const rows = await db
    .selectFrom('interval_readings as i')
    .innerJoin('meters as m', 'm.id', 'i.meter_id')
    .select(['m.dormitory_id', 'i.interval_start', sql<number>`sum(i.usage)`.as('usage')])
    .where('m.dormitory_id', 'in', dormitoryIds)
    .where('m.kind', '=', kind)
    .where('i.channel', '=', channel)
    .where('i.interval_start', '>=', from)
    .where('i.interval_start', '<', to)
    .groupBy(['m.dormitory_id', 'i.interval_start'])
    .orderBy('m.dormitory_id')
    .orderBy('i.interval_start')
    .execute();
  for (const r of rows) {
    const list = out.get(r.dormitory_id) ?? [];
    list.push({ start: new Date(r.interval_start).getTime(), usage: Number(r.usage) });
    out.set(r.dormitory_id, list);
  }
  return out;
}

/** A dormitory's pricing context for a purse: its free quota policy and its campus's time zone. */
export interface DormitoryPricingContext {
  readonly dormitoryId: string;
  readonly quota: FreeQuotaPolicy | null;
  readonly zone: TimeZone;
}

export async function dormitoryPricingContexts(db: Executor, dormitoryIds: readonly string[], purse: Purse): Promise<DormitoryPricingContext[]> {
  if (dormitoryIds.length === 0) return [];
  const quotaColumn = purse === 'electricity' ? 'd.electricity_quota_id' : 'd.water_quota_id';
  const rows = await db
    .selectFrom('dormitories as d')
    .innerJoin('buildings as b', 'b.id', 'd.building_id')
    .innerJoin('campuses as c', 'c.id', 'b.campus_id')
    .leftJoin('free_quota_policies as q', 'q.id', quotaColumn)
    .select(['d.id', 'c.utc_offset_minutes', 'c.time_zone', 'c.settings', 'q.allowance', 'q.basis', 'q.period'])
    .where('d.id', 'in', dormitoryIds)
    .orderBy('d.id')
    .execute();
  const occupants = await occupantStays(db, dormitoryIds);
  const zones = new Map([...new Set(rows.map((r) => r.time_zone))].filter((z): z is string => z !== null && isTimeZone(z)).map((z) => [z, new ZoneRules(z)]));
  return rows.map((r) => ({
    dormitoryId: r.id,
    quota: r.allowance === null || r.basis === null || r.period === null ? null : quotaPolicyOf({ allowance: r.allowance, basis: r.basis, period: r.period }, r.settings, occupants.get(r.id) ?? []),
    zone: zones.get(r.time_zone ?? '') ?? r.utc_offset_minutes,
  }));
}
