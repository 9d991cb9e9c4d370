import t from 'tap';
import { appendPostings } from '../../src/db/ledger.repository.ts';
import { createForgedMeters } from '../helpers/forged-meters.ts';
import { waitFor } from '../helpers/live-app.ts';

/**
 * Tariffs over REST (issue 10) on the running app, with a real MQTT meter read from frames this
 * test publishes and a frozen server clock it moves:
 * - validated on write (a 400 names the field inside `definition`); a tariff prices only its purse;
 * - assigned by building and floor or by list, live (a meter held for want of a tariff bills);
 * - a new version (PUT) takes effect at its date on the live meter without a restart: a gap
 *   across the date is split between the versions; every charge names the tariff and versions.
 */
const HOUR = 3_600_000;
const V1 = 50_000; // milli-fen per kWh
const V2 = 80_000;
const local = (iso: string) => Date.parse(`${iso}+08:00`);

t.test('tariffs: validated, versioned, assigned, and a version takes effect at its date on the live meter', async (t) => {
  const T0 = local('2026-12-10T09:00:00');
  const test = await createForgedMeters(t, T0);
  const { app, database, clock } = test;
  const db = database.db;
  await db.transaction().execute(async (trx) => {
    await trx.insertInto('campuses').values({ id: 'c', name: 'Campus', utc_offset_minutes: 480 }).execute();
    await trx.insertInto('buildings').values({ id: 'B', campus_id: 'c', name: 'B', floors: 2 }).execute();
    await trx.insertInto('gateways').values({ id: 'GW', campus_id: 'c', building_id: 'B', protocol: 'mqtt', address: 'GW' }).execute();
    await trx
      .insertInto('dormitories')
      .values([
        { id: 'D-1', building_id: 'B', floor: 1, room: '101' },
        { id: 'D-2', building_id: 'B', floor: 1, room: '102' },
        { id: 'D-3', building_id: 'B', floor: 2, room: '201' },
      ])
      .execute();
    await trx.insertInto('meters').values({ id: 'M-1', dormitory_id: 'D-1', kind: 'electric', profile: 'sdm120', gateway_id: 'GW', unit_address: '1' }).execute();
    await trx.insertInto('accounts').values(['D-1', 'D-2', 'D-3'].flatMap((id) => [{ dormitory_id: id, purse: 'electricity' as const }, { dormitory_id: id, purse: 'water' as const }])).execute();
    await appendPostings(trx, [{ dormitoryId: 'D-1', purse: 'electricity', kind: 'adjustment', amount: 100_000, operator: 'seed', occurredAt: new Date(T0), details: {} }]);
  });
  const admin = await test.start({ '1': 'M-1' });
  const finance = await test.as('finance');
  const manager = await test.as('manager');
  const api = (method: 'GET' | 'POST' | 'PUT', url: string, payload?: unknown, headers = finance) => app.http.inject({ method, url, headers, ...(payload === undefined ? {} : { payload: payload as object }) });

  await t.test('validated on write: the 400 names the field', async (t) => {
    const gap = await api('POST', '/api/tariffs', { id: 'tou', name: 'TOU', purse: 'electricity', definition: { kind: 'time_of_use', periods: [{ name: 'am', from: '00:00', to: '12:00', rate: 1 }, { name: 'pm', from: '12:01', to: '00:00', rate: 1 }] } });
    t.equal(gap.statusCode, 400, 'a time-of-use table with a one-minute hole is refused');
    t.same(gap.json().error, { code: 'INVALID_TARIFF', message: gap.json().error.message, field: 'definition.periods' }, 'naming definition.periods');
    const tiers = await api('POST', '/api/tariffs', { id: 'tiers', name: 'T', purse: 'electricity', definition: { kind: 'tiered', tiers: [{ upTo: 100, rate: 1 }, { upTo: 50, rate: 2 }, { upTo: null, rate: 3 }] } });
    t.equal(tiers.json().error.field, 'definition.tiers[1].upTo', 'tiers out of order name the tier');
    const typo = await api('POST', '/api/tariffs', { id: 'typo', name: 'T', purse: 'electricity', definition: { kind: 'single', rate: 1, upto: 3 } });
    t.equal(typo.statusCode, 400, 'an unknown field is refused, not ignored');
    t.equal((await api('POST', '/api/tariffs', { id: 'x', name: 'x', purse: 'electricity', definition: { kind: 'single', rate: 1 } }, manager)).statusCode, 403, 'a manager does not set prices');
    t.equal((await api('GET', '/api/tariffs/tou')).statusCode, 404, 'nothing invalid was saved');
  });

  await t.test('created and assigned by building and floor, live', async (t) => {
    const created = await api('POST', '/api/tariffs', { id: 'flat', name: 'Flat', purse: 'electricity', definition: { kind: 'single', rate: V1 } });
    t.equal(created.statusCode, 201, created.body);
    t.match(created.json(), { id: 'flat', purse: 'electricity', currentVersion: 1, versions: [{ version: 1, effectiveFrom: null, definition: { kind: 'single', rate: V1 } }] });
    t.equal((await api('POST', '/api/tariffs', { id: 'flat', name: 'again', purse: 'electricity', definition: { kind: 'single', rate: 1 } })).statusCode, 409, 'an id is created once');
    t.equal((await api('POST', '/api/tariffs', { id: 'water-flat', name: 'Water', purse: 'water', definition: { kind: 'single', rate: 300_000 } })).statusCode, 201);

    const wrongPurse = await api('POST', '/api/dormitories', { id: 'D-9', building: 'B', floor: 1, room: '109', electricityTariffId: 'water-flat' }, admin);
    t.equal(wrongPurse.statusCode, 400, 'a water tariff cannot price a dormitory\'s electricity');
    t.equal(wrongPurse.json().error.field, 'electricityTariffId');

    const alarm = () => db.selectFrom('alarms').select('state').where('meter_id', '=', 'M-1').where('kind', '=', 'tariff_invalid').executeTakeFirst();
    t.equal((await alarm())?.state, 'active', 'before: no tariff, billing held with an alarm');
    const noSuchFloor = await api('POST', '/api/tariffs/flat/assignments', { building: 'B', floor: 7 });
    t.equal(noSuchFloor.statusCode, 404, 'an assignment that names no dormitory is refused');
    const unknown = await api('POST', '/api/tariffs/flat/assignments', { dormitoryIds: ['D-1', 'nope'] });
    t.equal(unknown.json().error.field, 'dormitoryIds', 'an unknown dormitory in a list is named');
    const assigned = await api('POST', '/api/tariffs/flat/assignments', { building: 'B', floor: 1 });
    t.equal(assigned.statusCode, 200, assigned.body);
    t.same(assigned.json(), { tariffId: 'flat', purse: 'electricity', dormitoryIds: ['D-1', 'D-2'] }, 'floor 1 of B');
    const water = await api('POST', '/api/tariffs/water-flat/assignments', { dormitoryIds: ['D-3'] });
    t.same(water.json().dormitoryIds, ['D-3'], 'by list');
    const rows = await db.selectFrom('dormitories').select(['id', 'electricity_tariff_id', 'water_tariff_id']).orderBy('id').execute();
    t.same(rows, [
      { id: 'D-1', electricity_tariff_id: 'flat', water_tariff_id: null },
      { id: 'D-2', electricity_tariff_id: 'flat', water_tariff_id: null },
      { id: 'D-3', electricity_tariff_id: null, water_tariff_id: 'water-flat' },
    ], 'each tariff went to its own purse of the dormitories named');
    await waitFor('the tariff alarm cleared', async () => (await alarm())?.state === 'cleared', 10_000, 20);
    const audits = await db.selectFrom('audit_log').select('action').where('target_type', '=', 'tariff').orderBy('id').execute();
    t.same(audits.map((a) => a.action), ['tariff.create', 'tariff.create', 'tariff.assign', 'tariff.assign'], 'audited');
  });

  await t.test('a new version takes effect at its date on the live meter', async (t) => {
    const charges = () => db.selectFrom('ledger_entries').select(['amount', 'usage', 'details']).where('meter_id', '=', 'M-1').where('kind', '=', 'consumption_charge').orderBy('id').execute();
    await test.read('1', 0);
    clock.advance(HOUR);
    await test.read('1', 1_000);

    const past = await api('PUT', '/api/tariffs/flat', { definition: { kind: 'single', rate: V2 }, effectiveFrom: new Date(clock.now() - 1).toISOString() });
    t.equal(past.statusCode, 400, 'a version cannot take effect in the past');
    t.equal(past.json().error.field, 'effectiveFrom');
    const bad = await api('PUT', '/api/tariffs/flat', { definition: { kind: 'single', rate: -5 }, effectiveFrom: new Date(clock.now() + HOUR).toISOString() });
    t.equal(bad.json().error.field, 'definition.rate', 'a bad version names its field');
    const effectiveFrom = new Date(T0 + 2 * HOUR).toISOString();
    const revised = await api('PUT', '/api/tariffs/flat', { definition: { kind: 'single', rate: V2 }, effectiveFrom });
    t.equal(revised.statusCode, 200, revised.body);
    t.match(revised.json(), { currentVersion: 1, versions: [{ version: 1 }, { version: 2, effectiveFrom, definition: { kind: 'single', rate: V2 } }] }, 'version 2 is kept beside version 1, not yet in force');
    t.equal((await api('PUT', '/api/tariffs/flat', { definition: { kind: 'single', rate: 1 }, effectiveFrom })).statusCode, 400, 'a version must start after the latest');

    clock.advance(2 * HOUR); // T0+3h: the gap from T0+1h spans the version change at T0+2h
    await test.read('1', 3_000);
    clock.advance(HOUR);
    await test.read('1', 4_000);
    const rows = await charges();
    t.same(
      rows.map((r) => [-Number(r.amount), Number(r.usage), (r.details as { tariff: unknown }).tariff]),
      [
        [(1_000 * V1) / 1e6, 1_000, { id: 'flat', versions: [1] }],
        [(1_000 * V1 + 1_000 * V2) / 1e6, 2_000, { id: 'flat', versions: [1, 2] }],
        [(1_000 * V2) / 1e6, 1_000, { id: 'flat', versions: [2] }],
      ],
      'before the date at version 1, the gap split across it, after it at version 2; each entry names tariff and versions',
    );
    t.equal((await api('GET', '/api/tariffs/flat')).json().currentVersion, 2, 'version 2 is in force now');
    const list = await api('GET', '/api/tariffs', undefined, manager);
    t.same(list.json().tariffs.map((x: { id: string }) => x.id), ['flat', 'water-flat'], 'staff list the tariffs');
  });
});
