import t from 'tap';
import { buildApp } from '../../src/app.ts';
import { SimulatedClock } from '../../src/clock.ts';
import { SandboxProvider } from '../../src/services/payments/sandbox.provider.ts';
import { reconcile } from '../../src/services/reconcile.service.ts';
import { payingStudent } from '../helpers/payment-student.ts';
import { createTestApp } from '../helpers/test-app.ts';

const SECRET = 'test-webhook-secret-0123456789';
const MINUTE = 60_000;
const ENV = { PAYMENT_PROVIDERS: 'sandbox', WEBHOOK_SECRET: SECRET };

type Queried = { state: string; rechargeId: number | null; providerState: string };

t.test('a sandbox payment whose notification never came is credited by the finance query, once, also after a restart', async (t) => {
  const clock = new SimulatedClock(Date.now(), 0);
  const test = await createTestApp(t, { clock, env: ENV });
  let app = test.app;
  const { database, config } = test;
  const payer = await payingStudent(t, test, 'A-103', 'S-Q1');
  const finance = await test.as('finance');
  const admin = await test.as('admin');
  const start = await payer.balance();
  const query = (reference: string, headers: { authorization: string } = finance) => app.http.inject({ method: 'POST', url: `/api/payments/${reference}/query`, headers });

  const payment = await payer.pay(app, { amount: 1_234 });
  const lost = await app.http.inject({ method: 'POST', url: `${payment.payUrl}/confirm?notify=false` });
  t.equal(lost.statusCode, 200, 'the sandbox pays, its notification lost on the way');
  t.equal(lost.json().state, 'pending', 'so our payment still waits');
  t.equal(await payer.balance(), start, 'and nothing is credited');
  const settlement = await database.db.selectFrom('sandbox_settlements').selectAll().where('reference', '=', payment.reference).executeTakeFirstOrThrow();
  t.match(settlement, { status: 'paid', amount: 1_234, transaction_id: /^sandbox-/ }, "the sandbox's own record has the settlement");

  t.equal((await query(payment.reference, payer.student)).statusCode, 403, 'a student cannot ask the provider');
  const missing = await query('sandbox-000000000000000000000000');
  t.equal(missing.statusCode, 404, 'an unknown reference is a 404');
  t.match(missing.json(), { error: { code: 'PAYMENT_NOT_FOUND', field: 'reference' } }, 'naming the field');

  const asked = await query(payment.reference);
  t.equal(asked.statusCode, 200, `finance asks the provider (${asked.body})`);
  const answer = asked.json<Queried>();
  t.match(answer, { state: 'paid', providerState: 'paid' }, 'the provider says paid and the payment is paid');
  t.type(answer.rechargeId, 'number', 'with its recharge');
  t.equal(await payer.balance(), start + 1_234, 'the payment is credited');
  const row = await database.db.selectFrom('payments').select(['provider_transaction_id', 'recharge_id']).where('reference', '=', payment.reference).executeTakeFirstOrThrow();
  t.equal(row.provider_transaction_id, settlement.transaction_id, "under the provider's transaction id");
  t.match((await query(payment.reference, admin)).json(), { state: 'paid', rechargeId: answer.rechargeId }, 'an admin asking again: the same recharge');
  t.equal(await payer.balance(), start + 1_234, 'and no second credit');
  const audit = await database.db.selectFrom('audit_log').select(['action', 'details']).where('action', '=', 'payment.query').execute();
  t.equal(audit.length, 2, 'each manual query is audited');

  // A restart: a new app on the same database asks again, and the late webhook finally arrives.
  await app.stop();
  app = await buildApp(config, { database, clock });
  t.teardown(() => app.stop());
  t.match((await query(payment.reference)).json(), { state: 'paid', rechargeId: answer.rechargeId, providerState: 'paid' }, 'after a restart the query answers the same payment');
  const late = await app.http.inject({ method: 'POST', url: `${payment.payUrl}/confirm` });
  t.equal(late.statusCode, 200, 'the confirm page sends the settlement again (the late notification)');
  const resent = await new SandboxProvider(SECRET, database.db).confirm({ reference: payment.reference, amountFen: 1_234, createdAtMs: clock.now() }, clock.now());
  t.equal(resent.settlement.transactionId, settlement.transaction_id, 'the sandbox settled once: the same transaction, also from a new provider instance');
  t.equal((await app.http.inject({ method: 'POST', url: '/api/payments/sandbox/webhook', headers: { 'content-type': 'application/json', ...resent.headers }, payload: resent.body })).statusCode, 200, 'a late webhook is acknowledged');
  t.equal(await payer.balance(), start + 1_234, 'and credits nothing more');
  t.same(await payer.credits(payment.reference), [1_234], 'one recharge on the ledger for the payment');
  t.ok((await reconcile(database.db)).ok, 'reconcile is clean');
});

