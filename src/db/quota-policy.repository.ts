import type { Purse } from './database.ts';
import type { Executor } from './executor.ts';

export interface QuotaPolicyRow {
  readonly id: string;
  readonly name: string;
  readonly purse: Purse;
  /** Base units (Wh, litres) granted free to the dormitory's purse each local month. */
  readonly monthlyAllowance: number;
}

export async function listQuotaPolicies(db: Executor): Promise<QuotaPolicyRow[]> {
  const rows = await db.selectFrom('free_quota_policies').select(['id', 'name', 'purse', 'monthly_allowance']).orderBy('id').execute();
  return rows.map((r) => ({ id: r.id, name: r.name, purse: r.purse, monthlyAllowance: r.monthly_allowance }));
}

export async function findQuotaPolicy(db: Executor, id: string): Promise<QuotaPolicyRow | undefined> {
  return (await listQuotaPolicies(db)).find((p) => p.id === id);
}

export async function insertQuotaPolicy(db: Executor, policy: QuotaPolicyRow): Promise<void> {
  await db.insertInto('free_quota_policies').values({ id: policy.id, name: policy.name, purse: policy.purse, monthly_allowance: policy.monthlyAllowance }).execute();
}

/** Sets the purse's free quota policy of these dormitories. */
export async function assignQuotaPolicy(db: Executor, policyId: string, purse: Purse, dormitoryIds: readonly string[]): Promise<void> {
  if (dormitoryIds.length === 0) return;
  const set = purse === 'electricity' ? { electricity_quota_id: policyId } : { water_quota_id: policyId };
  await db.updateTable('dormitories').set(set).where('id', 'in', dormitoryIds).execute();
}
