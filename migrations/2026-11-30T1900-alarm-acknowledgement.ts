import type { Kysely } from 'kysely';

/**
 * An operator acknowledges an alarm (seen, still active) apart from releasing it: who and when
 * are persisted, so a restart or a second screen shows the same. The panel filters by kind.
 * Frozen in time: imports nothing from src/.
 */
export async function up(db: Kysely<any>): Promise<void> {
  await db.schema.alterTable('alarms').addColumn('acknowledged_at', 'timestamptz').addColumn('acknowledged_by', 'text').execute();
  await db.schema.createIndex('alarms_kind_idx').on('alarms').columns(['kind', 'state']).execute();
}

export async function down(db: Kysely<any>): Promise<void> {
  await db.schema.dropIndex('alarms_kind_idx').execute();
  await db.schema.alterTable('alarms').dropColumn('acknowledged_at').dropColumn('acknowledged_by').execute();
}
