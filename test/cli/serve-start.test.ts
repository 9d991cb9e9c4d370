// CI: also on PGlite + the embedded broker (serve on a PGlite DATA_DIR takes and releases its lock).
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import t from 'tap';
import { serve } from '../helpers/serve-process.ts';
import type { DatabaseHandle } from '../../src/db/connect.ts';
import { LOCK_FILE_NAME } from '../../src/db/data-dir-lock.ts';
import { createTestDatabase, openTestDataDir } from '../helpers/test-database.ts';

/**
 * Issue 9, faults: a start that cannot succeed must end the process with a reason and a
 * non-zero code, never hang (a Modbus gateway saved with address `simulator` once left
 * `serve` logging "Query Timeout" with no HTTP listener); a second process on the same
 * DATA_DIR must refuse to start.
 */

async function insertBadGateway(handle: DatabaseHandle): Promise<void> {
  await handle.db.insertInto('campuses').values({ id: 'c', name: 'C' }).execute();
  await handle.db.insertInto('gateways').values({ id: 'GW-bad', campus_id: 'c', protocol: 'modbus-tcp', address: 'simulator' }).execute();
}

t.test('serve with a gateway row it cannot run exits 1 with the reason, not a hang', async (t) => {
  let env: Record<string, string>;
  if (process.env.DATABASE_URL) {
    const database = await createTestDatabase();
    t.teardown(() => database.close());
    await insertBadGateway(database);
    env = { DATABASE_URL: `${database.databaseUrl}${database.databaseUrl!.includes('?') ? '&' : '?'}options=-c%20search_path%3D${database.schema}` };
  } else {
    const dataDir = mkdtempSync(path.join(tmpdir(), 'serve-start-'));
    t.teardown(() => rmSync(dataDir, { recursive: true, force: true }));
    const handle = await openTestDataDir(dataDir);
    await insertBadGateway(handle);
    await handle.close();
    env = { DATA_DIR: dataDir };
  }
  const exit = await serve(env);
  t.equal(exit.code, 1, `exit code 1 (after ${exit.seconds.toFixed(1)} s)`);
  t.match(exit.stderr, /campus-prepaid: cannot start: gateway GW-bad: address "simulator"/, 'the first line names the gateway and what is wrong');
  if (env.DATA_DIR) t.notOk(existsSync(path.join(env.DATA_DIR, LOCK_FILE_NAME)), 'the failed start released the DATA_DIR lock');
});
