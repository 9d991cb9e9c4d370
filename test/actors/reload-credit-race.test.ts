import t from 'tap';
import { recharge } from '../../src/services/recharge.service.ts';
import type { BalanceChange } from '../../src/services/balance-change.ts';
import { getDormitory, startLiveApp, waitFor } from '../helpers/live-app.ts';
import { heldSelect } from '../helpers/held-query.ts';

/**
 * A dormitory reload (a tariff or meter change, a lost commit found) reads the balances while
 * credits commit and are announced around it. An outside attack showed both ways it went wrong:
 * a credit committed before the read but announced after it was counted twice; one committed
 * after the read but announced while the dormitory was stopped reached no actor and was lost
 * from the live balance (the relay follows the live balance, so a room stayed cut with money, or
 * supplied in arrears). Each credit now names its ledger entry, the reload reads the last entry
 * each balance includes, and the credits announced during a reload are told to the new actor.
 */
t.test('credits around a dormitory reload reach its live balance exactly once', async (t) => {
  // The reload's read of the balances (accounts, with the last ledger entry each includes).
  let balanceRead: ReturnType<typeof heldSelect> | undefined;
  const test = await startLiveApp(t, {}, { quietAtBoot: true, appDb: (db) => (balanceRead = heldSelect(db, 'accounts as a')).db });
  const { app } = test;
  await waitFor('A-117 online and supplied', async () => {
    const d = await getDormitory(test, 'A-117');
    return d.online && d.circuits.length > 0 && d.circuits.every((c) => c.supply === 'on');
  });
  const ledger = async () => Number((await test.database.db.selectFrom('accounts').select('balance').where('dormitory_id', '=', 'A-117').where('purse', '=', 'electricity').executeTakeFirstOrThrow()).balance);
  /** The live balance against the ledger, both read after the pending charges are committed (what was used in between is small). */
  const drift = async () => {
    await app.runtime.flushBilling(['A-117']);
    const committed = await ledger();
    const live = (await getDormitory(test, 'A-117')).balance.electricity;
    return { live, committed, drift: live - committed };
  };
  const credit = (reference: string, amount: number, announce: (change: BalanceChange) => void) =>
    recharge(app.context, { dormitoryId: 'A-117', purse: 'electricity', amount, method: 'cash', reference, operator: 'cashier' }, { creditApplied: announce });

  const start = await drift();
  t.ok(Math.abs(start.drift) < 1_000, `before: the live balance follows the ledger (${JSON.stringify(start)})`);

  // 1. Committed before the reload read the balances, announced after the new actor started.
  let late: BalanceChange | undefined;
  await credit('race-before-read', 50_000, (change) => (late = change));
  t.equal(await app.runtime.reloadDormitory('A-117'), true, 'the dormitory reloads');
  t.ok(late, 'the credit was committed');
  app.runtime.creditApplied(late!);
  const afterLate = await drift();
  t.ok(Math.abs(afterLate.drift) < 1_000, `a credit already in the loaded balance is not added again (${JSON.stringify(afterLate)}; counted twice it is 50,000 over)`);

  // 2. Committed after the read, announced while the dormitory is stopped (between the read and its start).
  const held = balanceRead!.arm();
  const reload = app.runtime.reloadDormitory('A-117');
  await held;
  await credit('race-while-stopped', 30_000, (change) => app.runtime.creditApplied(change));
  balanceRead!.release();
  t.equal(await reload, true, 'the dormitory reloads');
  const afterStopped = await drift();
  t.ok(Math.abs(afterStopped.drift) < 1_000, `a credit announced while the dormitory was stopped reaches the new actor (${JSON.stringify(afterStopped)}; lost it is 30,000 under)`);
  t.ok(afterStopped.committed >= start.committed + 79_000, `the ledger has both credits once (${start.committed} -> ${afterStopped.committed})`);

  // 3. Reloads of one dormitory at once run one after the other (the second no longer finds it "already running").
  const together = await Promise.all([app.runtime.reloadDormitory('A-117'), app.runtime.reloadDormitory('A-117'), app.runtime.reloadDormitory('A-117')]);
  t.same(together, [true, true, true], 'three concurrent reloads each start the dormitory');
  await credit('race-after-reloads', 1_000, (change) => app.runtime.creditApplied(change));
  const end = await drift();
  t.ok(Math.abs(end.drift) < 1_000, `after them, credits still apply once (${JSON.stringify(end)})`);
});
