import pg from 'pg';
import pino from 'pino';
import t, { type Test } from 'tap';
import { buildApp } from '../../src/app.ts';
import { heldAdvisoryLockSql, holdRuntimeLock, RUNTIME_LOCK_KEY_SQL, RuntimeFenceError, RuntimeLockedError, type RuntimeLockEvents } from '../../src/db/runtime-lock.ts';
import { ADMIN_PASSWORD, createTestApp } from '../helpers/test-app.ts';
import { liveAppEnv, startLiveApp, waitFor } from '../helpers/live-app.ts';
import { createTestDatabase, type TestDatabase } from '../helpers/test-database.ts';

/**
 * One campus runtime per database. Two servers on one PostgreSQL database each billed every
 * reading (the ledger doubled) and each drove every relay; the second also closed the first's
 * live commands as interrupted. A server now holds a session advisory lock while it runs; a
 * second one's start is refused before it boots a gateway or a dormitory. PGlite needs no such
 * lock (its DATA_DIR lock, test/db/data-dir-lock.test.ts, keeps out a second process), so these
 * run against DATABASE_URL.
 */

const onPostgres = Boolean(process.env.DATABASE_URL);
const SMALL_CAMPUS = { buildings: 1, floors: 1, roomsPerFloor: 3, occupantsPerRoom: 1 };
const HOLDER = `campus-prepaid runtime pid ${process.pid} on `;

/** A connection of the test's own to the test's schema (the lock's key is per schema). */
async function observer(t: Test, database: TestDatabase): Promise<pg.Client> {
  const client = new pg.Client({ connectionString: database.databaseUrl, options: `-c search_path=${database.schema}` });
  await client.connect();
  t.teardown(() => client.end());
  return client;
}

/** The backend pid holding this schema's runtime lock, if any. */
async function lockHolder(client: pg.Client): Promise<{ pid: number; name: string } | undefined> {
  const result = await client.query<{ pid: number; application_name: string }>(
    `select a.pid, a.application_name from pg_locks l join pg_stat_activity a on a.pid = l.pid where ${heldAdvisoryLockSql(RUNTIME_LOCK_KEY_SQL)}`,
  );
  const row = result.rows[0];
  return row ? { pid: row.pid, name: row.application_name } : undefined;
}

t.test('a second server on the same database is refused before it boots anything, and starts once the first has stopped', { skip: onPostgres ? false : 'PostgreSQL only (DATABASE_URL): PGlite has its DATA_DIR lock' }, async (t) => {
  const first = await startLiveApp(t, {}, { demoShape: SMALL_CAMPUS, quietAtBoot: true });
  const booted = first.app.runtime.directory.dormitories.size;
  t.equal(booted, 3, 'the first server runs the campus');
  const watch = await observer(t, first.database);
  const holder = await lockHolder(watch);
  t.ok(holder?.name.startsWith(HOLDER), `the lock is held by this process's runtime (${holder?.name})`);

  const second = await buildApp(first.config, { database: first.database, logger: pino({ level: 'silent' }) });
  const refused = await second.start().then(
    () => undefined,
    (error: unknown) => error,
  );
  t.type(refused, RuntimeLockedError, 'the second start is refused');
  t.match((refused as Error).message, new RegExp(`another campus-prepaid server is running the campus on this database \\(schema "${first.database.schema}", held by "${HOLDER}`), 'naming the holder');
  t.equal(second.runtime.directory.dormitories.size, 0, 'the refused server booted no dormitory');
  t.notOk(second.http.server.listening, 'and does not listen');
  t.equal((await lockHolder(watch))?.pid, holder?.pid, 'the first server still holds the lock');
  t.equal(first.app.runtime.directory.dormitories.size, booted, 'and still runs its campus');

  await first.app.stop();
  t.equal(await lockHolder(watch), undefined, 'a stopped server releases the lock');
  const third = await buildApp(first.config, { database: first.database, logger: pino({ level: 'silent' }) });
  try {
    await third.start();
    t.equal(third.runtime.directory.dormitories.size, booted, 'a server started after the first stopped runs the campus');
    t.ok((await lockHolder(watch))?.name.startsWith(HOLDER), 'and holds the lock');
  } finally {
    await third.stop();
  }
});

