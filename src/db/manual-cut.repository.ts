import type { SupplyTarget } from '../domain/reading.ts';
import type { Executor } from './executor.ts';

/** One switched output an operator holds off (`manual_cuts`). */
export interface ManualCut {
  readonly dormitoryId: string;
  readonly meterId: string;
  readonly target: SupplyTarget;
}

export interface ManualCutHeld extends ManualCut {
  readonly operator: string;
  readonly reason: string;
  readonly at: Date;
}

/** Records manual cuts (a repeated cut keeps the first time and takes the latest operator and reason). */
export async function holdManualCuts(db: Executor, cuts: readonly ManualCutHeld[]): Promise<void> {
  if (cuts.length === 0) return;
  await db
    .insertInto('manual_cuts')
    .values(cuts.map((c) => ({ meter_id: c.meterId, target: c.target, dormitory_id: c.dormitoryId, operator: c.operator, reason: c.reason, cut_at: c.at })))
    .onConflict((oc) => oc.columns(['meter_id', 'target']).doUpdateSet((eb) => ({ operator: eb.ref('excluded.operator'), reason: eb.ref('excluded.reason'), dormitory_id: eb.ref('excluded.dormitory_id') })))
    .execute();
}

/** Lifts manual cuts; returns how many were held. */
export async function releaseManualCuts(db: Executor, cuts: readonly ManualCut[]): Promise<number> {
  let released = 0;
  for (const c of cuts) {
    const result = await db.deleteFrom('manual_cuts').where('meter_id', '=', c.meterId).where('target', '=', c.target).executeTakeFirst();
    released += Number(result.numDeletedRows);
  }
  return released;
}

export async function manualCutsOf(db: Executor, dormitoryIds: readonly string[]): Promise<ManualCut[]> {
  if (dormitoryIds.length === 0) return [];
  const rows = await db.selectFrom('manual_cuts').select(['dormitory_id', 'meter_id', 'target']).where('dormitory_id', 'in', dormitoryIds).execute();
  return rows.map((r) => ({ dormitoryId: r.dormitory_id, meterId: r.meter_id, target: r.target as SupplyTarget }));
}

/** The switched outputs of a dormitory's electricity meters that a manual command for `circuit` reaches. */
export async function manualCutTargets(db: Executor, dormitoryId: string, circuit: SupplyTarget | 'all', switchedTargets: (profile: string) => readonly SupplyTarget[]): Promise<ManualCut[]> {
  const meters = await db.selectFrom('meters').select(['id', 'profile']).where('dormitory_id', '=', dormitoryId).where('kind', '=', 'electric').orderBy('id').execute();
  return meters.flatMap((m) =>
    switchedTargets(m.profile)
      .filter((target) => target !== 'valve' && (circuit === 'all' || target === circuit))
      .map((target) => ({ dormitoryId, meterId: m.id, target })),
  );
}
