import t from 'tap';
import { buildApp } from '../../src/app.ts';
import { ConfigError, loadConfig } from '../../src/config.ts';
import { reconcile } from '../../src/services/reconcile.service.ts';
import { SandboxProvider } from '../../src/services/payments/sandbox.provider.ts';
import { WechatPayProvider } from '../../src/services/payments/wechat.provider.ts';
import { fetchTransport } from '../../src/services/payments/http-transport.ts';
import { SystemClock } from '../../src/clock.ts';
import { getDormitory, startLiveApp, waitFor } from '../helpers/live-app.ts';
import { ADMIN_PASSWORD, createTestApp } from '../helpers/test-app.ts';

const SECRET = 'test-webhook-secret-0123456789';

t.test('a provider enabled without a stable secret stops start-up, naming the variable', async (t) => {
  t.throws(() => loadConfig({ PAYMENT_PROVIDERS: 'sandbox' }), new ConfigError('WEBHOOK_SECRET_SANDBOX', ''), 'no secret: refused');
  t.throws(() => loadConfig({ PAYMENT_PROVIDERS: 'sandbox', WEBHOOK_SECRET_SANDBOX: 'short' }), /WEBHOOK_SECRET_SANDBOX: must be at least 16/, 'a short secret: refused');
  t.throws(() => loadConfig({ PAYMENT_PROVIDERS: 'paypal', WEBHOOK_SECRET: SECRET }), /PAYMENT_PROVIDERS: unknown provider "paypal"/, 'an unknown provider: refused');
  const config = loadConfig({ PAYMENT_PROVIDERS: 'sandbox, wechat', WEBHOOK_SECRET: SECRET, WEBHOOK_SECRET_WECHAT: 'another-secret-for-wechat', WECHAT_MCHID: '1900000001' });
  t.same(config.paymentProviders.map((p) => [p.name, p.secret]), [['sandbox', SECRET], ['wechat', 'another-secret-for-wechat']], 'a per-provider secret wins over WEBHOOK_SECRET');
  t.throws(() => loadConfig({ PAYMENT_PROVIDERS: 'wechat', WEBHOOK_SECRET: SECRET }), /WECHAT_MCHID: payment provider wechat is enabled/, 'wechat without its merchant id: refused');
  t.equal(config.paymentProviders[1]?.apiBaseUrl, 'https://api.mch.weixin.qq.com', "WeChat's merchant API by default");
  t.same(loadConfig({}).paymentProviders, [], 'no provider by default');
  t.equal(loadConfig({}).paymentQueryAfterMinutes, 5, 'pending payments are queried after 5 minutes by default');
});

