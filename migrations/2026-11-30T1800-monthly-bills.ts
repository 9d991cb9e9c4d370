import { sql, type Kysely } from 'kysely';

/**
 * Monthly bills (issue 11, docs/reports.md). `monthly_bills`: one row per dormitory, purse and
 * local month, written once (the primary key makes generation idempotent) from the ledger as it
 * stood after the month closed. `bill_runs`: a campus's month whose bills are all written, so a
 * restart resumes (and catches up on) only the months not yet run. Frozen in time: imports
 * nothing from src/.
 */
export async function up(db: Kysely<any>): Promise<void> {
  await db.schema
    .createTable('monthly_bills')
    .addColumn('month', 'text', (c) => c.notNull())
    .addColumn('dormitory_id', 'text', (c) => c.notNull().references('dormitories.id'))
    .addColumn('purse', 'text', (c) => c.notNull().check(sql`purse in ('electricity', 'water')`))
    .addColumn('campus_id', 'text', (c) => c.notNull())
    .addColumn('building_id', 'text', (c) => c.notNull())
    .addColumn('period_from', 'timestamptz', (c) => c.notNull())
    .addColumn('period_to', 'timestamptz', (c) => c.notNull())
    .addColumn('opening', 'bigint', (c) => c.notNull())
    .addColumn('recharges', 'bigint', (c) => c.notNull())
    .addColumn('charges', 'bigint', (c) => c.notNull())
    .addColumn('refunds', 'bigint', (c) => c.notNull())
    .addColumn('adjustments', 'bigint', (c) => c.notNull())
    .addColumn('settlements', 'bigint', (c) => c.notNull())
    .addColumn('closing', 'bigint', (c) => c.notNull())
    .addColumn('usage', 'bigint', (c) => c.notNull())
    .addColumn('quota_granted', 'bigint', (c) => c.notNull())
    .addColumn('quota_used', 'bigint', (c) => c.notNull())
    .addColumn('periods', 'jsonb', (c) => c.notNull())
    .addColumn('settlement_policy', 'text', (c) => c.notNull())
    .addColumn('shares', 'jsonb', (c) => c.notNull())
    .addColumn('generated_at', 'timestamptz', (c) => c.notNull())
    .addPrimaryKeyConstraint('monthly_bills_pk', ['month', 'dormitory_id', 'purse'])
    .execute();
  await db.schema.createIndex('monthly_bills_building_idx').on('monthly_bills').columns(['month', 'building_id', 'dormitory_id']).execute();
  await db.schema
    .createTable('bill_runs')
    .addColumn('campus_id', 'text', (c) => c.notNull())
    .addColumn('month', 'text', (c) => c.notNull())
    .addColumn('bills', 'integer', (c) => c.notNull())
    .addColumn('completed_at', 'timestamptz', (c) => c.notNull())
    .addPrimaryKeyConstraint('bill_runs_pk', ['campus_id', 'month'])
    .execute();
}

export async function down(db: Kysely<any>): Promise<void> {
  await db.schema.dropTable('bill_runs').execute();
  await db.schema.dropTable('monthly_bills').execute();
}