t.test('the webhook and the query at the same moment credit once', async (t) => {
  const clock = new SimulatedClock(Date.now(), 0);
  const test = await createTestApp(t, { clock, env: ENV });
  const { app, database } = test;
  const payer = await payingStudent(t, test, 'A-104', 'S-Q2');
  const finance = await test.as('finance');
  const start = await payer.balance();
  const sandbox = new SandboxProvider(SECRET, database.db);
  const amounts = [101, 202, 303, 404, 505];
  for (const amount of amounts) {
    const payment = await payer.pay(app, { amount });
    // The sandbox settles (its query now says paid) and its notification is delivered while finance asks.
    const notification = await sandbox.confirm({ reference: payment.reference, amountFen: amount, createdAtMs: clock.now() }, clock.now());
    const [webhook, query] = await Promise.all([
      app.http.inject({ method: 'POST', url: '/api/payments/sandbox/webhook', headers: { 'content-type': 'application/json', ...notification.headers }, payload: notification.body }),
      app.http.inject({ method: 'POST', url: `/api/payments/${payment.reference}/query`, headers: finance }),
    ]);
    t.equal(webhook.statusCode, 200, `${amount}: the webhook is acknowledged`);
    t.equal(query.statusCode, 200, `${amount}: the query answers (${query.body})`);
    t.equal(query.json<Queried>().providerState, 'paid', `${amount}: the provider says paid`);
    t.same(await payer.credits(payment.reference), [amount], `${amount}: credited once`);
  }
  t.equal(await payer.balance(), start + amounts.reduce((a, b) => a + b, 0), 'the purse has each payment once');
  t.ok((await reconcile(database.db)).ok, 'reconcile is clean');
});

