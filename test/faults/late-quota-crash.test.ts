// CI: also on PGlite + the embedded broker (the crash and restart close and reopen a PGlite DATA_DIR (one process per data directory)).
import t from 'tap';
import { appendPostings } from '../../src/db/ledger.repository.ts';
import { reconcile } from '../../src/services/reconcile.service.ts';
import { waitFor } from '../helpers/live-app.ts';
import { oneMeterSimulator } from '../helpers/one-meter-simulator.ts';
import { serverProcessDatabase } from '../helpers/server-process-database.ts';
import { startServe, type RunningServe } from '../helpers/serve-process.ts';

/**
 * Break-it on issue 10 (docs/billing.md, "A late occupant"): the server, a real child process,
 * is SIGKILLed in the turn its late check-in's 201 arrives, with the group commit held off a
 * minute (LEDGER_FLUSH_MS=60000: the running dormitory's own postings never reach the database
 * before the kill). The restarted server must show the late share once: one quota_grant naming
 * the student, the dormitory's quota the period's grant plus that share, and reconcile clean.
 */
const ADMIN_PASSWORD = 'late-quota-crash-admin';
const ALLOWANCE = 10_000;

t.test('SIGKILL right after a late check-in is answered: the restarted server holds its grant once', async (t) => {
  const { handle, pglite, env: dbEnv, reopen } = await serverProcessDatabase(t, 'late-quota-crash');
  const { address } = await oneMeterSimulator(t, { seed: 7, gatewayId: 'GW-L', dormitoryId: 'L-1' });
  await handle.db.transaction().execute(async (trx) => {
    await trx.insertInto('campuses').values({ id: 'lc', name: 'Late campus', utc_offset_minutes: 480, time_zone: 'Asia/Shanghai' }).execute();
    await trx.insertInto('buildings').values({ id: 'LB', campus_id: 'lc', name: 'Late building', floors: 1 }).execute();
    await trx.insertInto('tariffs').values({ id: 'flat', name: 'Flat', purse: 'electricity', definition: JSON.stringify({ kind: 'single', rate: 600_000 }) }).execute();
    await trx.insertInto('gateways').values({ id: 'GW-L', campus_id: 'lc', building_id: 'LB', protocol: 'modbus-tcp', address: address }).execute();
    await trx.insertInto('free_quota_policies').values({ id: 'pm', name: 'Per student', purse: 'electricity', allowance: ALLOWANCE, basis: 'per-occupant', period: 'month' }).execute();
    await trx.insertInto('dormitories').values({ id: 'L-1', building_id: 'LB', floor: 1, room: '101', electricity_tariff_id: 'flat', electricity_quota_id: 'pm', capacity: 4 }).execute();
    await trx.insertInto('meters').values({ id: 'M-L-1', dormitory_id: 'L-1', kind: 'electric', profile: 'campus-1in3out', gateway_id: 'GW-L', unit_address: '1' }).execute();
    await trx.insertInto('circuits').values((['lighting', 'socket', 'ac'] as const).map((kind) => ({ id: `M-L-1:${kind}`, meter_id: 'M-L-1', kind }))).execute();
    await trx.insertInto('accounts').values([{ dormitory_id: 'L-1', purse: 'electricity' as const }, { dormitory_id: 'L-1', purse: 'water' as const }]).execute();
    await appendPostings(trx, [{ dormitoryId: 'L-1', purse: 'electricity', kind: 'adjustment', amount: 100_000, operator: 'seed', occurredAt: new Date(), details: {} }]);
  });
  if (pglite) await handle.close();
  const env = { ...dbEnv, PORT: '0', HOST: '127.0.0.1', LOG_LEVEL: 'warn', POLL_INTERVAL_MS: '200', LEDGER_FLUSH_MS: '60000', ADMIN_PASSWORD };
  const call = async (server: RunningServe, method: string, url: string, body?: object) => {
    const response = await fetch(`${server.url}${url}`, { method, headers: { ...server.auth, ...(body ? { 'content-type': 'application/json' } : {}) }, ...(body ? { body: JSON.stringify(body) } : {}) });
    return { status: response.status, body: (await response.json()) as Record<string, unknown> };
  };
  type Quota = { period: { from: string; until: string } | null; granted: number };
  const quotaOf = async (server: RunningServe) => ((await call(server, 'GET', '/api/dormitories/L-1')).body.quota as { electricity: Quota }).electricity;

  const first = await startServe(t, env, ADMIN_PASSWORD);
  await waitFor('L-1 online', async () => (await call(first, 'GET', '/api/dormitories/L-1')).body.online === true, 60_000);
  for (const id of ['S1', 'S2']) t.equal((await call(first, 'POST', '/api/students', { id, name: id, college: 'Eng', class: '1' })).status, 201);
  t.equal((await call(first, 'POST', '/api/dormitories/L-1/check-ins', { studentId: 'S1' })).status, 201, 'S1 lives there');
  const issued = await call(first, 'POST', '/api/quota-policies/pm/issue', { building: 'LB' });
  t.match(issued, { status: 200, body: { issued: [{ dormitoryId: 'L-1', granted: ALLOWANCE, occupants: 1 }] } }, 'the month is issued for one occupant');

  // S2 checks in late; the server dies in the turn its 201 arrives.
  const late = await call(first, 'POST', '/api/dormitories/L-1/check-ins', { studentId: 'S2' });
  first.child.kill('SIGKILL');
  t.equal(late.status, 201, 'the late check-in was answered');
  await first.exited;

  const second = await startServe(t, env, ADMIN_PASSWORD);
  await waitFor('L-1 online after the restart', async () => (await call(second, 'GET', '/api/dormitories/L-1')).body.online === true, 60_000);
  const quota = await quotaOf(second);
  second.child.kill('SIGTERM');
  await second.exited;
  const db = (await reopen()).db;
  const grants = (await db.selectFrom('ledger_entries').select(['usage', 'details']).where('dormitory_id', '=', 'L-1').where('kind', '=', 'quota_grant').orderBy('id').execute()).map((g) => ({ usage: Number(g.usage), studentId: (g.details as { studentId?: string }).studentId ?? null }));
  const lateGrants = grants.filter((g) => g.studentId === 'S2');
  t.equal(lateGrants.length, 1, `one late grant for S2 on the ledger (${JSON.stringify(grants)})`);
  t.ok(lateGrants[0]!.usage > 0 && lateGrants[0]!.usage <= ALLOWANCE, 'of a pro rata share');
  t.equal(quota.granted, ALLOWANCE + lateGrants[0]!.usage, `the restarted dormitory holds the month's grant and the late share, once (${JSON.stringify(quota)})`);
  t.equal((await reconcile(db)).mismatches.length, 0, 'reconcile is clean');
});
