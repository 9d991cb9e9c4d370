import { sql } from 'kysely';
import t from 'tap';
import { migrateToLatest } from '../../src/db/migrate.ts';
import { down as undoCampusSettings } from '../../migrations/2026-11-30T1120-campus-settings.ts';
import { createTestDatabase } from '../helpers/test-database.ts';

/**
 * Migrations are named by the time slot each engineer was given, so one can land after a
 * later-named one has already run on a database. Found from outside: a DATA_DIR migrated with
 * T1200-refunds-adjustments refused to start once T1120-campus-settings landed ("corrupted
 * migrations: expected previously executed migration ... to be at index 8"). A database that
 * lacks an earlier-named migration gets it applied, in name order, with the others.
 */
t.test('a migration named before ones already run is applied, not a refused start', async (t) => {
  const database = await createTestDatabase();
  t.teardown(() => database.close());
  const db = database.db;
  // The database as it was before T1120 landed: T1200 and later ran, T1120 did not.
  await undoCampusSettings(db);
  await db.deleteFrom('kysely_migration' as never).where(sql.ref('name'), '=', '2026-11-30T1120-campus-settings').execute();
  const result = await migrateToLatest(db, database.schema);
  t.same(
    result.results?.map((r) => [r.migrationName, r.status]),
    [['2026-11-30T1120-campus-settings', 'Success']],
    'only the missing migration runs',
  );
  const row = await sql<{ time_zone: string | null }>`select time_zone from campuses limit 1`.execute(db);
  t.same(row.rows, [], 'its column exists again');
});
