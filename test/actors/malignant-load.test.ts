import t from 'tap';
import { SimulatedClock } from '../../src/clock.ts';
import { getDormitory, quietRules, readingsHandled, startLiveApp, waitFor, waitForReadings, type LiveDormitory } from '../helpers/live-app.ts';

/**
 * Illegal appliances on the socket circuit, on the simulator over real Modbus TCP (GW-A1), on
 * an 8-room campus. Every wait is counted in the room's own readings (polls), never in wall
 * time: the detector's window is 8 readings, the reclose cooldown 4 s of the injected clock,
 * which runs 5x faster than the wall (a cooldown is under a second of waiting).
 */
const WINDOW = 8; // the increment detector's windowSamples (defaults)
const COOLDOWN_S = 4;

t.test('malignant load trips the socket only, recloses, locks out after M trips, and the whitelist holds', async (t) => {
  // The reclose count is per local day: the clock starts at a fixed local morning (10:00), so
  // the few simulated minutes of this test never cross local midnight (a reset of the count).
  const clock = new SimulatedClock(Date.parse('2026-10-14T10:00:00+08:00'), 5);
  const test = await startLiveApp(t, { SIMULATOR_SPEED: '5' }, { clock, demoShape: { buildings: 1, floors: 1, roomsPerFloor: 8, occupantsPerRoom: 1 } });
  const { app, admin } = test;
  const inject = (method: 'GET' | 'POST' | 'PUT' | 'DELETE', url: string, payload?: object) => app.http.inject({ method, url, headers: admin, ...(payload ? { payload } : {}) });
  await quietRules(test);
  const rule = (name: string, config: object) => inject('PUT', `/api/rules/campus/demo/${name}`, { config });
  t.equal((await rule('malignantLoad', { mode: 'trip' })).statusCode, 200, 'malignant-load detection on (defaults)');
  t.equal((await rule('reclose', { cooldownSeconds: COOLDOWN_S, maxReclosesPerDay: 2 })).statusCode, 200, 'two recloses a day, 4 s apart');
  const badRule = await rule('malignantLoad', { mode: 'trip', increment: { pfThreshold: 2 } });
  t.equal(badRule.statusCode, 400);
  t.equal(badRule.json().error.field, 'config.increment.pfThreshold', 'a bad rule config names its field');

  // A rule PUT answers once every meter actor has the new rules: no settling time.
  const socket = (d: LiveDormitory) => d.circuits.find((c) => c.kind === 'socket')!;
  const plug = async (room: string, kind: string, circuit = 'socket') => {
    const response = await inject('POST', `/api/simulator/dormitories/${room}/appliances`, { kind, circuit });
    t.equal(response.statusCode, 201, `plugged a ${kind} into ${room}`);
    return response.json<{ id: string }>().id;
  };
  // Deadlines in readings: a trip needs a full window after the plug; a reclose the cooldown
  // (20 readings at 200 ms) and a read-back. Generous multiples, stretched by a slow machine.
  const tripped = (room: string) =>
    waitForReadings(test, room, `${room} socket tripped for malignant load`, async () => {
      const d = await getDormitory(test, room);
      return socket(d).supply === 'off' && socket(d).cutReason === 'malignant_load' ? d : undefined;
    }, 4 * WINDOW);
  const socketOn = (room: string) => waitForReadings(test, room, `${room} socket back on`, async () => socket(await getDormitory(test, room)).supply === 'on', 100);

  await waitFor('A-104 online', async () => (await getDormitory(test, 'A-104')).online);
  await readingsHandled(test, 'A-104', WINDOW); // the detector's baseline: a full window of the room's normal load
  const kettle = await plug('A-104', 'kettle');
  const first = await tripped('A-104');
  // Unplugged at once: the cooldown is 0.8 s of wall time, and a reclose onto the kettle would be another trip.
  t.equal((await inject('DELETE', `/api/simulator/dormitories/A-104/appliances/${kettle}`)).statusCode, 204);
  t.same(
    first.circuits.filter((c) => c.kind !== 'socket').map((c) => c.supply),
    ['on', 'on'],
    'a kettle trips the socket circuit and nothing else',
  );
  await app.runtime.flush();
  const alarm = await test.database.db.selectFrom('alarms').selectAll().where('dormitory_id', '=', 'A-104').where('kind', '=', 'malignant_load').executeTakeFirstOrThrow();
  t.ok(Array.isArray(alarm.evidence) && alarm.evidence.length >= 5, `the alarm keeps the readings that caused it (${alarm.evidence.length} samples)`);
  t.match(alarm.circuit, 'socket');
  const audit = await test.database.db.selectFrom('audit_log').select(['action', 'details']).where('target_id', '=', 'M-A-104:socket').execute();
  t.ok(audit.some((a) => a.action === 'circuit.cut'), 'the cut is audited');

  await socketOn('A-104');
  t.pass('reclosed after the cooldown');
  // The detector's baseline again, as before the kettle: a window of readings without it. A busy machine may read the
  // open relay in no poll, and a kettle->dryer swap between two polls is a step down, which never trips. The dryer
  // must still trip within the 32 readings after it is plugged, so a broken detector fails as before.
  await readingsHandled(test, 'A-104', WINDOW);

  const dryer = await plug('A-104', 'hair_dryer');
  await tripped('A-104');
  t.pass('a hair dryer trips too');
  await inject('DELETE', `/api/simulator/dormitories/A-104/appliances/${dryer}`);
  await socketOn('A-104');
  // The same baseline before the heater: the trip emptied the window, and a window of heater samples only has no step.
  await readingsHandled(test, 'A-104', WINDOW);

  await plug('A-104', 'heater');
  await tripped('A-104');
  t.pass('a heater trips too');
  // Past the cooldown on the injected clock, and a few readings more: no third reclose.
  const trippedAt = test.app.context.clock.now();
  await waitForReadings(test, 'A-104', 'the cooldown passing on the clock', () => test.app.context.clock.now() - trippedAt > COOLDOWN_S * 1000, 100);
  await readingsHandled(test, 'A-104', 5);
  t.equal(socket(await getDormitory(test, 'A-104')).supply, 'off', 'after the day\'s recloses are used up it stays off past the cooldown');
  await app.runtime.flush();
  const lockout = await waitForReadings(test, 'A-104', 'a lock-out alarm', async () => {
    const list = (await inject('GET', '/api/alarms?state=active&dormitory=A-104')).json<{ items: { id: number; kind: string }[] }>();
    return list.items.find((a) => a.kind === 'lockout');
  }, 100);
  await inject('DELETE', `/api/simulator/dormitories/A-104/appliances/${(await inject('GET', '/api/simulator')).json<{ dormitories: { dormitoryId: string; appliances: { id: string; kind: string }[] }[] }>().dormitories.find((d) => d.dormitoryId === 'A-104')!.appliances.find((a) => a.kind === 'heater')!.id}`);
  const release = await inject('POST', `/api/alarms/${lockout.id}/release`, { reason: 'kettle removed' });
  t.equal(release.statusCode, 200);
  await socketOn('A-104');
  t.pass('an operator release brings it back');
  t.equal((await inject('POST', `/api/alarms/${lockout.id}/release`, { reason: 'kettle removed' })).statusCode, 409, 'a released alarm cannot be released again');

  // The whitelist: an approved 1.8 kW appliance never trips.
  t.equal((await rule('malignantLoad', { mode: 'trip', whitelist: [{ name: 'approved kettle', minW: 1700, maxW: 1900, minPf: 0.95, maxPf: 1 }] })).statusCode, 200);
  await plug('A-106', 'kettle');
  // Small loads and an inductive (fridge-like) load never trip.
  await plug('A-107', 'laptop');
  await plug('A-107', 'phone_charger');
  await plug('A-107', 'phone_charger');
  await plug('A-108', 'air_conditioner');
  // Three full detector windows of each room's readings with the appliances drawing power.
  for (const room of ['A-106', 'A-107', 'A-108']) await readingsHandled(test, room, 3 * WINDOW);
  for (const room of ['A-106', 'A-107', 'A-108']) {
    const d = await getDormitory(test, room);
    t.equal(socket(d).supply, 'on', `${room} socket stays on`);
    t.ok(d.circuits.find((c) => c.kind === 'socket')!.powerW > 0, `${room} socket is drawing power`);
  }
});