t.test('a lock lost with its connection is taken again; if another server took it meanwhile, this one stops itself', { skip: onPostgres ? false : 'PostgreSQL only (DATABASE_URL)' }, async (t) => {
  let fatal: (error: Error) => void = () => undefined;
  const stoppedItself = new Promise<Error>((resolve) => (fatal = resolve));
  // The retry is slow enough (on the wall clock: it is a database reconnect) for the test to take the lock first in phase 2.
  const test = await createTestApp(t, { seedDemo: false, onFatal: (error) => fatal(error), runtimeLockRetryMs: 1_500 });
  await test.app.start();
  const watch = await observer(t, test.database);
  const first = await lockHolder(watch);
  t.ok(first, 'held after start');

  // 1. PostgreSQL ends the lock's connection (a restart, an operator's pg_terminate_backend): the server takes it again.
  await watch.query('select pg_terminate_backend($1, 10000)', [first!.pid]);
  const again = await waitFor('the runtime lock held again', async () => {
    const now = await lockHolder(watch);
    return now && now.pid !== first!.pid ? now : undefined;
  });
  t.ok(again.name.startsWith(HOLDER), 'the server took the lock again on a new connection');
  t.ok(test.app.http.server.listening, 'and kept running');

  // 2. Lost again, and another server takes it first: this one must stop driving the campus.
  let taken = false;
  let holderPid = again.pid;
  for (let attempt = 0; attempt < 5 && !taken; attempt++) {
    await watch.query('select pg_terminate_backend($1, 10000)', [holderPid]);
    taken = (await watch.query<{ locked: boolean }>(`select pg_try_advisory_lock(${RUNTIME_LOCK_KEY_SQL}) as locked`)).rows[0]!.locked;
    if (!taken) holderPid = (await waitFor('the runtime lock held again', () => lockHolder(watch))).pid; // the server won the race: lose it again
  }
  t.ok(taken, 'another connection took the lock while the server was without it');
  const error = await stoppedItself;
  t.type(error, RuntimeLockedError, 'the server found the lock taken and reported a fatal error');
  t.notOk(test.app.http.server.listening, 'and stopped itself');
  await watch.query(`select pg_advisory_unlock(${RUNTIME_LOCK_KEY_SQL})`);
});

t.test("the fence is the database's word: a write is refused when the connection this server took the lock on no longer holds it", { skip: onPostgres ? false : 'PostgreSQL only (DATABASE_URL)' }, async (t) => {
  const database = await createTestDatabase();
  t.teardown(() => database.close());
  const quiet: RuntimeLockEvents = { lost: () => undefined, retaken: () => undefined, takenOver: () => undefined };
  const keeper = await holdRuntimeLock((onLost) => database.lockRuntime(onLost), quiet);
  await database.db.transaction().execute((trx) => keeper.fence(trx));
  t.pass('the holder passes its fence');
  t.ok(keeper.held, 'and knows it holds the lock');

  // A server frozen while its lock connection was ended wakes believing it holds the lock: the
  // database knows the backend it took it on is gone (here: a live connection that never held it).
  const watch = await observer(t, database);
  const otherPid = (await watch.query<{ pid: number }>('select pg_backend_pid() as pid')).rows[0]!.pid;
  const stale = await holdRuntimeLock(async () => ({ backendPid: otherPid, release: async () => undefined }), quiet);
  await t.rejects(database.db.transaction().execute((trx) => stale.fence(trx)), RuntimeFenceError, 'a write fenced by a backend that does not hold the lock is refused');
  await keeper.release();
  t.notOk(keeper.held, 'released');
  await t.rejects(database.db.transaction().execute((trx) => keeper.fence(trx)), RuntimeFenceError, 'and a released lock fences every write');
});

