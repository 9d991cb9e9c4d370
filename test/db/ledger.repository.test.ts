import t, { type Test } from 'tap';
import { sql } from 'kysely';
import { appendPostings, ensureAccounts, findBalanceMismatches } from '../../src/db/ledger.repository.ts';
import { createTestDatabase } from '../helpers/test-database.ts';

/** A test database with campus c and building b, closed with the test. */
async function campusDatabase(t: Test) {
  const database = await createTestDatabase();
  t.teardown(() => database.close());
  const { db } = database;
  await db.insertInto('campuses').values({ id: 'c', name: 'C' }).execute();
  await db.insertInto('buildings').values({ id: 'b', campus_id: 'c', name: 'B' }).execute();
  return db;
}

t.test('postings keep running balances; the ledger refuses updates and deletes', async (t) => {
  const db = await campusDatabase(t);
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

t.test('one call over thousands of accounts: every running balance right, a missing account refuses the whole batch, and concurrent posters in opposite orders do not deadlock', async (t) => {
  const db = await campusDatabase(t);
  const rooms = 2_300; // 4,600 accounts: five slices of set-based statements
  const ids = Array.from({ length: rooms }, (_, i) => `R-${String(i).padStart(5, '0')}`);
  await db.insertInto('dormitories').values(ids.map((id, i) => ({ id, building_id: 'b', floor: 1 + (i % 9), room: id }))).execute();
  await db.insertInto('accounts').values(ids.flatMap((id) => [{ dormitory_id: id, purse: 'electricity' as const }, { dormitory_id: id, purse: 'water' as const }])).execute();
  const at = new Date('2026-10-01T00:00:00Z');
  // Interleaved, rooms in descending order, several postings per account: the entries keep the order given.
  const postings = [...ids].reverse().flatMap((id, i) => [
    { dormitoryId: id, purse: 'electricity' as const, kind: 'recharge' as const, amount: 1_000 + i, occurredAt: at },
    { dormitoryId: id, purse: 'water' as const, kind: 'recharge' as const, amount: 7, occurredAt: at },
    { dormitoryId: id, purse: 'electricity' as const, kind: 'consumption_charge' as const, amount: -(i % 13), usage: i % 13, occurredAt: at },
  ]);
  const posted = await db.transaction().execute((trx) => appendPostings(trx, postings));
  t.equal(posted.length, postings.length, 'every posting appended');
  const expected = new Map<string, number>();
  const wrong = posted.filter((entry, n) => {
    const key = `${entry.dormitoryId}/${entry.purse}`;
    const balance = (expected.get(key) ?? 0) + postings[n]!.amount;
    expected.set(key, balance);
    return entry.dormitoryId !== postings[n]!.dormitoryId || entry.balanceAfter !== balance;
  });
  t.same(wrong, [], 'each entry carries its account, in order, with its running balance');
  const balances = await db.selectFrom('accounts').select(['dormitory_id', 'purse', 'balance']).execute();
  t.equal(balances.filter((a) => a.balance !== expected.get(`${a.dormitory_id}/${a.purse}`)).length, 0, "every account's balance is the sum of its postings");
  t.same((await findBalanceMismatches(db)).mismatches, [], 'reconcile: no mismatch');

  const before = await db.selectFrom('ledger_entries').select(db.fn.countAll<number>().as('n')).executeTakeFirstOrThrow();
  const withStranger = [...postings.slice(0, 3_000), { dormitoryId: 'R-99999', purse: 'water' as const, kind: 'recharge' as const, amount: 1, occurredAt: at }, ...postings.slice(3_000)];
  await t.rejects(db.transaction().execute((trx) => appendPostings(trx, withStranger)), /no water account for dormitory R-99999/, 'an account that does not exist is named');
  const after = await db.selectFrom('ledger_entries').select(db.fn.countAll<number>().as('n')).executeTakeFirstOrThrow();
  t.equal(Number(after.n), Number(before.n), 'and nothing of that batch was written');
  t.same((await findBalanceMismatches(db)).mismatches, [], 'no balance moved either');

  // Two posters at once over the same 200 accounts, given in opposite orders (a real server: PostgreSQL locks rows).
  const some = ids.slice(0, 100);
  const batch = (order: string[], amount: number) => order.flatMap((id) => (['electricity', 'water'] as const).map((purse) => ({ dormitoryId: id, purse, kind: 'recharge' as const, amount, occurredAt: at })));
  for (let round = 0; round < 5; round++) {
    await Promise.all([db.transaction().execute((trx) => appendPostings(trx, batch(some, 3))), db.transaction().execute((trx) => appendPostings(trx, batch([...some].reverse(), 5)))]);
  }
  const moved = await db.selectFrom('accounts').select(['dormitory_id', 'purse', 'balance']).where('dormitory_id', 'in', some).execute();
  t.ok(moved.every((a) => a.balance === expected.get(`${a.dormitory_id}/${a.purse}`)! + 5 * (3 + 5)), 'five rounds of both posters landed on every account, none lost');
  t.same((await findBalanceMismatches(db)).mismatches, [], 'reconcile: no mismatch after the concurrent posters');
});
