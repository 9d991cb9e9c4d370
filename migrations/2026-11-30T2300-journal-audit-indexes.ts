import type { Kysely } from 'kysely';

/**
 * Journals and the audit list (docs/reports.md) read in keyset order: a kind's ledger entries
 * by time, alarms by the time they were raised, the audit log newest first by operator or
 * action. Frozen in time: imports nothing from src/.
 */
export async function up(db: Kysely<any>): Promise<void> {
  await db.schema.createIndex('ledger_entries_kind_occurred_idx').on('ledger_entries').columns(['kind', 'occurred_at', 'id']).execute();
  await db.schema.createIndex('alarms_raised_idx').on('alarms').columns(['raised_at', 'id']).execute();
  await db.schema.createIndex('audit_log_operator_idx').on('audit_log').columns(['operator', 'id']).execute();
  await db.schema.createIndex('audit_log_action_idx').on('audit_log').columns(['action', 'id']).execute();
  await db.schema.createIndex('audit_log_occurred_idx').on('audit_log').columns(['occurred_at', 'id']).execute();
}

export async function down(db: Kysely<any>): Promise<void> {
  for (const name of ['audit_log_occurred_idx', 'audit_log_action_idx', 'audit_log_operator_idx', 'alarms_raised_idx', 'ledger_entries_kind_occurred_idx']) await db.schema.dropIndex(name).execute();
}
