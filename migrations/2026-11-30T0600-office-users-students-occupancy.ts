import { sql, type Kysely } from 'kysely';

/**
 * The office: operator display names, student e-mail, the occupancy history (never deleted),
 * the payer of a recharge, and the settlements made when a student leaves a shared room.
 * Frozen in time: this file never imports from src/. Days are local calendar dates stored as
 * 'YYYY-MM-DD' text (both drivers return them unchanged; they sort as strings).
 */
export async function up(db: Kysely<any>): Promise<void> {
  await db.schema.alterTable('operators').addColumn('display_name', 'text').execute();
  await db.schema.alterTable('occupants').addColumn('email', 'text').execute();
  await db.schema
    .alterTable('occupants')
    .addColumn('created_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
    .execute();

  await db.schema
    .createTable('occupancies')
    .addColumn('id', 'bigserial', (c) => c.primaryKey())
    .addColumn('student_number', 'text', (c) => c.notNull().references('occupants.student_number'))
    .addColumn('dormitory_id', 'text', (c) => c.notNull().references('dormitories.id'))
    .addColumn('bed', 'integer')
    .addColumn('from_day', 'text', (c) => c.notNull().check(sql`from_day ~ '^[0-9]{4}-[0-9]{2}-[0-9]{2}$'`))
    .addColumn('to_day', 'text', (c) => c.check(sql`to_day ~ '^[0-9]{4}-[0-9]{2}-[0-9]{2}$'`))
    .addColumn('checked_in_at', 'timestamptz', (c) => c.notNull())
    .addColumn('checked_in_by', 'text', (c) => c.notNull())
    .addColumn('checked_out_at', 'timestamptz')
    .addColumn('checked_out_by', 'text')
    .addColumn('end_reason', 'text', (c) => c.check(sql`end_reason in ('check_out', 'exchange', 'swap')`))
    .addCheckConstraint('occupancies_days_ordered', sql`to_day is null or to_day >= from_day`)
    .execute();
  await db.schema.createIndex('occupancies_dormitory_idx').on('occupancies').columns(['dormitory_id', 'from_day']).execute();
  await db.schema.createIndex('occupancies_student_idx').on('occupancies').columns(['student_number', 'id']).execute();
  // At most one open stay per student and one open stay per bed.
  await sql`create unique index occupancies_open_student_unique on occupancies (student_number) where to_day is null`.execute(db);
  await sql`create unique index occupancies_open_bed_unique on occupancies (dormitory_id, bed) where to_day is null and bed is not null`.execute(db);
  // Existing placements become open stays from their check-in date (UTC; the office may correct).
  await sql`
    insert into occupancies (student_number, dormitory_id, bed, from_day, checked_in_at, checked_in_by)
    select student_number, dormitory_id, bed,
           to_char(coalesce(checked_in_at, now()) at time zone 'UTC', 'YYYY-MM-DD'),
           coalesce(checked_in_at, now()), 'migration'
    from occupants where dormitory_id is not null
    order by id`.execute(db);

  await db.schema
    .alterTable('recharges')
    .addColumn('payer_student_number', 'text', (c) => c.references('occupants.student_number'))
    .execute();
  await db.schema
    .alterTable('recharges')
    .addColumn('occupancy_id', 'bigint', (c) => c.references('occupancies.id'))
    .execute();
  await db.schema.createIndex('recharges_occupancy_idx').on('recharges').column('occupancy_id').execute();

  await db.schema
    .createTable('settlements')
    .addColumn('id', 'bigserial', (c) => c.primaryKey())
    .addColumn('occupancy_id', 'bigint', (c) => c.notNull().references('occupancies.id'))
    .addColumn('student_number', 'text', (c) => c.notNull())
    .addColumn('dormitory_id', 'text', (c) => c.notNull())
    .addColumn('purse', 'text', (c) => c.notNull().check(sql`purse in ('electricity', 'water')`))
    .addColumn('policy', 'text', (c) => c.notNull().check(sql`policy in ('per-share', 'none')`))
    .addColumn('contributions', 'bigint', (c) => c.notNull())
    .addColumn('consumption_share', 'bigint', (c) => c.notNull())
    .addColumn('shared_credit_share', 'bigint', (c) => c.notNull())
    .addColumn('equity', 'bigint', (c) => c.notNull())
    .addColumn('direction', 'text', (c) => c.notNull().check(sql`direction in ('refund', 'charge', 'none')`))
    .addColumn('amount', 'bigint', (c) => c.notNull().check(sql`amount >= 0`))
    .addColumn('ledger_entry_id', 'bigint', (c) => c.references('ledger_entries.id'))
    .addColumn('days', 'integer', (c) => c.notNull())
    .addColumn('details', 'jsonb', (c) => c.notNull().defaultTo(sql`'{}'::jsonb`))
    .addColumn('operator', 'text', (c) => c.notNull())
    .addColumn('settled_at', 'timestamptz', (c) => c.notNull())
    .addUniqueConstraint('settlements_occupancy_purse_unique', ['occupancy_id', 'purse'])
    .execute();
  await db.schema.createIndex('settlements_student_idx').on('settlements').columns(['student_number', 'id']).execute();
}

export async function down(db: Kysely<any>): Promise<void> {
  await db.schema.dropTable('settlements').ifExists().execute();
  await db.schema.alterTable('recharges').dropColumn('occupancy_id').execute();
  await db.schema.alterTable('recharges').dropColumn('payer_student_number').execute();
  await db.schema.dropTable('occupancies').ifExists().execute();
  await db.schema.alterTable('occupants').dropColumn('created_at').execute();
  await db.schema.alterTable('occupants').dropColumn('email').execute();
  await db.schema.alterTable('operators').dropColumn('display_name').execute();
}
