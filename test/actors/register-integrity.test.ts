import { randomBytes } from 'node:crypto';
import mqtt from 'mqtt';
import t from 'tap';
import { SimulatedClock } from '../../src/clock.ts';
import { appendPostings } from '../../src/db/ledger.repository.ts';
import { anonymousBroker } from '../helpers/open-broker.ts';
import { reconcile } from '../../src/services/reconcile.service.ts';
import { metricValue, waitFor } from '../helpers/live-app.ts';
import { createTestApp } from '../helpers/test-app.ts';

/**
 * Issue 8 on the running app, with meter frames published by this test through a real MQTT
 * broker (no simulator: every register and every `ts` is chosen here) and a frozen server
 * clock moved by the test:
 * - a gap after downtime is priced across the TOU periods and the month end it spans;
 * - a forged `ts` two years ahead grants no quota, moves no cursor into the future, widens no
 *   plausibility limit (a forged 50 MWh jump is held, not billed) and stalls nothing;
 * - a held register raises one alarm and is resolved over REST (void, accept), audited;
 * - a register that goes backwards holds billing until the meter is replaced over REST;
 * - a u32 water register is billed across its wrap;
 * - a tariff found invalid at boot holds that meter's billing with a critical alarm, and
 *   billing resumes from the cursor once the tariff is fixed.
 */
const MINUTE = 60_000;
const PEAK = 60_000; // milli-fen per kWh, 08:00-22:00
const VALLEY = 30_000; // 22:00-08:00
const WATER_RATE = 300_000; // milli-fen per m3
const QUOTA_WH = 10_000;
const WRAP = 2 ** 32;
const local = (iso: string) => Date.parse(`${iso}+08:00`);

