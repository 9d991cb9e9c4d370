import t from 'tap';
import { requestMoneyOperation } from '../../src/services/money-operation.service.ts';
import { recharge } from '../../src/services/recharge.service.ts';
import type { BalanceChange } from '../../src/services/balance-change.ts';
import { getDormitory, startLiveApp, waitFor } from '../helpers/live-app.ts';
import { losingReplies } from '../helpers/losing-replies.ts';

/**
 * A money transaction whose COMMIT went unanswered (the connection dropped after the database
 * committed): the client gets an error and may never retry, and the live dormitory was not told.
 * An outside attack left a room 1,000 fen above its ledger balance, in arrears but supplied, until
 * the server restarted; a retry with the same reference answered from the committed row and told
 * nobody either. Now the service looks for the committed row and the dormitory is brought up to
 * date from the database (whether or not the client retries; a retry moves nothing twice).
 */
t.test('an adjustment and a recharge whose commit replies were lost reach the live dormitory once', async (t) => {
  const test = await startLiveApp(t, { REFUND_APPROVAL_THRESHOLD_FEN: '100000' }, { quietAtBoot: true });
  const { app } = test;
  await waitFor('A-117 online and supplied', async () => {
    const d = await getDormitory(test, 'A-117');
    return d.online && d.circuits.length > 0 && d.circuits.every((c) => c.supply === 'on');
  });
  const faulty = losingReplies(test.database.db);
  const lossy = { ...app.context, db: faulty.db };
  const listener = {
    creditApplied: (change: BalanceChange) => app.runtime.creditApplied(change),
    creditMaybeMissed: (id: string) => app.runtime.resyncDormitory(id),
  };
  const ledger = async () => Number((await test.database.db.selectFrom('accounts').select('balance').where('dormitory_id', '=', 'A-117').where('purse', '=', 'electricity').executeTakeFirstOrThrow()).balance);
  const before = await ledger();

  faulty.arm(1);
  const debit = { kind: 'adjustment' as const, dormitoryId: 'A-117', purse: 'electricity' as const, amount: -(before + 5_000), reason: 'back-billing', reference: 'lost-adj-1', operator: 'finance' };
  await t.rejects(requestMoneyOperation(lossy, debit, 1_000_000, listener), /Connection terminated/, 'the client saw the connection drop');
  t.equal(faulty.lost(), 1, 'the adjustment committed; its reply was lost');
  t.ok((await ledger()) < 0, 'the ledger has it');
  await waitFor('A-117 cut for arrears without a retry or a restart', async () => (await getDormitory(test, 'A-117')).state === 'cut_arrears');

  // The client retries: answered from the committed row; the live balance is not moved twice.
  const retried = await requestMoneyOperation(app.context, debit, 1_000_000, listener);
  t.equal(retried.kind === 'applied' && retried.created, false, 'the retry finds it applied');
  await app.runtime.flushBilling(['A-117']);
  const afterDebit = await ledger();
  await waitFor('the live balance follows the ledger after the retry', async () => {
    const live = (await getDormitory(test, 'A-117')).balance.electricity;
    return live <= afterDebit && afterDebit - live < 1_000 ? live : false;
  });

  // A recharge whose reply is lost lifts the cut-off all the same.
  faulty.arm(1);
  await t.rejects(recharge(lossy, { dormitoryId: 'A-117', purse: 'electricity', amount: 20_000, method: 'cash', reference: 'lost-rch-1', operator: 'cashier' }, listener), /Connection terminated/);
  await waitFor('A-117 restored by the recharge nobody was told of', async () => {
    const d = await getDormitory(test, 'A-117');
    return d.state !== 'cut_arrears' && d.circuits.every((c) => c.supply === 'on');
  });
  await app.runtime.flushBilling(['A-117']);
  const afterCredit = await ledger();
  t.ok(afterCredit > afterDebit + 19_000, `the ledger has the recharge once (${afterDebit} -> ${afterCredit})`);
  const live = (await getDormitory(test, 'A-117')).balance.electricity;
  t.ok(live <= afterCredit && afterCredit - live < 1_000, `the live balance (${live}) is the ledger's (${afterCredit}) less what was used since`);

  // A repeated reference (a payment provider's retries) reloads nothing: a reload on every repeat
  // dropped credits that committed during it (an outside attack).
  let reloads = 0;
  const counting = { ...listener, creditMaybeMissed: () => void reloads++ };
  const plain = { dormitoryId: 'A-117', purse: 'electricity' as const, amount: 100, method: 'cash' as const, reference: 'plain-rch-1', operator: 'cashier' };
  t.equal((await recharge(app.context, plain, counting)).created, true);
  t.equal((await recharge(app.context, plain, counting)).created, false, 'the repeat is answered from the first');
  t.equal(reloads, 0, 'and reloads no dormitory');
});
