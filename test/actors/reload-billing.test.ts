import { randomBytes } from 'node:crypto';
import t from 'tap';
import { SimulatedClock } from '../../src/clock.ts';
import { reconcile } from '../../src/services/reconcile.service.ts';
import { quietRules, waitFor } from '../helpers/live-app.ts';
import { createTestApp } from '../helpers/test-app.ts';

/**
 * Issue 8: adding a meter to a running dormitory rebuilds its actors. The reload must read the
 * billing cursor only after the old meter's pending charge is committed, or the same register
 * range (and the free quota) is charged twice. The clock is frozen and moved by the test, the
 * old meter holds its charge (a long posting interval) and the ledger commits slowly, so the
 * window the bug needs is wide open every time.
 */
// A baseline on New Year's Eve: the pending charge of the next step holds January's quota grant.
const START = Date.parse('2026-12-31T20:00:00+08:00');

t.test('reloading a dormitory during consumption bills the register advance exactly once', async (t) => {
  const test = await createTestApp(t, {
    // A frozen clock at a fixed instant (not the wall clock): seed and boot on 2026-12-31 14:00 local.
    clock: new SimulatedClock(START - 6 * 3_600_000, 0),
    env: {
      SIMULATE: 'true',
      SIMULATOR_SPEED: '0',
      POLL_INTERVAL_MS: '50',
      BILLING_POST_INTERVAL_MS: '86400000',
      LEDGER_FLUSH_MS: '400',
      MQTT_TOPIC_PREFIX: `t${randomBytes(4).toString('hex')}/campus`,
      ...(process.env.MQTT_URL ? { MQTT_URL: process.env.MQTT_URL } : {}),
    },
    demoShape: { buildings: 1, floors: 1, roomsPerFloor: 1, occupantsPerRoom: 1 }, // A-101 alone on GW-A1
  });
  const { app, database } = test;
  const db = database.db;
  await app.start();
  const admin = await test.login('admin', 'test-admin-password');
  await quietRules({ app, admin });
  for (const purse of ['electricity', 'water']) {
    const recharge = await app.http.inject({ method: 'POST', url: '/api/dormitories/A-101/recharges', headers: admin, payload: { amount: 10_000_000, purse, method: 'cash', reference: `reload-${purse}` } });
    t.equal(recharge.statusCode, 201, `${purse} recharged: no arrears cut stops the load`);
  }

  const simulator = app.simulator!;
  simulator.campus.plug('A-101', 'lamp', 'lighting'); // a load that is always on: every step consumes
  const register = () => (simulator.campus.dormitory('A-101')!.electric!.read() as { energyWh: number }).energyWh;
  const readAt = async (at: number) => (await app.runtime.liveDormitory('A-101'))?.lastReadingAt === at;
  const move = async (at: number) => {
    simulator.setClock({ timeMs: at });
    await waitFor(`a reading at ${new Date(at).toISOString()}`, () => readAt(at), 10_000, 10);
  };
  const sums = async () => {
    const row = await db
      .selectFrom('ledger_entries')
      .select((eb) => [eb.fn.coalesce(eb.fn.sum<number>('usage'), eb.lit(0)).as('usage'), eb.fn.coalesce(eb.fn.sum<number>('amount'), eb.lit(0)).as('amount'), eb.fn.countAll<number>().as('n')])
      .where('meter_id', '=', 'M-A-101')
      .where('kind', '=', 'consumption_charge')
      .executeTakeFirstOrThrow();
    return { usage: Number(row.usage), amount: Number(row.amount) };
  };
  const grants = async () => Number((await db.selectFrom('ledger_entries').select((eb) => eb.fn.countAll<number>().as('n')).where('meter_id', '=', 'M-A-101').where('kind', '=', 'quota_grant').executeTakeFirstOrThrow()).n);

  // A baseline, committed, on New Year's Eve.
  const start = START;
  await move(start);
  await app.runtime.flush();
  const baseline = { register: register(), ...(await sums()), grants: await grants() };
  t.equal((await db.selectFrom('billing_cursors').select('register').where('meter_id', '=', 'M-A-101').executeTakeFirstOrThrow()).register, baseline.register, 'the cursor is at the register');

  // Consumption the old meter holds as a pending charge; then a meter is installed (reload).
  await move(start + 12 * 3_600_000);
  t.ok(register() > baseline.register, 'the room consumed energy', { live: await app.runtime.liveDormitory('A-101'), register: register(), baseline });
  const installed = await app.http.inject({ method: 'POST', url: '/api/dormitories/A-101/meters', headers: admin, payload: { id: 'M-A-101-extra', kind: 'electric', profile: 'sdm120', gatewayId: 'GW-A1', unitAddress: '77' } });
  t.equal(installed.statusCode, 201, 'a meter is installed in the running dormitory');
  // More consumption after the reload, read by the new meter actor.
  await move(start + 24 * 3_600_000);
  await app.runtime.flush();

  const after = await sums();
  const advance = register() - baseline.register;
  t.equal(after.usage - baseline.usage, advance, `billed energy ${after.usage - baseline.usage} Wh equals the register advance ${advance} Wh`);
  t.equal(await grants(), baseline.grants + 1, "January's free quota was granted once");
  const cursor = await db.selectFrom('billing_cursors').select('register').where('meter_id', '=', 'M-A-101').executeTakeFirstOrThrow();
  t.equal(cursor.register, register(), 'the cursor is at the register');
  const live = await app.runtime.liveDormitory('A-101');
  const account = await db.selectFrom('accounts').select('balance').where('dormitory_id', '=', 'A-101').where('purse', '=', 'electricity').executeTakeFirstOrThrow();
  t.equal(live?.balance.electricity, account.balance, 'the live balance equals the committed balance');
  t.ok((await reconcile(db)).ok, 'reconcile is clean');
});