t.test('online recharge: signed webhooks credit once, tampered or unsigned ones credit nothing, a replay after a restart credits nothing', async (t) => {
  const test = await createTestApp(t, { env: { PAYMENT_PROVIDERS: 'sandbox,wechat', WEBHOOK_SECRET: SECRET, WECHAT_MCHID: '1900000001' } });
  let app = test.app;
  const { database, config } = test;
  const admin = await test.login('admin', ADMIN_PASSWORD);
  const finance = await test.as('finance');
  t.equal((await app.http.inject({ method: 'POST', url: '/api/students', headers: admin, payload: { id: 'S-PAY', name: 'Li Wei', college: 'Science', class: 'P-1', password: 'student-password-1' } })).statusCode, 201, 'a student is opened');
  // The demo rooms are full: one of A-103's students leaves first.
  const leaver = await database.db.selectFrom('occupancies').select('student_number').where('dormitory_id', '=', 'A-103').where('to_day', 'is', null).executeTakeFirstOrThrow();
  t.equal((await app.http.inject({ method: 'POST', url: `/api/students/${leaver.student_number}/check-out`, headers: admin, payload: {} })).statusCode, 200, 'a bed in A-103 is freed');
  const checkIn = await app.http.inject({ method: 'POST', url: '/api/dormitories/A-103/check-ins', headers: admin, payload: { studentId: 'S-PAY' } });
  t.equal(checkIn.statusCode, 201, `and lives in A-103 (${checkIn.body})`);
  const student = await test.login('S-PAY', 'student-password-1');
  const balance = async () => (await database.db.selectFrom('accounts').select('balance').where('dormitory_id', '=', 'A-103').where('purse', '=', 'electricity').executeTakeFirstOrThrow()).balance;
  const start = await balance();
  const pay = async (payload: object) => {
    const response = await app.http.inject({ method: 'POST', url: '/api/me/payments', headers: student, payload });
    t.equal(response.statusCode, 201, `a payment is started (${response.body})`);
    return response.json<{ reference: string; payUrl: string; state: string; dormitoryId: string; provider: string }>();
  };
  const sandbox = new SandboxProvider(SECRET, database.db);
  const webhook = (provider: string, body: string, headers: Record<string, string>) => app.http.inject({ method: 'POST', url: `/api/payments/${provider}/webhook`, headers: { 'content-type': 'application/json', ...headers }, payload: body });
  const notification = (reference: string, amount: number, id: string) => JSON.stringify({ id, reference, amount, status: 'paid', transactionId: `tx-${id}` });

  // A sandbox payment, its notification delivered three times.
  const first = await pay({ amount: 1_234 });
  t.match(first, { provider: 'sandbox', dormitoryId: 'A-103', state: 'pending' }, 'the payment is for my own dormitory and waits');
  t.equal(first.payUrl, `/api/payments/sandbox/pay/${first.reference}`, "the pay URL is the sandbox's page");
  const page = await app.http.inject({ method: 'GET', url: first.payUrl });
  t.equal(page.statusCode, 200, 'the sandbox serves its pay page');
  t.match(page.body, /12\.34 yuan[\s\S]*<button type="submit">Pay<\/button>/, 'with the amount and a pay button');
  t.equal(await balance(), start, 'nothing is credited before the provider says so');
  const body = notification(first.reference, 1_234, 'n-1');
  const signed = sandbox.sign(body, Date.now());
  for (let i = 1; i <= 3; i++) {
    const delivered = await webhook('sandbox', body, signed);
    t.equal(delivered.statusCode, 200, `delivery ${i} is acknowledged`);
  }
  t.equal(await balance(), start + 1_234, 'three deliveries credit once');
  const again = notification(first.reference, 1_234, 'n-1-retry');
  t.equal((await webhook('sandbox', again, sandbox.sign(again, Date.now()))).statusCode, 200, 'a second notification of a paid payment is acknowledged');
  t.equal(await balance(), start + 1_234, 'and credits nothing');
  t.match((await app.http.inject({ method: 'GET', url: `/api/me/payments/${first.reference}`, headers: student })).json(), { state: 'paid' }, 'the student sees it paid');

  // Tampered, unsigned, wrongly signed, stale: 401, nothing credited.
  const second = await pay({ amount: 500 });
  const honest = notification(second.reference, 500, 'n-2');
  const honestSignature = sandbox.sign(honest, Date.now());
  const refused = [
    ['a tampered amount', webhook('sandbox', honest.replace('"amount":500', '"amount":50000'), honestSignature)],
    ['no signature', webhook('sandbox', honest, {})],
    ['a signature by another secret', webhook('sandbox', honest, new SandboxProvider('somebody-elses-secret-000', database.db).sign(honest, Date.now()))],
    ['a signature from ten minutes ago', webhook('sandbox', honest, sandbox.sign(honest, Date.now() - 600_000))],
    ['a garbled signature header', webhook('sandbox', honest, { 'x-sandbox-signature': 't=1,v1=zz' })],
    ["the sandbox's signature on the wechat webhook", webhook('wechat', honest, honestSignature)],
  ] as const;
  for (const [what, response] of refused) {
    const answer = await response;
    t.equal(answer.statusCode, 401, `${what}: 401`);
    t.equal(answer.json().error?.code, 'SIGNATURE_INVALID', `${what}: SIGNATURE_INVALID`);
  }
  t.equal(await balance(), start + 1_234, 'no refused notification credited anything');
  t.equal((await database.db.selectFrom('payment_notifications').select('notification_id').where('notification_id', '=', 'n-2').execute()).length, 0, 'nor was its id recorded');
  t.equal((await webhook('paypal', honest, honestSignature)).statusCode, 404, 'an unknown provider is a 404');

  // The sandbox's confirm button sends a signed notification to the webhook.
  const confirmed = await app.http.inject({ method: 'POST', url: `${second.payUrl}/confirm` });
  t.equal(confirmed.statusCode, 200, 'the sandbox confirms');
  t.equal(confirmed.json().state, 'paid', 'the payment is paid');
  t.equal(await balance(), start + 1_734, 'and credited');

  // The WeChat Pay shaped adapter.
  const wechat = new WechatPayProvider(SECRET, { merchantId: '1900000001', apiBaseUrl: 'http://127.0.0.1:9', transport: fetchTransport(), clock: new SystemClock() });
  const third = await pay({ amount: 2_000, provider: 'wechat' });
  t.match(third.payUrl, /^weixin:\/\/wxpay\/bizpayurl\?out_trade_no=/, 'a WeChat code URL');
  const event = JSON.stringify({ id: 'wx-evt-1', create_time: '2026-11-30T12:00:00+08:00', event_type: 'TRANSACTION.SUCCESS', resource: { out_trade_no: third.reference, transaction_id: '4200001', trade_state: 'SUCCESS', amount: { total: 2_000, currency: 'CNY' } } });
  const wxHeaders = wechat.sign(event, Date.now(), 'nonce-1');
  const tamperedNonce = await webhook('wechat', event, { ...wxHeaders, 'wechatpay-nonce': 'nonce-2' });
  t.equal(tamperedNonce.statusCode, 401, 'a WeChat notification with another nonce is refused');
  const wx = await webhook('wechat', event, wxHeaders);
  t.equal(wx.statusCode, 200, 'the WeChat notification is accepted');
  t.same(wx.json(), { code: 'SUCCESS', message: 'OK' }, "with WeChat's acknowledgement");
  t.equal(await balance(), start + 3_734, 'and credited');

  // A restart: the replay finds the notification id in the database.
  const homeless = await test.as('student', 'A-104'); // (signed in before the restart: the helper logs in on the first app)
  await app.stop();
  app = await buildApp(config, { database });
  t.teardown(() => app.stop());
  const replay = await webhook('wechat', event, wxHeaders);
  t.equal(replay.statusCode, 200, 'after a restart the replay is acknowledged');
  t.equal(await balance(), start + 3_734, 'and credits nothing');
  t.equal((await webhook('sandbox', body, signed)).statusCode, 200, 'the first sandbox notification replayed after the restart is acknowledged');
  t.equal(await balance(), start + 3_734, 'and credits nothing either');

  // Only students pay for themselves, and only for where they live.
  t.equal((await app.http.inject({ method: 'POST', url: '/api/me/payments', headers: finance, payload: { amount: 100 } })).statusCode, 403, 'finance does not start student payments');
  t.equal((await app.http.inject({ method: 'POST', url: '/api/me/payments', headers: homeless, payload: { amount: 100 } })).json().error?.code, 'NOT_CHECKED_IN', 'a student living nowhere cannot pay');
  t.equal((await app.http.inject({ method: 'GET', url: `/api/me/payments/${first.reference}`, headers: homeless })).statusCode, 404, "another student's payment is not found");

  // The credits are recharges through the online channels, on the ledger and in the day's reconciliation.
  const entries = await database.db.selectFrom('ledger_entries').select(['amount', 'reference', 'operator', 'details', 'occurred_at']).where('dormitory_id', '=', 'A-103').where('kind', '=', 'recharge').orderBy('id').execute();
  t.same(
    entries.map((e) => [e.amount, e.reference, e.operator, e.details.provider, e.details.payerStudentId]),
    [
      [1_234, first.reference, 'payment:sandbox', 'sandbox', 'S-PAY'],
      [500, second.reference, 'payment:sandbox', 'sandbox', 'S-PAY'],
      [2_000, third.reference, 'payment:wechat', 'wechat', 'S-PAY'],
    ],
    'one recharge per payment, by the provider, with the paying student',
  );
  // The local days the credits were booked on (one, unless the run crossed local midnight): the
  // reconciliations of those days hold them, each day by its channel.
  const days = [...new Set(entries.map((e) => new Date(new Date(e.occurred_at).getTime() + 8 * 3_600_000).toISOString().slice(0, 10)))];
  const channelTotals: Record<string, number> = {};
  for (const day of days) {
    const report = (await app.http.inject({ method: 'GET', url: `/api/reports/reconciliation?date=${day}`, headers: finance })).json<{ channelTotals: { channel: string; purse: string; amount: number }[]; tiesOut: boolean }>();
    for (const c of report.channelTotals) channelTotals[c.channel] = (channelTotals[c.channel] ?? 0) + c.amount;
    t.ok(report.tiesOut, `the reconciliation of ${day} ties out`);
  }
  t.match(channelTotals, { 'online:sandbox': 1_734, 'online:wechat': 2_000 }, 'the reconciliation has a channel per provider');
  t.ok((await reconcile(database.db)).ok, 'reconcile is clean');
});