t.test('billing stays exact and physical against gaps, forged clocks, jumps, swaps, wraps and bad tariffs', async (t) => {
  let mqttUrl = process.env.MQTT_URL || undefined;
  if (!mqttUrl) {
    const broker = anonymousBroker();
    mqttUrl = (await broker.start()).url;
    t.teardown(() => broker.stop());
  }
  const prefix = `t${randomBytes(4).toString('hex')}/campus`;
  const clock = new SimulatedClock(local('2026-12-31T07:00:00'), 0);
  t.teardown(() => clock.dispose());
  const test = await createTestApp(t, { seedDemo: false, clock, env: { MQTT_URL: mqttUrl, MQTT_TOPIC_PREFIX: prefix, BILLING_POST_INTERVAL_MS: '0', LEDGER_FLUSH_MS: '20' } });
  const { app, database } = test;
  const db = database.db;
  await db.transaction().execute(async (trx) => {
    await trx.insertInto('campuses').values({ id: 'c', name: 'Campus', utc_offset_minutes: 480 }).execute();
    await trx.insertInto('buildings').values({ id: 'B', campus_id: 'c', name: 'B', floors: 1 }).execute();
    await trx
      .insertInto('tariffs')
      .values([
        { id: 'tou', name: 'TOU', purse: 'electricity', definition: JSON.stringify({ kind: 'time_of_use', periods: [{ name: 'peak', from: '08:00', to: '22:00', rate: PEAK }, { name: 'valley', from: '22:00', to: '08:00', rate: VALLEY }] }) },
        { id: 'water', name: 'Water', purse: 'water', definition: JSON.stringify({ kind: 'single', rate: WATER_RATE }) },
        // Saved before validation on write existed: a one-minute hole at noon.
        { id: 'broken', name: 'Broken', purse: 'electricity', definition: JSON.stringify({ kind: 'time_of_use', periods: [{ name: 'am', from: '00:00', to: '12:00', rate: PEAK }, { name: 'pm', from: '12:01', to: '00:00', rate: PEAK }] }) },
      ])
      .execute();
    await trx.insertInto('free_quota_policies').values({ id: 'q', name: '10 kWh', purse: 'electricity', allowance: QUOTA_WH }).execute();
    await trx.insertInto('gateways').values({ id: 'GW', campus_id: 'c', building_id: 'B', protocol: 'mqtt', address: 'GW' }).execute();
    await trx
      .insertInto('dormitories')
      .values([
        { id: 'D-1', building_id: 'B', floor: 1, room: '101', electricity_tariff_id: 'tou', water_tariff_id: 'water', electricity_quota_id: 'q' },
        { id: 'D-2', building_id: 'B', floor: 1, room: '102', electricity_tariff_id: 'broken', water_tariff_id: 'water' },
      ])
      .execute();
    await trx
      .insertInto('meters')
      .values([
        { id: 'M-1', dormitory_id: 'D-1', kind: 'electric', profile: 'sdm120', gateway_id: 'GW', unit_address: '1' },
        { id: 'W-1', dormitory_id: 'D-1', kind: 'water', profile: 'water-valve', gateway_id: 'GW', unit_address: 'w1' },
        { id: 'M-2', dormitory_id: 'D-2', kind: 'electric', profile: 'sdm120', gateway_id: 'GW', unit_address: '2' },
      ])
      .execute();
    await trx.insertInto('accounts').values(['D-1', 'D-2'].flatMap((id) => [{ dormitory_id: id, purse: 'electricity' as const }, { dormitory_id: id, purse: 'water' as const }])).execute();
    await appendPostings(trx, ['D-1', 'D-2'].flatMap((dormitoryId) => (['electricity', 'water'] as const).map((purse) => ({ dormitoryId, purse, kind: 'adjustment' as const, amount: 100_000, operator: 'seed', occurredAt: new Date(clock.now()), details: {} }))));
  });
  await app.start();
  const admin = await test.login('admin', 'test-admin-password');

  const publisher = await mqtt.connectAsync(mqttUrl, { clientId: `forger-${randomBytes(3).toString('hex')}`, clean: true });
  t.teardown(() => publisher.endAsync());
  const frame = async (unit: string, register: number, ts = clock.now()) => {
    const values = unit.startsWith('w') ? { volumeL: register, valveOpen: true } : { energyWh: register, voltageV: 230, currentA: 0.5, powerW: 100, powerFactor: 1 };
    await publisher.publishAsync(`${prefix}/GW/telemetry`, JSON.stringify({ [unit]: [{ ts, values }] }), { qos: 1 });
  };
  const meterIdOf: Record<string, string> = { '1': 'M-1', w1: 'W-1', '2': 'M-2' };
  const billing = async (meterId: string) => {
    const response = await app.http.inject({ method: 'GET', url: `/api/meters/${meterId}/billing`, headers: admin });
    return response.json<{ register: number | null; billedRegister: number | null; hold: string | null }>();
  };
  /** Publishes a frame and waits until the meter actor has read it, then commits the ledger. */
  const read = async (unit: string, register: number, ts?: number) => {
    await frame(unit, register, ts);
    await waitFor(`${meterIdOf[unit]} reads ${register}`, async () => (await billing(meterIdOf[unit]!)).register === register, 10_000, 20);
    await app.runtime.flush();
  };
  const entries = (meterId: string, kind: 'consumption_charge' | 'quota_grant') =>
    db.selectFrom('ledger_entries').select(['amount', 'usage', 'details', 'occurred_at']).where('meter_id', '=', meterId).where('kind', '=', kind).orderBy('id').execute();
  const total = async (meterId: string) => {
    const rows = await entries(meterId, 'consumption_charge');
    return { amount: -rows.reduce((a, r) => a + Number(r.amount), 0), usage: rows.reduce((a, r) => a + Number(r.usage), 0) };
  };
  const alarms = (meterId: string, kind: string) => db.selectFrom('alarms').select(['state', 'released_by', 'severity']).where('meter_id', '=', meterId).where('kind', '=', kind).execute();
  const cursorOf = (meterId: string) => db.selectFrom('billing_cursors').select(['register', 'read_at']).where('meter_id', '=', meterId).executeTakeFirstOrThrow();
  await waitFor('the MQTT gateway subscribed', async () => (await app.runtime.gateway('GW'))?.meters === 3, 10_000, 20);

  // ---- a tariff invalid at boot: a loud critical alarm, billing held, nothing billed free ----
  await t.test('a tariff found invalid at boot', async (t) => {
    // The boot alarm is written by the alarm store on its own time: wait for its row, then count.
    await waitFor('the tariff_invalid alarm stored', async () => (await alarms('M-2', 'tariff_invalid')).length > 0, 10_000, 20);
    const raised = await alarms('M-2', 'tariff_invalid');
    t.equal(raised.length, 1, 'one alarm for the meter the broken tariff should price');
    t.equal(raised[0]?.severity, 'critical', 'it is critical');
    await read('2', 1_000);
    clock.advance(10 * MINUTE);
    await read('2', 1_500);
    t.equal((await billing('M-2')).hold, 'tariff_invalid', "the meter's billing is held");
    t.same(await total('M-2'), { amount: 0, usage: 0 }, 'nothing is billed (free or otherwise) while the tariff is invalid');
    t.equal((await cursorOf('M-2')).register, 1_000, 'the cursor stays where billing stopped (nothing lost)');
    await db.updateTable('tariffs').set({ definition: JSON.stringify({ kind: 'single', rate: PEAK }) }).where('id', '=', 'broken').execute();
    t.ok(await app.runtime.reloadDormitory('D-2'), 'the dormitory is reloaded with the fixed tariff');
    await waitFor('the tariff alarm cleared', async () => (await alarms('M-2', 'tariff_invalid')).every((a) => a.state === 'cleared'), 10_000, 20);
    clock.advance(10 * MINUTE);
    await read('2', 1_800);
    t.same(await total('M-2'), { amount: Math.floor((800 * PEAK) / 1e6), usage: 800 }, 'billing resumed from the cursor: 800 Wh at the fixed price');
  });

  // ---- a gap across a TOU boundary and the month end ----
  await t.test('a gap is priced across the periods and months it spans', async (t) => {
    clock.jumpTo(local('2026-12-31T08:00:00'));
    await read('1', 0); // opening: December's quota is granted
    clock.jumpTo(local('2026-12-31T19:00:00'));
    await read('1', 12_000); // 10,000 free + 2,000 at peak
    clock.jumpTo(local('2026-12-31T20:00:00'));
    await read('1', 12_500); // 500 at peak
    clock.jumpTo(local('2027-01-01T02:00:00'));
    await read('1', 18_500); // 6 h offline: 2,000 peak + 2,000 valley in December, 2,000 free in January
    const charges = await entries('M-1', 'consumption_charge');
    const gap = charges.at(-1)!;
    t.equal(-Number(gap.amount), (2_000 * PEAK + 2_000 * VALLEY) / 1e6, 'the gap costs 2 kWh at peak + 2 kWh at valley (January is free)');
    t.same(
      ((gap.details as { parts: { rate: number; usage: number }[] }).parts ?? []).map((p) => [p.rate, p.usage]).sort(),
      [[PEAK, 2_000], [VALLEY, 2_000]].sort(),
      'each part of the gap at its own price',
    );
    t.same(await total('M-1'), { amount: (2_000 * PEAK + 500 * PEAK + 2_000 * PEAK + 2_000 * VALLEY) / 1e6, usage: 18_500 }, 'the total is the register advance, priced exactly');
    const grants = (await entries('M-1', 'quota_grant')).map((g) => (g.details as { month: string }).month);
    t.same(grants, ['2026-12', '2027-01'], "December's and January's quotas, each once");
  });

  // ---- a forged timestamp two years ahead ----
  await t.test('a forged future timestamp', async (t) => {
    const skewBefore = await metricValue({ app }, 'campus_sample_clock_skew_total');
    const forged = local('2029-01-01T02:00:00');
    await read('1', 18_600, forged);
    t.ok((await metricValue({ app }, 'campus_sample_clock_skew_total')) > skewBefore, 'the skewed sample is counted');
    t.ok(new Date((await cursorOf('M-1')).read_at).getTime() <= clock.now(), 'the cursor never moves past the server time');
    t.same((await entries('M-1', 'quota_grant')).map((g) => (g.details as { month: string }).month), ['2026-12', '2027-01'], "no quota from 2029 is granted");
    clock.advance(10 * MINUTE);
    await read('1', 18_700);
    t.equal((await cursorOf('M-1')).register, 18_700, 'billing goes on at server time (not stalled behind a future cursor)');

    // A forged 50 MWh jump stamped two years ahead: plausibility is judged on server time.
    clock.advance(10 * MINUTE);
    await read('1', 18_700 + 50_000_000, forged);
    t.equal((await billing('M-1')).hold, 'register_jump', 'the jump holds the meter');
    clock.advance(10 * MINUTE);
    await read('1', 18_800); // the real meter again
    t.equal((await alarms('M-1', 'register_jump')).length, 1, 'one alarm, however many readings follow');
    t.equal((await total('M-1')).usage, 18_700, 'nothing billed while held');
    const badVoid = await app.http.inject({ method: 'POST', url: '/api/meters/M-1/register/resolve', headers: admin, payload: { action: 'void' } });
    t.equal(badVoid.statusCode, 400, 'a resolution without a reason is refused');
    t.equal(badVoid.json<{ error: { field: string } }>().error.field, 'reason', 'naming the field');
    const voided = await app.http.inject({ method: 'POST', url: '/api/meters/M-1/register/resolve', headers: admin, payload: { action: 'void', reason: 'forged frame from a tampered gateway' } });
    t.equal(voided.statusCode, 200, `void accepted: ${voided.body}`);
    t.equal((await cursorOf('M-1')).register, 18_800, 'the cursor moved to the last real register');
    t.same((await alarms('M-1', 'register_jump')).map((a) => [a.state, a.released_by]), [['released', 'admin']], 'the alarm is released by the operator');
    const audit = await db.selectFrom('audit_log').select(['operator', 'details']).where('action', '=', 'meter.register_void').where('target_id', '=', 'M-1').execute();
    t.equal(audit.length, 1, 'the void is audited');
    t.match(audit[0]?.details, { reason: 'forged frame from a tampered gateway', fromRegister: 18_700, toRegister: 18_800 }, 'with its reason and range');
    clock.advance(10 * MINUTE);
    await read('1', 18_900);
    t.equal((await cursorOf('M-1')).register, 18_900, 'billing resumed');

    // A real jump the operator accepts.
    clock.advance(MINUTE);
    await read('1', 23_900);
    t.equal((await billing('M-1')).hold, 'register_jump', '5 kWh in a minute is held');
    const accepted = await app.http.inject({ method: 'POST', url: '/api/meters/M-1/register/resolve', headers: admin, payload: { action: 'accept', reason: 'verified on site: a heater test' } });
    t.equal(accepted.statusCode, 200, 'accepted');
    t.match(accepted.json(), { billedUsage: 5_000, cursorRegister: 23_900 }, 'the jump is billed once, on the operator\'s word');
    const again = await app.http.inject({ method: 'POST', url: '/api/meters/M-1/register/resolve', headers: admin, payload: { action: 'accept', reason: 'twice' } });
    t.equal(again.statusCode, 409, 'nothing is held any more');
    t.equal(again.json<{ error: { code: string } }>().error.code, 'REGISTER_NOT_HELD', 'REGISTER_NOT_HELD');
  });

  // ---- a register that goes backwards: held until the meter is replaced ----
  await t.test('a backwards register and a meter replacement', async (t) => {
    const before = await total('M-1');
    clock.advance(MINUTE);
    await read('1', 100);
    clock.advance(MINUTE);
    await read('1', 150);
    t.equal((await billing('M-1')).hold, 'register_backwards', 'held');
    t.equal((await alarms('M-1', 'register_backwards')).length, 1, 'one alarm');
    t.same(await total('M-1'), before, 'nothing billed, nothing credited');
    const accept = await app.http.inject({ method: 'POST', url: '/api/meters/M-1/register/resolve', headers: admin, payload: { action: 'accept', reason: 'not consumption' } });
    t.equal(accept.statusCode, 409, 'a backwards register cannot be accepted as consumption');
    const finance = await test.as('finance');
    t.equal((await app.http.inject({ method: 'POST', url: '/api/meters/M-1/replacement', headers: finance, payload: { finalRegister: 24_200, openingRegister: 100, reason: 'swap' } })).statusCode, 403, 'finance may not replace meters');
    const below = await app.http.inject({ method: 'POST', url: '/api/meters/M-1/replacement', headers: admin, payload: { finalRegister: 23_000, openingRegister: 100, reason: 'swap' } });
    t.equal(below.statusCode, 409, 'a final register below the billed one is refused');
    t.equal(below.json<{ error: { field: string } }>().error.field, 'finalRegister', 'naming the field');
    const replaced = await app.http.inject({ method: 'POST', url: '/api/meters/M-1/replacement', headers: admin, payload: { finalRegister: 24_200, openingRegister: 150, reason: 'meter swapped after a display fault' } });
    t.equal(replaced.statusCode, 200, `replaced: ${replaced.body}`);
    t.match(replaced.json(), { billedUsage: 300, cursorRegister: 150 }, "the old meter is billed to its final register; the new one starts at its opening register");
    t.equal((await db.selectFrom('audit_log').select('operator').where('action', '=', 'meter.replace').where('target_id', '=', 'M-1').execute()).length, 1, 'the replacement is audited');
    clock.advance(10 * MINUTE);
    await read('1', 450);
    const after = await total('M-1');
    t.equal(after.usage - before.usage, 300 + 300, 'the old meter to its final register, then the new one from its opening register');
    t.equal((await billing('M-1')).hold, null, 'billing runs again');
  });

  // ---- a u32 register wrapping ----
  await t.test('a water register billed across its wrap', async (t) => {
    await read('w1', WRAP - 100);
    clock.advance(MINUTE);
    await read('w1', 50);
    t.same(await total('W-1'), { amount: Math.floor((150 * WATER_RATE) / 1e6), usage: 150 }, '150 L across the wrap, at the water rate');
    t.equal((await billing('W-1')).hold, null, 'a plausible wrap holds nothing');
  });

  await app.runtime.flush();
  for (const id of ['D-1', 'D-2']) {
    const live = await app.runtime.liveDormitory(id);
    const accounts = await db.selectFrom('accounts').select(['purse', 'balance']).where('dormitory_id', '=', id).execute();
    for (const a of accounts) t.equal(live?.balance[a.purse], a.balance, `${id} ${a.purse}: the live balance equals the committed one`);
  }
  t.ok((await reconcile(db)).ok, 'reconcile is clean');
});