t.test('a lost lock is taken again by one retry loop, even when a failed take also reports its connection lost', async (t) => {
  const events: string[] = [];
  let takes = 0;
  let lostOf: ((error: Error) => void) | undefined;
  const take = async (onLost: (error: Error) => void) => {
    takes++;
    lostOf = onLost;
    if (takes === 2) {
      // The connection dies between connect and lock: its error event and the failed take both arrive.
      onLost(new Error('connection terminated'));
      throw new Error('connection terminated');
    }
    if (takes > 3) throw new RuntimeLockedError('a second loop found the lock held by its sibling');
    return { backendPid: null, release: async () => undefined };
  };
  let settled: () => void = () => undefined;
  const retaken = new Promise<void>((resolve) => (settled = resolve));
  const keeper = await holdRuntimeLock(take, {
    lost: () => events.push('lost'),
    retaken: () => {
      events.push('retaken');
      settled();
    },
    takenOver: () => events.push('takenOver'),
  }, 10);
  t.teardown(() => keeper.release());
  lostOf!(new Error('backend terminated'));
  t.notOk(keeper.held, 'not held once lost');
  await retaken;
  // Give a second loop, if there were one, the time of several retries to show itself.
  await new Promise((resolve) => setTimeout(resolve, 100));
  t.same(events, ['lost', 'retaken'], 'one loss, one retake, no self-inflicted takeover');
  t.equal(takes, 3, 'the first take, the failed retry, the successful one');
  t.ok(keeper.held, 'held again');
});

t.test('a new owner drains the transactions that passed the old owner\'s fence: one left open (its server frozen mid-commit) is ended and rolled back', { skip: onPostgres ? false : 'PostgreSQL only (DATABASE_URL)' }, async (t) => {
  const database = await createTestDatabase();
  t.teardown(() => database.close());
  const quiet: RuntimeLockEvents = { lost: () => undefined, retaken: () => undefined, takenOver: () => undefined };
  const old = await holdRuntimeLock((onLost) => database.lockRuntime(onLost), quiet);
  const watch = await observer(t, database);

  // The old owner's commit passes its fence, writes, and freezes before COMMIT.
  let thaw: () => void = () => undefined;
  const frozen = new Promise<void>((resolve) => (thaw = resolve));
  let fenced: () => void = () => undefined;
  const passedFence = new Promise<void>((resolve) => (fenced = resolve));
  const commit = database.db.transaction().execute(async (trx) => {
    await old.fence(trx);
    await trx.insertInto('audit_log').values({ operator: 'system', action: 'test.frozen-commit', target_type: 'test', target_id: 'x', details: JSON.stringify({}) }).execute();
    fenced();
    await frozen;
  });
  const outcome = commit.then(() => 'committed', (error: unknown) => `rolled back: ${error instanceof Error ? error.message : String(error)}`);
  await passedFence;

  // Its lock connection is ended (as PostgreSQL does to a frozen peer) and a new owner takes over.
  const holder = await lockHolder(watch);
  await watch.query('select pg_terminate_backend($1, 10000)', [holder!.pid]);
  const takenAt = Date.now();
  const next = await holdRuntimeLock((onLost) => database.lockRuntime(onLost), quiet);
  t.teardown(() => next.release());
  t.ok(Date.now() - takenAt >= 2_000, 'the new owner waited for the open transaction before ending it');
  thaw();
  t.match(await outcome, /^rolled back: /, 'the frozen commit did not commit when its server woke');
  const written = await database.db.selectFrom('audit_log').select('id').where('action', '=', 'test.frozen-commit').execute();
  t.same(written, [], 'nothing of it is in the database');
  await old.release();
});