t.test('a sandbox payment reaches the running dormitory at once: an arrears cut is lifted by the webhook', async (t) => {
  const test = await startLiveApp(t, { PAYMENT_PROVIDERS: 'sandbox', WEBHOOK_SECRET: SECRET }, { quietAtBoot: true });
  const { app } = test;
  await waitFor('A-117 online', async () => (await getDormitory(test, 'A-117')).online);
  const leaver = await test.database.db.selectFrom('occupancies').select('student_number').where('dormitory_id', '=', 'A-117').where('to_day', 'is', null).executeTakeFirstOrThrow();
  t.equal((await app.http.inject({ method: 'POST', url: `/api/students/${leaver.student_number}/check-out`, headers: test.admin, payload: {} })).statusCode, 200, 'a bed in A-117 is freed');
  t.equal((await app.http.inject({ method: 'POST', url: '/api/students', headers: test.admin, payload: { id: 'S-LIVE', name: 'Zhao Lin', college: 'Science', class: 'P-2', password: 'student-password-2' } })).statusCode, 201, 'a student is opened');
  t.equal((await app.http.inject({ method: 'POST', url: '/api/dormitories/A-117/check-ins', headers: test.admin, payload: { studentId: 'S-LIVE' } })).statusCode, 201, 'and lives in A-117');
  const finance = await test.as('finance');
  t.equal((await app.http.inject({ method: 'POST', url: '/api/dormitories/A-117/adjustments', headers: finance, payload: { amount: -5_000, reason: 'test arrears', reference: 'live-pay-arrears' } })).statusCode, 201, 'A-117 is put in arrears');
  await waitFor('A-117 cut for arrears', async () => (await getDormitory(test, 'A-117')).state === 'cut_arrears');
  const before = (await getDormitory(test, 'A-117')).balance.electricity;

  const student = await test.login('S-LIVE', 'student-password-2');
  const started = (await app.http.inject({ method: 'POST', url: '/api/me/payments', headers: student, payload: { amount: 10_000 } })).json<{ payUrl: string }>();
  const confirmed = await app.http.inject({ method: 'POST', url: `${started.payUrl}/confirm` });
  t.equal(confirmed.json().state, 'paid', 'the sandbox pays');
  const after = await getDormitory(test, 'A-117');
  t.ok(after.balance.electricity >= before + 10_000 - 100 && after.balance.electricity <= before + 10_000, `the live balance has the payment at once (${before} -> ${after.balance.electricity})`);
  await waitFor('A-117 restored by the payment', async () => {
    const d = await getDormitory(test, 'A-117');
    return d.state !== 'cut_arrears' && d.circuits.every((c) => c.supply === 'on');
  });
  t.ok((await reconcile(test.database.db)).ok, 'reconcile is clean');
});
