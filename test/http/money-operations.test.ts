import t from 'tap';
import { findBalanceMismatches } from '../../src/db/ledger.repository.ts';
import { reconcile } from '../../src/services/reconcile.service.ts';
import { getDormitory, startLiveApp, waitFor } from '../helpers/live-app.ts';
import { createTestApp } from '../helpers/test-app.ts';

const ledgerBalance = async (db: Awaited<ReturnType<typeof createTestApp>>['database']['db'], id: string, purse: 'electricity' | 'water' = 'electricity') =>
  (await db.selectFrom('accounts').select('balance').where('dormitory_id', '=', id).where('purse', '=', purse).executeTakeFirstOrThrow()).balance;

t.test('refunds and adjustments: finance only, idempotent by reference, on the ledger, audited, approved above the cap', async (t) => {
  const { app, database, as } = await createTestApp(t, { env: { REFUND_APPROVAL_THRESHOLD_FEN: '5000' } });
  const first = await as('finance');
  const second = await as('finance');
  const manager = await as('manager');
  const post = (headers: Record<string, string>, kind: 'refunds' | 'adjustments', payload: object, id = 'A-105') => app.http.inject({ method: 'POST', url: `/api/dormitories/${id}/${kind}`, headers, payload });
  const decide = (headers: Record<string, string>, id: number, decision: string) => app.http.inject({ method: 'POST', url: `/api/approvals/${id}`, headers, payload: { decision } });
  const start = await ledgerBalance(database.db, 'A-105');
  const water = await ledgerBalance(database.db, 'A-105', 'water');

  t.equal((await post(manager, 'refunds', { amount: 100, reason: 'x', reference: 'r-mgr' })).statusCode, 403, 'a manager may not refund');
  const refund = await post(first, 'refunds', { amount: 1_200, reason: 'moved out early', reference: 'r-1' });
  t.equal(refund.statusCode, 201, 'a refund below the cap is applied at once');
  t.match(refund.json(), { kind: 'refund', amount: 1_200, ledgerAmount: -1_200, ledgerBalance: start - 1_200, operator: 'finance-1' }, 'the refund answers with its signed ledger amount');
  const again = await post(first, 'refunds', { amount: 1_200, reason: 'moved out early', reference: 'r-1' });
  t.equal(again.statusCode, 200, 'a repeated refund answers 200');
  t.equal(again.json().id, refund.json().id, 'with the first operation');
  t.equal((await post(first, 'refunds', { amount: 1_300, reason: 'moved out early', reference: 'r-1' })).statusCode, 409, 'the reference with another amount is a conflict');
  t.equal(await ledgerBalance(database.db, 'A-105'), start - 1_200, 'the refund took money out once');

  const down = await post(first, 'adjustments', { amount: -300, reason: 'meter misread', reference: 'a-1', purse: 'water' });
  t.equal(down.statusCode, 201, 'a negative adjustment is applied');
  t.equal(await ledgerBalance(database.db, 'A-105', 'water'), water - 300, 'on the water purse');
  t.equal((await post(first, 'adjustments', { amount: -300, reason: 'meter misread', reference: 'a-1', purse: 'water' })).statusCode, 200, 'its repeat applies nothing');
  t.equal((await post(first, 'adjustments', { amount: 0, reason: 'nothing', reference: 'a-0' })).json().error.code, 'AMOUNT_ZERO', 'a zero adjustment is refused');
  t.equal((await post(first, 'refunds', { amount: -5, reason: 'x', reference: 'r-neg' })).statusCode, 400, 'a negative refund is a 400');
  t.equal((await post(first, 'refunds', { amount: '5', reason: 'x', reference: 'r-str' })).statusCode, 400, 'a string amount is a 400');
  t.equal((await post(first, 'refunds', { amount: 5, reason: 'x', reference: 'r-404' }, 'NO-SUCH')).statusCode, 404, 'an unknown dormitory is a 404');
  const tooMuch = await post(first, 'refunds', { amount: start, reason: 'everything and more', reference: 'r-big' });
  t.equal(tooMuch.json().error?.code, 'REFUND_EXCEEDS_BALANCE', 'a refund cannot take the purse below zero');
  t.equal(await ledgerBalance(database.db, 'A-105'), start - 1_200, 'and changes nothing');

  // Above the cap: the adjustment waits for a second finance user.
  const big = await post(first, 'adjustments', { amount: 6_000, reason: 'compensation for an outage', reference: 'a-big' });
  t.equal(big.statusCode, 202, 'above the cap: 202 pending');
  const pending = big.json<{ approvalId: number }>();
  t.equal(await ledgerBalance(database.db, 'A-105'), start - 1_200, 'nothing applied while pending');
  t.equal((await post(first, 'adjustments', { amount: 6_000, reason: 'compensation for an outage', reference: 'a-big' })).json().approvalId, pending.approvalId, 'a repeat is the same pending approval');
  t.equal((await decide(first, pending.approvalId, 'approve')).json().error.code, 'SAME_APPROVER', 'the requester cannot approve');
  const listed = await app.http.inject({ method: 'GET', url: '/api/approvals?state=pending&operation=adjustment', headers: second });
  t.match(listed.json().items, [{ id: pending.approvalId, operation: 'adjustment', reason: 'compensation for an outage', method: null }], 'the approval names the operation and its reason');
  const approved = await decide(second, pending.approvalId, 'approve');
  t.equal(approved.statusCode, 200, 'a second finance user approves');
  t.match(approved.json(), { approval: { state: 'approved', decidedBy: 'finance-2' }, moneyOperation: { kind: 'adjustment', amount: 6_000 } }, 'and the adjustment is applied');
  t.equal(await ledgerBalance(database.db, 'A-105'), start - 1_200 + 6_000, 'the approved adjustment credits once');
  const after = await post(first, 'adjustments', { amount: 6_000, reason: 'compensation for an outage', reference: 'a-big' });
  t.equal(after.statusCode, 200, 'the original request repeated answers with the operation');
  t.equal(await ledgerBalance(database.db, 'A-105'), start + 4_800, 'and applies nothing more');

  const bigRefund = (await post(second, 'refunds', { amount: 5_001, reason: 'deposit', reference: 'r-cap' })).json<{ approvalId: number }>();
  t.equal((await decide(first, bigRefund.approvalId, 'reject')).statusCode, 200, 'another finance user rejects a large refund');
  t.equal((await post(second, 'refunds', { amount: 5_001, reason: 'deposit', reference: 'r-cap' })).statusCode, 409, 'its repeat is refused');
  t.equal(await ledgerBalance(database.db, 'A-105'), start + 4_800, 'a rejected refund takes nothing');

  const entries = await database.db.selectFrom('ledger_entries').select(['kind', 'amount', 'reference', 'operator', 'purse']).where('dormitory_id', '=', 'A-105').where('kind', 'in', ['refund', 'adjustment']).where('reference', 'is not', null).orderBy('id').execute();
  t.same(
    entries.map((e) => [e.kind, e.purse, e.amount, e.reference, e.operator]),
    [
      ['refund', 'electricity', -1_200, 'r-1', 'finance-1'],
      ['adjustment', 'water', -300, 'a-1', 'finance-1'],
      ['adjustment', 'electricity', 6_000, 'a-big', 'finance-1'],
    ],
    'one ledger entry per operation, signed, with its requester',
  );
  const audit = await database.db.selectFrom('audit_log').select(['operator', 'action', 'details']).where('target_id', '=', 'A-105').where((eb) => eb.or([eb('action', 'like', 'refund%'), eb('action', 'like', 'adjustment%')])).orderBy('id').execute();
  t.same(
    audit.map((a) => [a.operator, a.action]),
    [
      ['finance-1', 'refund'],
      ['finance-1', 'adjustment'],
      ['finance-1', 'adjustment.approval_requested'],
      ['finance-2', 'adjustment.approve'],
      ['finance-1', 'adjustment'],
      ['finance-2', 'refund.approval_requested'],
      ['finance-1', 'refund.reject'],
    ],
    'every operation, request and decision is audited with who did it',
  );
  t.match(audit[4]!.details, { approvedBy: 'finance-2', reason: 'compensation for an outage' }, 'the applied adjustment names its approver');
  t.ok((await reconcile(database.db)).ok, 'reconcile is clean');
});

