import type { Kysely } from 'kysely';

/**
 * The daily reconciliation (docs/reports.md) reads the ledger by the time each movement
 * occurred: a day's entries, and the balance before a day. Frozen in time: imports nothing from src/.
 */
export async function up(db: Kysely<any>): Promise<void> {
  await db.schema.createIndex('ledger_entries_occurred_at_idx').on('ledger_entries').columns(['occurred_at']).execute();
}

export async function down(db: Kysely<any>): Promise<void> {
  await db.schema.dropIndex('ledger_entries_occurred_at_idx').execute();
}
