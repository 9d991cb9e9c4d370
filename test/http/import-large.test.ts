import { sql } from 'kysely';
import t from 'tap';
import { SimulatedClock } from '../../src/clock.ts';
import { createTestApp } from '../helpers/test-app.ts';
import { multipartFile, watchJobs, workbookOf } from '../helpers/import-files.ts';

const START = Date.parse('2026-09-01T04:00:00Z');
const ROOMS = 2500;
const BEDS = 4;

t.test('a 10,000-row check-in file imports with correct progress, every row applied in one transaction', async (t) => {
  const clock = new SimulatedClock(START, 0);
  const { app, database, login } = await createTestApp(t, { clock });
  const db = database.db;
  // 2,500 rooms x 4 beds in one statement (the demo campus's building BA).
  await sql`insert into dormitories (id, building_id, floor, room, capacity)
            select 'K-' || g, 'BA', 1 + g / 100, 'K' || g, ${BEDS} from generate_series(1, ${ROOMS}) g`.execute(db);
  const rows: (string | number)[][] = [];
  for (let room = 1; room <= ROOMS; room++) {
    for (let bed = 1; bed <= BEDS; bed++) rows.push([`K${String(rows.length + 1).padStart(6, '0')}`, `学生${rows.length + 1}`, `学院${room % 12}`, `班级${room % 97}`, `K-${room}`, bed]);
  }
  const file = await workbookOf(['学号', '姓名', '学院', '班级', '宿舍', '床位'], rows);
  const jobs = watchJobs(app);
  const admin = await login('admin', 'test-admin-password');
  const body = multipartFile(file, 'freshmen.xlsx');
  const startedAt = performance.now();
  const accepted = await app.http.inject({ method: 'POST', url: '/api/imports/check-ins', headers: { ...admin, ...body.headers }, payload: body.payload });
  t.equal(accepted.statusCode, 202, accepted.body);
  const job = await jobs.end(accepted.json<{ jobId: string }>().jobId);
  const seconds = (performance.now() - startedAt) / 1000;
  t.comment(`10,000 check-ins (students opened too) in ${seconds.toFixed(1)} s on ${process.env.DATABASE_URL ? 'PostgreSQL' : 'PGlite'}`);
  t.equal(job.state, 'done', JSON.stringify(job.errors.slice(0, 5)));
  t.same(job.progress, { done: 10_000, total: 10_000 }, 'progress reached the total');
  t.match(job.summary, { rows: 10_000, studentsOpened: 10_000 });

  const progress = jobs.events.filter((e) => e.state === 'running').map((e) => e.progress.done);
  t.ok(progress.length >= 100, `progress was pushed as the rows applied (${progress.length} events)`);
  t.ok(progress.every((done, i) => i === 0 || done >= progress[i - 1]!), 'progress never went backwards');
  t.equal(progress.at(-1), 10_000, 'the last running event says every row');

  const stays = await db
    .selectFrom('occupancies')
    .select((eb) => [eb.fn.countAll<number>().as('n'), eb.fn.count<number>(eb.fn('distinct', [sql`dormitory_id || '/' || bed`])).as('beds')])
    .where('dormitory_id', 'like', 'K-%')
    .where('to_day', 'is', null)
    .executeTakeFirstOrThrow();
  t.equal(Number(stays.n), 10_000, 'every row applied: 10,000 open stays');
  t.equal(Number(stays.beds), 10_000, 'each on its own bed');
  const sample = await db.selectFrom('occupancies').select(['dormitory_id', 'bed']).where('student_number', '=', 'K000007').executeTakeFirstOrThrow();
  t.same(sample, { dormitory_id: 'K-2', bed: 3 }, 'row 8 is in the room and bed it names');
  const audited = await db.selectFrom('audit_log').select('details').where('action', '=', 'import.check-ins').execute();
  t.equal(audited.length, 1, 'the batch is audited once (each check-in too)');

  // Run again: every row is now a student already living somewhere; nothing applies.
  const again = multipartFile(file, 'freshmen.xlsx');
  const refused = await jobs.end(
    (await app.http.inject({ method: 'POST', url: '/api/imports/check-ins', headers: { ...admin, ...again.headers }, payload: again.payload })).json<{ jobId: string }>().jobId,
  );
  t.equal(refused.state, 'failed');
  t.equal(refused.errors.length, 20_000, 'every row named twice: already lives somewhere, and its room is full');
  t.equal(refused.progress.done, 0);
});