t.test('an adjustment moves the running dormitory like a recharge: below zero it is cut, back above it is restored', async (t) => {
  const test = await startLiveApp(t, { REFUND_APPROVAL_THRESHOLD_FEN: '100000' }, { quietAtBoot: true });
  const { app } = test;
  const finance = await test.as('finance');
  const post = (kind: 'refunds' | 'adjustments', payload: object) => app.http.inject({ method: 'POST', url: `/api/dormitories/A-117/${kind}`, headers: finance, payload });
  await waitFor('A-117 online and supplied', async () => {
    const d = await getDormitory(test, 'A-117');
    return d.online && d.circuits.length > 0 && d.circuits.every((c) => c.supply === 'on');
  });

  const debit = await post('adjustments', { amount: -5_000, reason: 'back-billing a bypassed meter', reference: 'live-a-1' });
  t.equal(debit.statusCode, 201, 'the adjustment is applied');
  t.equal(debit.json().balanceSource, 'live', 'the answer carries the live balance');
  t.ok(debit.json().balance < 0, `the live balance went below zero (${debit.json().balance})`);
  await waitFor('A-117 cut for arrears by the adjustment', async () => {
    const d = await getDormitory(test, 'A-117');
    return d.state === 'cut_arrears' && d.circuits.every((c) => c.supply === 'off' && c.cutReason === 'arrears');
  });
  t.equal((await post('refunds', { amount: 100, reason: 'no', reference: 'live-r-0' })).json().error?.code, 'REFUND_EXCEEDS_BALANCE', 'nothing can be refunded from a purse in arrears');

  const credit = await post('adjustments', { amount: 8_000, reason: 'the bypass was a wiring fault', reference: 'live-a-2' });
  t.equal(credit.statusCode, 201, 'the correcting adjustment is applied');
  await waitFor('A-117 restored by the correcting adjustment', async () => {
    const d = await getDormitory(test, 'A-117');
    return d.state !== 'cut_arrears' && d.circuits.every((c) => c.supply === 'on' && c.cutReason === null);
  });
  const refund = await post('refunds', { amount: 1_000, reason: 'overpaid', reference: 'live-r-1' });
  t.equal(refund.statusCode, 201, 'a refund within the balance is paid');
  // The room keeps consuming: the live balance only falls until someone credits it.
  const before = (await getDormitory(test, 'A-117')).balance.electricity;
  t.ok(before <= refund.json().balance, `the live balance (${before}) has the refund in it (answered ${refund.json().balance})`);
  await app.runtime.flushBilling(['A-117']);
  const ledger = await ledgerBalance(test.database.db, 'A-117');
  const after = (await getDormitory(test, 'A-117')).balance.electricity;
  t.ok(after <= ledger && ledger <= before, `once charges are posted, the ledger (${ledger}) is the live balance between ${after} and ${before}`);
  t.same((await findBalanceMismatches(test.database.db)).mismatches, [], 'reconcile is clean');
});
