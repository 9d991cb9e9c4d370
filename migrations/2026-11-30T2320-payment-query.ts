import { sql, type Kysely } from 'kysely';

/**
 * Querying a payment at its provider (docs/payments.md, "Querying a payment"). `payments` gains
 * the `closed` state (the provider closed it, or it expired unpaid) and the pending-payment
 * job's bookkeeping: how many times it was asked, when to ask next (backoff) and the last
 * answer that was not a settlement. `sandbox_settlements` is the sandbox provider's own record
 * of what its pay page confirmed (the provider side, not the server's payment row): what its
 * query answers, across restarts. Frozen in time: imports nothing from src/.
 */
export async function up(db: Kysely<any>): Promise<void> {
  await sql`alter table payments drop constraint if exists payments_state_check`.execute(db);
  await sql`alter table payments add constraint payments_state_check check (state in ('pending', 'paid', 'failed', 'closed'))`.execute(db);
  await db.schema
    .alterTable('payments')
    .addColumn('query_attempts', 'integer', (c) => c.notNull().defaultTo(0))
    .execute();
  await db.schema.alterTable('payments').addColumn('next_query_at', 'timestamptz').execute();
  await db.schema.alterTable('payments').addColumn('last_query_error', 'text').execute();
  await sql`create index payments_pending_query_idx on payments (coalesce(next_query_at, created_at), id) where state = 'pending'`.execute(db);
  await db.schema
    .createTable('sandbox_settlements')
    .addColumn('reference', 'text', (c) => c.primaryKey())
    .addColumn('status', 'text', (c) => c.notNull().check(sql`status in ('paid', 'failed')`))
    .addColumn('amount', 'bigint', (c) => c.notNull().check(sql`amount > 0`))
    .addColumn('transaction_id', 'text', (c) => c.notNull().unique())
    .addColumn('settled_at', 'timestamptz', (c) => c.notNull())
    .execute();
}

export async function down(db: Kysely<any>): Promise<void> {
  await db.schema.dropTable('sandbox_settlements').execute();
  await sql`drop index payments_pending_query_idx`.execute(db);
  await db.schema.alterTable('payments').dropColumn('last_query_error').dropColumn('next_query_at').dropColumn('query_attempts').execute();
  await sql`alter table payments drop constraint payments_state_check`.execute(db);
  await sql`alter table payments add constraint payments_state_check check (state in ('pending', 'paid', 'failed'))`.execute(db);
}
