import t from 'tap';
import { SimulatedClock } from '../../src/clock.ts';
import { SandboxProvider } from '../../src/services/payments/sandbox.provider.ts';
import { reconcile } from '../../src/services/reconcile.service.ts';
import { payingStudent } from '../helpers/payment-student.ts';
import { createTestApp } from '../helpers/test-app.ts';

/**
 * Break-it on issue 11 (docs/payments.md): our server closes a payment as expired when the
 * provider still calls it unpaid past the expiry, by our clock. The provider's clock is not ours
 * (and WeChat's Native code URL is built here, it never saw our expiry): the student can pay in
 * that last moment, and the provider's signed, well-formed "paid" notification then arrives for a
 * payment we closed. That money was paid; it must not vanish as a "duplicate": it is credited
 * (once, whatever replays) and audited for finance as paid after close.
 */
const SECRET = 'test-webhook-secret-0123456789';
const MINUTE = 60_000;
const ENV = { PAYMENT_PROVIDERS: 'sandbox', WEBHOOK_SECRET: SECRET, PAYMENT_QUERY_AFTER_MINUTES: '0' };

t.test('a paid notification for a payment the expiry closed is credited once and audited, never dropped', async (t) => {
  const clock = new SimulatedClock(Date.now(), 0);
  const test = await createTestApp(t, { clock, env: ENV });
  const { app, database } = test;
  const payer = await payingStudent(t, test, 'A-105', 'S-PAC');
  const finance = await test.as('finance');
  const start = await payer.balance();
  const payment = await payer.pay(app, { amount: 777 });
  const createdAt = clock.now();

  // 31 minutes later by our clock the provider still says unpaid: finance's query closes it as expired.
  clock.advance(31 * MINUTE);
  const asked = await app.http.inject({ method: 'POST', url: `/api/payments/${payment.reference}/query`, headers: finance });
  t.match(asked.json(), { state: 'closed', providerState: 'pending' }, `closed as expired (${asked.body})`);

  // The provider (its clock behind ours) took the payment in its last second and notifies now.
  const sandbox = new SandboxProvider(SECRET, database.db);
  const paid = await sandbox.confirm({ reference: payment.reference, amountFen: 777, createdAtMs: clock.now() - 29 * MINUTE }, clock.now());
  const webhook = () => app.http.inject({ method: 'POST', url: '/api/payments/sandbox/webhook', headers: { 'content-type': 'application/json', ...paid.headers }, payload: paid.body });
  t.equal((await webhook()).statusCode, 200, 'the notification is acknowledged');
  t.same(await payer.credits(payment.reference), [777], 'the money the student paid is credited');
  t.equal(await payer.balance(), start + 777, 'to the purse');
  const row = await database.db.selectFrom('payments').select(['state', 'recharge_id']).where('reference', '=', payment.reference).executeTakeFirstOrThrow();
  t.equal(row.state, 'paid', 'the payment is paid, not closed');
  const audit = await database.db.selectFrom('audit_log').select(['action', 'details']).where('action', '=', 'payment.paid_after_close').execute();
  t.match(audit, [{ details: { reference: payment.reference, previousState: 'closed', amount: 777 } }], 'finance sees it was paid after we closed it');

  // Replayed, queried again, another notification id for the same payment: nothing more.
  t.equal((await webhook()).statusCode, 200);
  const again = await sandbox.confirm({ reference: payment.reference, amountFen: 777, createdAtMs: createdAt }, clock.now());
  await app.http.inject({ method: 'POST', url: '/api/payments/sandbox/webhook', headers: { 'content-type': 'application/json', ...again.headers }, payload: again.body });
  await app.http.inject({ method: 'POST', url: `/api/payments/${payment.reference}/query`, headers: finance });
  t.same(await payer.credits(payment.reference), [777], 'one credit whatever comes after');
  t.ok((await reconcile(database.db)).ok, 'reconcile is clean');
});

t.test('the webhook, five finance queries and a job pass at once credit each payment once; a tampered replay is refused', async (t) => {
  const clock = new SimulatedClock(Date.now(), 0);
  const test = await createTestApp(t, { clock, env: { ...ENV, PAYMENT_QUERY_AFTER_MINUTES: '5', PAYMENT_QUERY_INTERVAL_SECONDS: '60' } });
  const { app, database } = test;
  const payer = await payingStudent(t, test, 'A-106', 'S-PAR');
  const finance = await test.as('finance');
  const start = await payer.balance();
  const job = app.pendingPayments!;
  job.start();
  const sandbox = new SandboxProvider(SECRET, database.db);
  const amounts = [111, 222, 333];
  const payments = [];
  for (const amount of amounts) payments.push(await payer.pay(app, { amount }));
  clock.advance(6 * MINUTE);
  const notifications = await Promise.all(payments.map((p, i) => sandbox.confirm({ reference: p.reference, amountFen: amounts[i]!, createdAtMs: clock.now() }, clock.now())));
  const webhook = (n: { body: string; headers: Record<string, string> }) => app.http.inject({ method: 'POST', url: '/api/payments/sandbox/webhook', headers: { 'content-type': 'application/json', ...n.headers }, payload: n.body });
  const pass = job.nextPass();
  clock.advance(MINUTE);
  const answers = await Promise.all([
    pass,
    ...notifications.map(webhook),
    ...payments.flatMap((p) => Array.from({ length: 5 }, () => app.http.inject({ method: 'POST', url: `/api/payments/${p.reference}/query`, headers: finance }))),
  ]);
  t.ok(answers.slice(1).every((a) => typeof a === 'object' && 'statusCode' in a && a.statusCode === 200), 'every webhook and query answered 200');
  for (const [i, p] of payments.entries()) t.same(await payer.credits(p.reference), [amounts[i]], `${amounts[i]}: credited once`);
  t.equal(await payer.balance(), start + 666, 'the purse has each payment once');

  // A replay with the amount changed in the body (the signature no longer matches): 401, nothing written.
  const tampered = { body: notifications[0]!.body.replace('"amount":111', '"amount":1111'), headers: notifications[0]!.headers };
  t.equal((await webhook(tampered)).statusCode, 401, 'a tampered replay is refused');
  t.equal((await webhook(notifications[0]!)).statusCode, 200, 'the genuine replay is acknowledged');
  t.equal(await payer.balance(), start + 666, 'and neither credits anything');
  t.ok((await reconcile(database.db)).ok, 'reconcile is clean');
});
