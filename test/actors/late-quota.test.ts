import t from 'tap';
import { appendPostings } from '../../src/db/ledger.repository.ts';
import { reconcile } from '../../src/services/reconcile.service.ts';
import { createForgedMeters, seedFlatCampus } from '../helpers/forged-meters.ts';
import { multipartFile, watchJobs, workbookOf } from '../helpers/import-files.ts';

/**
 * Issue 10: a student who checks in after the period's per-occupant quota was issued gets the
 * allowance pro rata to the days left (docs/billing.md, "A late occupant"), once per student and
 * period, over REST on a running app (PGlite, or PostgreSQL with DATABASE_URL) with a live
 * dormitory actor and a meter, on a frozen clock. Campus Asia/Shanghai; November 2026 has 30
 * days, so a check-in on 11 November has 20 days left (11..30 included): 10,000 Wh x 20 / 30 =
 * 6,666.67, rounded down to 6,666 Wh.
 */
const ALLOWANCE = 10_000; // Wh per occupant per month
const LATE = 6_666; // hand-computed: floor(10_000 * 20 / 30)
const ROOM = 5_000; // Wh per month, per dormitory
const RATE = 600_000; // milli-fen per kWh: 60 fen/kWh
const local = (iso: string) => Date.parse(`${iso}+08:00`);
const NOVEMBER = { from: '2026-11-01', until: '2026-12-01' };

