// CI: also on PGlite + the embedded broker (a killed import on a PGlite DATA_DIR (one connection, one process)).
import t, { type Test } from 'tap';
import { WebSocket } from 'ws';
import { multipartFile, workbookOf } from '../helpers/import-files.ts';
import { serverProcessDatabase } from '../helpers/server-process-database.ts';
import { startServe } from '../helpers/serve-process.ts';

/**
 * A batch check-in is all or nothing, also when the server dies in the middle of it: the job
 * streams its progress to a staff WebSocket, the server is SIGKILLed once rows have been
 * applied (inside the one transaction), and the restarted server reports the job failed with
 * a message that says to upload it again, with none of its rows applied. A real child process
 * on PGlite (DATA_DIR) or PostgreSQL (DATABASE_URL).
 */

const ADMIN_PASSWORD = 'import-crash-admin';
const ROWS = 10_000; // the kill lands after the first 5 % of the apply
const CAPACITY = 64;
const ROOMS = Math.ceil(ROWS / CAPACITY);
const room = (i: number) => `IC-${String(i).padStart(3, '0')}`;

const startServer = (t: Test, env: Record<string, string>) => startServe(t, env, ADMIN_PASSWORD);

t.test('SIGKILL in the middle of a batch check-in: after the restart the job is failed and nothing of it applied', async (t) => {
  const { handle, pglite, env: dbEnv, reopen } = await serverProcessDatabase(t, 'import-crash');
  await handle.db.transaction().execute(async (trx) => {
    await trx.insertInto('campuses').values({ id: 'ic', name: 'Import campus', utc_offset_minutes: 480 }).execute();
    await trx.insertInto('buildings').values({ id: 'ICB', campus_id: 'ic', name: 'Import building', floors: 20 }).execute();
    await trx.insertInto('dormitories').values(Array.from({ length: ROOMS }, (_, i) => ({ id: room(i), building_id: 'ICB', floor: 1 + Math.floor(i / 20), room: room(i), capacity: CAPACITY }))).execute();
  });
  if (pglite) await handle.close(); // one process per PGlite data directory
  const env = { ...dbEnv, PORT: '0', HOST: '127.0.0.1', LOG_LEVEL: 'warn', ADMIN_PASSWORD };
  const rows = Array.from({ length: ROWS }, (_, i) => [`K${2026_000_000 + i}`, `学生${i}`, 'College', 'Class', room(Math.floor(i / CAPACITY)), null, null]);
  const file = await workbookOf(['studentId', 'name', 'college', 'class', 'dormitory', 'bed', 'date'], rows);

  const first = await startServer(t, env);
  const ws = new WebSocket(`${first.url.replace('http', 'ws')}/ws/live?token=${first.auth.authorization.slice('Bearer '.length)}`);
  const jobMessages: { id: string; state: string; progress: { done: number; total: number } }[] = [];
  const applying = new Promise<void>((resolve) => {
    ws.on('message', (data) => {
      const message = JSON.parse(String(data)) as { type: string; job?: (typeof jobMessages)[number] };
      if (message.type !== 'job' || !message.job) return;
      jobMessages.push(message.job);
      // Rows are being applied inside the job's one transaction: kill the server now.
      if (message.job.state === 'running' && message.job.progress.done > 0) {
        first.child.kill('SIGKILL');
        resolve();
      }
    });
  });
  ws.on('error', () => {}); // the server dies under it
  await new Promise((resolve, reject) => ws.once('open', resolve).once('error', reject));
  const body = multipartFile(file);
  const accepted = await fetch(`${first.url}/api/imports/check-ins`, { method: 'POST', headers: { ...first.auth, ...body.headers }, body: new Uint8Array(body.payload) });
  t.equal(accepted.status, 202);
  const { jobId } = (await accepted.json()) as { jobId: string };
  await applying;
  await first.exited;
  const seen = jobMessages.filter((m) => m.id === jobId);
  t.ok(seen.some((m) => m.state === 'running' && m.progress.total === ROWS), 'the staff WebSocket got the job\'s progress against the file total');
  t.notOk(seen.some((m) => m.state === 'done'), 'the job had not finished when the server died');
  const lastDone = Math.max(...seen.map((m) => m.progress.done));
  t.ok(lastDone > 0 && lastDone < ROWS, `killed after ${lastDone} of ${ROWS} rows were applied in the transaction`);

  const second = await startServer(t, env);
  const job = (await (await fetch(`${second.url}/api/jobs/${jobId}`, { headers: second.auth })).json()) as { state: string; errors: { row: number; field: string; message: string }[]; progress: { done: number } };
  t.equal(job.state, 'failed', 'the restarted server fails the interrupted job');
  t.match(job.errors, [{ row: 0, field: 'job', message: /stopped before this job finished.*upload the file again/ }]);
  t.equal(job.progress.done, 0, 'and says none of it was applied');
  second.child.kill('SIGTERM');
  await second.exited;

  const db = (await reopen()).db;
  const stays = await db.selectFrom('occupancies').select((eb) => eb.fn.countAll<number>().as('n')).executeTakeFirstOrThrow();
  const students = await db.selectFrom('occupants').select((eb) => eb.fn.countAll<number>().as('n')).executeTakeFirstOrThrow();
  const logins = await db.selectFrom('operators').select((eb) => eb.fn.countAll<number>().as('n')).where('role', '=', 'student').executeTakeFirstOrThrow();
  t.same([Number(stays.n), Number(students.n), Number(logins.n)], [0, 0, 0], 'no stay, no student, no login of the file exists');
});
