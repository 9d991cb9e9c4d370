import t from 'tap';
import { createTestApp } from '../helpers/test-app.ts';

interface Page {
  items: { id: string; building: string; floor: number; room: string; state: string; balance: { electricity: number; water: number } }[];
  total: number;
}

t.test('dormitory list, search, detail and ledger', async (t) => {
  const { app, login, as } = await createTestApp(t);
  const admin = await login('admin', 'test-admin-password');
  const get = (url: string, headers: Record<string, string> = admin) => app.http.inject({ method: 'GET', url, headers });

  const all = (await get('/api/dormitories?pageSize=500')).json<Page>();
  t.equal(all.total, 200, '2 buildings x 5 floors x 20 rooms');
  t.equal(all.items.length, 200);
  const buildingB = (await get('/api/dormitories?building=BB&page=2&pageSize=30')).json<Page>();
  t.equal(buildingB.total, 100);
  t.equal(buildingB.items.length, 30);
  t.ok(buildingB.items.every((d) => d.building === 'BB'));
  t.equal(buildingB.items[0]!.id, 'B-211', 'page 2 starts at the 31st room in floor/room order');
  const byStudent = (await get('/api/dormitories?q=202600005')).json<Page>();
  t.same(byStudent.items.map((d) => d.id), ['A-102'], 'search by a student number finds the room');
  const byState = (await get('/api/dormitories?state=normal&pageSize=1')).json<Page>();
  t.equal(byState.total, 200);
  t.equal((await get('/api/dormitories?page=0')).statusCode, 400);
  t.equal((await get('/api/dormitories?pageSize=100000')).json().error.field, 'pageSize');

  const detail = (await get('/api/dormitories/A-101')).json();
  t.match(detail, { id: 'A-101', building: 'BA', floor: 1, room: '101', state: 'normal', balance: { electricity: Number, water: 2000 } });
  t.equal(detail.occupants.length, 4);
  t.same(detail.meters.map((m: { id: string }) => m.id), ['M-A-101', 'W-A-101']);
  t.same(detail.circuits.map((c: { kind: string }) => c.kind).sort(), ['ac', 'lighting', 'socket']);
  t.equal((await get('/api/dormitories/NOPE')).statusCode, 404);

  await app.http.inject({ method: 'POST', url: '/api/dormitories/A-101/recharges', headers: admin, payload: { amount: 300, method: 'cash', reference: 'L-1' } });
  await app.http.inject({ method: 'POST', url: '/api/dormitories/A-101/recharges', headers: admin, payload: { amount: 200, method: 'cash', reference: 'L-2', purse: 'water' } });
  const ledger = (await get('/api/dormitories/A-101/ledger?pageSize=2')).json();
  t.equal(ledger.total, 4, 'two opening balances and two recharges');
  t.same(ledger.items.map((e: { kind: string; amount: number }) => [e.kind, e.amount]), [['recharge', 200], ['recharge', 300]], 'newest first, paged');
  const waterOnly = (await get('/api/dormitories/A-101/ledger?purse=water')).json();
  t.equal(waterOnly.total, 2);

  t.equal((await get('/api/dormitories', {})).statusCode, 401, 'reads need a session');
  const student = await as('student', 'A-103');
  const own = (await get('/api/dormitories', student)).json<Page>();
  t.same(own.items.map((d) => d.id), ['A-103'], 'a student sees only their own dormitory');
  t.equal((await get('/api/dormitories/A-103', student)).statusCode, 200);
  t.equal((await get('/api/dormitories/A-101', student)).statusCode, 403);
  t.equal((await get('/api/dormitories/A-101/ledger', student)).statusCode, 403);
});

t.test('login, health and OpenAPI', async (t) => {
  const { app } = await createTestApp(t);
  const bad = await app.http.inject({ method: 'POST', url: '/api/auth/login', payload: { username: 'admin', password: 'wrong' } });
  t.equal(bad.statusCode, 401);
  t.equal(bad.json().error.code, 'INVALID_CREDENTIALS');
  const missing = await app.http.inject({ method: 'POST', url: '/api/auth/login', payload: { username: 'admin' } });
  t.equal(missing.json().error.field, 'password');
  const good = await app.http.inject({ method: 'POST', url: '/api/auth/login', payload: { username: 'admin', password: 'test-admin-password' } });
  t.equal(good.statusCode, 200);
  t.match(good.json(), { token: /^[\w-]{40,}$/, role: 'admin' });
  const forged = await app.http.inject({ method: 'GET', url: '/api/dormitories', headers: { authorization: 'Bearer forged' } });
  t.equal(forged.statusCode, 401);

  const health = await app.http.inject({ method: 'GET', url: '/health' });
  t.equal(health.statusCode, 200);
  t.match(health.json(), { status: 'ok', database: { reachable: true } });
  const openapi = await app.http.inject({ method: 'GET', url: '/docs/json' });
  t.equal(openapi.statusCode, 200);
  t.ok(openapi.json().paths['/api/dormitories/{id}/recharges'], 'the recharge endpoint is documented');
  t.equal((await app.http.inject({ method: 'GET', url: '/nowhere' })).json().error.code, 'NOT_FOUND');
});
