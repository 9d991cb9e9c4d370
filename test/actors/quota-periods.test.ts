import t from 'tap';
import { appendPostings } from '../../src/db/ledger.repository.ts';
import { reconcile } from '../../src/services/reconcile.service.ts';
import { createForgedMeters, seedFlatCampus } from '../helpers/forged-meters.ts';
import { waitFor } from '../helpers/live-app.ts';

/**
 * Issue 10: free quota per occupant and per semester, issued in batch, lapsing at the period's
 * end, used before money, across restarts. All over REST on a running app (PGlite, or
 * PostgreSQL with DATABASE_URL) whose meter is an MQTT unit read from frames this test publishes,
 * on a frozen clock it moves. Campus time UTC+8; a single rate of 60 fen/kWh.
 * Semesters: autumn 1..30 September, spring 10 October..31 December (a short break between).
 */
const RATE = 600_000; // milli-fen per kWh: 60 fen/kWh, so 1 kWh = 60 fen
const fen = (wh: number) => (wh * RATE) / 1e6;
const local = (iso: string) => Date.parse(`${iso}+08:00`);
const PER_STUDENT = 10_000; // 10 kWh per occupant per semester

t.test('per-occupant semester quota: batch issuance, use before money, expiry, restarts', async (t) => {
  const test = await createForgedMeters(t, local('2026-09-01T08:00:00'));
  const { database, clock } = test;
  const db = database.db;
  await db.transaction().execute(async (trx) => {
    await seedFlatCampus(trx, RATE);
    await trx.insertInto('dormitories').values([
      { id: 'D-1', building_id: 'B', floor: 1, room: '101', electricity_tariff_id: 'flat', capacity: 4 },
      { id: 'D-2', building_id: 'B', floor: 1, room: '102', electricity_tariff_id: 'flat', capacity: 4 },
    ]).execute();
    await trx.insertInto('meters').values({ id: 'M-1', dormitory_id: 'D-1', kind: 'electric', profile: 'sdm120', gateway_id: 'GW', unit_address: '1' }).execute();
    await trx.insertInto('accounts').values(['D-1', 'D-2'].flatMap((id) => [{ dormitory_id: id, purse: 'electricity' as const }, { dormitory_id: id, purse: 'water' as const }])).execute();
    await appendPostings(trx, [{ dormitoryId: 'D-1', purse: 'electricity', kind: 'adjustment', amount: 10_000, operator: 'seed', occurredAt: new Date(clock.now()), details: {} }]);
  });
  let admin = await test.start({ '1': 'M-1' });
  const call = async (method: 'GET' | 'POST' | 'PATCH', url: string, payload?: object) => {
    const response = await test.app.http.inject({ method, url, headers: admin, ...(payload ? { payload } : {}) });
    return { status: response.statusCode, body: response.json<Record<string, unknown> & { error?: { field: string } }>() };
  };
  const quotaOf = async () => ((await call('GET', '/api/dormitories/D-1')).body.quota as { electricity: Record<string, unknown> }).electricity;
  const entries = async (kind: 'quota_grant' | 'quota_expiry' | 'consumption_charge') =>
    (await db.selectFrom('ledger_entries').select(['amount', 'usage', 'details']).where('dormitory_id', '=', 'D-1').where('kind', '=', kind).orderBy('id').execute()).map((e) => ({ amount: Number(e.amount), usage: Number(e.usage), details: e.details as Record<string, unknown> }));

  // The campus's semesters, validated.
  const overlapping = await call('PATCH', '/api/campuses/c/settings', { semesters: [{ id: 'autumn', from: '2026-09-01', to: '2026-09-30' }, { id: 'spring', from: '2026-09-30', to: '2026-12-31' }] });
  t.same([overlapping.status, overlapping.body.error?.field], [400, 'semesters[1].from'], 'overlapping semesters are refused, naming the field');
  const set = await call('PATCH', '/api/campuses/c/settings', { semesters: [{ id: 'spring', from: '2026-10-10', to: '2026-12-31' }, { id: 'autumn', from: '2026-09-01', to: '2026-09-30' }] });
  t.same(set.body.semesters, [{ id: 'autumn', from: '2026-09-01', to: '2026-09-30' }, { id: 'spring', from: '2026-10-10', to: '2026-12-31' }], 'semesters stored in order');

  // A per-occupant semester policy, assigned to both rooms' electricity purse... except D-2 keeps none.
  const badBasis = await call('POST', '/api/quota-policies', { id: 'sem', name: 'Semester', purse: 'electricity', allowance: PER_STUDENT, basis: 'per-bed' });
  t.same([badBasis.status, badBasis.body.error?.field], [400, 'basis'], 'an unknown basis is named');
  const created = await call('POST', '/api/quota-policies', { id: 'sem', name: 'Semester', purse: 'electricity', allowance: PER_STUDENT, basis: 'per-occupant', period: 'semester' });
  t.same(created.body, { id: 'sem', name: 'Semester', purse: 'electricity', allowance: PER_STUDENT, basis: 'per-occupant', period: 'semester' }, 'created');
  t.equal((await call('POST', '/api/quota-policies/sem/assignments', { dormitoryIds: ['D-1'] })).status, 200);

  // Two students check in, then the office issues the semester's quota for the building.
  for (const id of ['S1', 'S2']) {
    t.equal((await call('POST', '/api/students', { id, name: id, college: 'Eng', class: '1' })).status, 201, `student ${id}`);
    t.equal((await call('POST', '/api/dormitories/D-1/check-ins', { studentId: id })).status, 201, `${id} checks in`);
  }
  const issued = await call('POST', '/api/quota-policies/sem/issue', { building: 'B' });
  t.same(issued.body, { policyId: 'sem', purse: 'electricity', issued: [{ dormitoryId: 'D-1', granted: 2 * PER_STUDENT, occupants: 2, period: { from: '2026-09-01', until: '2026-10-01' } }], notAssigned: ['D-2'], notRunning: [] }, '2 occupants x 10 kWh, committed before the answer');
  const issueAudits = await db.selectFrom('audit_log').select(['action', 'target_id', 'details']).where('action', 'like', 'quota_policy.issue%').orderBy('id').execute();
  t.match(issueAudits, [
    { action: 'quota_policy.issue', target_id: 'sem', details: { dormitoryId: 'D-1', purse: 'electricity', granted: 2 * PER_STUDENT, occupants: 2, period: { from: '2026-09-01', until: '2026-10-01' } } },
    { action: 'quota_policy.issue_run', target_id: 'sem', details: { granted: 1, units: 2 * PER_STUDENT } },
  ], "the room's grant is audited (written with the grant, by the ledger writer), then the run");
  const again = await call('POST', '/api/quota-policies/sem/issue', { building: 'B' });
  t.equal((again.body.issued as { granted: number }[])[0]!.granted, 0, 'issuing again in the same semester grants nothing');
  t.same((await entries('quota_grant')).map((g) => [g.amount, g.usage, g.details.period]), [[0, 2 * PER_STUDENT, { from: '2026-09-01', until: '2026-10-01' }]], 'one grant in the ledger, amount 0, with its period');
  t.same(await quotaOf(), { policyId: 'sem', period: { from: '2026-09-01', until: '2026-10-01' }, granted: 20_000, used: 0, remaining: 20_000, lapsed: 0 }, 'GET /api/dormitories/:id shows the quota before any use');

  // Used before money.
  await test.read('1', 100_000);
  clock.advance(3_600_000);
  await test.read('1', 105_000);
  t.same((await entries('consumption_charge')).map((c) => [c.amount, c.details.freeUsed]), [[0, 5_000]], '5 kWh free, nothing charged');
  t.match(await quotaOf(), { granted: 20_000, used: 5_000, remaining: 15_000 });

  // A restart keeps the quota: the purse's state was committed with the charges.
  admin = await test.restart();
  t.match(await quotaOf(), { granted: 20_000, used: 5_000, remaining: 15_000 }, 'after a restart the quota is where it was');
  clock.advance(3_600_000);
  await test.read('1', 108_000);
  t.same((await entries('consumption_charge')).map((c) => c.amount), [0, 0], '3 more kWh free after the restart; no second grant');
  t.equal((await entries('quota_grant')).length, 1, 'the restart granted nothing');

  // The semester ends: the 12 unused kWh lapse at local midnight of 1 October, in the ledger.
  clock.jumpTo(local('2026-10-01T00:00:00'));
  await waitFor('the unused quota lapses', async () => {
    clock.advance(1_000);
    await test.app.runtime.flush();
    return (await entries('quota_expiry')).length > 0;
  }, 10_000, 20);
  t.same((await entries('quota_expiry')).map((e) => [e.amount, e.usage, e.details.period]), [[0, 12_000, { from: '2026-09-01', until: '2026-10-01' }]], 'one quota_expiry entry: 12 kWh, amount 0, naming the period');
  t.same(await quotaOf(), { policyId: 'sem', period: { from: '2026-09-01', until: '2026-10-01' }, granted: 20_000, used: 8_000, remaining: 0, lapsed: 12_000 }, 'shown as lapsed, not used');

  // The break is charged; a restart does not lapse it again.
  admin = await test.restart();
  clock.jumpTo(local('2026-10-05T12:00:00'));
  await test.read('1', 110_000);
  t.equal(-(await entries('consumption_charge')).at(-1)!.amount, fen(2_000), 'the break: 2 kWh charged in full');
  t.equal((await entries('quota_expiry')).length, 1, 'what lapsed lapses once, restart or not');

  // Spring: one student has left; the first usage of the semester grants 1 x 10 kWh.
  t.equal((await call('POST', '/api/students/S2/check-out', {})).status, 200, 'S2 checks out');
  clock.jumpTo(local('2026-10-10T00:00:00'));
  await test.read('1', 110_100); // 100 Wh of the break, up to the semester's first instant
  clock.advance(3_600_000);
  await test.read('1', 111_100);
  t.same((await entries('quota_grant')).map((g) => [g.usage, g.details.period]), [[20_000, { from: '2026-09-01', until: '2026-10-01' }], [PER_STUDENT, { from: '2026-10-10', until: '2027-01-01' }]], 'spring is granted for the one occupant present');
  t.match(await quotaOf(), { period: { from: '2026-10-10', until: '2027-01-01' }, granted: 10_000, used: 1_000, remaining: 9_000, lapsed: 0 });

  const charged = (await entries('consumption_charge')).reduce((sum, c) => sum - c.amount, 0);
  const settled = await db.selectFrom('ledger_entries').select((eb) => eb.fn.sum<number>('amount').as('total')).where('dormitory_id', '=', 'D-1').where('kind', 'in', ['settlement', 'refund']).executeTakeFirst();
  const balance = await db.selectFrom('accounts').select('balance').where('dormitory_id', '=', 'D-1').where('purse', '=', 'electricity').executeTakeFirstOrThrow();
  t.equal(charged, fen(2_100), 'charges: the 2.1 kWh of the break, out of 11.1 kWh used');
  t.equal(Number(balance.balance), 10_000 - fen(2_100) + Number(settled?.total ?? 0), 'the purse paid for the break only (the settlement of S2 at check-out aside): quota went before money');
  t.equal((await reconcile(db)).mismatches.length, 0, 'reconcile is clean');
});
