import { randomBytes } from 'node:crypto';
import { connectAsync } from 'mqtt';
import t from 'tap';
import type { GatewayMsg } from '../../src/actors/gateway.actor.ts';
import { dispatch } from '../../src/actors/nact.ts';
import type { ElectricReading } from '../../src/domain/reading.ts';
import { getDormitory, metricValue, startLiveApp, waitFor } from '../helpers/live-app.ts';

/**
 * "Malformed Modbus replies and MQTT payloads (garbage, wrong types, huge) are counted and
 * dropped; no actor dies." Here: MQTT payloads published on a running gateway's telemetry
 * topic, next to the simulator's own, and a meter actor deliberately crashed by a malformed
 * reading handed to its gateway actor.
 */
const GATEWAY = 'GW-B1'; // MQTT
const DORMITORY = 'B-102'; // its campus meter M-B-102 is unit "2" on GW-B1
const METER = 'M-B-102';
const UNIT = '2';
const ROOMS_PER_FLOOR = 4; // a small campus: GW-B1 holds 4 campus meters and 4 water meters

t.test('garbage, mistyped and huge MQTT payloads are counted and dropped; a crashing meter is resumed and keeps billing', async (t) => {
  const test = await startLiveApp(t, {}, { quietAtBoot: true, demoShape: { buildings: 2, floors: 1, roomsPerFloor: ROOMS_PER_FLOOR, occupantsPerRoom: 1 } });
  const { app, admin } = test;
  const db = test.database.db;
  const simulator = app.simulator!;
  const inject = (method: 'GET' | 'POST' | 'PUT', url: string, payload?: object) => app.http.inject({ method, url, headers: admin, ...(payload ? { payload } : {}) });
  const topic = `${test.config.mqttTopicPrefix}/${GATEWAY}/telemetry`;

  await waitFor(`${DORMITORY} online`, async () => (await getDormitory(test, DORMITORY)).online);
  // Spend the dormitory's 10 kWh free quota first, so every Wh billed from here on costs money.
  for (const kind of ['heater', 'air_conditioner'] as const) {
    t.equal((await inject('POST', `/api/simulator/dormitories/${DORMITORY}/appliances`, { kind, circuit: kind === 'heater' ? 'socket' : 'ac' })).statusCode, 201);
  }
  t.equal((await inject('PUT', '/api/simulator/clock', { speed: 3600 })).statusCode, 200);
  await waitFor(`${DORMITORY}'s free quota spent`, async () => {
    await app.runtime.flush();
    return db.selectFrom('ledger_entries').select('id').where('meter_id', '=', METER).where('kind', '=', 'consumption_charge').where('amount', '<', 0).executeTakeFirst();
  }, 30_000, 200);
  t.equal((await inject('PUT', '/api/simulator/clock', { speed: 60 })).statusCode, 200);
  // Garbage on the gateway's own topic: the publisher holds the gateway's credential (the
  // embedded broker lets nobody else publish there; an anonymous external broker needs none).
  const endpoint = simulator.endpoints.gateways.get(GATEWAY);
  const credentials = endpoint?.protocol === 'mqtt' ? endpoint.credentials : undefined;
  const client = await connectAsync(simulator.endpoints.mqttUrl, { clientId: `robustness-${randomBytes(4).toString('hex')}`, clean: true, reconnectPeriod: 0, ...(credentials ? { username: credentials.username, password: credentials.password } : {}) });
  t.teardown(() => client.endAsync(true));

  // ---- malformed MQTT payloads ----
  const validValues = { energyWh: 1, voltageV: 230, currentA: 0, powerW: 0, powerFactor: 1 };
  const circuit = { voltageV: 230, currentA: 0, powerW: 0, powerFactor: 1, energyWh: 1, relayClosed: true };
  const sample = (values: Record<string, unknown>) => JSON.stringify({ [UNIT]: [{ ts: Date.now(), values }] });
  const cases: { what: string; reason: string; payload: Buffer | string }[] = [
    { what: 'random bytes', reason: 'not_json', payload: randomBytes(512) },
    { what: 'truncated JSON', reason: 'not_json', payload: `{"${UNIT}": [{"ts": 1, "values": {"energyWh": 12` },
    { what: 'an array', reason: 'wrong_shape', payload: '[1,2,3]' },
    { what: 'null', reason: 'wrong_shape', payload: 'null' },
    { what: 'a register as a string', reason: 'wrong_type', payload: sample({ ...validValues, energyWh: 'a lot', circuits: { lighting: circuit, socket: circuit, ac: circuit } }) },
    { what: 'a circuit as a number', reason: 'wrong_type', payload: sample({ ...validValues, circuits: { lighting: 5, socket: circuit, ac: circuit } }) },
    { what: 'a negative register', reason: 'out_of_range', payload: sample({ ...validValues, energyWh: -5, circuits: { lighting: circuit, socket: circuit, ac: circuit } }) },
    { what: 'a 300 KiB payload', reason: 'too_large', payload: JSON.stringify({ [UNIT]: [{ ts: Date.now(), values: { ...validValues, padding: 'x'.repeat(300 * 1024) } }] }) },
  ];
  const restartsBefore = await metricValue(test, 'campus_actor_restarts_total');
  const rejectedBefore = await metricValue(test, 'campus_frames_rejected_total');
  for (const c of cases) {
    const label = `reason="${c.reason}"`;
    const before = await metricValue(test, 'campus_frames_rejected_total', label);
    await client.publishAsync(topic, c.payload, { qos: 1 });
    await waitFor(`${c.what} counted as ${c.reason}`, async () => (await metricValue(test, 'campus_frames_rejected_total', label)) > before, 10_000);
    t.pass(`${c.what}: counted as ${c.reason}`);
  }
  t.ok((await metricValue(test, 'campus_frames_rejected_total', 'protocol="mqtt"')) - rejectedBefore >= cases.length, 'every malformed payload counted under protocol="mqtt"');

  // Readings keep flowing through the same gateway, and nothing crashed.
  const handled = await metricValue(test, 'campus_readings_handled_total');
  const seenAt = (await getDormitory(test, DORMITORY) as unknown as { lastReadingAt: number }).lastReadingAt;
  await waitFor('readings handled after the garbage', async () => (await metricValue(test, 'campus_readings_handled_total')) > handled);
  await waitFor(`${DORMITORY} reading again`, async () => (await getDormitory(test, DORMITORY) as unknown as { lastReadingAt: number }).lastReadingAt > seenAt);
  t.equal(await metricValue(test, 'campus_actor_restarts_total'), restartsBefore, 'no actor crashed on malformed payloads');
  const gatewayView = await app.runtime.gateway(GATEWAY);
  t.ok(gatewayView?.online, `${GATEWAY} is alive and online`);
  t.equal(gatewayView?.meters, 2 * ROOMS_PER_FLOOR, `${GATEWAY} still holds its ${2 * ROOMS_PER_FLOOR} meters`);

  // ---- crash the meter actor with a malformed reading, on a frozen simulator ----
  t.equal((await inject('PUT', '/api/simulator/clock', { speed: 0 })).statusCode, 200);
  const register = simulator.campus.dormitory(DORMITORY)!.electric!.read().energyWh;
  await waitFor(`${METER} billed up to the frozen register`, async () => {
    await app.runtime.flush();
    const cursor = await db.selectFrom('billing_cursors').select('register').where('meter_id', '=', METER).executeTakeFirst();
    return cursor?.register === register;
  });
  const balanceBefore = (await getDormitory(test, DORMITORY)).balance;
  const storedBalance = async () => (await db.selectFrom('accounts').select('balance').where('dormitory_id', '=', DORMITORY).where('purse', '=', 'electricity').executeTakeFirstOrThrow()).balance;
  t.equal(await storedBalance(), balanceBefore.electricity, 'the live and the stored balance agree before the crash');
  const entriesBefore = await db.selectFrom('ledger_entries').select('id').where('dormitory_id', '=', DORMITORY).execute();
  const anomaliesBefore = await metricValue(test, 'campus_register_anomalies_total');
  const meterRestartsBefore = await metricValue(test, 'campus_actor_restarts_total', 'actor="meter"');

  const gateway = app.runtime.directory.gateways.get(GATEWAY)!.ref;
  // A plausible register advance (500 Wh), but `circuits: null`: the meter actor throws on it.
  const malformed = {
    type: 'electric',
    unitAddress: UNIT,
    at: app.context.clock.now(),
    energyWh: register + 500,
    voltageV: 230,
    currentA: 1,
    powerW: 230,
    powerFactor: 1,
    circuits: null,
    flags: { coverOpen: false, reverseConnection: false },
    alarmWord: 0,
  } as unknown as ElectricReading;
  dispatch(gateway, { type: 'ReadingArrived', reading: malformed, decodedAtNs: process.hrtime.bigint(), receivedAt: app.context.clock.now() } satisfies GatewayMsg);
  await waitFor('the meter actor crash counted', async () => (await metricValue(test, 'campus_actor_restarts_total', 'actor="meter"')) > meterRestartsBefore);

  const during = await getDormitory(test, DORMITORY);
  t.same(during.balance, balanceBefore, 'the dormitory answers, its balance unchanged by the bad message');
  await app.runtime.flush();
  t.same((await getDormitory(test, DORMITORY)).balance, balanceBefore, 'still unchanged after a flush');
  t.equal(await storedBalance(), balanceBefore.electricity, 'the stored balance is unchanged by the bad message');
  const entriesAfter = await db.selectFrom('ledger_entries').select('id').where('dormitory_id', '=', DORMITORY).execute();
  t.equal(entriesAfter.length, entriesBefore.length, 'the bad message put nothing in the ledger');
  const cursorAfter = await db.selectFrom('billing_cursors').select('register').where('meter_id', '=', METER).executeTakeFirst();
  t.equal(cursorAfter?.register, register, 'the billing cursor did not move');

  // ---- the same meter keeps billing, from where it really was ----
  // Ten simulated minutes a second: each billing post is several fen, even when a busy machine
  // gives the simulator few turns (at 60x, three posts could be under a fen and a 30 s wait ran out).
  t.equal((await inject('PUT', '/api/simulator/clock', { speed: 600 })).statusCode, 200);
  const charges = await waitFor(`${METER} billing again`, async () => {
    await app.runtime.flush();
    const rows = await db
      .selectFrom('ledger_entries')
      .select(['id', 'usage', 'amount', 'details'])
      .where('meter_id', '=', METER)
      .where('kind', '=', 'consumption_charge')
      .where('id', '>', Math.max(0, ...entriesBefore.map((e) => e.id)))
      .orderBy('id')
      .execute();
    // Three charges, and at least one fen among them: on a slow machine a charge can be a few Wh,
    // less than a fen, carried to the next one.
    return rows.length >= 3 && rows.some((row) => Number(row.amount) !== 0) ? rows : undefined;
  }, 120_000, 200);
  t.equal((charges[0]!.details as { fromRegister: number }).fromRegister, register, 'billing resumed from the real register, not the bad one');
  let from = register;
  for (const c of charges) {
    const details = c.details as { fromRegister: number; toRegister: number };
    t.equal(details.fromRegister, from, `charge ${c.id} continues the chain`);
    from = details.toRegister;
  }
  t.equal(await metricValue(test, 'campus_register_anomalies_total'), anomaliesBefore, 'no register anomaly (backwards or jump) after the crash');
  const after = await getDormitory(test, DORMITORY);
  t.ok(after.balance.electricity < balanceBefore.electricity, `and charges money again (${balanceBefore.electricity} -> ${after.balance.electricity})`);
  t.ok(after.online && after.state !== 'offline', `${DORMITORY} is online (${after.state})`);
  t.ok((await app.runtime.gateway(GATEWAY))?.online, `${GATEWAY} is still alive`);
  t.equal(await metricValue(test, 'campus_actor_restarts_total', 'actor="meter"'), meterRestartsBefore + 1, 'exactly one crash');
  t.equal(await metricValue(test, 'campus_actor_restarts_total') - restartsBefore, 1, 'no other actor crashed');

  const { findBalanceMismatches } = await import('../../src/db/ledger.repository.ts');
  t.same((await findBalanceMismatches(db)).mismatches, [], 'ledger and balances reconcile');
});
