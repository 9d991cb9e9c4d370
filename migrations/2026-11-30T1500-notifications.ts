import { sql, type Kysely } from 'kysely';

/**
 * Notifications (issue 11, docs/notifications.md). `notifications` is both the in-app list and
 * the delivery outbox: one row per recipient (an operator username: a student's number, or a
 * staff operator), written in the same transaction as the event it announces; the dispatcher
 * delivers pending rows through its channels and records which channels took it.
 * `days_left_alerts`: per dormitory and purse, whether the days-of-credit estimate is below the
 * alert line (one notification per crossing). Frozen in time: imports nothing from src/.
 */
export async function up(db: Kysely<any>): Promise<void> {
  await db.schema
    .createTable('notifications')
    .addColumn('id', 'bigserial', (c) => c.primaryKey())
    .addColumn('recipient', 'text', (c) => c.notNull())
    .addColumn('audience', 'text', (c) => c.notNull().check(sql`audience in ('student', 'staff')`))
    .addColumn('dormitory_id', 'text')
    .addColumn('kind', 'text', (c) => c.notNull())
    .addColumn('message', 'text', (c) => c.notNull())
    .addColumn('details', 'jsonb', (c) => c.notNull().defaultTo(sql`'{}'::jsonb`))
    .addColumn('dedupe_key', 'text')
    .addColumn('created_at', 'timestamptz', (c) => c.notNull())
    .addColumn('read_at', 'timestamptz')
    .addColumn('delivery_state', 'text', (c) => c.notNull().defaultTo('pending').check(sql`delivery_state in ('pending', 'delivered', 'failed')`))
    .addColumn('attempts', 'integer', (c) => c.notNull().defaultTo(0))
    .addColumn('next_attempt_at', 'timestamptz', (c) => c.notNull())
    .addColumn('delivered_channels', 'jsonb', (c) => c.notNull().defaultTo(sql`'[]'::jsonb`))
    .addColumn('delivered_at', 'timestamptz')
    .addColumn('last_error', 'text')
    .execute();
  await db.schema.createIndex('notifications_recipient_idx').on('notifications').columns(['recipient', 'id']).execute();
  await db.schema.createIndex('notifications_pending_idx').on('notifications').columns(['delivery_state', 'next_attempt_at']).execute();
  await db.schema.createIndex('notifications_dedupe_idx').on('notifications').columns(['recipient', 'dedupe_key']).unique().execute();
  await db.schema
    .createTable('days_left_alerts')
    .addColumn('dormitory_id', 'text', (c) => c.notNull().references('dormitories.id'))
    .addColumn('purse', 'text', (c) => c.notNull().check(sql`purse in ('electricity', 'water')`))
    .addColumn('below', 'boolean', (c) => c.notNull())
    .addColumn('days_left', 'double precision')
    .addColumn('updated_at', 'timestamptz', (c) => c.notNull())
    .addPrimaryKeyConstraint('days_left_alerts_pk', ['dormitory_id', 'purse'])
    .execute();
}

export async function down(db: Kysely<any>): Promise<void> {
  await db.schema.dropTable('days_left_alerts').execute();
  await db.schema.dropTable('notifications').execute();
}
