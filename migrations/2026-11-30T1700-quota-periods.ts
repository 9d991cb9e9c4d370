import { sql, type Kysely } from 'kysely';

/**
 * Free quota policies per occupant and per semester, with expiry (issue 10). A policy's
 * allowance is per dormitory or per occupant present at grant time (`basis`), per local month
 * or per semester of the campus (`period`); the column `monthly_allowance` becomes `allowance`.
 * Unused quota lapses at its period's end as a `quota_expiry` ledger entry (amount 0, usage the
 * units that lapsed), so it is never lost silently. Frozen in time: this file never imports from src/.
 */
const KINDS_BEFORE = `'recharge', 'refund', 'consumption_charge', 'quota_grant', 'adjustment', 'settlement'`;

export async function up(db: Kysely<any>): Promise<void> {
  await db.schema.alterTable('free_quota_policies').renameColumn('monthly_allowance', 'allowance').execute();
  await db.schema
    .alterTable('free_quota_policies')
    .addColumn('basis', 'text', (c) => c.notNull().defaultTo('per-dormitory').check(sql`basis in ('per-dormitory', 'per-occupant')`))
    .execute();
  await db.schema
    .alterTable('free_quota_policies')
    .addColumn('period', 'text', (c) => c.notNull().defaultTo('month').check(sql`period in ('month', 'semester')`))
    .execute();
  await sql`alter table ledger_entries drop constraint if exists ledger_entries_kind_check`.execute(db);
  await sql.raw(`alter table ledger_entries add constraint ledger_entries_kind_check check (kind in (${KINDS_BEFORE}, 'quota_expiry'))`).execute(db);
}

export async function down(db: Kysely<any>): Promise<void> {
  await sql`alter table ledger_entries drop constraint if exists ledger_entries_kind_check`.execute(db);
  await sql.raw(`alter table ledger_entries add constraint ledger_entries_kind_check check (kind in (${KINDS_BEFORE}))`).execute(db);
  await db.schema.alterTable('free_quota_policies').dropColumn('period').execute();
  await db.schema.alterTable('free_quota_policies').dropColumn('basis').execute();
  await db.schema.alterTable('free_quota_policies').renameColumn('allowance', 'monthly_allowance').execute();
}
