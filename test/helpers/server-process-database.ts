import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { Test } from 'tap';
import { openDatabase, type DatabaseHandle } from '../../src/db/connect.ts';
import { migrateToLatest } from '../../src/db/migrate.ts';
import { createTestDatabase } from './test-database.ts';

/**
 * A migrated database for a server run as a child process: a fresh schema on DATABASE_URL, or
 * a PGlite data directory. `env` points the child at it. PGlite allows one process per data
 * directory: close `handle` before the child starts and `reopen()` it after the child exits.
 */
export async function serverProcessDatabase(t: Test, name: string): Promise<{ handle: DatabaseHandle; env: Record<string, string>; pglite: boolean; reopen: () => Promise<DatabaseHandle> }> {
  if (process.env.DATABASE_URL) {
    const database = await createTestDatabase();
    t.teardown(() => database.close());
    const url = database.databaseUrl!;
    return { handle: database, pglite: false, reopen: async () => database, env: { DATABASE_URL: `${url}${url.includes('?') ? '&' : '?'}options=-c%20search_path%3D${database.schema}` } };
  }
  const dataDir = mkdtempSync(path.join(tmpdir(), `${name}-`));
  t.teardown(() => rmSync(dataDir, { recursive: true, force: true }));
  const handle = await openDatabase({ dataDir });
  await migrateToLatest(handle.db);
  return { handle, pglite: true, reopen: () => openDatabase({ dataDir }), env: { DATA_DIR: dataDir } };
}
