import type { Kysely } from 'kysely';
import { appendAudit } from '../db/audit.repository.ts';
import type { Database, Purse } from '../db/database.ts';
import { assignQuotaPolicy, findQuotaPolicy, insertQuotaPolicy, type QuotaPolicyRow } from '../db/quota-policy.repository.ts';
import { selectDormitories, type DormitorySelector } from '../db/tariff.repository.ts';
import { DomainError } from '../errors.ts';

/** What quota changes need of the running actors (CampusRuntime). */
export interface QuotaRuntime {
  reloadDormitory(id: string): Promise<boolean>;
}

export interface QuotaDeps {
  readonly db: Kysely<Database>;
  readonly runtime: QuotaRuntime;
}

export async function createQuotaPolicy(deps: QuotaDeps, policy: QuotaPolicyRow, operator: string): Promise<QuotaPolicyRow> {
  await deps.db.transaction().execute(async (trx) => {
    if (await findQuotaPolicy(trx, policy.id)) throw new DomainError('ALREADY_EXISTS', `quota policy ${policy.id} already exists`, 'id');
    await insertQuotaPolicy(trx, policy);
    await appendAudit(trx, { operator, action: 'quota_policy.create', targetType: 'quota_policy', targetId: policy.id, details: { ...policy } });
  });
  return policy;
}

/**
 * Gives a free quota policy to dormitories (a building, a floor or a list) for its purse.
 * Audited; the dormitories are rebuilt live, their pending charges committed first. The new
 * allowance is granted from the next month the purse is billed in (the current month's
 * remaining quota is kept as granted).
 */
export async function assignQuotaPolicyTo(deps: QuotaDeps, id: string, selector: DormitorySelector, operator: string): Promise<{ policyId: string; purse: Purse; dormitoryIds: string[] }> {
  const { purse, dormitoryIds } = await deps.db.transaction().execute(async (trx) => {
    const policy = await findQuotaPolicy(trx, id);
    if (!policy) throw new DomainError('NOT_FOUND', `quota policy ${id} does not exist`, 'id');
    const ids = await selectDormitories(trx, selector);
    if ('dormitoryIds' in selector) {
      const missing = [...new Set(selector.dormitoryIds)].filter((d) => !ids.includes(d));
      if (missing.length) throw new DomainError('DORMITORY_NOT_FOUND', `dormitories do not exist: ${missing.slice(0, 10).join(', ')}`, 'dormitoryIds');
    }
    if (ids.length === 0) throw new DomainError('DORMITORY_NOT_FOUND', 'no dormitory matches the assignment', 'building');
    await assignQuotaPolicy(trx, id, policy.purse, ids);
    await appendAudit(trx, { operator, action: 'quota_policy.assign', targetType: 'quota_policy', targetId: id, details: { purse: policy.purse, selector, dormitories: ids.length } });
    return { purse: policy.purse, dormitoryIds: ids };
  });
  for (const dormitoryId of dormitoryIds) await deps.runtime.reloadDormitory(dormitoryId);
  return { policyId: id, purse, dormitoryIds };
}
