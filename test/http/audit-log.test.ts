import t from 'tap';
import { SimulatedClock } from '../../src/clock.ts';
import { appendAudit } from '../../src/db/audit.repository.ts';
import { DEMO_CAMPUS_SHAPE } from '../../src/services/demo-campus.seed.ts';
import { createTestApp } from '../helpers/test-app.ts';

/**
 * The audit log API (issue 11): records written by real operations, read back by actor,
 * action, dormitory and time, newest first, page by page; bad filters name their field; admins
 * only. PGlite, and PostgreSQL with DATABASE_URL.
 */
const START = Date.UTC(2026, 2, 10, 8, 0);
const SHAPE = { ...DEMO_CAMPUS_SHAPE, floors: 1, roomsPerFloor: 2 };

interface Entry {
  id: number;
  occurredAt: string;
  actor: string;
  action: string;
  targetType: string;
  targetId: string;
  details: Record<string, unknown>;
}
interface Page {
  rows: Entry[];
  next: string | null;
}

t.test('the audit log by actor, action, dormitory and time, newest first, page by page', async (t) => {
  const test = await createTestApp(t, { clock: new SimulatedClock(START, 0), demoShape: SHAPE });
  const { app, database } = test;
  const { db } = database;
  const finance = await test.as('finance');
  const manager = await test.as('manager');
  const admin = await test.as('admin');
  const call = async (headers: object, method: 'GET' | 'POST', url: string, payload?: object) => {
    const response = await app.http.inject({ method, url, headers: headers as Record<string, string>, ...(payload ? { payload } : {}) });
    t.ok(response.statusCode < 300, `${method} ${url} (${response.statusCode} ${response.body.slice(0, 160)})`);
    return response;
  };
  // The logins above wrote their own records (occurred_at: the database's now()). A Date has whole
  // milliseconds, so one taken in the same millisecond as the last login's record would count that
  // login as written since (a soak run beside a CPU hog saw it): start the window 2 ms later.
  await new Promise((resolve) => setTimeout(resolve, 2));
  const since = new Date();
  await call(finance, 'POST', '/api/dormitories/A-101/recharges', { amount: 500, method: 'cash', reference: 'au-1' });
  await call(finance, 'POST', '/api/dormitories/A-102/refunds', { amount: 100, reason: 'overpaid', reference: 'au-2' });
  const alarm = await db
    .insertInto('alarms')
    .values({ dormitory_id: 'A-101', meter_id: 'M-A-101', gateway_id: null, circuit: null, kind: 'malignant_load', severity: 'critical', message: 'a heater', evidence: JSON.stringify([]), raised_at: new Date(START) })
    .returning('id')
    .executeTakeFirstOrThrow();
  await call(manager, 'POST', `/api/alarms/${alarm.id}/acknowledge`);
  await call(manager, 'POST', `/api/alarms/${alarm.id}/release`, { reason: 'taken away' });
  // A meter's and a circuit's records (as the meter and circuit actors write them).
  await appendAudit(db, [
    { operator: 'system', action: 'meter.hold', targetType: 'meter', targetId: 'M-A-101', details: { reason: 'jump' } },
    { operator: 'system', action: 'circuit.lockout', targetType: 'circuit', targetId: 'M-A-101:socket', details: {} },
    { operator: 'system', action: 'meter.hold', targetType: 'meter', targetId: 'M-A-102', details: {} },
  ]);
  const badLogin = await app.http.inject({ method: 'POST', url: '/api/auth/login', payload: { username: 'nobody', password: 'wrong-password' } });
  t.equal(badLogin.statusCode, 401, 'a failed login');

  const get = async (query: string): Promise<Page> => {
    const response = await app.http.inject({ method: 'GET', url: `/api/audit${query}`, headers: admin });
    t.equal(response.statusCode, 200, `/api/audit${query} is served (${response.statusCode === 200 ? '' : response.body})`);
    return response.json<Page>();
  };
  // The independent read: every record written since the test's own operations began.
  const written = await db.selectFrom('audit_log').selectAll().where('occurred_at', '>=', since).orderBy('id', 'desc').execute();
  const latest = await get(`?from=${since.toISOString()}`);
  t.same(latest.rows.map((r) => r.id), written.map((r) => r.id), 'every record since, newest first');
  t.same(
    latest.rows.filter((r) => r.actor !== 'system' && r.action !== 'login.failed').map((r) => [r.action, r.targetType, r.targetId]).reverse(),
    [
      ['recharge', 'dormitory', 'A-101'],
      ['refund', 'dormitory', 'A-102'],
      ['alarm.acknowledge', 'alarm', String(alarm.id)],
      ['alarm.release', 'alarm', String(alarm.id)],
    ],
    'what the operations wrote, in order',
  );
  const release = latest.rows.find((r) => r.action === 'alarm.release')!;
  t.equal(release.details.reason, 'taken away', 'with its details');

  const financeName = latest.rows.find((r) => r.action === 'refund')!.actor;
  t.same((await get(`?actor=${financeName}&from=${since.toISOString()}`)).rows.map((r) => r.action), ['refund', 'recharge'], 'by actor');
  t.same((await get('?action=alarm.*')).rows.map((r) => r.action), ['alarm.release', 'alarm.acknowledge'], 'by action prefix');
  t.same((await get('?action=refund')).rows.map((r) => r.targetId), ['A-102'], 'by action');
  t.same((await get('?action=login.failed')).rows.map((r) => [r.actor, r.details.reason !== undefined]), [['nobody', true]], 'failed logins are in it');
  const a101 = await get(`?dormitory=A-101&from=${since.toISOString()}`);
  t.same(
    a101.rows.map((r) => `${r.action} ${r.targetType}:${r.targetId}`).reverse(),
    ['recharge dormitory:A-101', `alarm.acknowledge alarm:${alarm.id}`, `alarm.release alarm:${alarm.id}`, 'meter.hold meter:M-A-101', 'circuit.lockout circuit:M-A-101:socket'],
    "a dormitory's records: its own, its alarms', its meters' and circuits' (not A-102's)",
  );
  t.same((await get('?dormitory=Z-999')).rows, [], 'a dormitory with no records (or none any more): none');

  const one = await get(`?from=${since.toISOString()}&limit=3`);
  const two = await get(`?from=${since.toISOString()}&limit=3&cursor=${one.next}`);
  const rest = await get(`?from=${since.toISOString()}&limit=100&cursor=${two.next}`);
  t.same([...one.rows, ...two.rows, ...rest.rows].map((r) => r.id), written.map((r) => r.id), 'pages join up with nothing twice');
  t.equal(rest.next, null, 'the last page says so');
  const future = new Date(Date.now() + 3_600_000).toISOString();
  t.same((await get(`?from=${future}`)).rows, [], 'nothing after an instant still to come');
  t.ok((await get(`?to=${since.toISOString()}`)).rows.every((r) => Date.parse(r.occurredAt) < since.getTime()), 'to is exclusive and bounds the list');

  const bad = async (query: string, field: string, why: string) => {
    const response = await app.http.inject({ method: 'GET', url: `/api/audit${query}`, headers: admin });
    t.same([response.statusCode, response.json().error?.field], [400, field], why);
  };
  await bad('?from=yesterday', 'from', 'a from that is no instant');
  await bad('?to=2026-13-01T00:00:00Z', 'to', 'a to that is no instant');
  await bad('?from=2026-03-02T00:00:00Z&to=2026-03-01T00:00:00Z', 'to', 'a to before from');
  await bad('?cursor=bm90LW91cnM', 'cursor', 'a cursor the log did not give');
  await bad('?limit=0', 'limit', 'a limit below 1');
  await bad('?action=alarm.*.x', 'action', 'a * anywhere but the end');
  await bad('?actor=%01x', 'actor', 'a control character');
  await bad('?nope=1', 'nope', 'an unknown filter');
  for (const [role, headers] of [['finance', finance], ['manager', manager]] as const) {
    t.equal((await app.http.inject({ method: 'GET', url: '/api/audit', headers })).statusCode, 403, `${role} may not read the audit log`);
  }
});
