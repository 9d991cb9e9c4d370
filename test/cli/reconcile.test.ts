// CI: also on PGlite + the embedded broker (the CLI opens a PGlite DATA_DIR, not DATABASE_URL).
import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import t from 'tap';
import { openDatabase, type DatabaseHandle } from '../../src/db/connect.ts';
import { migrateToLatest } from '../../src/db/migrate.ts';
import { seedDemoCampus } from '../../src/services/demo-campus.seed.ts';
import { createTestDatabase } from '../helpers/test-database.ts';

const run = promisify(execFile);
const BIN = path.resolve(import.meta.dirname, '../../bin/campus-prepaid.js');

async function reconcileCli(env: Record<string, string>): Promise<{ code: number; stdout: string }> {
  try {
    const { stdout } = await run(process.execPath, [BIN, 'reconcile'], { env: { PATH: process.env.PATH ?? '', LOG_LEVEL: 'silent', ...env } });
    return { code: 0, stdout };
  } catch (error) {
    const failed = error as { code: number; stdout: string };
    return { code: failed.code, stdout: failed.stdout };
  }
}

t.test('campus-prepaid reconcile passes on the demo data and names a tampered account', async (t) => {
  let env: Record<string, string>;
  let handle: DatabaseHandle;
  let reopen: () => Promise<DatabaseHandle>;
  if (process.env.DATABASE_URL) {
    const database = await createTestDatabase();
    t.teardown(() => database.close());
    handle = database;
    reopen = async () => database;
    env = { DATABASE_URL: `${database.databaseUrl}${database.databaseUrl!.includes('?') ? '&' : '?'}options=-c%20search_path%3D${database.schema}` };
  } else {
    const dataDir = mkdtempSync(path.join(tmpdir(), 'reconcile-'));
    t.teardown(() => rmSync(dataDir, { recursive: true, force: true }));
    handle = await openDatabase({ dataDir });
    await migrateToLatest(handle.db);
    reopen = () => openDatabase({ dataDir });
    env = { DATA_DIR: dataDir };
  }
  await seedDemoCampus(handle.db, new Date('2026-09-01T00:00:00Z'));
  if (handle.kind === 'pglite') await handle.close(); // PGlite: one process per data directory

  const clean = await reconcileCli(env);
  t.equal(clean.code, 0, 'exit 0 on consistent data');
  t.match(clean.stdout, /400 accounts checked, 0 mismatches/);

  handle = await reopen();
  await handle.db.updateTable('accounts').set({ balance: 99_999 }).where('dormitory_id', '=', 'B-207').where('purse', '=', 'water').execute();
  if (handle.kind === 'pglite') await handle.close();

  const tampered = await reconcileCli(env);
  t.equal(tampered.code, 1, 'exit 1 on a mismatch');
  t.match(tampered.stdout, /MISMATCH dormitory B-207 water .*cached balance 99999, ledger sum 2000/);
  t.match(tampered.stdout, /1 mismatch$/m);
});
