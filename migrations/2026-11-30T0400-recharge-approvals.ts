import { sql, type Kysely } from 'kysely';

/**
 * Recharges above RECHARGE_APPROVAL_THRESHOLD_FEN wait here until a second finance user (or
 * an admin) other than the requester approves or rejects them. The payer's reference is
 * unique, as on `recharges`, so a repeated request finds its pending approval. Frozen in time:
 * imports nothing from src/.
 */
export async function up(db: Kysely<any>): Promise<void> {
  await db.schema
    .createTable('recharge_approvals')
    .addColumn('id', 'bigserial', (c) => c.primaryKey())
    .addColumn('reference', 'text', (c) => c.notNull().unique())
    .addColumn('dormitory_id', 'text', (c) => c.notNull().references('dormitories.id'))
    .addColumn('purse', 'text', (c) => c.notNull().check(sql`purse in ('electricity', 'water')`))
    .addColumn('amount', 'bigint', (c) => c.notNull().check(sql`amount > 0`))
    .addColumn('method', 'text', (c) => c.notNull())
    .addColumn('student_id', 'text')
    .addColumn('state', 'text', (c) => c.notNull().defaultTo('pending').check(sql`state in ('pending', 'approved', 'rejected')`))
    .addColumn('requested_by', 'text', (c) => c.notNull())
    .addColumn('requested_at', 'timestamptz', (c) => c.notNull())
    .addColumn('decided_by', 'text')
    .addColumn('decided_at', 'timestamptz')
    .addColumn('recharge_id', 'bigint', (c) => c.references('recharges.id'))
    // A decision by the requester is refused in the service; the database holds the line too.
    .addCheckConstraint('recharge_approvals_second_person', sql`decided_by is null or decided_by <> requested_by`)
    .execute();
  await db.schema.createIndex('recharge_approvals_state_idx').on('recharge_approvals').columns(['state', 'id']).execute();
}

export async function down(db: Kysely<any>): Promise<void> {
  await db.schema.dropTable('recharge_approvals').execute();
}