t.test('a late check-in gets its allowance pro rata, once per student and period: check-in, exchange, batch, restart', async (t) => {
  const test = await createForgedMeters(t, local('2026-11-01T08:00:00'));
  const { database, clock } = test;
  const db = database.db;
  await db.transaction().execute(async (trx) => {
    await seedFlatCampus(trx, RATE);
    await trx.insertInto('dormitories').values(['D-1', 'D-2', 'D-3'].map((id, i) => ({ id, building_id: 'B', floor: 1, room: `10${i + 1}`, electricity_tariff_id: 'flat', capacity: 4 }))).execute();
    // Every room has a meter (a purse's quota lives with its pricing, which comes with a meter).
    await trx.insertInto('meters').values([1, 2, 3].map((n) => ({ id: `M-${n}`, dormitory_id: `D-${n}`, kind: 'electric' as const, profile: 'sdm120', gateway_id: 'GW', unit_address: String(n) }))).execute();
    await trx.insertInto('accounts').values(['D-1', 'D-2', 'D-3'].flatMap((id) => [{ dormitory_id: id, purse: 'electricity' as const }, { dormitory_id: id, purse: 'water' as const }])).execute();
    await appendPostings(trx, [{ dormitoryId: 'D-1', purse: 'electricity', kind: 'adjustment', amount: 10_000, operator: 'seed', occurredAt: new Date(clock.now()), details: {} }]);
  });
  let admin = await test.start({ '1': 'M-1', '2': 'M-2', '3': 'M-3' });
  const call = async (method: 'GET' | 'POST', url: string, payload?: object) => {
    const response = await test.app.http.inject({ method, url, headers: admin, ...(payload ? { payload } : {}) });
    return { status: response.statusCode, body: response.json<Record<string, unknown>>() };
  };
  const quotaOf = async (id: string) => ((await call('GET', `/api/dormitories/${id}`)).body.quota as { electricity: Record<string, unknown> }).electricity;
  const liveGranted = async (id: string) => (await test.app.runtime.purseStates(id))?.electricity?.freeGranted;
  const lateGrants = async () =>
    (await db.selectFrom('ledger_entries').select(['dormitory_id', 'amount', 'usage', 'details']).where('kind', '=', 'quota_grant').orderBy('id').execute())
      .filter((e) => (e.details as Record<string, unknown>).studentId !== undefined)
      .map((e) => ({ dormitoryId: e.dormitory_id, amount: Number(e.amount), usage: Number(e.usage), studentId: (e.details as Record<string, unknown>).studentId, period: (e.details as Record<string, unknown>).period }));
  const student = async (id: string) => t.equal((await call('POST', '/api/students', { id, name: id, college: 'Eng', class: '1' })).status, 201, `student ${id}`);
  const checkIn = async (id: string, room: string) => {
    const r = await call('POST', `/api/dormitories/${room}/check-ins`, { studentId: id });
    t.equal(r.status, 201, `${id} checks in to ${room}: ${JSON.stringify(r.body)}`);
  };

  // Per-occupant monthly policy on D-1 and D-2; per-dormitory on D-3.
  t.equal((await call('POST', '/api/quota-policies', { id: 'pm', name: 'Per student', purse: 'electricity', allowance: ALLOWANCE, basis: 'per-occupant', period: 'month' })).status, 201);
  t.equal((await call('POST', '/api/quota-policies', { id: 'pd', name: 'Per room', purse: 'electricity', allowance: ROOM, basis: 'per-dormitory', period: 'month' })).status, 201);
  t.equal((await call('POST', '/api/quota-policies/pm/assignments', { dormitoryIds: ['D-1', 'D-2'] })).status, 200);
  t.equal((await call('POST', '/api/quota-policies/pd/assignments', { dormitoryIds: ['D-3'] })).status, 200);
  for (const id of ['S1', 'S2', 'S3', 'S9']) await student(id);
  await checkIn('S1', 'D-1');
  await checkIn('S3', 'D-2');
  await checkIn('S9', 'D-3');
  t.equal((await call('POST', '/api/quota-policies/pm/issue', { building: 'B' })).status, 200, 'November issued for D-1 and D-2 (one occupant each)');
  t.equal((await call('POST', '/api/quota-policies/pd/issue', { building: 'B' })).status, 200, 'November issued for D-3');
  t.match(await quotaOf('D-1'), { period: NOVEMBER, granted: ALLOWANCE });
  t.match(await quotaOf('D-3'), { period: NOVEMBER, granted: ROOM });

  // Day 11: S2 checks in late to D-1.
  clock.jumpTo(local('2026-11-11T09:00:00'));
  await checkIn('S2', 'D-1');
  t.same(await lateGrants(), [{ dormitoryId: 'D-1', amount: 0, usage: LATE, studentId: 'S2', period: NOVEMBER }], 'one quota_grant: 20/30 of 10 kWh = 6,666 Wh, amount 0, naming the student and the period');
  t.match(await quotaOf('D-1'), { period: NOVEMBER, granted: ALLOWANCE + LATE, remaining: ALLOWANCE + LATE }, 'the dormitory shows it');
  t.equal(await liveGranted('D-1'), ALLOWANCE + LATE, 'the running dormitory actor holds it');
  const audit = await db.selectFrom('audit_log').select(['target_id', 'details']).where('action', '=', 'quota_policy.late_grant').execute();
  t.match(audit, [{ target_id: 'D-1', details: { studentId: 'S2', purse: 'electricity', granted: LATE, period: NOVEMBER, policyId: 'pm' } }], 'audited with the check-in');

  // Used before money: 8 kWh of the 16.666 kWh are free.
  await test.read('1', 100_000);
  clock.advance(3_600_000);
  await test.read('1', 108_000);
  t.match(await quotaOf('D-1'), { granted: ALLOWANCE + LATE, used: 8_000, remaining: ALLOWANCE + LATE - 8_000 }, 'the late allowance is used like the rest');

  // A second check-in the same month (out, then in again; or into another room): nothing more.
  t.equal((await call('POST', '/api/students/S2/check-out', {})).status, 200);
  await checkIn('S2', 'D-1');
  t.equal((await lateGrants()).length, 1, 'checking in again to the same room: nothing more');
  // An exchange into D-2 (issued for S3): S2 lived in D-1 this month, nothing.
  t.equal((await call('POST', '/api/students/S2/exchange', { toDormitoryId: 'D-2' })).status, 200, 'S2 moves to D-2');
  t.equal((await lateGrants()).length, 1, 'an exchange grants nothing');
  t.match(await quotaOf('D-2'), { granted: ALLOWANCE }, 'D-2 keeps its one grant');
  // A per-dormitory policy gives a late occupant nothing.
  await student('S4');
  await checkIn('S4', 'D-3');
  t.equal((await lateGrants()).length, 1, 'a per-dormitory room: nothing for a late occupant');
  t.match(await quotaOf('D-3'), { granted: ROOM });

  // A batch: S5 (new) into D-1 is late; S4 (already in D-3 this month) is exchanged to D-1 by file: nothing.
  const jobs = watchJobs(test.app);
  const upload = async (kind: 'check-ins' | 'exchanges', file: Buffer) => {
    const body = multipartFile(file);
    const accepted = await test.app.http.inject({ method: 'POST', url: `/api/imports/${kind}`, headers: { ...admin, ...body.headers }, payload: body.payload });
    t.equal(accepted.statusCode, 202, accepted.body);
    const job = await jobs.end(accepted.json<{ jobId: string }>().jobId);
    t.equal(job.state, 'done', JSON.stringify(job.errors));
  };
  await upload('check-ins', await workbookOf(['studentId', 'name', 'college', 'class', 'dormitory'], [['S5', 'S5', 'Eng', '1', 'D-1']]));
  t.same((await lateGrants()).map((g) => [g.dormitoryId, g.studentId, g.usage]), [['D-1', 'S2', LATE], ['D-1', 'S5', LATE]], 'the batch check-in grants S5 the same 6,666 Wh');
  t.equal(await liveGranted('D-1'), ALLOWANCE + 2 * LATE, 'and the running actor has it');
  await upload('exchanges', await workbookOf(['studentId', 'toDormitory'], [['S4', 'D-1']]));
  t.equal((await lateGrants()).length, 2, 'a batch exchange grants nothing');
  // The same student checked out and checked in again by a file: nothing more.
  t.equal((await call('POST', '/api/students/S5/check-out', {})).status, 200);
  await upload('check-ins', await workbookOf(['studentId', 'dormitory'], [['S5', 'D-1']]));
  t.equal((await lateGrants()).length, 2, 'the batch run again for S5: nothing more');

  // A restart: the quota is what it was, nothing granted again.
  const before = await quotaOf('D-1');
  admin = await test.restart();
  t.same(await quotaOf('D-1'), before, 'after a restart D-1 shows the same quota');
  t.equal(await liveGranted('D-1'), ALLOWANCE + 2 * LATE);
  t.equal((await lateGrants()).length, 2, 'nothing was granted at the restart');

  // A state committed without a late grant (a running dormitory that posted before it learnt of
  // it, then a crash): the reload reads the ledger and adds it, once.
  await test.app.runtime.flush();
  const row = await db.selectFrom('purse_billing_states').select('billing_state').where('dormitory_id', '=', 'D-1').where('purse', '=', 'electricity').executeTakeFirstOrThrow();
  const stale = row.billing_state as { freeGranted: number; freeRemaining: number; quotaTopUps?: string[] };
  t.same(stale.quotaTopUps, ['S2', 'S5'], 'the committed state lists the late students it holds');
  await test.app.runtime.unloadDormitory('D-1');
  await db
    .updateTable('purse_billing_states')
    .set({ billing_state: JSON.stringify({ ...stale, freeGranted: stale.freeGranted - LATE, freeRemaining: stale.freeRemaining - LATE, quotaTopUps: ['S2'] }) })
    .where('dormitory_id', '=', 'D-1')
    .where('purse', '=', 'electricity')
    .execute();
  t.ok(await test.app.runtime.reloadDormitory('D-1'));
  t.equal(await liveGranted('D-1'), ALLOWANCE + 2 * LATE, "the reload added S5's grant from the ledger");
  t.same(await quotaOf('D-1'), before, 'and only that one');

  t.equal((await reconcile(db)).mismatches.length, 0, 'reconcile is clean');
});
