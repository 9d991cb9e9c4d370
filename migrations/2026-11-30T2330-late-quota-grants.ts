import { sql, type Kysely } from 'kysely';

/**
 * A late occupant's pro rata free quota (issue 10): a `quota_grant` ledger entry with
 * `details.studentId` and `details.period.from`. At most one per student, purse and period, held
 * by the database itself (a retry, a restart or a batch run again cannot write a second), and
 * found by student without reading the ledger. Frozen in time: imports nothing from src/.
 */
export async function up(db: Kysely<any>): Promise<void> {
  // A dormitory's late grants, read back with its purse states when it starts.
  await sql`create index ledger_entries_late_quota_dormitory_idx on ledger_entries (dormitory_id, id) where kind = 'quota_grant' and details ? 'studentId'`.execute(db);
  await sql`create unique index ledger_entries_late_quota_idx on ledger_entries ((details->>'studentId'), purse, ((details->'period')->>'from')) where kind = 'quota_grant' and details ? 'studentId'`.execute(db);
}

export async function down(db: Kysely<any>): Promise<void> {
  await db.schema.dropIndex('ledger_entries_late_quota_idx').execute();
  await db.schema.dropIndex('ledger_entries_late_quota_dormitory_idx').execute();
}
