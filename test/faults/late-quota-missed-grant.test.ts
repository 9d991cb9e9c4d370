import t from 'tap';
import { appendPostings } from '../../src/db/ledger.repository.ts';
import { placeStudentsIn } from '../../src/db/student.repository.ts';
import { reconcile } from '../../src/services/reconcile.service.ts';
import { createForgedMeters, seedFlatCampus } from '../helpers/forged-meters.ts';

/**
 * docs/billing.md, "A check-in while the period is granted at its first usage": the dormitory
 * actor's first-usage grant records the stays it counted (`quotaCounted`), and a stay of the
 * period it did not count gets its late share once, after the next occupancy change of the room
 * or at the next start. The race (a check-in committing while the grant is in memory) is made
 * deterministic here by writing such a stay straight into the database after the grant: exactly
 * what that check-in leaves behind (its stay, no late grant). Campus Asia/Shanghai,
 * per-occupant 10,000 Wh a month, on a frozen clock.
 */
const ALLOWANCE = 10_000;
const local = (iso: string) => Date.parse(`${iso}+08:00`);

t.test('a stay the first-usage grant did not count is granted its share once: after a check-in to the room, and at a restart', async (t) => {
  const test = await createForgedMeters(t, local('2027-02-20T08:00:00'));
  const { database, clock } = test;
  const db = database.db;
  const rooms = ['D-1', 'D-2'];
  await db.transaction().execute(async (trx) => {
    await seedFlatCampus(trx, 600_000);
    await trx.insertInto('dormitories').values(rooms.map((id, i) => ({ id, building_id: 'B', floor: 1, room: `${100 + i}`, electricity_tariff_id: 'flat', capacity: 8 }))).execute();
    await trx.insertInto('meters').values(rooms.map((id, i) => ({ id: `M-${id}`, dormitory_id: id, kind: 'electric' as const, profile: 'sdm120', gateway_id: 'GW', unit_address: String(i + 1) }))).execute();
    await trx.insertInto('accounts').values(rooms.flatMap((id) => [{ dormitory_id: id, purse: 'electricity' as const }, { dormitory_id: id, purse: 'water' as const }])).execute();
    await appendPostings(trx, rooms.map((dormitoryId) => ({ dormitoryId, purse: 'electricity' as const, kind: 'adjustment' as const, amount: 10_000, operator: 'seed', occurredAt: new Date(clock.now()), details: {} })));
  });
  let admin = await test.start({ '1': 'M-D-1', '2': 'M-D-2' });
  const call = async (method: 'GET' | 'POST', url: string, payload?: object) => {
    const response = await test.app.http.inject({ method, url, headers: admin, ...(payload ? { payload } : {}) });
    return { status: response.statusCode, body: response.json<Record<string, unknown>>() };
  };
  const liveGranted = async (id: string) => (await test.app.runtime.purseStates(id))?.electricity?.freeGranted ?? 0;
  const lateGrantsOf = async (studentId: string) =>
    (await db.selectFrom('ledger_entries').select(['dormitory_id', 'usage', 'details']).where('kind', '=', 'quota_grant').orderBy('id').execute())
      .filter((e) => (e.details as Record<string, unknown>).studentId === studentId)
      .map((e) => ({ dormitoryId: e.dormitory_id, usage: Number(e.usage) }));
  for (const id of ['S1', 'S2', 'S3', 'S4', 'S5']) t.equal((await call('POST', '/api/students', { id, name: id, college: 'Eng', class: '1' })).status, 201);
  t.equal((await call('POST', '/api/quota-policies', { id: 'pm', name: 'Per student', purse: 'electricity', allowance: ALLOWANCE, basis: 'per-occupant', period: 'month' })).status, 201);
  t.equal((await call('POST', '/api/quota-policies/pm/assignments', { dormitoryIds: rooms })).status, 200);
  for (const [room, student] of [['D-1', 'S1'], ['D-2', 'S3']] as const) t.equal((await call('POST', `/api/dormitories/${room}/check-ins`, { studentId: student, date: '2027-02-20' })).status, 201);
  await test.read('1', 1_000);
  await test.read('2', 1_000);

  // March 1st: each room's first reading grants the month for its one occupant (the stays it counted are recorded).
  clock.jumpTo(local('2027-03-01T08:00:00'));
  await test.read('1', 1_100);
  await test.read('2', 1_100);
  await test.app.runtime.flush();
  const committed = async (room: string) => (await db.selectFrom('purse_billing_states').select('billing_state').where('dormitory_id', '=', room).where('purse', '=', 'electricity').executeTakeFirstOrThrow()).billing_state as { quotaFrom?: string; quotaCounted?: { from: string; occupancies: number[] } };
  const s1Stay = (await db.selectFrom('occupancies').select('id').where('student_number', '=', 'S1').executeTakeFirstOrThrow()).id;
  t.same((await committed('D-1')).quotaCounted, { from: '2027-03-01', occupancies: [s1Stay] }, 'the grant records the stay it counted');
  t.equal(await liveGranted('D-1'), ALLOWANCE, 'D-1: March granted for one occupant');

  // What a check-in committing during that grant leaves: S2's stay in D-1, S4's in D-2, no late grant.
  await db.transaction().execute(async (trx) => {
    const at = new Date(clock.now());
    await trx.insertInto('occupancies').values([{ student_number: 'S2', dormitory_id: 'D-1', from_day: '2027-03-01', checked_in_at: at, checked_in_by: 'admin', bed: null }, { student_number: 'S4', dormitory_id: 'D-2', from_day: '2027-03-01', checked_in_at: at, checked_in_by: 'admin', bed: null }]).execute();
    await placeStudentsIn(trx, [{ id: 'S2', dormitoryId: 'D-1', bed: null }, { id: 'S4', dormitoryId: 'D-2', bed: null }], at);
  });

  // The next occupancy change of D-1 (S5 checks in: its own late share) settles S2 too.
  t.equal((await call('POST', '/api/dormitories/D-1/check-ins', { studentId: 'S5' })).status, 201);
  await test.app.runtime.flush();
  t.same(await lateGrantsOf('S5'), [{ dormitoryId: 'D-1', usage: ALLOWANCE }], 'S5 checked in after the grant: its own late share');
  t.same(await lateGrantsOf('S2'), [{ dormitoryId: 'D-1', usage: ALLOWANCE }], 'S2, missed by the grant, gets the whole month (the 1st) once');
  t.equal(await liveGranted('D-1'), 3 * ALLOWANCE, 'D-1: the allowance once per occupant (live)');
  t.same(await lateGrantsOf('S4'), [], 'D-2 had no occupancy change yet');

  // A check-out in D-1 settles again: nothing more.
  t.equal((await call('POST', '/api/students/S5/check-out', {})).status, 200);
  await test.app.runtime.flush();
  t.equal((await lateGrantsOf('S2')).length, 1, 'S2 is not granted twice');

  // A restart settles D-2 at start: S4 gets its share once, the running dormitory holds it.
  admin = await test.restart();
  await test.app.runtime.flush();
  t.same(await lateGrantsOf('S4'), [{ dormitoryId: 'D-2', usage: ALLOWANCE }], 'S4 is granted at the start');
  t.equal(await liveGranted('D-2'), 2 * ALLOWANCE, 'D-2: the allowance once per occupant after the restart');
  t.equal(await liveGranted('D-1'), 3 * ALLOWANCE, 'D-1 unchanged by the restart');
  admin = await test.restart();
  await test.app.runtime.flush();
  t.equal((await lateGrantsOf('S4')).length, 1, 'a second restart grants nothing more');
  t.equal((await reconcile(db)).mismatches.length, 0, 'reconcile is clean');
});
