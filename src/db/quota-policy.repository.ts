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

/** A dormitory purse's free quota: its policy's monthly allowance and the purse's billing state as stored (null before the first billing). */
export interface PurseQuotaRow {
  readonly purse: Purse;
  readonly monthlyAllowance: number;
  readonly billingState: unknown;
}

/** The purses of a dormitory that have a free quota policy, with their stored billing state. */
export async function purseQuotas(db: Executor, dormitoryId: string): Promise<PurseQuotaRow[]> {
  const [dormitory, states] = await Promise.all([
    db.selectFrom('dormitories').select(['electricity_quota_id', 'water_quota_id']).where('id', '=', dormitoryId).executeTakeFirst(),
    db.selectFrom('purse_billing_states').select(['purse', 'billing_state']).where('dormitory_id', '=', dormitoryId).execute(),
  ]);
  if (!dormitory) return [];
  const policies = await listQuotaPolicies(db);
  const rows: PurseQuotaRow[] = [];
  for (const [purse, policyId] of [['electricity', dormitory.electricity_quota_id], ['water', dormitory.water_quota_id]] as const) {
    const policy = policyId === null ? undefined : policies.find((p) => p.id === policyId);
    if (!policy) continue;
    rows.push({ purse, monthlyAllowance: policy.monthlyAllowance, billingState: states.find((s) => s.purse === purse)?.billing_state ?? null });
  }
  return rows;
}
