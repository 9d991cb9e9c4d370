import mqtt from 'mqtt';
import t from 'tap';
import { appendPostings } from '../../src/db/ledger.repository.ts';
import { createForgedMeters } from '../helpers/forged-meters.ts';
import { waitFor } from '../helpers/live-app.ts';

/**
 * Found from outside (break-it review, issue 8): the plausibility limit granted its 1 kWh slack
 * again to every frame, so 20 frames of +1 kWh in one second billed 20 kWh; and a gateway whose
 * clock ran 12 hours behind opened a 12-hour window for one forged 300 kWh jump. Usage is now
 * also judged in server time (src/domain/usage-window.ts): both are held with one alarm.
 * Frames go through a real broker; the server clock is frozen and moved by the test.
 */
const START = Date.parse('2026-12-10T12:00:00+08:00');
const HOUR = 3_600_000;

t.test('a burst of frames and a gateway clock hours behind are held, not billed', async (t) => {
  const test = await createForgedMeters(t, START);
  const { database, clock } = test;
  const db = database.db;
  await db.transaction().execute(async (trx) => {
    await trx.insertInto('campuses').values({ id: 'c', name: 'Campus', utc_offset_minutes: 480 }).execute();
    await trx.insertInto('buildings').values({ id: 'B', campus_id: 'c', name: 'B', floors: 1 }).execute();
    await trx.insertInto('tariffs').values({ id: 'flat', name: 'Flat', purse: 'electricity', definition: JSON.stringify({ kind: 'single', rate: 60_000 }) }).execute();
    await trx.insertInto('gateways').values({ id: 'GW', campus_id: 'c', building_id: 'B', protocol: 'mqtt', address: 'GW' }).execute();
    for (const room of ['1', '2']) {
      await trx.insertInto('dormitories').values({ id: `D-${room}`, building_id: 'B', floor: 1, room, electricity_tariff_id: 'flat' }).execute();
      await trx.insertInto('meters').values({ id: `M-${room}`, dormitory_id: `D-${room}`, kind: 'electric', profile: 'sdm120', gateway_id: 'GW', unit_address: room }).execute();
      await trx.insertInto('accounts').values([{ dormitory_id: `D-${room}`, purse: 'electricity' }, { dormitory_id: `D-${room}`, purse: 'water' }]).execute();
      await appendPostings(trx, [{ dormitoryId: `D-${room}`, purse: 'electricity', kind: 'adjustment', amount: 1_000_000, operator: 'seed', occurredAt: new Date(clock.now()), details: {} }]);
    }
  });
  const admin = await test.start({ '1': 'M-1', '2': 'M-2' });
  const forger = await mqtt.connectAsync(await brokerUrlOf(test), { clean: true });
  t.teardown(() => forger.endAsync());
  const frame = (unit: string, register: number, ts: number) =>
    forger.publishAsync(`${test.config.mqttTopicPrefix}/GW/telemetry`, JSON.stringify({ [unit]: [{ ts, values: { energyWh: register, voltageV: 230, currentA: 1, powerW: 230, powerFactor: 1 } }] }), { qos: 1 });
  const billing = async (meterId: string) => (await test.app.http.inject({ method: 'GET', url: `/api/meters/${meterId}/billing`, headers: admin })).json<{ register: number | null; billedRegister: number | null; hold: string | null }>();
  const billedUsage = async (meterId: string) => Number((await db.selectFrom('ledger_entries').select((eb) => eb.fn.coalesce(eb.fn.sum<number>('usage'), eb.lit(0)).as('u')).where('meter_id', '=', meterId).where('kind', '=', 'consumption_charge').executeTakeFirstOrThrow()).u);

  // ---- a burst: 20 frames of +1 kWh at one instant of server time ----
  await test.read('1', 0);
  clock.advance(60_000);
  await test.read('1', 100); // 100 Wh in a minute: billed
  for (let i = 1; i <= 20; i++) await frame('1', 100 + 1_000 * i, clock.now());
  await waitFor('M-1 has read the whole burst', async () => (await billing('M-1')).register === 20_100, 10_000, 20);
  await test.app.runtime.flush();
  const burst = await billing('M-1');
  t.equal(burst.hold, 'register_jump', 'the burst holds the meter\'s billing');
  t.equal(burst.billedRegister, 1_100, 'billed up to what one minute of 30 kW plus the slack allows (1,500 Wh), not 20 kWh');
  t.equal(await billedUsage('M-1'), 1_100);

  // ---- a gateway clock 12 hours behind, then one frame at the true time with +300 kWh ----
  await frame('2', 0, clock.now() - 12 * HOUR);
  await waitFor('M-2 opened', async () => (await billing('M-2')).billedRegister === 0, 10_000, 20);
  clock.advance(60_000);
  await frame('2', 300_000, clock.now());
  await waitFor('M-2 has read the jump', async () => (await billing('M-2')).register === 300_000, 10_000, 20);
  await test.app.runtime.flush();
  const late = await billing('M-2');
  t.equal(late.hold, 'register_jump', 'a 12-hour window opened by the gateway\'s own clock does not let 300 kWh through');
  t.equal(await billedUsage('M-2'), 0, 'nothing of it is billed');
  const alarms = await db.selectFrom('alarms').select(['meter_id', 'kind']).where('kind', '=', 'register_jump').where('released_at', 'is', null).execute();
  t.same(alarms.map((a) => a.meter_id).sort(), ['M-1', 'M-2'], 'one alarm each');
});

async function brokerUrlOf(test: { config: { mqttUrl?: string | undefined } }): Promise<string> {
  if (!test.config.mqttUrl) throw new Error('no broker URL');
  return test.config.mqttUrl;
}
