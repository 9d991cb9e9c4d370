import t from 'tap';
import { appendPostings } from '../../src/db/ledger.repository.ts';
import { generateDueBills, watchMonthlyBills } from '../../src/services/monthly-bill.service.ts';
import { SimulatedClock } from '../../src/clock.ts';
import { createTestDatabase } from '../helpers/test-database.ts';
import { ensureAccounts } from '../../src/db/ledger.repository.ts';

/**
 * Monthly bills catch up after downtime, in order, once: on a fixed ledger history of a UTC+8
 * campus with two rooms, one of them shared. PGlite, and PostgreSQL with DATABASE_URL.
 */
const local = (iso: string) => new Date(`${iso}+08:00`);

t.test('every ended month is billed once, in order, from the first entry; opening = last closing; a share per occupant', async (t) => {
  const database = await createTestDatabase();
  t.teardown(() => database.close());
  const { db } = database;
  await db.insertInto('campuses').values({ id: 'c', name: 'C', utc_offset_minutes: 480 }).execute();
  await db.insertInto('buildings').values({ id: 'b', campus_id: 'c', name: 'B' }).execute();
  await db.insertInto('dormitories').values([{ id: 'd1', building_id: 'b', floor: 1, room: '1' }, { id: 'd2', building_id: 'b', floor: 1, room: '2' }]).execute();
  await ensureAccounts(db, 'd1');
  await ensureAccounts(db, 'd2');
  await db.insertInto('occupants').values([{ student_number: 'S1', name: 'S1' }, { student_number: 'S2', name: 'S2' }]).execute();
  // S1 all of February on; S2 from 2026-02-11 (so 18 of February's 28 days).
  await db.insertInto('occupancies').values([
    { student_number: 'S1', dormitory_id: 'd1', from_day: '2026-01-20', checked_in_at: local('2026-01-20T09:00:00'), checked_in_by: 'a' },
    { student_number: 'S2', dormitory_id: 'd1', from_day: '2026-02-11', checked_in_at: local('2026-02-11T09:00:00'), checked_in_by: 'a' },
  ]).execute();
  const post = (dormitoryId: string, kind: 'recharge' | 'consumption_charge' | 'refund' | 'adjustment' | 'quota_grant', amount: number, at: string, extra: { usage?: number; details?: Record<string, unknown> } = {}) =>
    appendPostings(db, [{ dormitoryId, purse: 'electricity', kind, amount, occurredAt: local(at), usage: extra.usage ?? null, details: extra.details ?? {} }]);
  await post('d1', 'adjustment', 5_000, '2026-01-20T10:00:00');
  await post('d1', 'consumption_charge', -1_200, '2026-01-31T23:59:00', { usage: 2_000, details: { freeUsed: 0, parts: [{ label: 'peak', rate: 600_000, usage: 2_000, version: 1 }] } });
  await post('d1', 'quota_grant', 0, '2026-02-01T00:00:00', { usage: 10_000 });
  await post('d1', 'consumption_charge', -700, '2026-02-10T12:00:00', { usage: 11_000, details: { freeUsed: 10_000, parts: [{ label: 'peak', rate: 600_000, usage: 500, version: 1 }, { label: 'valley', rate: 400_000, usage: 1_000, version: 1 }] } });
  await post('d1', 'consumption_charge', -280, '2026-02-20T12:00:00', { usage: 700, details: { freeUsed: 0, parts: [{ label: 'valley', rate: 400_000, usage: 700, version: 1 }] } });
  await post('d1', 'refund', -300, '2026-02-25T12:00:00');
  await post('d2', 'recharge', 900, '2026-02-28T23:59:59');
  await post('d2', 'adjustment', -50, '2026-03-01T00:00:00'); // March, not February

  // The server was down over two month ends: on 2026-03-02 it bills January and February.
  const runs = await generateDueBills(db, local('2026-03-02T00:00:00').getTime(), undefined);
  t.same(runs, [{ campusId: 'c', month: '2026-01', bills: 4 }, { campusId: 'c', month: '2026-02', bills: 4 }], 'January then February, both rooms and purses; March has not ended');
  t.same(await generateDueBills(db, local('2026-03-02T00:00:00').getTime(), undefined), [], 'a second run bills nothing');
  t.same(await generateDueBills(db, local('2026-04-01T00:20:00').getTime(), undefined), [], 'within the grace after March ends, March waits for late readings');

  const bill = async (month: string, dormitoryId: string) => db.selectFrom('monthly_bills').selectAll().where('month', '=', month).where('dormitory_id', '=', dormitoryId).where('purse', '=', 'electricity').executeTakeFirstOrThrow();
  const jan = await bill('2026-01', 'd1');
  t.match(jan, { opening: 0, adjustments: 5_000, charges: 1_200, usage: 2_000, closing: 3_800 }, 'January: the opening adjustment and a charge one minute before local midnight');
  const feb = await bill('2026-02', 'd1');
  t.match(feb, { opening: 3_800, recharges: 0, charges: 980, refunds: 300, adjustments: 0, closing: 2_520, usage: 11_700, quota_granted: 10_000, quota_used: 10_000 }, "February opens at January's close: 3800 - 700 - 280 - 300 = 2520");
  t.same(feb.periods, [{ label: 'peak', rate: 600_000, version: 1, usage: 500 }, { label: 'valley', rate: 400_000, version: 1, usage: 1_700 }], 'usage by tariff period');
  // By hand: Feb 10's 700 fen is S1's alone (S2 arrives on the 11th); Feb 20's 280 split 140/140;
  // the refund (-300, a shared entry on the 25th) split -150/-150.
  t.same(
    feb.shares.map((s) => [s.studentId, s.days, s.consumptionShareFen, s.sharedCreditShareFen, s.equityFen]),
    [
      ['S1', 28, -840, -150, -990],
      ['S2', 18, -140, -150, -290],
    ],
    "each occupant's share of the month",
  );
  t.match(await bill('2026-02', 'd2'), { opening: 0, recharges: 900, closing: 900, shares: [] }, "d2's recharge a second before local midnight is February's; its March adjustment is not");

  // The watcher bills March once it ends (and the grace passes) on the injected clock.
  const clock = new SimulatedClock(local('2026-03-31T23:00:00').getTime(), 0);
  const billed: string[] = [];
  let checked: () => void = () => undefined;
  const nextCheck = () => new Promise<void>((resolve) => (checked = resolve));
  const first = nextCheck();
  const stop = watchMonthlyBills({ db, clock, onError: (e) => t.error(e), onBilled: (r) => billed.push(...r.map((x) => x.month)), onChecked: () => checked() });
  t.teardown(stop);
  await first;
  t.same(billed, [], 'nothing is due an hour before the month ends');
  const second = nextCheck();
  clock.jumpTo(local('2026-04-01T00:31:00').getTime());
  await second;
  await stop();
  t.same(billed, ['2026-03'], 'March is billed at its end, without a restart');
  t.match(await bill('2026-03', 'd2'), { opening: 900, adjustments: -50, closing: 850 }, 'March opens at February close');
  clock.dispose();
});
