import type { Purse } from './database.ts';
import type { Executor } from './executor.ts';
import type { BillingState } from '../domain/tariff.ts';
import { validateSemesters, type FreeQuotaPolicy, type QuotaBasis, type QuotaPeriodKind, type Semester } from '../domain/quota.ts';

export interface QuotaPolicyRow {
  readonly id: string;
  readonly name: string;
  readonly purse: Purse;
  /** Base units (Wh, litres) granted per period: to the room, or to each occupant present at grant time. */
  readonly allowance: number;
  readonly basis: QuotaBasis;
  readonly period: QuotaPeriodKind;
}

export async function listQuotaPolicies(db: Executor, id?: string): Promise<QuotaPolicyRow[]> {
  let query = db.selectFrom('free_quota_policies').select(['id', 'name', 'purse', 'allowance', 'basis', 'period']).orderBy('id');
  if (id !== undefined) query = query.where('id', '=', id);
  return (await query.execute()).map((r) => ({ id: r.id, name: r.name, purse: r.purse, allowance: r.allowance, basis: r.basis, period: r.period }));
}

export async function findQuotaPolicy(db: Executor, id: string): Promise<QuotaPolicyRow | undefined> {
  return (await listQuotaPolicies(db, id))[0];
}

export async function insertQuotaPolicy(db: Executor, policy: QuotaPolicyRow): Promise<void> {
  await db.insertInto('free_quota_policies').values({ id: policy.id, name: policy.name, purse: policy.purse, allowance: policy.allowance, basis: policy.basis, period: policy.period }).execute();
}

/** Sets the purse's free quota policy of these dormitories. */
export async function assignQuotaPolicy(db: Executor, policyId: string, purse: Purse, dormitoryIds: readonly string[]): Promise<void> {
  if (dormitoryIds.length === 0) return;
  const set = purse === 'electricity' ? { electricity_quota_id: policyId } : { water_quota_id: policyId };
  await db.updateTable('dormitories').set(set).where('id', 'in', dormitoryIds).execute();
}

/** Of these dormitories, those whose `purse` has the policy `policyId`. */
export async function dormitoriesWithPolicy(db: Executor, policyId: string, purse: Purse, dormitoryIds: readonly string[]): Promise<string[]> {
  if (dormitoryIds.length === 0) return [];
  const column = purse === 'electricity' ? 'electricity_quota_id' : 'water_quota_id';
  return (await db.selectFrom('dormitories').select('id').where('id', 'in', dormitoryIds).where(column, '=', policyId).orderBy('id').execute()).map((r) => r.id);
}

/** Open stays (occupancy ids, ascending) per dormitory now; a dormitory with nobody is absent. */
export async function occupantStays(db: Executor, dormitoryIds: readonly string[]): Promise<Map<string, number[]>> {
  if (dormitoryIds.length === 0) return new Map();
  const rows = await db.selectFrom('occupancies').select(['id', 'dormitory_id']).where('dormitory_id', 'in', [...dormitoryIds]).where('to_day', 'is', null).orderBy('id').execute();
  const out = new Map<string, number[]>();
  for (const r of rows) out.set(r.dormitory_id, [...(out.get(r.dormitory_id) ?? []), r.id]);
  return out;
}

/** The campus's semesters as stored in `campuses.settings` (validated on write; anything unreadable is none). */
export function semestersOf(campusSettings: Record<string, unknown>): Semester[] {
  const checked = validateSemesters(campusSettings.semesters ?? []);
  return checked.ok ? checked.semesters : [];
}

/** A policy row as the billing engine takes it: with the campus's semesters and the room's occupants now. */
export function quotaPolicyOf(row: Pick<QuotaPolicyRow, 'allowance' | 'basis' | 'period'>, campusSettings: Record<string, unknown>, stays: readonly number[]): FreeQuotaPolicy {
  return { allowance: row.allowance, basis: row.basis, period: row.period, semesters: row.period === 'semester' ? semestersOf(campusSettings) : [], occupants: stays.length, stays };
}

/** A dormitory's quota policy per purse and each purse's committed billing state (null: never billed). */
export async function dormitoryQuotaRows(db: Executor, dormitoryId: string): Promise<{ policies: Record<Purse, string | null>; states: Record<Purse, BillingState | null> } | undefined> {
  const dormitory = await db.selectFrom('dormitories').select(['electricity_quota_id', 'water_quota_id']).where('id', '=', dormitoryId).executeTakeFirst();
  if (!dormitory) return undefined;
  const rows = await db.selectFrom('purse_billing_states').select(['purse', 'billing_state']).where('dormitory_id', '=', dormitoryId).execute();
  const stateOf = (purse: Purse) => (rows.find((r) => r.purse === purse)?.billing_state as BillingState | undefined) ?? null;
  return { policies: { electricity: dormitory.electricity_quota_id, water: dormitory.water_quota_id }, states: { electricity: stateOf('electricity'), water: stateOf('water') } };
}
