import t from 'tap';
import { appendPostings, ensureAccounts } from '../../src/db/ledger.repository.ts';
import { estimateDaysLeft } from '../../src/domain/days-left.ts';
import { checkDaysLeft, daysLeftOf } from '../../src/services/days-left.service.ts';
import { createTestDatabase } from '../helpers/test-database.ts';

/**
 * Days of credit left (issue 11) against a hand computation on a fixed ledger history, and
 * its notification once per crossing. Runs on PGlite, and on PostgreSQL when DATABASE_URL is set.
 */
const NOW = Date.parse('2026-10-08T04:00:00Z');
const DAY = 86_400_000;

t.test('the estimate matches a hand computation; "about N days left" is announced once per crossing', async (t) => {
  const database = await createTestDatabase();
  t.teardown(() => database.close());
  const { db } = database;
  await db.insertInto('campuses').values({ id: 'c', name: 'C' }).execute();
  await db.insertInto('buildings').values({ id: 'b', campus_id: 'c', name: 'B' }).execute();
  await db.insertInto('dormitories').values({ id: 'd1', building_id: 'b', floor: 1, room: 'd1' }).execute();
  await ensureAccounts(db, 'd1');
  await db.insertInto('occupants').values({ student_number: 'S1', name: 'S1' }).execute();
  await db.insertInto('occupancies').values({ student_number: 'S1', dormitory_id: 'd1', from_day: '2026-09-01', checked_in_at: new Date(NOW - 30 * DAY), checked_in_by: 'admin' }).execute();
  const post = (kind: 'recharge' | 'consumption_charge', purse: 'electricity' | 'water', amount: number, at: number) =>
    appendPostings(db, [{ dormitoryId: 'd1', purse, kind, amount, usage: kind === 'recharge' ? null : 1, occurredAt: new Date(at), details: {} }]);
  await post('recharge', 'electricity', 20_000, NOW - 10 * DAY);
  await post('consumption_charge', 'electricity', -1_000, NOW - 8 * DAY); // outside the 7-day window
  for (const [daysAgo, fen] of [[6.5, 300], [5.5, 200], [4.5, 400], [3.5, 100], [2.5, 500], [1.5, 250]] as const) await post('consumption_charge', 'electricity', -fen, NOW - daysAgo * DAY);
  await post('consumption_charge', 'water', -70, NOW - 2 * DAY);

  // By hand: electricity charged in the window 300+200+400+100+500+250 = 1750 fen, 250 fen/day;
  // balance 20000 - 1000 - 1750 = 17250 fen; 17250 / 250 = 69.0 days. Water: 70/7 = 10 fen/day, balance -70: 0 days.
  const first = (await daysLeftOf(db, ['d1'], NOW)).get('d1');
  t.same(first, { electricity: { days: 69, dailyUseFen: 250 }, water: { days: 0, dailyUseFen: 10 } });
  t.same(await checkDaysLeft(db, ['d1'], NOW, 3), ['d1|water'], 'water is below 3 days: announced');
  t.same(await checkDaysLeft(db, ['d1'], NOW, 3), [], 'once per crossing');

  await post('consumption_charge', 'electricity', -15_000, NOW - 3_600_000);
  // By hand: charged 16750 in the window, 2392.857 fen/day; balance 2250; 2250 / 2392.857 = 0.94 -> 0.9 days.
  t.same((await daysLeftOf(db, ['d1'], NOW)).get('d1')!.electricity, { days: 0.9, dailyUseFen: 2393 });
  t.same(await checkDaysLeft(db, ['d1'], NOW, 3), ['d1|electricity'], 'electricity crosses the line');
  await post('recharge', 'electricity', 100_000, NOW);
  t.same(await checkDaysLeft(db, ['d1'], NOW + 1, 3), [], 'back above the line: re-armed, nothing announced');
  await post('consumption_charge', 'electricity', -100_000, NOW + 2);
  t.same(await checkDaysLeft(db, ['d1'], NOW + 3, 3), ['d1|electricity'], 'a new crossing is announced again');
  const notes = await db.selectFrom('notifications').select(['recipient', 'kind', 'message']).orderBy('id').execute();
  t.same(notes.map((n) => n.message), ['about 0 days of water credit left', 'about 0.9 days of electricity credit left', 'about 0.1 days of electricity credit left']);
  t.ok(notes.every((n) => n.recipient === 'S1' && n.kind === 'days_left'));
  t.same(estimateDaysLeft(1000, 0), { days: null, dailyUseFen: 0 }, 'no consumption: no estimate');
});
