import t from 'tap';
import { appendPostings } from '../../src/db/ledger.repository.ts';
import { createForgedMeters } from '../helpers/forged-meters.ts';

/**
 * Free quota policies over REST (issue 10): created, assigned by list to a running dormitory
 * (rebuilt live), and used before money by its meter (an MQTT unit read from frames this test
 * publishes, on a frozen clock).
 */
const RATE = 50_000;

t.test('a quota policy assigned over REST is used before money on the live meter', async (t) => {
  const test = await createForgedMeters(t, Date.parse('2026-12-10T09:00:00+08:00'));
  const { app, database, clock } = test;
  const db = database.db;
  await db.transaction().execute(async (trx) => {
    await trx.insertInto('campuses').values({ id: 'c', name: 'Campus', utc_offset_minutes: 480 }).execute();
    await trx.insertInto('buildings').values({ id: 'B', campus_id: 'c', name: 'B', floors: 1 }).execute();
    await trx.insertInto('tariffs').values({ id: 'flat', name: 'Flat', purse: 'electricity', definition: JSON.stringify({ kind: 'single', rate: RATE }) }).execute();
    await trx.insertInto('gateways').values({ id: 'GW', campus_id: 'c', building_id: 'B', protocol: 'mqtt', address: 'GW' }).execute();
    await trx.insertInto('dormitories').values({ id: 'D-1', building_id: 'B', floor: 1, room: '101', electricity_tariff_id: 'flat' }).execute();
    await trx.insertInto('meters').values({ id: 'M-1', dormitory_id: 'D-1', kind: 'electric', profile: 'sdm120', gateway_id: 'GW', unit_address: '1' }).execute();
    await trx.insertInto('accounts').values([{ dormitory_id: 'D-1', purse: 'electricity' }, { dormitory_id: 'D-1', purse: 'water' }]).execute();
    await appendPostings(trx, [{ dormitoryId: 'D-1', purse: 'electricity', kind: 'adjustment', amount: 100_000, operator: 'seed', occurredAt: new Date(clock.now()), details: {} }]);
  });
  await test.start({ '1': 'M-1' });
  const finance = await test.as('finance');
  const post = (url: string, payload: object) => app.http.inject({ method: 'POST', url, headers: finance, payload });

  t.equal((await post('/api/quota-policies', { id: 'q', name: '2 kWh', purse: 'electricity', allowance: -1 })).json().error.field, 'allowance', 'a negative allowance is named');
  t.equal((await post('/api/quota-policies', { id: 'q', name: '2 kWh', purse: 'electricity', allowance: 2_000 })).statusCode, 201);
  t.equal((await post('/api/quota-policies', { id: 'q', name: 'again', purse: 'electricity', allowance: 1 })).statusCode, 409, 'an id is created once');
  t.equal((await post('/api/quota-policies/q/assignments', { dormitoryIds: ['nope'] })).json().error.field, 'dormitoryIds', 'an unknown dormitory is named');
  const assigned = await post('/api/quota-policies/q/assignments', { dormitoryIds: ['D-1'] });
  t.same(assigned.json(), { policyId: 'q', purse: 'electricity', dormitoryIds: ['D-1'] }, assigned.body);
  const list = await app.http.inject({ method: 'GET', url: '/api/quota-policies', headers: finance });
  t.same(list.json().policies, [{ id: 'q', name: '2 kWh', purse: 'electricity', allowance: 2_000, basis: 'per-dormitory', period: 'month' }], 'listed');

  await test.read('1', 0);
  clock.advance(3_600_000);
  await test.read('1', 3_000);
  const grant = await db.selectFrom('ledger_entries').select('usage').where('dormitory_id', '=', 'D-1').where('kind', '=', 'quota_grant').execute();
  t.same(grant.map((g) => Number(g.usage)), [2_000], "the month's allowance is granted to the room");
  const charge = await db.selectFrom('ledger_entries').select(['amount', 'details']).where('meter_id', '=', 'M-1').where('kind', '=', 'consumption_charge').executeTakeFirstOrThrow();
  t.equal(-Number(charge.amount), (1_000 * RATE) / 1e6, 'the quota is used before money: 2 kWh free, 1 kWh charged');
  t.match(charge.details, { freeUsed: 2_000 }, 'the charge shows the free usage');
});
