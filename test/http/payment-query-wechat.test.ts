import { createHmac } from 'node:crypto';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import t from 'tap';
import { SimulatedClock } from '../../src/clock.ts';
import { reconcile } from '../../src/services/reconcile.service.ts';
import { payingStudent } from '../helpers/payment-student.ts';
import { createTestApp } from '../helpers/test-app.ts';

const SECRET = 'test-webhook-secret-0123456789';
const MCHID = '1900000001';

/** How the fake WeChat answers a query about one order. */
type Behaviour =
  | { kind: 'order'; tradeState: string; total: number; transactionId?: string }
  | { kind: 'not-found' }
  | { kind: 'server-error' }
  | { kind: 'tampered'; tradeState: string; total: number; signedTotal: number }
  | { kind: 'unsigned'; tradeState: string; total: number }
  | { kind: 'other-order'; otherReference: string; total: number };

/** WeChat's signature, computed here independently of the adapter: base64 HMAC-SHA256 over "<ts>\n<nonce>\n<body>\n". */
const wechatSignature = (ts: string, nonce: string, body: string) => createHmac('sha256', SECRET).update(`${ts}\n${nonce}\n${body}\n`).digest('base64');

t.test('WeChat Pay v3 query by out-trade-no, against a local server playing WeChat', async (t) => {
  const clock = new SimulatedClock(Date.now(), 0);
  const behaviours = new Map<string, Behaviour>();
  const seen: { path: string; authorizationValid: boolean }[] = [];
  let nonceSeq = 0;

  const server = createServer((request: IncomingMessage, response: ServerResponse) => {
    const url = new URL(request.url ?? '/', 'http://wechat.test');
    const match = /^\/v3\/pay\/transactions\/out-trade-no\/([^/]+)$/.exec(url.pathname);
    // The merchant's Authorization: WECHATPAY2-SHA256-RSA2048 mchid=...,nonce_str=...,signature=...,timestamp=...
    const auth = Object.fromEntries([...(request.headers.authorization ?? '').matchAll(/(\w+)="([^"]*)"/g)].map((m) => [m[1], m[2]]));
    const signedMessage = `${request.method}\n${request.url}\n${auth.timestamp}\n${auth.nonce_str}\n\n`;
    const authorizationValid =
      (request.headers.authorization ?? '').startsWith('WECHATPAY2-SHA256-RSA2048 ') && auth.mchid === MCHID && auth.signature === createHmac('sha256', SECRET).update(signedMessage).digest('base64');
    seen.push({ path: `${url.pathname}?${url.searchParams.toString()}`, authorizationValid });
    const send = (status: number, body: string, signedBody = body) => {
      const ts = String(Math.floor(clock.now() / 1000));
      const nonce = `nonce-${++nonceSeq}`;
      response.writeHead(status, { 'content-type': 'application/json', 'wechatpay-timestamp': ts, 'wechatpay-nonce': nonce, 'wechatpay-signature': wechatSignature(ts, nonce, signedBody), 'wechatpay-serial': 'PLATFORM-SERIAL' });
      response.end(body);
    };
    if (request.method !== 'GET' || !match || url.searchParams.get('mchid') !== MCHID || !authorizationValid) return send(401, JSON.stringify({ code: 'SIGN_ERROR', message: 'bad request signature' }));
    const reference = decodeURIComponent(match[1]!);
    const behaviour = behaviours.get(reference) ?? { kind: 'not-found' };
    const order = (outTradeNo: string, tradeState: string, total: number, transactionId = `42000${reference.slice(-8)}`) =>
      JSON.stringify({ appid: 'wxd678efh567hg6787', mchid: MCHID, out_trade_no: outTradeNo, transaction_id: transactionId, trade_type: 'NATIVE', trade_state: tradeState, trade_state_desc: tradeState, amount: { total, payer_total: total, currency: 'CNY', payer_currency: 'CNY' } });
    switch (behaviour.kind) {
      case 'order':
        return send(200, order(reference, behaviour.tradeState, behaviour.total, behaviour.transactionId));
      case 'not-found':
        return send(404, JSON.stringify({ code: 'ORDER_NOT_EXIST', message: '订单不存在' }));
      case 'server-error':
        response.writeHead(500, { 'content-type': 'application/json' });
        return response.end(JSON.stringify({ code: 'SYSTEM_ERROR', message: 'busy' }));
      case 'tampered':
        // Signed for one amount, delivered with another (a man in the middle).
        return send(200, order(reference, behaviour.tradeState, behaviour.total), order(reference, behaviour.tradeState, behaviour.signedTotal));
      case 'unsigned':
        response.writeHead(200, { 'content-type': 'application/json' });
        return response.end(order(reference, behaviour.tradeState, behaviour.total));
      case 'other-order':
        return send(200, order(behaviour.otherReference, 'SUCCESS', behaviour.total));
    }
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  t.teardown(() => new Promise<void>((resolve) => server.close(() => resolve())));
  const apiUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;

  const test = await createTestApp(t, { clock, env: { PAYMENT_PROVIDERS: 'wechat', WEBHOOK_SECRET: SECRET, WECHAT_MCHID: MCHID, WECHAT_API_URL: apiUrl } });
  const { app, database } = test;
  const payer = await payingStudent(t, test, 'A-106', 'S-WX');
  const finance = await test.as('finance');
  const start = await payer.balance();
  const query = (reference: string) => app.http.inject({ method: 'POST', url: `/api/payments/${reference}/query`, headers: finance });
  const state = async (reference: string) => (await database.db.selectFrom('payments').select('state').where('reference', '=', reference).executeTakeFirstOrThrow()).state;

  const payment = await payer.pay(app, { amount: 2_000, provider: 'wechat' });

  // The provider does not know the order yet, then says NOTPAY: pending, nothing credited.
  let answer = await query(payment.reference);
  t.equal(answer.statusCode, 200, `ORDER_NOT_EXIST is an answer (${answer.body})`);
  t.match(answer.json(), { state: 'pending', providerState: 'pending', rechargeId: null }, 'an order WeChat does not know yet is pending');
  t.same(seen.at(-1), { path: `/v3/pay/transactions/out-trade-no/${payment.reference}?mchid=${MCHID}`, authorizationValid: true }, "the request is v3's query by out-trade-no, naming the merchant, signed");
  behaviours.set(payment.reference, { kind: 'order', tradeState: 'NOTPAY', total: 2_000 });
  t.match((await query(payment.reference)).json(), { state: 'pending', providerState: 'pending' }, 'NOTPAY: pending');
  t.equal(await payer.balance(), start, 'nothing credited while unpaid');

  // Answers that are not believed: nothing credited, the payment stays pending.
  const refused: [string, Behaviour, number, string][] = [
    ['a tampered answer (signed for 1 fen, says 2,000)', { kind: 'tampered', tradeState: 'SUCCESS', total: 2_000, signedTotal: 1 }, 502, 'PROVIDER_ANSWER_INVALID'],
    ['an unsigned answer', { kind: 'unsigned', tradeState: 'SUCCESS', total: 2_000 }, 502, 'PROVIDER_ANSWER_INVALID'],
    ['a signed answer about another order', { kind: 'other-order', otherReference: 'wechat-ffffffffffffffffffffffff', total: 2_000 }, 502, 'PROVIDER_ANSWER_INVALID'],
    ['WeChat down (HTTP 500)', { kind: 'server-error' }, 502, 'PROVIDER_UNAVAILABLE'],
    ['a paid answer for another amount', { kind: 'order', tradeState: 'SUCCESS', total: 1_999 }, 409, 'PAYMENT_AMOUNT_MISMATCH'],
  ];
  for (const [what, behaviour, status, code] of refused) {
    behaviours.set(payment.reference, behaviour);
    answer = await query(payment.reference);
    t.equal(answer.statusCode, status, `${what}: ${status}`);
    t.equal(answer.json().error?.code, code, `${what}: ${code}`);
    t.equal(await state(payment.reference), 'pending', `${what}: the payment stays pending`);
  }
  t.equal(await payer.balance(), start, 'no refused answer credited anything');
  const mismatch = await database.db.selectFrom('audit_log').select('details').where('action', '=', 'payment.amount_mismatch').execute();
  t.match(mismatch.map((m) => m.details), [{ reference: payment.reference, amount: 2_000, providerAmount: 1_999 }], 'the amount mismatch is recorded for finance');

  // SUCCESS: credited once, the late WeChat notification credits nothing more.
  behaviours.set(payment.reference, { kind: 'order', tradeState: 'SUCCESS', total: 2_000, transactionId: '4200009999' });
  answer = await query(payment.reference);
  t.match(answer.json(), { state: 'paid', providerState: 'paid' }, 'SUCCESS: paid');
  t.equal(await payer.balance(), start + 2_000, 'and credited');
  t.match((await query(payment.reference)).json(), { state: 'paid' }, 'asked again: still paid');
  const event = JSON.stringify({ id: 'wx-late-1', create_time: '2026-11-30T12:00:00+08:00', event_type: 'TRANSACTION.SUCCESS', resource: { out_trade_no: payment.reference, transaction_id: '4200009999', trade_state: 'SUCCESS', amount: { total: 2_000, currency: 'CNY' } } });
  const ts = String(Math.floor(clock.now() / 1000));
  const late = await app.http.inject({ method: 'POST', url: '/api/payments/wechat/webhook', headers: { 'content-type': 'application/json', 'wechatpay-timestamp': ts, 'wechatpay-nonce': 'late', 'wechatpay-signature': wechatSignature(ts, 'late', event), 'wechatpay-serial': 'x' }, payload: event });
  t.equal(late.statusCode, 200, 'the late notification is acknowledged');
  t.same(await payer.credits(payment.reference), [2_000], 'one credit');
  t.equal((await database.db.selectFrom('payments').select('provider_transaction_id').where('reference', '=', payment.reference).executeTakeFirstOrThrow()).provider_transaction_id, '4200009999', "WeChat's transaction id is kept");

  // CLOSED: the payment is closed, nothing credited.
  const closed = await payer.pay(app, { amount: 300, provider: 'wechat' });
  behaviours.set(closed.reference, { kind: 'order', tradeState: 'CLOSED', total: 300 });
  t.match((await query(closed.reference)).json(), { state: 'closed', providerState: 'closed', rechargeId: null }, 'CLOSED: the payment is closed');
  t.equal(await payer.balance(), start + 2_000, 'and credits nothing');
  t.ok(seen.every((s) => s.authorizationValid), 'every request carried a valid merchant signature');
  t.ok((await reconcile(database.db)).ok, 'reconcile is clean');
});
