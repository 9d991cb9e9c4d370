import t from 'tap';
import { SimulatedClock } from '../../src/clock.ts';
import { createTestApp } from '../helpers/test-app.ts';

const START = Date.parse('2026-09-01T04:00:00Z');

/** The in-app list over REST (issue 11): a recharge and a check-out settlement notify the student; each user sees only theirs. */
t.test('students read, count and mark their own notifications', async (t) => {
  const clock = new SimulatedClock(START, 0);
  const { app, login } = await createTestApp(t, { clock });
  const inject = app.http.inject.bind(app.http);
  const admin = await login('admin', 'test-admin-password');
  const post = (url: string, payload: Record<string, unknown>, headers = admin) => inject({ method: 'POST', url, headers, payload });
  const get = (url: string, headers = admin) => inject({ method: 'GET', url, headers });

  t.equal((await post('/api/dormitories', { id: 'N-1', building: 'BA', floor: 9, room: 'N-1', capacity: 2 })).statusCode, 201);
  const passwords = new Map<string, string>();
  for (const id of ['S1', 'S2']) {
    const created = await post('/api/students', { id, name: id, college: 'Arts', class: 'A', password: `${id}-secret-pass` });
    t.equal(created.statusCode, 201, created.body);
    passwords.set(id, `${id}-secret-pass`);
  }
  t.equal((await post('/api/dormitories/N-1/check-ins', { studentId: 'S1' })).statusCode, 201);
  const s1 = await login('S1', passwords.get('S1')!);
  const s2 = await login('S2', passwords.get('S2')!);

  t.equal((await post('/api/dormitories/N-1/recharges', { amount: 5000, method: 'cash', reference: 'r-1' })).statusCode, 201);
  t.equal((await post('/api/dormitories/N-1/recharges', { amount: 5000, method: 'cash', reference: 'r-1' })).statusCode, 200, 'a repeat credits nothing');
  const list = await get('/api/notifications', s1);
  t.equal(list.statusCode, 200, list.body);
  const page = list.json<{ items: { id: number; kind: string; message: string; readAt: string | null; details: Record<string, unknown> }[]; total: number }>();
  t.equal(page.total, 1, 'one recharge, one notification (the repeat wrote none)');
  t.match(page.items[0], { kind: 'recharge_arrived', readAt: null, details: { purse: 'electricity', amount: 5000, reference: 'r-1' } });
  t.same((await get('/api/notifications/unread-count', s1)).json(), { unread: 1 });
  t.same((await get('/api/notifications', s2)).json<{ total: number }>().total, 0, 'a student not in the room sees nothing');
  const id = page.items[0]!.id;
  const foreign = await post(`/api/notifications/${id}/read`, {}, s2);
  t.equal(foreign.statusCode, 404, "another's notification cannot be marked");
  t.equal(foreign.json().error.code, 'NOTIFICATION_NOT_FOUND');
  const read = await post(`/api/notifications/${id}/read`, {}, s1);
  t.equal(read.statusCode, 200, read.body);
  t.equal(read.json<{ readAt: string }>().readAt, new Date(START).toISOString(), 'read at the injected clock');
  t.same((await get('/api/notifications/unread-count', s1)).json(), { unread: 0 });
  t.equal((await get('/api/notifications?unread=true', s1)).json<{ total: number }>().total, 0);
  t.equal((await get('/api/notifications?page=0', s1)).statusCode, 400, 'bad paging is a 400');

  clock.advance(2 * 86_400_000);
  const out = await post('/api/students/S1/check-out', {});
  t.equal(out.statusCode, 200, out.body);
  const after = (await get('/api/notifications?unread=true', s1)).json<{ items: { kind: string; details: { purse: string } }[] }>();
  t.same(after.items.map((n) => `${n.kind}:${n.details.purse}`).sort(), ['settlement:electricity', 'settlement:water'], 'the check-out settlement tells the student, per purse');
  t.same((await post('/api/notifications/read-all', {}, s1)).json(), { marked: 2 });
  t.same((await get('/api/notifications/unread-count', s1)).json(), { unread: 0 });
});
