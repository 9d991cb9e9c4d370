import { sql, type Kysely } from 'kysely';

/**
 * Wall display tokens (issue 12, docs/websocket.md "Wall displays"): long-lived, read-only
 * credentials an admin mints for a screen; they open the live feed and nothing else. Only
 * `sha256$<hex>` of the token is stored. Revoking sets `revoked_at` (the row stays, for the
 * audit trail and the list). Frozen: imports nothing from src/.
 */
export async function up(db: Kysely<any>): Promise<void> {
  await db.schema
    .createTable('display_tokens')
    .addColumn('id', 'bigserial', (c) => c.primaryKey())
    .addColumn('name', 'text', (c) => c.notNull())
    .addColumn('token_hash', 'text', (c) => c.notNull().unique())
    .addColumn('issued_by', 'text', (c) => c.notNull())
    .addColumn('issued_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
    .addColumn('revoked_at', 'timestamptz')
    .addColumn('revoked_by', 'text')
    .execute();
}

export async function down(db: Kysely<any>): Promise<void> {
  await db.schema.dropTable('display_tokens').execute();
}