t.test('the pending-payment job: asks after N minutes on the injected clock, credits a lost notification once, backs off while unpaid, closes at expiry', async (t) => {
  const clock = new SimulatedClock(Date.now(), 0);
  const test = await createTestApp(t, { clock, env: { ...ENV, PAYMENT_QUERY_AFTER_MINUTES: '5', PAYMENT_QUERY_INTERVAL_SECONDS: '60' } });
  const { app, database } = test;
  const payer = await payingStudent(t, test, 'A-105', 'S-Q3');
  const finance = await test.as('finance');
  const start = await payer.balance();
  const job = app.pendingPayments;
  if (!job) throw new Error('the job should exist when a provider is enabled');
  job.start();

  const lost = await payer.pay(app, { amount: 700 });
  t.equal((await app.http.inject({ method: 'POST', url: `${lost.payUrl}/confirm?notify=false` })).json().state, 'pending', 'paid at the sandbox, the notification lost');
  const unpaid = await payer.pay(app, { amount: 900 });
  const attempts = async (reference: string) => (await database.db.selectFrom('payments').select(['state', 'query_attempts', 'next_query_at']).where('reference', '=', reference).executeTakeFirstOrThrow());

  // One pass a minute: nothing is asked about before it has been pending 5 minutes.
  let pass = job.nextPass();
  clock.advance(MINUTE);
  t.same(await pass, { credited: 0, failed: 0, closed: 0, duplicate: 0, pending: 0, errors: 0 }, 'a young payment is not asked about');
  t.equal(await payer.balance(), start, 'nothing credited yet');
  for (let minute = 2; minute <= 4; minute++) {
    pass = job.nextPass();
    clock.advance(MINUTE);
    await pass;
  }
  pass = job.nextPass();
  clock.advance(MINUTE + 1);
  t.match(await pass, { credited: 1, pending: 1, errors: 0 }, 'past 5 minutes: the paid one is credited, the unpaid one still waits');
  t.equal(await payer.balance(), start + 700, 'the lost notification is credited by the job');
  t.match(await attempts(unpaid.reference), { state: 'pending', query_attempts: 1 }, 'the unpaid one was asked once');
  const backoff1 = (await attempts(unpaid.reference)).next_query_at!.getTime() - clock.now();
  t.equal(backoff1, MINUTE, 'and is asked again after one interval');
  pass = job.nextPass();
  clock.advance(MINUTE);
  t.match(await pass, { credited: 0, pending: 1 }, 'asked again, the credited one is not');
  const backoff2 = (await attempts(unpaid.reference)).next_query_at!.getTime() - clock.now();
  t.equal(backoff2, 2 * MINUTE, 'then after twice as long (backoff)');
  pass = job.nextPass();
  clock.advance(MINUTE);
  t.match(await pass, { pending: 0, credited: 0 }, 'not asked while its backoff runs');

  // The late webhook and a manual query credit nothing more.
  const resent = await app.http.inject({ method: 'POST', url: `${lost.payUrl}/confirm` });
  t.equal(resent.json().state, 'paid', 'the payment is paid');
  t.match((await app.http.inject({ method: 'POST', url: `/api/payments/${lost.reference}/query`, headers: finance })).json(), { state: 'paid' }, 'a manual query agrees');
  t.same(await payer.credits(lost.reference), [700], 'one credit whichever came first');

  // Past the sandbox's 30-minute expiry the unpaid one is closed, and the sandbox takes no payment for it.
  for (let i = 0; i < 40; i++) {
    pass = job.nextPass();
    clock.advance(MINUTE);
    await pass;
  }
  t.equal((await attempts(unpaid.reference)).state, 'closed', 'the unpaid payment is closed at its expiry');
  t.equal((await app.http.inject({ method: 'POST', url: `${unpaid.payUrl}/confirm` })).json().state, 'closed', "the pay page's button does nothing for a closed payment");
  const sandbox = new SandboxProvider(SECRET, database.db);
  await t.rejects(sandbox.confirm({ reference: unpaid.reference, amountFen: 900, createdAtMs: clock.now() - 31 * MINUTE }, clock.now()), { code: 'PAYMENT_EXPIRED' }, 'the sandbox refuses to take payment after the expiry');
  t.equal(await database.db.selectFrom('sandbox_settlements').select('reference').where('reference', '=', unpaid.reference).executeTakeFirst(), undefined, 'and settled nothing');
  t.match((await app.http.inject({ method: 'GET', url: `/api/me/payments/${unpaid.reference}`, headers: payer.student })).json(), { state: 'closed', rechargeId: null }, 'the student sees it closed');
  t.equal(await payer.balance(), start + 700, 'the unpaid payment credited nothing');
  t.same(await payer.credits(unpaid.reference), [], 'nothing on the ledger for it');

  await app.stop();
  pass = job.nextPass();
  clock.advance(10 * MINUTE);
  const after = await Promise.race([pass.then(() => 'ran'), new Promise((resolve) => setImmediate(() => resolve('stopped')))]);
  t.equal(after, 'stopped', 'after shutdown no pass runs');
  t.ok((await reconcile(database.db)).ok, 'reconcile is clean');
});

t.test('the job is off with PAYMENT_QUERY_AFTER_MINUTES=0, and without providers', async (t) => {
  const off = await createTestApp(t, { env: { ...ENV, PAYMENT_QUERY_AFTER_MINUTES: '0' } });
  t.equal(off.app.pendingPayments, undefined, 'off switch');
  const none = await createTestApp(t, {});
  t.equal(none.app.pendingPayments, undefined, 'no provider, no job');
});
