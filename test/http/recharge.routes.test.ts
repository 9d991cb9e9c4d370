import t from 'tap';
import { createTestApp } from '../helpers/test-app.ts';

t.test('recharges credit once per reference, validate input and need a role', async (t) => {
  const { app, database, login, as } = await createTestApp(t);
  const admin = await login('admin', 'test-admin-password');
  const before = (await app.http.inject({ method: 'GET', url: '/api/dormitories/A-101', headers: admin })).json<{ balance: { electricity: number; water: number } }>().balance;

  const first = await app.http.inject({
    method: 'POST',
    url: '/api/dormitories/A-101/recharges',
    headers: admin,
    payload: { amount: 1234, method: 'cash', reference: 'receipt-1' },
  });
  t.equal(first.statusCode, 201);
  const body = first.json<{ id: number; purse: string; amount: number; balance: number }>();
  t.equal(body.purse, 'electricity', 'purse defaults to electricity');
  t.equal(body.amount, 1234);
  t.equal(body.balance, before.electricity + 1234);

  const again = await app.http.inject({
    method: 'POST',
    url: '/api/dormitories/A-101/recharges',
    headers: admin,
    payload: { amount: 1234, method: 'cash', reference: 'receipt-1' },
  });
  t.equal(again.statusCode, 200, 'a repeat is 200');
  t.same(again.json(), first.json(), 'a repeat returns the first response');

  const conflict = await app.http.inject({
    method: 'POST',
    url: '/api/dormitories/A-101/recharges',
    headers: admin,
    payload: { amount: 999, method: 'cash', reference: 'receipt-1' },
  });
  t.equal(conflict.statusCode, 409);
  t.equal(conflict.json().error.field, 'reference');

  const water = await app.http.inject({
    method: 'POST',
    url: '/api/dormitories/A-101/recharges',
    headers: admin,
    payload: { amount: 500, purse: 'water', method: 'online', reference: 'wx-77' },
  });
  t.equal(water.statusCode, 201);
  t.equal(water.json().balance, before.water + 500);

  const detail = (await app.http.inject({ method: 'GET', url: '/api/dormitories/A-101', headers: admin })).json<{ balance: { electricity: number; water: number } }>();
  t.same(detail.balance, { electricity: before.electricity + 1234, water: before.water + 500 });

  for (const [payload, field] of [
    [{ amount: 0, method: 'cash', reference: 'x' }, 'amount'],
    [{ amount: -5, method: 'cash', reference: 'x' }, 'amount'],
    [{ amount: 1.5, method: 'cash', reference: 'x' }, 'amount'],
    [{ amount: '100', method: 'cash', reference: 'x' }, 'amount'],
    [{ amount: 100, method: 'bitcoin', reference: 'x' }, 'method'],
    [{ amount: 100, method: 'cash' }, 'reference'],
    [{ amount: 100, method: 'cash', reference: '' }, 'reference'],
    [{ amount: 100, method: 'cash', reference: 'x', purse: 'gas' }, 'purse'],
    [{ amount: 100, method: 'cash', reference: 'x', extra: 1 }, 'extra'],
  ] as const) {
    const response = await app.http.inject({ method: 'POST', url: '/api/dormitories/A-101/recharges', headers: admin, payload });
    t.equal(response.statusCode, 400, `400 for ${JSON.stringify(payload)}`);
    const error = response.json().error;
    t.equal(error.code, 'VALIDATION_FAILED');
    t.match(error.field, field, `names ${field}`);
  }
  const broken = await app.http.inject({ method: 'POST', url: '/api/dormitories/A-101/recharges', headers: { ...admin, 'content-type': 'application/json' }, payload: '{"amount":' });
  t.equal(broken.statusCode, 400, 'malformed JSON is a 400');
  t.ok(broken.json().error.code);

  const missing = await app.http.inject({ method: 'POST', url: '/api/dormitories/Z-999/recharges', headers: admin, payload: { amount: 100, method: 'cash', reference: 'nope' } });
  t.equal(missing.statusCode, 404);
  t.equal(missing.json().error.code, 'DORMITORY_NOT_FOUND');
  const retryAfter404 = await app.http.inject({ method: 'POST', url: '/api/dormitories/A-102/recharges', headers: admin, payload: { amount: 100, method: 'cash', reference: 'nope' } });
  t.equal(retryAfter404.statusCode, 201, 'a rejected recharge did not consume its reference');

  const anonymous = await app.http.inject({ method: 'POST', url: '/api/dormitories/A-101/recharges', payload: { amount: 100, method: 'cash', reference: 'anon' } });
  t.equal(anonymous.statusCode, 401);
  const student = await as('student', 'A-101');
  const byStudent = await app.http.inject({ method: 'POST', url: '/api/dormitories/A-101/recharges', headers: student, payload: { amount: 100, method: 'cash', reference: 'stu' } });
  t.equal(byStudent.statusCode, 403);
  const finance = await as('finance');
  const byFinance = await app.http.inject({ method: 'POST', url: '/api/dormitories/A-101/recharges', headers: finance, payload: { amount: 100, method: 'card', reference: 'fin-1' } });
  t.equal(byFinance.statusCode, 201);

  const audit = await database.db.selectFrom('audit_log').selectAll().where('action', '=', 'recharge').where('target_id', '=', 'A-101').orderBy('id').execute();
  t.same(
    audit.map((a) => [a.operator, (a.details as { reference: string }).reference]),
    [
      ['admin', 'receipt-1'],
      ['admin', 'wx-77'],
      ['finance-2', 'fin-1'],
    ],
    'every credit is audited with its operator, repeats are not',
  );
});

t.test('50 concurrent recharges with one reference credit once', async (t) => {
  const { app, database, login } = await createTestApp(t);
  const admin = await login('admin', 'test-admin-password');
  const before = (await database.db.selectFrom('accounts').select('balance').where('dormitory_id', '=', 'B-310').where('purse', '=', 'electricity').executeTakeFirstOrThrow()).balance;
  const responses = await Promise.all(
    Array.from({ length: 50 }, () =>
      app.http.inject({ method: 'POST', url: '/api/dormitories/B-310/recharges', headers: admin, payload: { amount: 777, method: 'online', reference: 'race-1' } }),
    ),
  );
  const statuses = responses.map((r) => r.statusCode).sort();
  t.equal(statuses.filter((s) => s === 201).length, 1, 'exactly one 201');
  t.equal(statuses.filter((s) => s === 200).length, 49, 'the rest are 200');
  const bodies = new Set(responses.map((r) => r.body));
  t.equal(bodies.size, 1, 'every response carries the same result');
  const after = (await database.db.selectFrom('accounts').select('balance').where('dormitory_id', '=', 'B-310').where('purse', '=', 'electricity').executeTakeFirstOrThrow()).balance;
  t.equal(after, before + 777, 'credited once');
  const entries = await database.db.selectFrom('ledger_entries').select('id').where('reference', '=', 'race-1').execute();
  t.equal(entries.length, 1, 'one ledger entry');
  t.equal(database.kind, process.env.DATABASE_URL ? 'postgres' : 'pglite', `ran on ${database.kind}`);
});
