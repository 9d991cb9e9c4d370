import { randomBytes } from 'node:crypto';
import ExcelJS from 'exceljs';
import t from 'tap';
import { SimulatedClock } from '../../src/clock.ts';
import { createTestApp } from '../helpers/test-app.ts';
import { multipartFile, watchJobs, workbookOf } from '../helpers/import-files.ts';

// 2026-09-01 12:00 in China (UTC+8), frozen.
const START = Date.parse('2026-09-01T04:00:00Z');

async function officeApp(t: Parameters<typeof createTestApp>[0], env: Record<string, string> = {}) {
  const clock = new SimulatedClock(START, 0);
  const testApp = await createTestApp(t, { clock, env });
  const { app } = testApp;
  const admin = await testApp.login('admin', 'test-admin-password');
  const inject = app.http.inject.bind(app.http);
  const upload = (kind: string, file: Buffer, headers = admin) => {
    const body = multipartFile(file);
    return inject({ method: 'POST', url: `/api/imports/${kind}`, headers: { ...headers, ...body.headers }, payload: body.payload });
  };
  const post = (url: string, payload: Record<string, unknown>) => inject({ method: 'POST', url, headers: admin, payload });
  const get = (url: string) => inject({ method: 'GET', url, headers: admin });
  for (const [id, capacity] of [['T-1', 2], ['T-2', 2], ['T-3', 4]] as const) {
    const made = await post('/api/dormitories', { id, building: 'BA', floor: 9, room: id, capacity });
    if (made.statusCode !== 201) throw new Error(made.body);
  }
  return { ...testApp, admin, upload, post, get, jobs: watchJobs(app) };
}

t.test('templates: a header row and an example row for each batch', async (t) => {
  const { get } = await officeApp(t);
  const expected: Record<string, string[]> = {
    'check-ins': ['studentId', 'name', 'college', 'class', 'dormitory', 'bed', 'date', 'phone', 'email'],
    exchanges: ['studentId', 'name', 'toDormitory', 'bed'],
    'check-outs': ['studentId', 'name', 'date'],
  };
  for (const [kind, headers] of Object.entries(expected)) {
    const response = await get(`/api/imports/${kind}/template.xlsx`);
    t.equal(response.statusCode, 200, `${kind} template served`);
    t.match(response.headers['content-type'], /spreadsheetml/, 'as an .xlsx');
    const workbook = new ExcelJS.Workbook();
    await workbook.xlsx.load(response.rawPayload as unknown as ArrayBuffer);
    const sheet = workbook.worksheets[0]!;
    t.same((sheet.getRow(1).values as unknown[]).slice(1), headers, `${kind}: the documented headers`);
    t.equal(sheet.rowCount, 2, `${kind}: one example row`);
    t.equal(String(sheet.getRow(2).getCell(1).value), '2026000001', 'the example names a student');
  }
});

