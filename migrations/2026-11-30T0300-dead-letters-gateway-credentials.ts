import { sql, type Kysely } from 'kysely';

/**
 * Ledger dead letters (an item the group committer could not write, kept with its error) and
 * MQTT gateway credentials (only a scrypt hash of each secret). Frozen: imports nothing from src/.
 */
export async function up(db: Kysely<any>): Promise<void> {
  await db.schema
    .createTable('ledger_dead_letters')
    .addColumn('id', 'bigserial', (c) => c.primaryKey())
    .addColumn('kind', 'text', (c) => c.notNull())
    // JSON text, not jsonb: the item may hold what jsonb refuses (a \u0000 escape).
    .addColumn('item', 'text', (c) => c.notNull())
    .addColumn('error', 'text', (c) => c.notNull())
    .addColumn('created_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
    .execute();

  await db.schema
    .createTable('gateway_credentials')
    .addColumn('gateway_id', 'text', (c) => c.primaryKey().references('gateways.id').onDelete('cascade'))
    .addColumn('secret_hash', 'text', (c) => c.notNull())
    .addColumn('issued_by', 'text', (c) => c.notNull())
    .addColumn('issued_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
    .execute();
}

export async function down(db: Kysely<any>): Promise<void> {
  await db.schema.dropTable('gateway_credentials').execute();
  await db.schema.dropTable('ledger_dead_letters').execute();
}
