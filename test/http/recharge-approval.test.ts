import t from 'tap';
import { createTestApp } from '../helpers/test-app.ts';

t.test('a recharge above the cap waits for a second finance user, who credits it once', async (t) => {
  const { app, database, as, login } = await createTestApp(t, { env: { RECHARGE_APPROVAL_THRESHOLD_FEN: '10000' } });
  const first = await as('finance');
  const second = await as('finance');
  const manager = await as('manager');
  const admin = await login('admin', 'test-admin-password');
  const balance = async () => (await database.db.selectFrom('accounts').select('balance').where('dormitory_id', '=', 'A-105').where('purse', '=', 'electricity').executeTakeFirstOrThrow()).balance;
  const post = (headers: Record<string, string>, payload: object) => app.http.inject({ method: 'POST', url: '/api/dormitories/A-105/recharges', headers, payload });
  const decide = (headers: Record<string, string>, id: number, decision: string) => app.http.inject({ method: 'POST', url: `/api/approvals/${id}`, headers, payload: { decision } });
  const start = await balance();

  t.equal((await post(manager, { amount: 100, method: 'cash', reference: 'mgr-1' })).statusCode, 403, 'a manager may not credit money');
  const small = await post(first, { amount: 10_000, method: 'cash', reference: 'small-1' });
  t.equal(small.statusCode, 201, 'at the cap a recharge is credited at once');

  const big = await post(first, { amount: 25_000, method: 'card', reference: 'big-1' });
  t.equal(big.statusCode, 202, 'above the cap: 202 Accepted');
  const pending = big.json<{ approvalId: number; state: string; requestedBy: string }>();
  t.equal(pending.state, 'pending');
  t.equal(pending.requestedBy, 'finance-1');
  t.equal(await balance(), start + 10_000, 'nothing is credited while pending');
  const repeat = await post(first, { amount: 25_000, method: 'card', reference: 'big-1' });
  t.equal(repeat.statusCode, 202, 'a repeat is the same pending request');
  t.equal(repeat.json().approvalId, pending.approvalId, 'with the same approval id');
  t.equal((await post(first, { amount: 26_000, method: 'card', reference: 'big-1' })).statusCode, 409, 'the reference with another amount is a conflict');
  t.equal((await post(first, { amount: 50, method: 'card', reference: 'big-1' })).statusCode, 409, 'even below the cap');

  const own = await decide(first, pending.approvalId, 'approve');
  t.equal(own.statusCode, 403, 'the requester cannot approve their own recharge');
  t.equal(own.json().error.code, 'SAME_APPROVER');
  t.equal((await decide(manager, pending.approvalId, 'approve')).statusCode, 403, 'a manager cannot approve');
  const listed = await app.http.inject({ method: 'GET', url: '/api/approvals?state=pending', headers: second });
  t.same(listed.json().items.map((a: { id: number }) => a.id), [pending.approvalId], 'the second finance user sees it pending');

  const approved = await decide(second, pending.approvalId, 'approve');
  t.equal(approved.statusCode, 200, 'a second finance user approves');
  t.equal(approved.json().approval.state, 'approved');
  t.equal(approved.json().approval.decidedBy, 'finance-2');
  t.equal(await balance(), start + 35_000, 'the approval credits the amount');
  t.equal((await decide(admin, pending.approvalId, 'approve')).statusCode, 409, 'a second approval is refused');
  const after = await post(first, { amount: 25_000, method: 'card', reference: 'big-1' });
  t.equal(after.statusCode, 200, 'the original request repeated now answers with the recharge');
  t.equal(await balance(), start + 35_000, 'and credits nothing more');

  const rejectMe = (await post(second, { amount: 99_000, method: 'cash', reference: 'big-2' })).json<{ approvalId: number }>();
  t.equal((await decide(admin, rejectMe.approvalId, 'reject')).statusCode, 200, 'an admin rejects');
  t.equal(await balance(), start + 35_000, 'a rejected recharge credits nothing');
  t.equal((await post(second, { amount: 99_000, method: 'cash', reference: 'big-2' })).statusCode, 409, 'and its repeat is refused');
  t.equal((await decide(first, rejectMe.approvalId, 'approve')).statusCode, 409, 'a rejected approval cannot be approved later');
  t.equal((await decide(second, 999_999, 'approve')).statusCode, 404, 'an unknown approval is a 404');

  const audit = await database.db.selectFrom('audit_log').select(['operator', 'action', 'details']).where('action', 'like', 'recharge%').where('target_id', '=', 'A-105').orderBy('id').execute();
  t.same(
    audit.map((a) => [a.operator, a.action]),
    [
      ['finance-1', 'recharge'],
      ['finance-1', 'recharge.approval_requested'],
      ['finance-2', 'recharge.approve'],
      ['finance-1', 'recharge'],
      ['finance-2', 'recharge.approval_requested'],
      ['admin', 'recharge.reject'],
    ],
    'request, approval, credit and rejection are audited with who did each',
  );
  t.match(audit[3]!.details, { approvedBy: 'finance-2', reference: 'big-1' }, 'the credit names its approver');
});
