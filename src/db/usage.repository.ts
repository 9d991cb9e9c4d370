import { sql, type RawBuilder } from 'kysely';
import type { CellGrid, CostSlice, UsageSlice } from '../domain/reports/usage-buckets.ts';
import { campusZoneOf, timeZoneNameOf } from '../domain/campus-settings.ts';
import type { TimeZone } from '../domain/local-time.ts';
import type { Executor } from './executor.ts';

/** What a consumption statistic covers (docs/reports.md). */
export type UsageScope =
  | { readonly kind: 'campus'; readonly campusId: string }
  | { readonly kind: 'building'; readonly buildingId: string }
  | { readonly kind: 'floor'; readonly buildingId: string; readonly floor: number }
  | { readonly kind: 'dormitory'; readonly dormitoryId: string }
  | { readonly kind: 'circuit'; readonly circuitId: string };

/** A scope that exists: its campus's zone, and for a circuit its meter and channel. */
export interface ResolvedUsageScope {
  readonly zone: TimeZone;
  /** The zone's IANA name (what the report shows). */
  readonly timeZone: string;
  readonly circuit: { readonly meterId: string; readonly channel: string } | null;
}

/** The scope's campus zone, or null when the scope names nothing (a floor with no dormitory is nothing). */
export async function resolveUsageScope(db: Executor, scope: UsageScope): Promise<ResolvedUsageScope | null> {
  const campuses = db.selectFrom('campuses as c');
  switch (scope.kind) {
    case 'campus': {
      const row = await campuses.select(['c.utc_offset_minutes', 'c.time_zone']).where('c.id', '=', scope.campusId).executeTakeFirst();
      return row ? { ...zoneOfRow(row), circuit: null } : null;
    }
    case 'building': {
      const row = await campuses.innerJoin('buildings as b', 'b.campus_id', 'c.id').select(['c.utc_offset_minutes', 'c.time_zone']).where('b.id', '=', scope.buildingId).executeTakeFirst();
      return row ? { ...zoneOfRow(row), circuit: null } : null;
    }
    case 'floor':
    case 'dormitory': {
      let q = campuses.innerJoin('buildings as b', 'b.campus_id', 'c.id').innerJoin('dormitories as d', 'd.building_id', 'b.id').select(['c.utc_offset_minutes', 'c.time_zone']);
      q = scope.kind === 'floor' ? q.where('b.id', '=', scope.buildingId).where('d.floor', '=', scope.floor) : q.where('d.id', '=', scope.dormitoryId);
      const row = await q.limit(1).executeTakeFirst();
      return row ? { ...zoneOfRow(row), circuit: null } : null;
    }
    case 'circuit': {
      const row = await campuses
        .innerJoin('buildings as b', 'b.campus_id', 'c.id')
        .innerJoin('dormitories as d', 'd.building_id', 'b.id')
        .innerJoin('meters as m', 'm.dormitory_id', 'd.id')
        .innerJoin('circuits as k', 'k.meter_id', 'm.id')
        .select(['c.utc_offset_minutes', 'c.time_zone', 'm.id as meter_id', 'k.kind'])
        .where('k.id', '=', scope.circuitId)
        .executeTakeFirst();
      return row ? { ...zoneOfRow(row), circuit: { meterId: row.meter_id, channel: row.kind } } : null;
    }
  }
}

const zoneOfRow = (row: { time_zone: string | null; utc_offset_minutes: number }) => ({ zone: campusZoneOf(row), timeZone: timeZoneNameOf(row) });

/** How rows are grouped in SQL: fixed cells of `sizeMs`, shifted by `shiftMs` (src/domain/reports/usage-buckets.ts). */
export type SliceGrid = CellGrid;

/** Epoch ms of the grid cell containing `column` (a timestamptz). */
function cellOf(column: RawBuilder<unknown>, grid: SliceGrid): RawBuilder<number> {
  // Literals, not parameters: the same expression is selected and grouped by, and PostgreSQL
  // matches a GROUP BY expression only when its text (parameter numbers included) is the same.
  const shift = sql.lit(Math.trunc(grid.shiftMs));
  const size = sql.lit(Math.trunc(grid.sizeMs));
  return sql<number>`(floor((extract(epoch from ${column}) * 1000 + ${shift}) / ${size}) * ${size} - ${shift})`;
}