t.test('while its lock is lost, a server credits no money: a recharge is a 503 NOT_RUNNING_THE_CAMPUS with Retry-After, and /health says why', { skip: onPostgres ? false : 'PostgreSQL only (DATABASE_URL)' }, async (t) => {
  // No retake within the test: the server stays without its lock.
  const test = await createTestApp(t, { env: liveAppEnv(), runtimeLockRetryMs: 600_000, demoShape: SMALL_CAMPUS });
  await test.app.start();
  const admin = await test.login('admin', ADMIN_PASSWORD);
  const health = () => test.app.http.inject({ method: 'GET', url: '/health' });
  t.match((await health()).json(), { status: 'ok', runtimeLock: 'held' }, '/health: the lock is held');
  const recharge = (reference: string) => test.app.http.inject({ method: 'POST', url: '/api/dormitories/A-101/recharges', headers: admin, payload: { amount: 500, purse: 'electricity', method: 'cash', reference } });
  t.equal((await recharge('while-held')).statusCode, 201, 'a recharge while the lock is held is credited');

  const watch = await observer(t, test.database);
  await watch.query('select pg_terminate_backend($1, 10000)', [(await lockHolder(watch))!.pid]);
  const degraded = await waitFor('/health saying the lock is lost', async () => {
    const response = await health();
    return response.json<{ runtimeLock?: string }>().runtimeLock === 'lost' ? response : undefined;
  });
  t.equal(degraded.statusCode, 503, '/health is degraded while the lock is lost');
  const refused = await recharge('while-lost');
  t.equal(refused.statusCode, 503, 'a recharge while the lock is lost is refused');
  t.match(refused.json(), { error: { code: 'NOT_RUNNING_THE_CAMPUS', message: /runtime lock/ } }, 'saying why');
  t.equal(refused.headers['retry-after'], '5', 'with Retry-After');
  const credited = await test.database.db.selectFrom('recharges').select('reference').where('dormitory_id', '=', 'A-101').execute();
  t.same(credited.map((r) => r.reference), ['while-held'], 'only the recharge made while the lock was held is in the database');

  // An operator's cut is recorded for the next boot to follow: a server without the lock records none.
  const cut = await test.app.http.inject({ method: 'POST', url: '/api/dormitories/A-102/commands', headers: admin, payload: { circuit: 'all', action: 'cut', reason: 'while the lock is lost' } });
  t.equal(cut.statusCode, 503, 'an operator cut while the lock is lost is refused');
  t.match(cut.json(), { error: { code: 'NOT_RUNNING_THE_CAMPUS' } }, 'for the same reason');
  t.same(await test.database.db.selectFrom('manual_cuts').select('meter_id').execute(), [], 'and nothing is recorded for the next boot');
  // A check-in (a settlement moves money on a check-out; a check-in with nothing to flush commits at once).
  await test.database.db.insertInto('occupants').values({ student_number: 'S-LOCK', name: 'Lock Test' }).execute();
  const checkIn = await test.app.http.inject({ method: 'POST', url: '/api/dormitories/A-103/check-ins', headers: admin, payload: { studentId: 'S-LOCK' } });
  t.equal(checkIn.statusCode, 503, `a check-in while the lock is lost is refused (${checkIn.body.slice(0, 120)})`);
  t.match(checkIn.json(), { error: { code: 'NOT_RUNNING_THE_CAMPUS' } }, 'by the fence');
  const issue = await test.app.http.inject({ method: 'POST', url: '/api/quota-policies/student-10kwh/issue', headers: admin, payload: { dormitoryIds: ['A-101'] } });
  t.equal(issue.statusCode, 503, `a quota issue while the lock is lost is refused (${issue.body.slice(0, 120)})`);
  t.same(await test.database.db.selectFrom('occupancies').select('id').where('student_number', '=', 'S-LOCK').execute(), [], 'and no stay is opened');
});
