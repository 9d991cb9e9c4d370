import { sql, type Kysely } from 'kysely';

/**
 * Control state that decides relays, so a restart or a reload is invisible to them
 * (docs/architecture.md, "Control state snapshot"). Frozen in time: imports nothing from src/.
 *
 * - control_states: the rule-owned part of each dormitory, meter and circuit actor (purse
 *   standing, latches, reclose counts, lock-outs), written by the ledger's group commit.
 * - manual_cuts: the operator's manual cuts, written before the command is answered.
 *
 * No foreign keys on purpose: the group commit must never fail a whole batch because a
 * dormitory was deleted meanwhile; rows of meters that no longer exist are ignored at boot.
 */
export async function up(db: Kysely<any>): Promise<void> {
  await db.schema
    .createTable('control_states')
    .addColumn('dormitory_id', 'text', (c) => c.notNull())
    .addColumn('actor_key', 'text', (c) => c.notNull())
    .addColumn('state', 'jsonb', (c) => c.notNull())
    .addColumn('updated_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
    .addPrimaryKeyConstraint('control_states_pk', ['dormitory_id', 'actor_key'])
    .execute();

  await db.schema
    .createTable('manual_cuts')
    .addColumn('meter_id', 'text', (c) => c.notNull())
    .addColumn('target', 'text', (c) => c.notNull())
    .addColumn('dormitory_id', 'text', (c) => c.notNull())
    .addColumn('operator', 'text', (c) => c.notNull())
    .addColumn('reason', 'text', (c) => c.notNull())
    .addColumn('cut_at', 'timestamptz', (c) => c.notNull())
    .addPrimaryKeyConstraint('manual_cuts_pk', ['meter_id', 'target'])
    .execute();
  await db.schema.createIndex('manual_cuts_dormitory_idx').on('manual_cuts').column('dormitory_id').execute();
}

export async function down(db: Kysely<any>): Promise<void> {
  await db.schema.dropTable('manual_cuts').ifExists().execute();
  await db.schema.dropTable('control_states').ifExists().execute();
}
