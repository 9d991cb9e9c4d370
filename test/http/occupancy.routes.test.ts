import t from 'tap';
import { SimulatedClock } from '../../src/clock.ts';
import { createTestApp } from '../helpers/test-app.ts';

const DAY_MS = 86_400_000;
// 2026-09-01 12:00 in China (UTC+8), frozen; tests move it a day at a time.
const START = Date.parse('2026-09-01T04:00:00Z');

t.test('students, check-in, capacity, beds, exchange, swap, check-out and history over REST', async (t) => {
  const clock = new SimulatedClock(START, 0);
  const { app, database, login } = await createTestApp(t, { clock });
  const inject = app.http.inject.bind(app.http);
  const admin = await login('admin', 'test-admin-password');
  const post = (url: string, payload: Record<string, unknown>, headers = admin) => inject({ method: 'POST', url, headers, payload });
  const get = (url: string, headers = admin) => inject({ method: 'GET', url, headers });

  for (const [id, capacity] of [['T-1', 2], ['T-2', 2]] as const) {
    t.equal((await post('/api/dormitories', { id, building: 'BA', floor: 9, room: id, capacity })).statusCode, 201, `room ${id} created`);
  }
  const students = [
    { id: 'S001', name: 'Zhang Wei', college: 'Engineering', class: 'EE-1', phone: '13900000001', email: 'zw@example.edu' },
    { id: 'S002', name: 'Li Na', college: 'Engineering', class: 'EE-2' },
    { id: 'S003', name: 'Wang Fang', college: 'Arts', class: 'A-1' },
    { id: 'S004', name: 'Chen Jie', college: 'Arts', class: 'A-1', password: 'chen-jie-secret' },
  ];
  const passwords = new Map<string, string>();
  for (const s of students) {
    const created = await post('/api/students', s);
    t.equal(created.statusCode, 201, `student ${s.id} created (${created.body})`);
    passwords.set(s.id, created.json<{ password?: string }>().password ?? s.password ?? '');
  }
  t.ok(passwords.get('S001')!.length >= 10, 'a generated initial password is returned once');
  t.notOk('password' in (await post('/api/students', { ...students[0]!, id: 'S009', password: 'chosen-password' })).json(), 'a chosen one is not echoed');
  const again = await post('/api/students', students[0]!);
  t.equal(again.statusCode, 409, 'a student number is unique');
  t.equal(again.json().error.field, 'id');
  const bad = await post('/api/students', { id: 'S010', name: 'X', college: 'Arts' });
  t.equal(bad.json().error.field, 'class', 'a missing class is named');
  const badMail = await post('/api/students', { id: 'S011', name: 'X', college: 'Arts', class: 'A', email: 'not-mail' });
  t.equal(badMail.json().error.field, 'email');

  const search = await get('/api/students?college=Arts&class=A-1');
  t.same(search.json<{ items: { id: string }[] }>().items.map((s) => s.id), ['S003', 'S004'], 'filtered by college and class');
  const byMail = await get('/api/students?q=zw%40example');
  t.same(byMail.json<{ items: { id: string }[]; total: number }>().items.map((s) => s.id), ['S001', 'S009'], 'q searches e-mail (and number, name, phone)');
  const paged = await get('/api/students?q=S00&pageSize=2&page=2');
  t.equal(paged.json<{ total: number }>().total, 5, 'total counts every match');
  t.equal(paged.json<{ items: unknown[] }>().items.length, 2, 'one page');

  // Check-ins: beds, capacity.
  const first = await post('/api/dormitories/T-1/check-ins', { studentId: 'S001' });
  t.equal(first.statusCode, 201, first.body);
  t.match(first.json(), { studentId: 'S001', opened: { dormitoryId: 'T-1', bed: 1, fromDay: '2026-09-01', toDay: null } }, 'the lowest free bed, from today');
  const taken = await post('/api/dormitories/T-1/check-ins', { studentId: 'S002', bed: 1 });
  t.equal(taken.statusCode, 409, 'a taken bed is refused');
  t.same(taken.json().error, { code: 'BED_TAKEN', message: 'bed 1 of dormitory T-1 is taken', field: 'bed' });
  const outOfRange = await post('/api/dormitories/T-1/check-ins', { studentId: 'S002', bed: 3 });
  t.equal(outOfRange.statusCode, 400, 'a bed beyond the capacity is refused');
  t.equal(outOfRange.json().error.field, 'bed');
  t.equal((await post('/api/dormitories/T-1/check-ins', { studentId: 'S002', bed: 2 })).statusCode, 201);
  const full = await post('/api/dormitories/T-1/check-ins', { studentId: 'S003' });
  t.equal(full.statusCode, 409, 'capacity is enforced');
  t.equal(full.json().error.code, 'DORMITORY_FULL');
  const twice = await post('/api/dormitories/T-2/check-ins', { studentId: 'S001' });
  t.equal(twice.json().error.code, 'ALREADY_CHECKED_IN', 'one room at a time');
  const future = await post('/api/dormitories/T-2/check-ins', { studentId: 'S003', date: '2026-09-02' });
  t.equal(future.statusCode, 400, 'no check-in in the future');
  t.equal(future.json().error.field, 'date');
  const notADay = await post('/api/dormitories/T-2/check-ins', { studentId: 'S003', date: '2026-02-30' });
  t.equal(notADay.json().error.code, 'DATE_NOT_ALLOWED');
  t.equal((await post('/api/dormitories/NOPE/check-ins', { studentId: 'S003' })).statusCode, 404);
  t.equal((await post('/api/dormitories/T-2/check-ins', { studentId: 'NOBODY' })).json().error.code, 'STUDENT_NOT_FOUND');
  t.equal((await post('/api/dormitories/T-2/check-ins', { studentId: 'S003', date: '2026-08-30' })).statusCode, 201, 'a check-in may be dated back');

  // A student sees only their current dormitory.
  const s1 = await login('S001', passwords.get('S001')!);
  t.same((await get('/api/dormitories', s1)).json<{ items: { id: string }[] }>().items.map((d) => d.id), ['T-1'], 'the student lists their room');
  t.equal((await get('/api/dormitories/T-2', s1)).statusCode, 403, 'and no other');
  t.equal((await get('/api/students/S001', s1)).statusCode, 200, 'reads their own record');
  t.equal((await get('/api/students/S002', s1)).statusCode, 403, 'not another student');
  t.equal((await post('/api/dormitories/T-2/check-ins', { studentId: 'S004' }, s1)).statusCode, 403, 'students do not check in');

  // Payers: only an occupant of the room.
  const notHere = await post('/api/dormitories/T-1/recharges', { amount: 100, method: 'cash', reference: 'r-x', studentId: 'S003' });
  t.equal(notHere.statusCode, 400);
  t.same(notHere.json().error.field, 'studentId', 'a payer must live in the room');
  t.equal((await post('/api/dormitories/T-1/recharges', { amount: 100, method: 'cash', reference: 'r-1', studentId: 'S001' })).statusCode, 201);
  const samePayerless = await post('/api/dormitories/T-1/recharges', { amount: 100, method: 'cash', reference: 'r-1' });
  t.equal(samePayerless.statusCode, 409, 'a reference reused with another payer is a conflict');

  // Exchange on day 2: S001 T-1 -> T-2.
  clock.advance(DAY_MS);
  const sameRoom = await post('/api/students/S001/exchange', { toDormitoryId: 'T-1' });
  t.equal(sameRoom.json().error.code, 'SAME_DORMITORY');
  const moved = await post('/api/students/S001/exchange', { toDormitoryId: 'T-2' });
  t.equal(moved.statusCode, 200, moved.body);
  t.match(moved.json(), { closed: { dormitoryId: 'T-1', fromDay: '2026-09-01', toDay: '2026-09-02', endReason: 'exchange' }, opened: { dormitoryId: 'T-2', fromDay: '2026-09-02', bed: 2 } });
  t.equal(moved.json<{ settlements: unknown[] }>().settlements.length, 2, 'settled for both purses');
  t.same((await get('/api/dormitories', s1)).json<{ items: { id: string }[] }>().items.map((d) => d.id), ['T-2'], "the student's view follows the move at once");
  const intoFull = await post('/api/students/S002/exchange', { toDormitoryId: 'T-2' });
  t.equal(intoFull.json().error.code, 'DORMITORY_FULL', 'exchange respects capacity');
  const backdated = await post('/api/students/S002/check-out', { date: '2026-09-01' });
  t.equal(backdated.statusCode, 400, 'no check-out before the day the room was settled up to');
  t.equal(backdated.json().error.code, 'DATE_NOT_ALLOWED');

  // Swap on day 3: S002 (T-1 bed 2) <-> S003 (T-2 bed 1).
  clock.advance(DAY_MS);
  const swapped = await post('/api/students/S002/swap', { withStudentId: 'S003' });
  t.equal(swapped.statusCode, 200, swapped.body);
  t.match(swapped.json(), {
    changes: [
      { studentId: 'S002', opened: { dormitoryId: 'T-2', bed: 1 } },
      { studentId: 'S003', opened: { dormitoryId: 'T-1', bed: 2 } },
    ],
  });
  t.equal((await post('/api/students/S002/swap', { withStudentId: 'S001' })).json().error.code, 'SAME_DORMITORY', 'a swap within one room is refused');

  // Check-out on day 4.
  clock.advance(DAY_MS);
  const out = await post('/api/students/S003/check-out', {});
  t.equal(out.statusCode, 200, out.body);
  t.match(out.json(), { closed: { dormitoryId: 'T-1', toDay: '2026-09-04', endReason: 'check_out' } });
  t.equal((await post('/api/students/S003/check-out', {})).json().error.code, 'NOT_CHECKED_IN');
  t.equal((await get('/api/students?dormitory=T-1')).json<{ total: number }>().total, 0, 'T-1 is empty');

  const history = (await get('/api/dormitories/T-1/occupancies')).json<{ items: { studentId: string; fromDay: string; toDay: string | null; endReason: string | null }[] }>().items;
  t.same(
    history.map((h) => [h.studentId, h.fromDay, h.toDay, h.endReason]),
    [
      ['S003', '2026-09-03', '2026-09-04', 'check_out'],
      ['S002', '2026-09-01', '2026-09-03', 'swap'],
      ['S001', '2026-09-01', '2026-09-02', 'exchange'],
    ],
    'the history of the room keeps every stay',
  );
  const detail = (await get('/api/students/S001')).json<{ dormitoryId: string; bed: number; stays: unknown[]; settlements: unknown[] }>();
  t.match(detail, { dormitoryId: 'T-2', bed: 2 });
  t.equal(detail.stays.length, 2);
  t.equal((await get('/api/dormitories/T-1/occupancies', s1)).statusCode, 403, 'a student reads only their room’s history');

  const audit = await database.db.selectFrom('audit_log').select(['action', 'operator']).where('action', 'like', 'occupancy.%').orderBy('id').execute();
  t.same(
    audit.map((a) => a.action),
    ['occupancy.check_in', 'occupancy.check_in', 'occupancy.check_in', 'occupancy.exchange', 'occupancy.swap', 'occupancy.swap', 'occupancy.check_out'],
    'every occupancy change is audited',
  );
  t.ok(audit.every((a) => a.operator === 'admin'), 'with who made it');
  const settlementAudit = await database.db.selectFrom('audit_log').select('action').where('action', 'like', 'settlement.%').execute();
  t.equal(settlementAudit.length, 8, 'each settlement (4 stays closed x 2 purses) is audited');
});
