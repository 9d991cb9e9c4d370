import { sql, type Kysely } from 'kysely';

/**
 * Tariff versions (issue 10). A tariff's row keeps its first version (`tariffs.definition`, in
 * force from the beginning); each revision over REST adds a row here, in force from
 * `effective_from` until the next one. Versions are never changed or deleted: a charge names the
 * version that priced it. Frozen in time: this file never imports from src/.
 */
export async function up(db: Kysely<any>): Promise<void> {
  await db.schema
    .createTable('tariff_versions')
    .addColumn('tariff_id', 'text', (c) => c.notNull().references('tariffs.id'))
    .addColumn('version', 'integer', (c) => c.notNull().check(sql`version >= 2`))
    .addColumn('effective_from', 'timestamptz', (c) => c.notNull())
    .addColumn('definition', 'jsonb', (c) => c.notNull())
    .addColumn('created_by', 'text', (c) => c.notNull())
    .addColumn('created_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
    .addPrimaryKeyConstraint('tariff_versions_pk', ['tariff_id', 'version'])
    .addUniqueConstraint('tariff_versions_effective_unique', ['tariff_id', 'effective_from'])
    .execute();
  await db.schema.alterTable('tariffs').addColumn('created_by', 'text').execute();
}

export async function down(db: Kysely<any>): Promise<void> {
  await db.schema.alterTable('tariffs').dropColumn('created_by').execute();
  await db.schema.dropTable('tariff_versions').ifExists().execute();
}
