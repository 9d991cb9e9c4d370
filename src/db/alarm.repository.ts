import type { ExpressionBuilder } from 'kysely';
import type { Database } from './database.ts';
import type { Executor } from './executor.ts';

export interface AlarmView {
  readonly id: number;
  readonly dormitoryId: string | null;
  readonly meterId: string | null;
  readonly gatewayId: string | null;
  readonly circuit: string | null;
  readonly kind: string;
  readonly severity: string;
  readonly state: 'active' | 'released' | 'cleared';
  readonly message: string;
  readonly evidence: unknown[];
  readonly raisedAt: string;
  readonly releasedAt: string | null;
  readonly releasedBy: string | null;
  /** When and by whom an operator acknowledged it (seen; it stays active). */
  readonly acknowledgedAt: string | null;
  readonly acknowledgedBy: string | null;
  /**
   * The rooms it concerns: its own dormitory, or every room behind the gateway of an outage
   * (one gateway outage is one alarm, shown as one row with its rooms).
   */
  readonly rooms: string[];
}

type AlarmRow = {
  id: number;
  dormitory_id: string | null;
  meter_id: string | null;
  gateway_id: string | null;
  circuit: string | null;
  kind: string;
  severity: string;
  state: 'active' | 'released' | 'cleared';
  message: string;
  evidence: unknown[];
  raised_at: Date;
  released_at: Date | null;
  released_by: string | null;
  acknowledged_at: Date | null;
  acknowledged_by: string | null;
};

/** The rooms of an alarm: its dormitory, or the `rooms` a gateway outage names in its evidence. */
function roomsOf(r: AlarmRow): string[] {
  if (r.dormitory_id) return [r.dormitory_id];
  const rooms = new Set<string>();
  for (const item of Array.isArray(r.evidence) ? r.evidence : []) {
    const listed = typeof item === 'object' && item !== null ? (item as { rooms?: unknown }).rooms : undefined;
    if (Array.isArray(listed)) for (const room of listed) if (typeof room === 'string') rooms.add(room);
  }
  return [...rooms].sort();
}

const toView = (r: AlarmRow): AlarmView => ({
  id: r.id,
  dormitoryId: r.dormitory_id,
  meterId: r.meter_id,
  gatewayId: r.gateway_id,
  circuit: r.circuit,
  kind: r.kind,
  severity: r.severity,
  state: r.state,
  message: r.message,
  evidence: r.evidence,
  raisedAt: new Date(r.raised_at).toISOString(),
  releasedAt: r.released_at ? new Date(r.released_at).toISOString() : null,
  releasedBy: r.released_by,
  acknowledgedAt: r.acknowledged_at ? new Date(r.acknowledged_at).toISOString() : null,
  acknowledgedBy: r.acknowledged_by,
  rooms: roomsOf(r),
});

export interface AlarmFilter {
  readonly state?: AlarmRow['state'] | undefined;
  /** true: acknowledged only; false: not yet acknowledged only. */
  readonly acknowledged?: boolean | undefined;
  readonly kind?: string | undefined;
  readonly severity?: string | undefined;
  readonly dormitoryId?: string | undefined;
  /** A building id: its rooms' alarms and the outages of gateways that serve its rooms. */
  readonly building?: string | undefined;
  readonly page: number;
  readonly pageSize: number;
}

/** What the panel's header counts, whatever page is shown: active alarms, unacknowledged, critical. */
export interface AlarmCounts {
  readonly active: number;
  readonly unacknowledged: number;
  readonly critical: number;
}

function inBuilding(eb: ExpressionBuilder<Database, 'alarms'>, building: string) {
  const rooms = eb.selectFrom('dormitories').select('dormitories.id').where('dormitories.building_id', '=', building);
  const gateways = eb.selectFrom('meters').innerJoin('dormitories', 'dormitories.id', 'meters.dormitory_id').select('meters.gateway_id').where('dormitories.building_id', '=', building);
  return eb.or([eb('alarms.dormitory_id', 'in', rooms), eb('alarms.gateway_id', 'in', gateways)]);
}

export async function listAlarms(db: Executor, filter: AlarmFilter): Promise<{ items: AlarmView[]; total: number; counts: AlarmCounts }> {
  let q = db.selectFrom('alarms');
  if (filter.state) q = q.where('state', '=', filter.state);
  if (filter.acknowledged !== undefined) q = q.where('acknowledged_at', filter.acknowledged ? 'is not' : 'is', null);
  if (filter.kind) q = q.where('kind', '=', filter.kind);
  if (filter.severity) q = q.where('severity', '=', filter.severity);
  if (filter.dormitoryId) q = q.where('dormitory_id', '=', filter.dormitoryId);
  if (filter.building) {
    const building = filter.building;
    q = q.where((eb) => inBuilding(eb, building));
  }
  const [rows, count, counts] = await Promise.all([
    q.selectAll().orderBy('id', 'desc').limit(filter.pageSize).offset((filter.page - 1) * filter.pageSize).execute(),
    q.select((eb) => eb.fn.countAll<number>().as('n')).executeTakeFirstOrThrow(),
    db
      .selectFrom('alarms')
      .where('state', '=', 'active')
      .select((eb) => [
        eb.fn.countAll<number>().as('active'),
        eb.fn.count<number>('id').filterWhere('acknowledged_at', 'is', null).as('unacknowledged'),
        eb.fn.count<number>('id').filterWhere('severity', '=', 'critical').as('critical'),
      ])
      .executeTakeFirstOrThrow(),
  ]);
  return {
    items: rows.map((r) => toView(r as AlarmRow)),
    total: Number(count.n),
    counts: { active: Number(counts.active), unacknowledged: Number(counts.unacknowledged), critical: Number(counts.critical) },
  };
}

export async function findAlarm(db: Executor, id: number): Promise<AlarmView | undefined> {
  const row = await db.selectFrom('alarms').selectAll().where('id', '=', id).executeTakeFirst();
  return row ? toView(row as AlarmRow) : undefined;
}

/** Marks an active, unacknowledged alarm seen; false when it is not active or was acknowledged already. */
export async function markAlarmAcknowledged(db: Executor, id: number, operator: string, at: Date): Promise<boolean> {
  const result = await db
    .updateTable('alarms')
    .set({ acknowledged_at: at, acknowledged_by: operator })
    .where('id', '=', id)
    .where('state', '=', 'active')
    .where('acknowledged_at', 'is', null)
    .executeTakeFirst();
  return Number(result.numUpdatedRows) > 0;
}

export async function markAlarmReleased(db: Executor, id: number, operator: string, at: Date): Promise<boolean> {
  const result = await db.updateTable('alarms').set({ state: 'released', released_at: at, released_by: operator }).where('id', '=', id).where('state', '=', 'active').executeTakeFirst();
  return Number(result.numUpdatedRows) > 0;
}

/** Active alarms per dormitory (dormitories with none are absent). */
export async function activeAlarmCounts(db: Executor, dormitoryIds: readonly string[]): Promise<Map<string, number>> {
  if (dormitoryIds.length === 0) return new Map();
  const rows = await db
    .selectFrom('alarms')
    .select(['dormitory_id', (eb) => eb.fn.countAll<number>().as('n')])
    .where('state', '=', 'active')
    .where('dormitory_id', 'in', dormitoryIds)
    .groupBy('dormitory_id')
    .execute();
  return new Map(rows.map((r) => [r.dormitory_id!, Number(r.n)]));
}
