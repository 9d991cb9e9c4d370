import { sql, type Kysely } from 'kysely';

/**
 * A posting's key (issue 13 break-it finding): the ledger writer names each charge, quota grant
 * and lapse it derives from a dormitory's billing record, and writes that name with the entry.
 * A commit whose reply was lost (the connection dropped after COMMIT reached the server) used to
 * be committed again on retry, charging the same register range twice; the retry now finds the
 * key and skips the entry. Unique where set: the database itself refuses a second. Existing
 * entries and entries of other kinds (recharges have their reference) have none. Frozen in time:
 * imports nothing from src/.
 */
export async function up(db: Kysely<any>): Promise<void> {
  await sql`alter table ledger_entries add column posting_key text`.execute(db);
  await sql`create unique index ledger_entries_posting_key_idx on ledger_entries (posting_key) where posting_key is not null`.execute(db);
}

export async function down(db: Kysely<any>): Promise<void> {
  await db.schema.dropIndex('ledger_entries_posting_key_idx').execute();
  await sql`alter table ledger_entries drop column posting_key`.execute(db);
}
