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
};

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
});

export async function listAlarms(
  db: Executor,
  filter: { state?: string | undefined; dormitoryId?: string | undefined; page: number; pageSize: number },
): Promise<{ items: AlarmView[]; total: number }> {
  let q = db.selectFrom('alarms');
  if (filter.state) q = q.where('state', '=', filter.state as AlarmRow['state']);
  if (filter.dormitoryId) q = q.where('dormitory_id', '=', filter.dormitoryId);
  const [rows, count] = await Promise.all([
    q.selectAll().orderBy('id', 'desc').limit(filter.pageSize).offset((filter.page - 1) * filter.pageSize).execute(),
    q.select((eb) => eb.fn.countAll<number>().as('n')).executeTakeFirstOrThrow(),
  ]);
  return { items: rows.map((r) => toView(r as AlarmRow)), total: Number(count.n) };
}

export async function findAlarm(db: Executor, id: number): Promise<AlarmView | undefined> {
  const row = await db.selectFrom('alarms').selectAll().where('id', '=', id).executeTakeFirst();
  return row ? toView(row as AlarmRow) : undefined;
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