/** The dormitories of a non-circuit scope, as a condition on `d` (dormitories) joined with `b` (buildings). */
function inScope(scope: Exclude<UsageScope, { kind: 'circuit' }>): RawBuilder<boolean> {
  switch (scope.kind) {
    case 'campus':
      return sql<boolean>`b.campus_id = ${scope.campusId}`;
    case 'building':
      return sql<boolean>`b.id = ${scope.buildingId}`;
    case 'floor':
      return sql<boolean>`b.id = ${scope.buildingId} and d.floor = ${scope.floor}`;
    case 'dormitory':
      return sql<boolean>`d.id = ${scope.dormitoryId}`;
  }
}

/**
 * The scope's recorded interval readings in [from, to), grouped on the grid: electricity (the
 * electric meters' billed `main` line, or one circuit's channel) in Wh, water in litres, and the
 * peak: per 15-minute interval the sum of the meters' highest power, the highest of those in a cell.
 */
export async function usageSlices(db: Executor, scope: UsageScope, circuit: ResolvedUsageScope['circuit'], from: Date, to: Date, grid: SliceGrid): Promise<UsageSlice[]> {
  const electric = circuit ? sql<boolean>`i.meter_id = ${circuit.meterId} and i.channel = ${circuit.channel}` : sql<boolean>`m.kind = 'electric' and i.channel = 'main'`;
  const water = circuit ? sql<boolean>`false` : sql<boolean>`m.kind = 'water' and i.channel = 'water'`;
  const where = scope.kind === 'circuit' ? sql<boolean>`i.meter_id = ${circuit?.meterId ?? ''}` : inScope(scope);
  const perInterval = db
    .selectFrom('interval_readings as i')
    .innerJoin('meters as m', 'm.id', 'i.meter_id')
    .innerJoin('dormitories as d', 'd.id', 'm.dormitory_id')
    .innerJoin('buildings as b', 'b.id', 'd.building_id')
    .where(where)
    .where('i.interval_start', '>=', from)
    .where('i.interval_start', '<', to)
    .select([
      'i.interval_start',
      sql<string>`coalesce(sum(case when ${electric} then i.usage else 0 end), 0)`.as('energy'),
      sql<string>`coalesce(sum(case when ${electric} then coalesce(i.max_power_w, 0) else 0 end), 0)`.as('peak'),
      sql<string>`coalesce(sum(case when ${water} then i.usage else 0 end), 0)`.as('water'),
    ])
    .groupBy('i.interval_start')
    .as('s');
  const cell = cellOf(sql`s.interval_start`, grid);
  const rows = await db
    .selectFrom(perInterval)
    .select([cell.as('at'), sql<string>`sum(s.energy)`.as('energy'), sql<string>`max(s.peak)`.as('peak'), sql<string>`sum(s.water)`.as('water')])
    .groupBy(cell)
    .orderBy(cell)
    .execute();
  return rows.map((r) => ({ at: Number(r.at), energyWh: Number(r.energy), peakW: Number(r.peak), waterL: Number(r.water) }));
}

/** The consumption charges of a non-circuit scope in [from, to) by purse, grouped on the grid by `occurred_at` (positive fen). */
export async function chargeSlices(db: Executor, scope: Exclude<UsageScope, { kind: 'circuit' }>, from: Date, to: Date, grid: SliceGrid): Promise<CostSlice[]> {
  const cell = cellOf(sql`l.occurred_at`, grid);
  const rows = await db
    .selectFrom('ledger_entries as l')
    .innerJoin('dormitories as d', 'd.id', 'l.dormitory_id')
    .innerJoin('buildings as b', 'b.id', 'd.building_id')
    .where(inScope(scope))
    .where('l.kind', '=', 'consumption_charge')
    .where('l.occurred_at', '>=', from)
    .where('l.occurred_at', '<', to)
    .select([
      cell.as('at'),
      sql<string>`coalesce(sum(case when l.purse = 'electricity' then -l.amount else 0 end), 0)`.as('electricity'),
      sql<string>`coalesce(sum(case when l.purse = 'water' then -l.amount else 0 end), 0)`.as('water'),
    ])
    .groupBy(cell)
    .orderBy(cell)
    .execute();
  return rows.map((r) => ({ at: Number(r.at), costFen: Number(r.electricity), waterCostFen: Number(r.water) }));
}
