import t from 'tap';
import { getDormitory, metricValue, startLiveApp, waitFor } from '../helpers/live-app.ts';

t.test('arrears: a dormitory that runs out of money is cut off and comes back on recharge', async (t) => {
  // One floor of 17 rooms (A-101 … A-117): at 3,600x every room burns its money, so a bigger
  // campus only adds cuts and postings the test does not look at, which a busy machine falls behind on.
  const test = await startLiveApp(t, {}, { quietAtBoot: true, demoShape: { buildings: 1, floors: 1, roomsPerFloor: 17, occupantsPerRoom: 4 } });
  const { app, admin } = test;
  const inject = (method: 'GET' | 'POST' | 'PUT', url: string, payload?: object) => app.http.inject({ method, url, headers: admin, ...(payload ? { payload } : {}) });

  // A-117 starts with 150 fen and 10 kWh free: a heater and a kettle at 3600x burn through both.
  const start = await getDormitory(test, 'A-117');
  t.equal(start.balance.electricity, 150);
  await waitFor('A-117 online', async () => (await getDormitory(test, 'A-117')).online);
  t.equal((await inject('POST', '/api/simulator/dormitories/A-117/appliances', { kind: 'heater', circuit: 'socket' })).statusCode, 201);
  t.equal((await inject('POST', '/api/simulator/dormitories/A-117/appliances', { kind: 'kettle', circuit: 'lighting' })).statusCode, 201);
  t.equal((await inject('PUT', '/api/simulator/clock', { speed: 3600 })).statusCode, 200);

  const cut = await waitFor('A-117 cut for arrears with every circuit off', async () => {
    const d = await getDormitory(test, 'A-117');
    return d.state === 'cut_arrears' && d.circuits.every((c) => c.supply === 'off' && c.cutReason === 'arrears') ? d : undefined;
  }, 40_000);
  await inject('PUT', '/api/simulator/clock', { speed: 0 });
  t.ok(cut.balance.electricity < 0, `balance went below zero (${cut.balance.electricity})`);
  // The relay's read-back can reach the circuit before the gateway confirms the command: wait
  // for the confirmations to be committed rather than reading them once.
  const cuts = await waitFor('the three arrears cuts confirmed in the database', async () => {
    await app.runtime.flush();
    const rows = await test.database.db.selectFrom('commands').selectAll().where('dormitory_id', '=', 'A-117').where('action', '=', 'cut').execute();
    return rows.length >= 3 && rows.every((c) => c.state === 'confirmed') ? rows : undefined;
  }, 40_000);
  t.equal(cuts.length, 3, 'one cut per circuit');
  t.ok(cuts.every((c) => c.state === 'confirmed' && c.reason === 'arrears' && c.requested_by === 'system'), 'confirmed by read-back');
  const events = await test.database.db.selectFrom('events').select(['kind', 'to_state']).where('dormitory_id', '=', 'A-117').where('kind', '=', 'dormitory_state').execute();
  t.ok(events.some((e) => e.to_state === 'cut_arrears'), 'the transition is an event');

  const recharge = await inject('POST', '/api/dormitories/A-117/recharges', { amount: 10_000, method: 'online', reference: 'arrears-test-1' });
  t.equal(recharge.statusCode, 201);
  const restored = await waitFor('A-117 restored', async () => {
    const d = await getDormitory(test, 'A-117');
    return d.state !== 'cut_arrears' && d.circuits.every((c) => c.supply === 'on' && c.cutReason === null) ? d : undefined;
  });
  t.ok(restored.balance.electricity > 0);
  const latency = await metricValue(test, 'campus_reading_to_command_seconds_count');
  t.ok(latency >= 3, 'reading-caused cuts are in the latency histogram');

  const { mismatches } = await import('../../src/db/ledger.repository.ts').then((m) => m.findBalanceMismatches(test.database.db));
  t.same(mismatches, [], 'ledger and balances reconcile');
});

