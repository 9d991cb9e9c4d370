import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import t from 'tap';
import type { DatabaseHandle } from '../../src/db/connect.ts';
import { LOCK_FILE_NAME } from '../../src/db/data-dir-lock.ts';
import { createTestDatabase, openTestDataDir } from '../helpers/test-database.ts';

/**
 * Issue 9, faults: a start that cannot succeed must end the process with a reason and a
 * non-zero code, never hang (a Modbus gateway saved with address `simulator` once left
 * `serve` logging "Query Timeout" with no HTTP listener); a second process on the same
 * DATA_DIR must refuse to start.
 */

const BIN = path.resolve(import.meta.dirname, '../../bin/campus-prepaid.js');

interface Exit {
  readonly code: number | null;
  readonly stderr: string;
  readonly seconds: number;
}

/** Runs `serve` and waits for it to exit on its own (the test's timeout is the backstop). */
function serve(env: Record<string, string>): Promise<Exit> {
  const started = performance.now();
  const child = spawn(process.execPath, [BIN, 'serve'], {
    env: { PATH: process.env.PATH ?? '', LOG_LEVEL: 'warn', PORT: '0', HOST: '127.0.0.1', ADMIN_PASSWORD: 'serve-start-test', ...env },
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  let stderr = '';
  child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString('utf8')));
  return new Promise((resolve) => child.on('exit', (code) => resolve({ code, stderr, seconds: (performance.now() - started) / 1000 })));
}

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

t.test('a second process on the same DATA_DIR refuses to start', { skip: process.env.DATABASE_URL ? 'DATA_DIR is PGlite only (DATABASE_URL is set)' : false }, async (t) => {
  const dataDir = mkdtempSync(path.join(tmpdir(), 'serve-lock-'));
  t.teardown(() => rmSync(dataDir, { recursive: true, force: true }));
  const holder = await openTestDataDir(dataDir); // this test process is the first one
  t.teardown(() => holder.close());
  const exit = await serve({ DATA_DIR: dataDir });
  t.equal(exit.code, 1, `the second process exits 1 (after ${exit.seconds.toFixed(1)} s)`);
  t.match(exit.stderr, new RegExp(`DATA_DIR .* is in use by another campus-prepaid process \\(pid ${process.pid}, lock file`), 'and says which process holds it');
});
