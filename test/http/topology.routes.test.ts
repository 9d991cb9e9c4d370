import { randomBytes } from 'node:crypto';
import { connectAsync } from 'mqtt';
import t from 'tap';
import { getDormitory, startLiveApp, waitFor, type LiveDormitory } from '../helpers/live-app.ts';

/**
 * The topology API on a running app: gateways, dormitories and meters added and removed over
 * REST change the live actor tree without a restart, every change is audited with its
 * operator, and bad input is refused naming the field.
 */
t.test('topology API: add and remove gateways, dormitories and meters live; errors name the field; every change is audited', async (t) => {
  const test = await startLiveApp(t);
  const { app, admin } = test;
  const db = test.database.db;
  const { directory } = app.runtime;
  const manager = await test.as('manager');
  const finance = await test.as('finance');
  const call = (method: 'GET' | 'POST' | 'DELETE', url: string, payload?: object, headers: { authorization: string } = admin) =>
    app.http.inject({ method, url, headers, ...(payload ? { payload } : {}) });
  const expectError = async (what: string, response: Awaited<ReturnType<typeof call>>, status: number, code: string, field?: string) => {
    t.equal(response.statusCode, status, `${what}: ${status}`);
    const { error } = response.json<{ error: { code: string; field?: string } }>();
    t.equal(error.code, code, `${what}: ${code}`);
    if (field !== undefined) t.equal(error.field, field, `${what}: names the field ${field}`);
  };

  // ---- a Modbus gateway nobody answers for ----
  const gateway = { id: 'GW-T1', campusId: 'demo', buildingId: 'BA', protocol: 'modbus-tcp', address: '127.0.0.1:1' };
  t.equal((await call('POST', '/api/gateways', gateway)).statusCode, 201, 'gateway created');
  t.ok(directory.gateways.has('GW-T1'), 'the gateway actor runs without a restart');
  await waitFor('GW-T1 reported offline by its driver', async () => {
    await app.runtime.flush();
    return db.selectFrom('events').select('id').where('gateway_id', '=', 'GW-T1').where('kind', '=', 'gateway_offline').executeTakeFirst();
  });
  const shown = await call('GET', '/api/gateways/GW-T1');
  t.equal(shown.statusCode, 200);
  t.match(shown.json(), { id: 'GW-T1', campusId: 'demo', buildingId: 'BA', protocol: 'modbus-tcp', address: '127.0.0.1:1', online: false, meters: 0 }, 'GET shows it offline, no meters');

  await expectError('gateway id with a space', await call('POST', '/api/gateways', { ...gateway, id: 'GW T2' }), 400, 'VALIDATION_FAILED', 'id');
  await expectError('gateway id starting with a dash', await call('POST', '/api/gateways', { ...gateway, id: '-GW' }), 400, 'VALIDATION_FAILED', 'id');
  await expectError('unknown protocol', await call('POST', '/api/gateways', { ...gateway, id: 'GW-T2', protocol: 'bacnet' }), 400, 'VALIDATION_FAILED', 'protocol');
  await expectError('modbus address without a port', await call('POST', '/api/gateways', { ...gateway, id: 'GW-T2', address: 'plc.local' }), 400, 'VALIDATION_FAILED', 'address');
  await expectError('unknown campus', await call('POST', '/api/gateways', { ...gateway, id: 'GW-T2', campusId: 'nowhere' }), 404, 'NOT_FOUND', 'campusId');
  await expectError('duplicate gateway', await call('POST', '/api/gateways', gateway), 409, 'ALREADY_EXISTS', 'id');
  await expectError('unknown gateway', await call('GET', '/api/gateways/GW-NONE'), 404, 'GATEWAY_NOT_FOUND');
  t.equal((await call('POST', '/api/gateways', { ...gateway, id: 'GW-T3' }, finance)).statusCode, 403, 'finance may not add gateways');
  t.equal((await app.http.inject({ method: 'POST', url: '/api/gateways', payload: { ...gateway, id: 'GW-T3' } })).statusCode, 401, 'anonymous may not add gateways');
  t.notOk(directory.gateways.has('GW-T2') || directory.gateways.has('GW-T3'), 'refused gateways were not started');

  // ---- an MQTT gateway added at run time, given credentials over REST, reports its status ----
  t.equal((await call('POST', '/api/gateways', { id: 'GW-TQ', campusId: 'demo', protocol: 'mqtt', address: 'GW-TQ' }, manager)).statusCode, 201, 'a manager adds an MQTT gateway');
  const issued = await call('POST', '/api/gateways/GW-TQ/credentials');
  t.equal(issued.statusCode, 201, 'an admin issues its MQTT credentials');
  const { username, secret } = issued.json<{ username: string; secret: string }>();
  const mqtt = await connectAsync(app.simulator!.endpoints.mqttUrl, { clientId: `topology-${randomBytes(4).toString('hex')}`, reconnectPeriod: 0, username, password: secret });
  t.teardown(() => mqtt.endAsync(true));
  const statusTopic = `${test.config.mqttTopicPrefix}/GW-TQ/status`;
  await mqtt.publishAsync(statusTopic, 'online', { qos: 1, retain: true });
  t.teardown(() => mqtt.publishAsync(statusTopic, '', { qos: 1, retain: true }).then(() => undefined));
  await waitFor('GW-TQ online from its status', async () => (await call('GET', '/api/gateways/GW-TQ')).json<{ online: boolean }>().online);
  t.pass('GW-TQ is online');

  // ---- a dormitory, then a meter behind GW-T1 ----
  const dormitory = { id: 'T-901', building: 'BA', floor: 9, room: '901', capacity: 2, tags: ['test'], electricityTariffId: 'tou-residential', waterTariffId: 'water-flat' };
  t.equal((await call('POST', '/api/dormitories', dormitory)).statusCode, 201, 'dormitory created');
  t.ok(directory.dormitories.has('T-901'), 'the dormitory actor runs without a restart');
  const empty = await getDormitory(test, 'T-901');
  t.same(empty.circuits, [], 'no meter, no circuits');
  t.same(empty.balance, { electricity: 0, water: 0 }, 'both purses opened at zero');

  await expectError('dormitory id with a slash', await call('POST', '/api/dormitories', { ...dormitory, id: 'T/902' }), 400, 'VALIDATION_FAILED', 'id');
  await expectError('dormitory without a floor', await call('POST', '/api/dormitories', { id: 'T-902', building: 'BA', room: '902' }), 400, 'VALIDATION_FAILED', 'floor');
  await expectError('dormitory with an unknown property', await call('POST', '/api/dormitories', { ...dormitory, id: 'T-902', room: '902', balcony: true }), 400, 'VALIDATION_FAILED', 'balcony');
  await expectError('floor as a string', await call('POST', '/api/dormitories', { ...dormitory, id: 'T-902', room: '902', floor: '9' }), 400, 'VALIDATION_FAILED', 'floor');
  await expectError('unknown building', await call('POST', '/api/dormitories', { ...dormitory, id: 'T-902', building: 'BZ' }), 404, 'BUILDING_NOT_FOUND', 'building');
  await expectError('unknown tariff', await call('POST', '/api/dormitories', { ...dormitory, id: 'T-902', room: '902', electricityTariffId: 'free-beer' }), 400, 'VALIDATION_FAILED', 'electricityTariffId');
  await expectError('duplicate dormitory id', await call('POST', '/api/dormitories', { ...dormitory, room: '999' }), 409, 'ALREADY_EXISTS', 'id');
  await expectError('duplicate room in the building', await call('POST', '/api/dormitories', { ...dormitory, id: 'T-902' }), 409, 'ALREADY_EXISTS', 'id');
  t.notOk(directory.dormitories.has('T-902'), 'refused dormitories were not started');

  const meter = { id: 'M-T-901', kind: 'electric', profile: 'campus-1in3out', gatewayId: 'GW-T1', unitAddress: '7' };
  await expectError('unit address not a number', await call('POST', '/api/dormitories/T-901/meters', { ...meter, unitAddress: 'seven' }), 400, 'VALIDATION_FAILED', 'unitAddress');
  await expectError('unit address 0', await call('POST', '/api/dormitories/T-901/meters', { ...meter, unitAddress: '0' }), 400, 'VALIDATION_FAILED', 'unitAddress');
  await expectError('unit address 248', await call('POST', '/api/dormitories/T-901/meters', { ...meter, unitAddress: '248' }), 400, 'VALIDATION_FAILED', 'unitAddress');
  await expectError('water meter with an electric profile', await call('POST', '/api/dormitories/T-901/meters', { ...meter, kind: 'water' }), 400, 'VALIDATION_FAILED', 'profile');
  await expectError('electric meter with the water profile', await call('POST', '/api/dormitories/T-901/meters', { ...meter, profile: 'water-valve' }), 400, 'VALIDATION_FAILED', 'profile');
  await expectError('unknown profile', await call('POST', '/api/dormitories/T-901/meters', { ...meter, profile: 'dds666' }), 400, 'VALIDATION_FAILED', 'profile');
  await expectError('unknown gateway', await call('POST', '/api/dormitories/T-901/meters', { ...meter, gatewayId: 'GW-NONE' }), 404, 'GATEWAY_NOT_FOUND', 'gatewayId');
  await expectError('unknown dormitory', await call('POST', '/api/dormitories/T-999/meters', meter), 404, 'DORMITORY_NOT_FOUND');

  t.equal((await call('POST', '/api/dormitories/T-901/meters', meter)).statusCode, 201, 'meter installed');
  await expectError('duplicate meter id', await call('POST', '/api/dormitories/T-901/meters', { ...meter, unitAddress: '8' }), 409, 'ALREADY_EXISTS', 'id');
  await expectError('unit already taken on the gateway', await call('POST', '/api/dormitories/T-901/meters', { ...meter, id: 'M-T-901b' }), 409, 'ALREADY_EXISTS', 'id');
  t.same(directory.dormitories.get('T-901')?.topology.meters.map((m) => m.meterId), ['M-T-901'], 'the live dormitory holds the meter');
  t.equal((await app.runtime.gateway('GW-T1'))?.meters, 1, 'GW-T1 polls the meter');
  const live = await waitFor('T-901 offline behind its unreachable gateway', async () => {
    const d = await getDormitory(test, 'T-901');
    return d.state === 'offline' ? d : undefined;
  });
  t.equal(live.online, false);
  t.same(
    live.circuits.map((c: LiveDormitory['circuits'][number]) => c.kind),
    ['lighting', 'socket', 'ac'],
    'GET /api/dormitories/:id lists the meter circuits',
  );

  // ---- removals ----
  await expectError('gateway with meters', await call('DELETE', '/api/gateways/GW-T1'), 409, 'ALREADY_EXISTS', 'id');
  t.ok(directory.gateways.has('GW-T1'), 'still running after the refusal');
  await expectError('dormitory with ledger history', await call('DELETE', '/api/dormitories/A-101'), 409, 'ALREADY_EXISTS', 'id');
  t.ok(directory.dormitories.has('A-101'), 'A-101 still running after the refusal');
  t.equal((await call('DELETE', '/api/dormitories/T-901/meters/M-T-901', undefined, finance)).statusCode, 403, 'finance may not remove meters');

  // An operator's cut and the rules' states of the meter, and a neighbour's whose key shares its prefix.
  await db.insertInto('manual_cuts').values({ meter_id: 'M-T-901', target: 'socket', dormitory_id: 'T-901', operator: 'admin', reason: 'inspection', cut_at: new Date() }).execute();
  const controlKeys = ['meter:M-T-901', 'circuit:M-T-901:socket', 'circuit:M-T-9010:socket'];
  await db.insertInto('control_states').values(controlKeys.map((actor_key) => ({ dormitory_id: 'T-901', actor_key, state: JSON.stringify({}) }))).onConflict((oc) => oc.doNothing()).execute();
  t.equal((await call('DELETE', '/api/dormitories/T-901/meters/M-T-901')).statusCode, 204, 'meter removed');
  await app.runtime.flush();
  t.same(await db.selectFrom('manual_cuts').select('meter_id').where('meter_id', '=', 'M-T-901').execute(), [], "the removed meter's manual cut is gone (a meter installed later under its id starts uncut)");
  const keysLeft = (await db.selectFrom('control_states').select('actor_key').where('actor_key', 'in', controlKeys).execute()).map((r) => r.actor_key);
  t.same(keysLeft, ['circuit:M-T-9010:socket'], "its control states are gone, another meter's stays");
  await expectError('meter removed twice', await call('DELETE', '/api/dormitories/T-901/meters/M-T-901'), 404, 'METER_NOT_FOUND');
  t.same(directory.dormitories.get('T-901')?.topology.meters, [], 'the live dormitory has no meter');
  t.same((await getDormitory(test, 'T-901')).circuits, [], 'and no circuits');
  t.equal((await app.runtime.gateway('GW-T1'))?.meters, 0, 'GW-T1 no longer polls it');

  t.equal((await call('DELETE', '/api/dormitories/T-901', undefined, manager)).statusCode, 204, 'a manager removes the dormitory');
  t.notOk(directory.dormitories.has('T-901'), 'the dormitory actor is gone');
  await expectError('removed dormitory', await call('GET', '/api/dormitories/T-901'), 404, 'DORMITORY_NOT_FOUND');
  await expectError('dormitory removed twice', await call('DELETE', '/api/dormitories/T-901'), 404, 'DORMITORY_NOT_FOUND');

  // ---- a dormitory with its meter in one call: one transaction, one actor start ----
  const inline = { ...meter, id: 'M-T-903', unitAddress: '9' };
  const withMeter = { id: 'T-903', building: 'BA', floor: 9, room: '903', electricityTariffId: 'tou-residential', meters: [inline] };
  await expectError('inline meter behind an unknown gateway', await call('POST', '/api/dormitories', { ...withMeter, meters: [{ ...inline, gatewayId: 'GW-NONE' }] }), 404, 'GATEWAY_NOT_FOUND', 'meters/0/gatewayId');
  await expectError('inline meter with a bad unit', await call('POST', '/api/dormitories', { ...withMeter, meters: [inline, { ...inline, id: 'M-T-903b', unitAddress: '0' }] }), 400, 'VALIDATION_FAILED', 'meters/1/unitAddress');
  t.notOk(directory.dormitories.has('T-903'), 'a refused inline meter refuses the dormitory whole');
  t.equal((await db.selectFrom('dormitories').select('id').where('id', '=', 'T-903').execute()).length, 0, 'and writes nothing');
  t.equal((await call('POST', '/api/dormitories', withMeter)).statusCode, 201, 'dormitory and meter created in one call');
  t.same(directory.dormitories.get('T-903')?.topology.meters.map((m) => m.meterId), ['M-T-903'], 'the live dormitory holds its meter from its first start');
  t.equal((await app.runtime.gateway('GW-T1'))?.meters, 1, 'GW-T1 polls it');
  t.equal((await db.selectFrom('circuits').select('id').where('meter_id', '=', 'M-T-903').execute()).length, 3, 'with its three circuits');
  await expectError('inline meter on a unit already taken', await call('POST', '/api/dormitories', { ...withMeter, id: 'T-904', room: '904', meters: [{ ...inline, id: 'M-T-904' }] }), 409, 'ALREADY_EXISTS', 'id');
  t.notOk(directory.dormitories.has('T-904'), 'refused whole: no dormitory T-904');
  t.equal((await call('DELETE', '/api/dormitories/T-903')).statusCode, 204, 'removed with its meter');

  for (const id of ['GW-T1', 'GW-TQ']) {
    t.equal((await call('DELETE', `/api/gateways/${id}`)).statusCode, 204, `${id} removed`);
    t.notOk(directory.gateways.has(id), `the ${id} actor is gone`);
    await expectError(`removed ${id}`, await call('GET', `/api/gateways/${id}`), 404, 'GATEWAY_NOT_FOUND');
  }
  await expectError('gateway removed twice', await call('DELETE', '/api/gateways/GW-T1'), 404, 'GATEWAY_NOT_FOUND');
  t.equal((await db.selectFrom('meters').select('id').where('id', '=', 'M-T-901').execute()).length, 0, 'no meter row left');
  t.equal((await db.selectFrom('circuits').select('id').where('meter_id', '=', 'M-T-901').execute()).length, 0, 'no circuit row left');
  t.equal((await db.selectFrom('accounts').select('id').where('dormitory_id', '=', 'T-901').execute()).length, 0, 'no account row left');

  // The seeded campus kept running through all this.
  await waitFor('A-101 still reading', async () => (await getDormitory(test, 'A-101')).online);

  // ---- every successful change audited once, with its operator; refusals not at all ----
  const audit = await db
    .selectFrom('audit_log')
    .select(['operator', 'action', 'target_type', 'target_id', 'details'])
    .where('action', 'in', ['gateway.create', 'gateway.delete', 'dormitory.create', 'dormitory.delete', 'meter.install', 'meter.remove'])
    .orderBy('id')
    .execute();
  t.same(
    audit.map((a) => [a.operator, a.action, a.target_type, a.target_id]),
    [
      ['admin', 'gateway.create', 'gateway', 'GW-T1'],
      ['manager-1', 'gateway.create', 'gateway', 'GW-TQ'],
      ['admin', 'dormitory.create', 'dormitory', 'T-901'],
      ['admin', 'meter.install', 'dormitory', 'T-901'],
      ['admin', 'meter.remove', 'dormitory', 'T-901'],
      ['manager-1', 'dormitory.delete', 'dormitory', 'T-901'],
      ['admin', 'dormitory.create', 'dormitory', 'T-903'],
      ['admin', 'meter.install', 'dormitory', 'T-903'],
      ['admin', 'dormitory.delete', 'dormitory', 'T-903'],
      ['admin', 'gateway.delete', 'gateway', 'GW-T1'],
      ['admin', 'gateway.delete', 'gateway', 'GW-TQ'],
    ],
    'the audit log, in order',
  );
  t.match(audit.find((a) => a.action === 'meter.install')!.details, { id: 'M-T-901', gatewayId: 'GW-T1', unitAddress: '7', profile: 'campus-1in3out' }, 'the install details');
  t.match(audit.find((a) => a.action === 'meter.remove')!.details, { meterId: 'M-T-901' }, 'the removal names the meter');
});
