// CI: also on PGlite + the embedded broker (10,000 rows in one transaction on PGlite's single connection).
/**
 * A 10,000-row check-in file, as a logistics office uploads at the start of a year: every
 * student opened with a locked login and checked in, beds unique, progress pushed in order up
 * to the total, all in one transaction. Runs on PGlite and on PostgreSQL (DATABASE_URL).
 */
import t from 'tap';
import { SimulatedClock } from '../../src/clock.ts';
import type { JobProgress } from '../../src/live/job-feed.ts';
import { multipartFile, watchJobs, workbookOf } from '../helpers/import-files.ts';
import { createTestApp } from '../helpers/test-app.ts';

const START = Date.parse('2026-09-01T04:00:00Z'); // 12:00 in China
const ROWS = 10_000;
const CAPACITY = 64;
const ROOMS = Math.ceil(ROWS / CAPACITY); // 157 rooms of 64 beds

t.test(`a ${ROWS}-row check-in file imports in one job with correct progress`, async (t) => {
  const clock = new SimulatedClock(START, 0);
  const test = await createTestApp(t, { clock });
  const { app, database } = test;
  const admin = await test.login('admin', 'test-admin-password');
  const room = (i: number) => `BIG-${String(i).padStart(3, '0')}`;
  for (let i = 0; i < ROOMS; i++) {
    const made = await app.http.inject({ method: 'POST', url: '/api/dormitories', headers: admin, payload: { id: room(i), building: 'BA', floor: 1 + Math.floor(i / 20), room: room(i), capacity: CAPACITY } });
    if (made.statusCode !== 201) throw new Error(made.body);
  }
  // Every other row names its bed, counting down from the top (64, 63, ...); the rows between
  // leave the bed to the system, which gives the lowest free one (1, 2, ...).
  const rows = Array.from({ length: ROWS }, (_, i) => {
    const slot = i % CAPACITY;
    return [`S${String(2026_000_000 + i)}`, `学生${i}`, `College ${i % 7}`, `Class ${i % 50}`, room(Math.floor(i / CAPACITY)), slot % 2 === 0 ? CAPACITY - slot / 2 : null, '2026-08-31'];
  });
  const file = await workbookOf(['studentId', 'name', 'college', 'class', 'dormitory', 'bed', 'date'], rows);
  const jobs = watchJobs(app);
  const body = multipartFile(file);
  const startedAt = process.hrtime.bigint();
  const accepted = await app.http.inject({ method: 'POST', url: '/api/imports/check-ins', headers: { ...admin, ...body.headers }, payload: body.payload });
  if (!t.equal(accepted.statusCode, 202, accepted.body)) return; // no job to wait for
  const { jobId } = accepted.json() as { jobId: string };
  const job = await jobs.end(jobId);
  const seconds = Number(process.hrtime.bigint() - startedAt) / 1e9;
  t.comment(`${ROWS} rows imported in ${seconds.toFixed(1)} s (upload to done) on ${process.env.DATABASE_URL ? 'PostgreSQL' : 'PGlite'}`);
  t.equal(job.state, 'done', JSON.stringify(job.errors.slice(0, 3)));
  t.same(job.progress, { done: ROWS, total: ROWS });

  const mine = jobs.events.filter((e: JobProgress) => e.id === jobId && e.state === 'running' && e.progress.done > 0);
  t.ok(mine.length >= 10, `progress was pushed while it ran (${mine.length} updates)`);
  t.ok(mine.every((e, i) => i === 0 || e.progress.done >= mine[i - 1]!.progress.done), 'progress only goes up');
  t.ok(mine.every((e) => e.progress.total === ROWS && e.progress.done <= ROWS), 'against the file total');

  const db = database.db;
  const stays = await db.selectFrom('occupancies').select(['student_number', 'dormitory_id', 'bed', 'from_day']).where('dormitory_id', 'like', 'BIG-%').where('to_day', 'is', null).execute();
  t.equal(stays.length, ROWS, 'every row is an open stay');
  const expectedRoom = new Map(rows.map((r) => [r[0] as string, r[4] as string]));
  t.ok(stays.every((s) => expectedRoom.get(s.student_number) === s.dormitory_id && s.from_day === '2026-08-31'), 'each student in the room and from the day the file says');
  const beds = new Set(stays.map((s) => `${s.dormitory_id}#${s.bed}`));
  t.equal(beds.size, ROWS, 'no bed is given twice');
  t.ok(stays.every((s) => s.bed !== null && s.bed >= 1 && s.bed <= CAPACITY), 'every stay has a real bed');
  const named = rows.filter((r) => r[5] !== null);
  const bedOf = new Map(stays.map((s) => [s.student_number, s.bed]));
  t.ok(named.every((r) => bedOf.get(r[0] as string) === r[5]), `the ${named.length} beds the file names are the beds given`);
  const unnamed = rows.filter((r) => r[5] === null).map((r, i) => [r[0] as string, 1 + (i % (CAPACITY / 2))] as const);
  t.ok(unnamed.every(([student, bed]) => bedOf.get(student) === bed), 'the others got the lowest free beds, in file order');

  const placed = await db.selectFrom('occupants').select(['student_number', 'dormitory_id', 'bed']).where('dormitory_id', 'like', 'BIG-%').execute();
  t.equal(placed.length, ROWS, 'the student register says where each lives');
  t.ok(placed.every((p) => expectedRoom.get(p.student_number) === p.dormitory_id && bedOf.get(p.student_number) === p.bed), 'register and stays agree');
  const logins = await db.selectFrom('operators').select(['username', 'dormitory_id', 'password_hash']).where('role', '=', 'student').where('username', 'like', 'S2026%').execute();
  t.equal(logins.length, ROWS, 'each student has a login');
  t.ok(logins.every((l) => l.dormitory_id === expectedRoom.get(l.username)), 'each login reads its own room');
  const locked = await app.http.inject({ method: 'POST', url: '/api/auth/login', payload: { username: 'S2026000000', password: 'locked:password-not-set' } });
  t.equal(locked.statusCode, 401, 'a batch-opened login has no password until one is set');
  const audits = await db.selectFrom('audit_log').select((eb) => eb.fn.countAll<number>().as('n')).where('action', 'in', ['occupancy.check_in', 'student.create']).executeTakeFirstOrThrow();
  t.equal(Number(audits.n), 2 * ROWS, 'every opening and every check-in is audited');
});
