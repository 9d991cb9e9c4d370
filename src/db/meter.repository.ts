import type { Executor } from './executor.ts';

/** Where a meter is installed: enough to find its live actor. */
export interface MeterPlacement {
  readonly id: string;
  readonly dormitoryId: string;
  readonly kind: 'electric' | 'water';
  readonly profile: string;
}

export async function findMeterPlacement(db: Executor, meterId: string): Promise<MeterPlacement | undefined> {
  const row = await db.selectFrom('meters').select(['id', 'dormitory_id', 'kind', 'profile']).where('id', '=', meterId).executeTakeFirst();
  return row && { id: row.id, dormitoryId: row.dormitory_id, kind: row.kind, profile: row.profile };
}