t.test('a check-in file with Chinese headers opens the students and checks them in; exchange and check-out files settle', async (t) => {
  const { app, upload, get, post, jobs, database } = await officeApp(t);
  const file = await workbookOf(
    ['学号', '姓名', '学院', '班级', '宿舍', '床位', '入住日期'],
    [
      ['2026001', '张伟', '计算机学院', '计科2601', 'T-1', 2, new Date(Date.UTC(2026, 7, 30))],
      [2026002, '李娜', '计算机学院', '计科2601', 'T-1', null, '2026/8/31'],
      ['2026003', '王芳', '文学院', '汉语2601', 'T-3', null, null],
    ],
  );
  const accepted = await upload('check-ins', file);
  if (!t.equal(accepted.statusCode, 202, accepted.body)) return; // no job to wait for
  const { jobId } = accepted.json<{ jobId: string }>();
  const job = await jobs.end(jobId);
  t.equal(job.state, 'done', JSON.stringify(job.errors));
  t.same(job.progress, { done: 3, total: 3 }, 'every row applied');
  t.match(job.summary, { rows: 3, studentsOpened: 3 });
  const polled = await get(`/api/jobs/${jobId}`);
  t.match(polled.json(), { id: jobId, kind: 'check-ins', state: 'done', progress: { done: 3, total: 3 }, errors: [], source: 'batch.xlsx', createdBy: 'admin' }, 'GET /api/jobs/:id');

  const s1 = (await get('/api/students/2026001')).json<{ dormitoryId: string; bed: number; name: string; college: string; hasLogin: boolean; stays: { fromDay: string }[] }>();
  t.match(s1, { dormitoryId: 'T-1', bed: 2, name: '张伟', college: '计算机学院', hasLogin: true }, 'opened with the bed asked for');
  t.equal(s1.stays[0]!.fromDay, '2026-08-30', 'an Excel date cell is a local day');
  const s2 = (await get('/api/students/2026002')).json<{ dormitoryId: string; bed: number; stays: { fromDay: string }[] }>();
  t.match(s2, { dormitoryId: 'T-1', bed: 1 }, 'a number-typed student id and the lowest free bed');
  t.equal(s2.stays[0]!.fromDay, '2026-08-31', 'a 2026/8/31 text date');
  const login = await app.http.inject({ method: 'POST', url: '/api/auth/login', payload: { username: '2026001', password: 'locked:password-not-set' } });
  t.equal(login.statusCode, 401, 'a batch-opened login has no password until an administrator sets one');
  t.equal((await post('/api/users/2026001/password', { password: 'zhang-wei-initial' })).statusCode < 300, true, 'the admin reset opens it');

  const exchangeFile = await workbookOf(['学号', '新宿舍'], [['2026001', 'T-2'], ['2026003', 'T-1']]);
  const exchanged = await jobs.end((await upload('exchanges', exchangeFile)).json<{ jobId: string }>().jobId);
  t.equal(exchanged.state, 'done', JSON.stringify(exchanged.errors));
  t.equal((await get('/api/students/2026001')).json<{ dormitoryId: string }>().dormitoryId, 'T-2', 'moved');
  t.equal((await get('/api/students/2026003')).json<{ dormitoryId: string }>().dormitoryId, 'T-1', 'moved into the bed row 2 freed');
  t.match(exchanged.summary, { rows: 2 });
  const settled = await database.db.selectFrom('settlements').select('student_number').where('student_number', 'in', ['2026001', '2026003']).execute();
  t.equal(settled.length, 4, 'each mover settled in both purses of the room left');

  const outFile = await workbookOf(['studentId', 'date'], [['2026002', '2026-09-01']]);
  const out = await jobs.end((await upload('check-outs', outFile)).json<{ jobId: string }>().jobId);
  t.equal(out.state, 'done', JSON.stringify(out.errors));
  t.equal((await get('/api/students/2026002')).json<{ dormitoryId: string | null }>().dormitoryId, null, 'checked out');

  const byFilter = await post('/api/imports/check-outs', { college: '计算机学院' });
  t.equal(byFilter.statusCode, 202, byFilter.body);
  const filtered = await jobs.end(byFilter.json<{ jobId: string }>().jobId);
  t.equal(filtered.state, 'done');
  t.same(filtered.progress, { done: 1, total: 1 }, 'only the one of that college still living somewhere');
  t.equal((await get('/api/students/2026001')).json<{ dormitoryId: string | null }>().dormitoryId, null, 'checked out by filter');
  t.equal((await get('/api/students/2026003')).json<{ dormitoryId: string | null }>().dormitoryId, 'T-1', 'another college stays');
  t.equal((await post('/api/imports/check-outs', {})).json().error.field, 'body', 'an empty filter is refused');
  t.ok(jobs.events.some((e) => e.id === jobId && e.state === 'running'), 'progress events were published');
});

t.test('a file with bad rows names every one and applies nothing', async (t) => {
  const { upload, jobs, database, post } = await officeApp(t);
  t.equal((await post('/api/students', { id: 'S-OLD', name: 'Old', college: 'Arts', class: 'A-1' })).statusCode, 201);
  t.equal((await post('/api/dormitories/T-2/check-ins', { studentId: 'S-OLD', bed: 1 })).statusCode, 201);
  const file = await workbookOf(
    ['studentId', 'name', 'college', 'class', 'dormitory', 'bed', 'date'],
    [
      ['N1', 'A', 'Arts', 'A-1', 'T-1', null, null], // row 2: fine
      ['N2', 'B', 'Arts', 'A-1', 'NOPE', null, null], // row 3: unknown dormitory
      ['N3', 'C', 'Arts', 'A-1', 'T-1', null, null], // row 4: fine (T-1 now full)
      ['N4', 'D', 'Arts', 'A-1', 'T-1', null, null], // row 5: capacity exceeded counting rows 2 and 4
      ['N1', 'A', 'Arts', 'A-1', 'T-3', null, null], // row 6: duplicate of row 2
      ['N5', 'E', 'Arts', 'A-1', 'T-3', null, '2026-02-30'], // row 7: bad date
      ['N6', 'F', 'Arts', 'A-1', 'T-3', null, '2026-09-02'], // row 8: date in the future
      ['GHOST', null, null, null, 'T-3', null, null], // row 9: unknown student, nothing to open them with
      ['S-OLD', null, null, null, 'T-3', null, null], // row 10: already lives in T-2
      ['N7', 'G', 'Arts', 'A-1', 'T-2', 1, null], // row 11: bed taken
      ['N8', 'H', 'Arts', 'A-1', 'T-3', 'two', null], // row 12: bed not a number
    ],
  );
  const accepted = await upload('check-ins', file);
  t.equal(accepted.statusCode, 202);
  const job = await jobs.end(accepted.json<{ jobId: string }>().jobId);
  t.equal(job.state, 'failed');
  t.same(job.progress, { done: 0, total: 11 }, 'nothing applied');
  t.same(
    job.errors.map((e) => [e.row, e.field]),
    [
      [3, 'dormitory'],
      [5, 'dormitory'],
      [6, 'studentId'],
      [7, 'date'],
      [8, 'date'],
      [9, 'studentId'],
      [10, 'studentId'],
      [11, 'bed'],
      [12, 'bed'],
    ],
    'every bad row, with its column',
  );
  const message = (row: number) => job.errors.find((e) => e.row === row)!.message;
  t.match(message(3), /unknown dormitory NOPE/);
  t.match(message(5), /capacity exceeded: dormitory T-1 has 2 beds and all are taken, counting rows 2, 4 of this file/);
  t.match(message(6), /duplicate in file: student N1 is also on row 2/);
  t.match(message(7), /bad date/);
  t.match(message(8), /in the future/);
  t.match(message(9), /unknown student GHOST/);
  t.match(message(10), /already lives in T-2/);
  t.match(message(11), /bed 1 of dormitory T-2 is taken/);
  const opened = await database.db.selectFrom('occupants').select('student_number').where('student_number', 'like', 'N%').execute();
  t.same(opened, [], 'no student opened');
  const stays = await database.db.selectFrom('occupancies').select('student_number').where('dormitory_id', 'like', 'T-%').execute();
  t.same(stays, [{ student_number: 'S-OLD' }], 'no stay opened in the rooms of the file');
});

