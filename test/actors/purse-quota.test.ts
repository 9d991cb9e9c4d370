import t from 'tap';
import { appendPostings } from '../../src/db/ledger.repository.ts';
import { reconcile } from '../../src/services/reconcile.service.ts';
import { createForgedMeters } from '../helpers/forged-meters.ts';

/**
 * Issue 8: the free quota and the tier position belong to the dormitory's purse, not to each
 * meter. Two electricity meters in one room (MQTT units read from frames this test publishes,
 * on a frozen clock it moves) share one monthly grant and one tier position, across a reload
 * (the purse's state is committed with the charges and read back) and a month end.
 * Tariff: 5 kWh free a month; tier 1 up to 10 kWh at 50 fen/kWh, then 100 fen/kWh.
 */
const QUOTA = 5_000;
const TIER1 = 50_000;
const TIER2 = 100_000;
const fen = (wh: number, rate: number) => (wh * rate) / 1e6;
const local = (iso: string) => Date.parse(`${iso}+08:00`);

t.test('two meters of one purse: one monthly quota grant, one tier position', async (t) => {
  const test = await createForgedMeters(t, local('2026-12-31T20:00:00'));
  const { app, database, clock } = test;
  const db = database.db;
  await db.transaction().execute(async (trx) => {
    await trx.insertInto('campuses').values({ id: 'c', name: 'Campus', utc_offset_minutes: 480 }).execute();
    await trx.insertInto('buildings').values({ id: 'B', campus_id: 'c', name: 'B', floors: 1 }).execute();
    await trx.insertInto('tariffs').values({ id: 'tiers', name: 'Tiers', purse: 'electricity', definition: JSON.stringify({ kind: 'tiered', tiers: [{ upTo: 10_000, rate: TIER1 }, { upTo: null, rate: TIER2 }] }) }).execute();
    await trx.insertInto('free_quota_policies').values({ id: 'q', name: '5 kWh', purse: 'electricity', allowance: QUOTA }).execute();
    await trx.insertInto('gateways').values({ id: 'GW', campus_id: 'c', building_id: 'B', protocol: 'mqtt', address: 'GW' }).execute();
    await trx.insertInto('dormitories').values({ id: 'D-1', building_id: 'B', floor: 1, room: '101', electricity_tariff_id: 'tiers', electricity_quota_id: 'q' }).execute();
    await trx
      .insertInto('meters')
      .values([
        { id: 'M-1', dormitory_id: 'D-1', kind: 'electric', profile: 'sdm120', gateway_id: 'GW', unit_address: '1' },
        { id: 'M-2', dormitory_id: 'D-1', kind: 'electric', profile: 'sdm120', gateway_id: 'GW', unit_address: '2' },
      ])
      .execute();
    await trx.insertInto('accounts').values([{ dormitory_id: 'D-1', purse: 'electricity' }, { dormitory_id: 'D-1', purse: 'water' }]).execute();
    await appendPostings(trx, [{ dormitoryId: 'D-1', purse: 'electricity', kind: 'adjustment', amount: 100_000, operator: 'seed', occurredAt: new Date(clock.now()), details: {} }]);
  });
  await test.start({ '1': 'M-1', '2': 'M-2' });
  const charges = async (meterId: string) =>
    (await db.selectFrom('ledger_entries').select('amount').where('meter_id', '=', meterId).where('kind', '=', 'consumption_charge').orderBy('id').execute()).map((r) => -Number(r.amount));
  const grants = () => db.selectFrom('ledger_entries').select(['usage', 'details']).where('dormitory_id', '=', 'D-1').where('kind', '=', 'quota_grant').orderBy('id').execute();

  // December: both meters open; one grant for the room.
  await test.read('1', 0);
  await test.read('2', 0);
  t.equal((await grants()).length, 1, "opening a second meter grants the room's quota no second time");
  clock.advance(3_600_000); // 21:00
  await test.read('1', 6_000); // position 0..6000: 5000 free, 1000 at tier 1
  await test.read('2', 6_000); // position 6000..12000: no quota left, 4000 at tier 1, 2000 at tier 2
  t.same(await charges('M-1'), [fen(1_000, TIER1)], 'the first meter uses the free quota');
  t.same(await charges('M-2'), [fen(4_000, TIER1) + fen(2_000, TIER2)], "the second meter has no quota of its own and continues the room's tier position");

  t.ok(await app.runtime.reloadDormitory('D-1'), 'the dormitory is rebuilt from the database (as at a restart)');
  const saved = await db.selectFrom('purse_billing_states').select('billing_state').where('dormitory_id', '=', 'D-1').where('purse', '=', 'electricity').executeTakeFirstOrThrow();
  t.match(saved.billing_state, { monthKey: '2026-12', monthUsage: 12_000, freeRemaining: 0 }, "the purse's state is committed with the charges");
  clock.advance(3_600_000); // 22:00
  await test.read('1', 7_000);
  t.same((await charges('M-1')).at(-1), fen(1_000, TIER2), 'after the reload the tier position is the room\'s (tier 2), and no quota came back');

  // Month end: each meter's December tail, then January's usage against one January grant.
  clock.jumpTo(local('2027-01-01T00:00:00'));
  await test.read('1', 7_500);
  await test.read('2', 9_000);
  clock.jumpTo(local('2027-01-01T02:00:00'));
  await test.read('1', 8_000); // January: the grant, 500 free
  await test.read('2', 11_000); // 2000 free
  clock.advance(3_600_000);
  await test.read('1', 12_000); // 2500 free, 1500 at tier 1
  t.same(await charges('M-1'), [fen(1_000, TIER1), fen(1_000, TIER2), fen(500, TIER2), 0, fen(1_500, TIER1)], 'M-1 charged against the room\'s quota and tiers');
  t.same(await charges('M-2'), [fen(4_000, TIER1) + fen(2_000, TIER2), fen(3_000, TIER2), 0], 'M-2 likewise');
  const granted = await grants();
  t.same(granted.map((g) => [Number(g.usage), (g.details as { month: string }).month]), [[QUOTA, '2026-12'], [QUOTA, '2027-01']], 'one grant a month for the room, however many meters');
  const report = await reconcile(db);
  t.equal(report.mismatches.length, 0, 'reconcile is clean');
});
