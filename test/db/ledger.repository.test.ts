import t from 'tap';
import { sql } from 'kysely';
import { appendPostings, ensureAccounts, findBalanceMismatches } from '../../src/db/ledger.repository.ts';
import { createTestDatabase } from '../helpers/test-database.ts';

t.test('postings keep running balances; the ledger refuses updates and deletes', async (t) => {
  const database = await createTestDatabase();
  t.teardown(() => database.close());
  const { db } = database;
  await db.insertInto('campuses').values({ id: 'c', name: 'C' }).execute();
  await db.insertInto('buildings').values({ id: 'b', campus_id: 'c', name: 'B' }).execute();
  await db.insertInto('dormitories').values({ id: 'd1', building_id: 'b', floor: 1, room: '101' }).execute();
  await ensureAccounts(db, 'd1');
  await ensureAccounts(db, 'd1');
  const at = new Date('2026-10-01T00:00:00Z');
  const posted = await db.transaction().execute((trx) =>
    appendPostings(trx, [
      { dormitoryId: 'd1', purse: 'electricity', kind: 'recharge', amount: 1000, occurredAt: at },
      { dormitoryId: 'd1', purse: 'electricity', kind: 'consumption_charge', amount: -30, usage: 500, occurredAt: at },
      { dormitoryId: 'd1', purse: 'water', kind: 'recharge', amount: 50, occurredAt: at },
      { dormitoryId: 'd1', purse: 'electricity', kind: 'consumption_charge', amount: -1, usage: 16, occurredAt: at },
    ]),
  );
  t.same(posted.map((p) => p.balanceAfter), [1000, 970, 50, 969]);
  const accounts = await db.selectFrom('accounts').select(['purse', 'balance']).orderBy('purse').execute();
  t.same(accounts, [{ purse: 'electricity', balance: 969 }, { purse: 'water', balance: 50 }]);
  t.same((await findBalanceMismatches(db)).mismatches, []);

  await t.rejects(db.updateTable('ledger_entries').set({ amount: 5 }).where('id', '=', posted[0]!.id).execute(), /append-only/);
  await t.rejects(db.deleteFrom('ledger_entries').execute(), /append-only/);
  await t.rejects(
    db.transaction().execute((trx) => appendPostings(trx, [{ dormitoryId: 'nope', purse: 'water', kind: 'recharge', amount: 1, occurredAt: at }])),
    /no water account for dormitory nope/,
  );
  await t.rejects(
    db.transaction().execute((trx) => appendPostings(trx, [{ dormitoryId: 'd1', purse: 'water', kind: 'recharge', amount: 1.5, occurredAt: at }])),
    /integer/,
  );
  await sql`update accounts set balance = balance - 1 where purse = 'water'`.execute(db);
  const { mismatches } = await findBalanceMismatches(db);
  t.same(mismatches.map((m) => [m.dormitoryId, m.purse, m.cachedBalance, m.ledgerSum]), [['d1', 'water', 49, 50]]);
});
