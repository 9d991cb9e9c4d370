import { sql, type Kysely } from 'kysely';

/**
 * Online recharge (issue 11, docs/payments.md). `payments`: one row per payment a student
 * started at a provider; its reference is the provider's out-trade-no and the recharge's
 * reference, so a confirmed payment credits once. `payment_notifications`: every signed
 * notification id seen, per provider, so a replay (even after a restart) credits nothing.
 * Frozen in time: imports nothing from src/.
 */
export async function up(db: Kysely<any>): Promise<void> {
  await db.schema
    .createTable('payments')
    .addColumn('id', 'bigserial', (c) => c.primaryKey())
    .addColumn('provider', 'text', (c) => c.notNull())
    .addColumn('reference', 'text', (c) => c.notNull().unique())
    .addColumn('student_number', 'text', (c) => c.notNull())
    .addColumn('dormitory_id', 'text', (c) => c.notNull().references('dormitories.id'))
    .addColumn('purse', 'text', (c) => c.notNull().check(sql`purse in ('electricity', 'water')`))
    .addColumn('amount', 'bigint', (c) => c.notNull().check(sql`amount > 0`))
    .addColumn('state', 'text', (c) => c.notNull().defaultTo('pending').check(sql`state in ('pending', 'paid', 'failed')`))
    .addColumn('provider_transaction_id', 'text')
    .addColumn('recharge_id', 'bigint', (c) => c.references('recharges.id'))
    .addColumn('created_at', 'timestamptz', (c) => c.notNull())
    .addColumn('completed_at', 'timestamptz')
    .execute();
  await db.schema.createIndex('payments_student_idx').on('payments').columns(['student_number', 'id']).execute();
  await db.schema
    .createTable('payment_notifications')
    .addColumn('provider', 'text', (c) => c.notNull())
    .addColumn('notification_id', 'text', (c) => c.notNull())
    .addColumn('reference', 'text', (c) => c.notNull())
    .addColumn('received_at', 'timestamptz', (c) => c.notNull())
    .addPrimaryKeyConstraint('payment_notifications_pk', ['provider', 'notification_id'])
    .execute();
}

export async function down(db: Kysely<any>): Promise<void> {
  await db.schema.dropTable('payment_notifications').execute();
  await db.schema.dropTable('payments').execute();
}