t.test('exchange and check-out files: unknown students, not checked in, capacity counting the file', async (t) => {
  const { upload, jobs, post } = await officeApp(t);
  for (const id of ['E1', 'E2', 'E3']) t.equal((await post('/api/students', { id, name: id, college: 'Arts', class: 'A-1' })).statusCode, 201);
  t.equal((await post('/api/dormitories/T-1/check-ins', { studentId: 'E1' })).statusCode, 201);
  t.equal((await post('/api/dormitories/T-3/check-ins', { studentId: 'E2' })).statusCode, 201);
  t.equal((await post('/api/dormitories/T-3/check-ins', { studentId: 'E3' })).statusCode, 201);
  t.equal((await post('/api/dormitories/T-2/check-ins', { studentId: 'S-X' })).statusCode, 404);
  const exchanges = await jobs.end(
    (await upload('exchanges', await workbookOf(['studentId', 'toDormitory'], [['E1', 'T-1'], ['E2', 'T-1'], ['E3', 'T-1'], ['NOBODY', 'T-1'], ['E2', 'NOPE']]))).json<{ jobId: string }>().jobId,
  );
  t.same(
    exchanges.errors.map((e) => [e.row, e.field]),
    [
      [2, 'toDormitory'],
      [4, 'toDormitory'],
      [5, 'studentId'],
      [6, 'studentId'],
    ],
    JSON.stringify(exchanges.errors),
  );
  t.match(exchanges.errors[0]!.message, /already lives in T-1/);
  t.match(exchanges.errors[1]!.message, /capacity exceeded: dormitory T-1 has 2 beds and all are taken, counting rows 3 of this file/);
  t.match(exchanges.errors[3]!.message, /duplicate in file/);
  const outs = await jobs.end((await upload('check-outs', await workbookOf(['学号', '退宿日期'], [['E1', '2026-08-01'], ['GHOST', null]]))).json<{ jobId: string }>().jobId);
  t.same(outs.errors.map((e) => [e.row, e.field]), [[2, 'date'], [3, 'studentId']]);
  t.match(outs.errors[0]!.message, /before the stay began/);
});

t.test('limits and bad uploads get clear errors', async (t) => {
  const { upload, as } = await officeApp(t, { IMPORT_MAX_ROWS: '3', IMPORT_MAX_BYTES: '8192' });
  const tooMany = await upload('check-outs', await workbookOf(['studentId'], [['a'], ['b'], ['c'], ['d']]));
  t.equal(tooMany.statusCode, 400, 'more rows than IMPORT_MAX_ROWS');
  t.same(tooMany.json().error.code, 'IMPORT_TOO_MANY_ROWS');
  const big = await workbookOf(['studentId', 'dormitory', 'name'], Array.from({ length: 3 }, (_, i) => [`S${i}`, 'T-1', randomBytes(3000).toString('base64')]));
  t.ok(big.length > 8192, 'the workbook is over the byte limit');
  const tooLarge = await upload('check-ins', big);
  t.equal(tooLarge.statusCode, 413, 'a file over IMPORT_MAX_BYTES');
  t.same(tooLarge.json().error, { code: 'IMPORT_FILE_TOO_LARGE', message: 'the file is larger than 8192 bytes (IMPORT_MAX_BYTES): split it', field: 'file' });
  const noHeader = await upload('check-ins', await workbookOf(['studentId', 'name'], [['a', 'b']]));
  t.equal(noHeader.statusCode, 400);
  t.same(noHeader.json().error.field, 'dormitory', 'the missing column is named');
  const notExcel = await upload('check-ins', Buffer.from('studentId,dormitory\nS1,T-1\n'));
  t.equal(notExcel.statusCode, 400);
  t.equal(notExcel.json().error.code, 'IMPORT_FILE_UNREADABLE');
  const empty = await upload('exchanges', await workbookOf(['studentId', 'toDormitory'], []));
  t.equal(empty.json().error.field, 'file', 'a file with no data rows');
  const finance = await as('finance');
  t.equal((await upload('check-ins', await workbookOf(['studentId', 'dormitory'], [['a', 'T-1']]), finance)).statusCode, 403, 'finance may not run batches');
});
