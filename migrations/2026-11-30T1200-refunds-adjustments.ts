import { sql, type Kysely } from 'kysely';

/**
 * Refunds and adjustments (issue 11): office money operations, idempotent by (kind, reference)
 * like recharges, each with its ledger entry. `amount` is what the operator asked: a refund is
 * positive (the ledger entry is its negative), an adjustment is signed. The recharge approval
 * table becomes the approval table of every money operation: `operation` says which, the
 * reference is unique per operation, and an adjustment's amount may be negative.
 * Frozen in time: imports nothing from src/.
 */
export async function up(db: Kysely<any>): Promise<void> {
  await db.schema
    .createTable('money_operations')
    .addColumn('id', 'bigserial', (c) => c.primaryKey())
    .addColumn('kind', 'text', (c) => c.notNull().check(sql`kind in ('refund', 'adjustment')`))
    .addColumn('reference', 'text', (c) => c.notNull())
    .addColumn('dormitory_id', 'text', (c) => c.notNull().references('dormitories.id'))
    .addColumn('purse', 'text', (c) => c.notNull().check(sql`purse in ('electricity', 'water')`))
    .addColumn('amount', 'bigint', (c) => c.notNull())
    .addColumn('reason', 'text', (c) => c.notNull())
    .addColumn('operator', 'text', (c) => c.notNull())
    .addColumn('approved_by', 'text')
    .addColumn('ledger_entry_id', 'bigint', (c) => c.references('ledger_entries.id'))
    .addColumn('balance_after', 'bigint', (c) => c.notNull().defaultTo(0))
    .addColumn('created_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
    .addCheckConstraint('money_operations_amount_sign', sql`(kind = 'refund' and amount > 0) or (kind = 'adjustment' and amount <> 0)`)
    .addUniqueConstraint('money_operations_kind_reference_unique', ['kind', 'reference'])
    .execute();
  await db.schema.createIndex('money_operations_dormitory_idx').on('money_operations').columns(['dormitory_id', 'id']).execute();

  await db.schema
    .alterTable('recharge_approvals')
    .addColumn('operation', 'text', (c) => c.notNull().defaultTo('recharge').check(sql`operation in ('recharge', 'refund', 'adjustment')`))
    .execute();
  await db.schema.alterTable('recharge_approvals').addColumn('reason', 'text').execute();
  await db.schema
    .alterTable('recharge_approvals')
    .addColumn('money_operation_id', 'bigint', (c) => c.references('money_operations.id'))
    .execute();
  await db.schema.alterTable('recharge_approvals').alterColumn('method', (c) => c.dropNotNull()).execute();
  await sql`alter table recharge_approvals drop constraint recharge_approvals_amount_check`.execute(db);
  await sql`alter table recharge_approvals add constraint recharge_approvals_amount_check check (amount <> 0 and (operation = 'adjustment' or amount > 0))`.execute(db);
  await sql`alter table recharge_approvals drop constraint recharge_approvals_reference_key`.execute(db);
  await sql`alter table recharge_approvals add constraint recharge_approvals_operation_reference_key unique (operation, reference)`.execute(db);
}

export async function down(db: Kysely<any>): Promise<void> {
  await sql`delete from recharge_approvals where operation <> 'recharge'`.execute(db);
  await sql`alter table recharge_approvals drop constraint recharge_approvals_operation_reference_key`.execute(db);
  await sql`alter table recharge_approvals add constraint recharge_approvals_reference_key unique (reference)`.execute(db);
  await sql`alter table recharge_approvals drop constraint recharge_approvals_amount_check`.execute(db);
  await sql`alter table recharge_approvals add constraint recharge_approvals_amount_check check (amount > 0)`.execute(db);
  await db.schema.alterTable('recharge_approvals').alterColumn('method', (c) => c.setNotNull()).execute();
  await db.schema.alterTable('recharge_approvals').dropColumn('money_operation_id').dropColumn('reason').dropColumn('operation').execute();
  await db.schema.dropTable('money_operations').execute();
}
