import { type Kysely } from 'kysely';

/**
 * The billing state of each dormitory's purse (issue 8): the month, the tier position (usage
 * this month), the free quota left and the sub-fen carry belong to the room, not to each meter
 * (a second electricity meter in one room got a second monthly quota grant). Written by the
 * ledger's group commit in the same transaction as the charges and meter cursors it goes with.
 * Frozen in time: this file never imports from src/.
 */
export async function up(db: Kysely<any>): Promise<void> {
  await db.schema
    .createTable('purse_billing_states')
    .addColumn('dormitory_id', 'text', (c) => c.notNull().references('dormitories.id'))
    .addColumn('purse', 'text', (c) => c.notNull())
    .addColumn('billing_state', 'jsonb', (c) => c.notNull())
    .addColumn('updated_at', 'timestamptz', (c) => c.notNull())
    .addPrimaryKeyConstraint('purse_billing_states_pk', ['dormitory_id', 'purse'])
    .execute();
}

export async function down(db: Kysely<any>): Promise<void> {
  await db.schema.dropTable('purse_billing_states').ifExists().execute();
}
