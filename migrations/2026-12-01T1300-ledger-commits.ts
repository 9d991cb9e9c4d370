import { sql, type Kysely } from 'kysely';

/**
 * The group commits that went through, by key (a known gap closed): a commit whose reply was lost
 * (the connection dropped after COMMIT reached the server) is retried whole, with the key it had;
 * its transaction first claims the key, and finds it taken when the first attempt committed, so
 * nothing of it (alarms, events, audit rows, interval sums; postings already had their own keys)
 * is written twice. Rows older than a week are pruned by the writer. Frozen in time: imports
 * nothing from src/.
 */
export async function up(db: Kysely<any>): Promise<void> {
  await sql`create table ledger_commits (key text primary key, committed_at timestamptz not null default now())`.execute(db);
  await db.schema.createIndex('ledger_commits_committed_at_idx').on('ledger_commits').column('committed_at').execute();
}

export async function down(db: Kysely<any>): Promise<void> {
  await db.schema.dropTable('ledger_commits').execute();
}
