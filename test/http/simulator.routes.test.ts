import { randomUUID } from 'node:crypto';
import Fastify, { type FastifyInstance } from 'fastify';
import { connectAsync } from 'mqtt';
import pino from 'pino';
import t, { type Test } from 'tap';
import type { AppContext } from '../../src/app-context.ts';
import { SimulatedClock, SystemClock } from '../../src/clock.ts';
import { loadConfig } from '../../src/config.ts';
import { insertOperator } from '../../src/db/operator.repository.ts';
import { hashPassword } from '../../src/domain/password.ts';
import { STATUS_OFFLINE, STATUS_ONLINE } from '../../src/drivers/mqtt-payload.ts';
import { MqttTopics } from '../../src/drivers/mqtt-topics.ts';
import authPlugin from '../../src/http/auth.plugin.ts';
import errorHandler from '../../src/http/error-handler.plugin.ts';
import simulatorRoutes from '../../src/http/simulator.routes.ts';
import validationPlugin from '../../src/http/validation.plugin.ts';
import { ensureAdmin } from '../../src/services/bootstrap-admin.ts';
import { seedDemoCampus } from '../../src/services/demo-campus.seed.ts';
import { describeCampusFromDatabase } from '../../src/simulator/campus-description.repository.ts';
import { SimulatorRuntime, type SimulatorStatus } from '../../src/simulator/simulator-runtime.ts';
import { anonymousBroker } from '../helpers/open-broker.ts';
import { createTestDatabase } from '../helpers/test-database.ts';

const START_MS = Date.parse('2026-03-02T12:00:00Z');
const MQTT_URL = process.env['MQTT_URL'] || undefined;
const SECRET_IN_URL = 'pw-in-the-url-7Q2';

interface Harness {
  readonly http: FastifyInstance;
  readonly runtime: SimulatorRuntime;
  readonly clock: SimulatedClock;
  readonly admin: { authorization: string };
  login(username: string, password: string): Promise<{ authorization: string }>;
}

async function setup(t: Test): Promise<Harness> {
  const database = await createTestDatabase();
  t.teardown(() => database.close());
  const { db } = database;
  await seedDemoCampus(db, new Date(START_MS));
  await ensureAdmin(db, 'test-admin-password');
  const config = loadConfig({ LOG_LEVEL: 'silent' });
  const context: AppContext = { config, db, clock: new SystemClock(), log: pino({ level: 'silent' }) };

  const clock = new SimulatedClock(START_MS, 0);
  t.teardown(() => clock.dispose());
  const broker = MQTT_URL ? undefined : anonymousBroker();
  // A broker URL carrying user-info, as an operator's MQTT_URL may: GET /api/simulator must not repeat it.
  const mqttUrl = new URL(MQTT_URL ?? (await broker!.start()).url);
  mqttUrl.username = 'sim-user';
  mqttUrl.password = SECRET_IN_URL;
  const runtime = new SimulatorRuntime({
    description: await describeCampusFromDatabase(db, { seed: 3 }),
    clock,
    topicPrefix: `test-${randomUUID().slice(0, 8)}/campus`,
    mqttUrl: mqttUrl.toString(),
  });
  await runtime.start();
  t.teardown(async () => {
    await runtime.stop();
    await broker?.stop();
  });

  const http = Fastify({ logger: false });
  await http.register(errorHandler);
  await http.register(validationPlugin);
  await http.register(authPlugin, { context });
  await http.register(simulatorRoutes, { runtime });
  await http.ready();
  t.teardown(() => http.close());

  const login = async (username: string, password: string) => {
    const response = await http.inject({ method: 'POST', url: '/api/auth/login', payload: { username, password } });
    if (response.statusCode !== 200) throw new Error(`login failed: ${response.statusCode} ${response.body}`);
    return { authorization: `Bearer ${response.json<{ token: string }>().token}` };
  };
  await insertOperator(db, { username: 'money', passwordHash: await hashPassword('password-123'), role: 'finance' });
  await insertOperator(db, { username: 'warden', passwordHash: await hashPassword('password-123'), role: 'manager' });
  return { http, runtime, clock, admin: await login('admin', 'test-admin-password'), login };
}

const ROUTES = [
  { method: 'GET', url: '/api/simulator' },
  { method: 'POST', url: '/api/simulator/dormitories/A-101/appliances', payload: { kind: 'kettle', circuit: 'socket' } },
  { method: 'DELETE', url: '/api/simulator/dormitories/A-101/appliances/lamp-1' },
  { method: 'POST', url: '/api/simulator/dormitories/A-101/events', payload: { kind: 'cover_opened' } },
  { method: 'POST', url: '/api/simulator/gateways/GW-A1/offline' },
  { method: 'POST', url: '/api/simulator/gateways/GW-A1/online' },
  { method: 'PUT', url: '/api/simulator/clock', payload: { speed: 10 } },
] as const;

t.test('every simulator route needs an admin or a manager', async (t) => {
  const { http, login } = await setup(t);
  const finance = await login('money', 'password-123');
  for (const route of ROUTES) {
    const anonymous = await http.inject({ ...route });
    t.equal(anonymous.statusCode, 401, `401 anonymous ${route.method} ${route.url}`);
    t.equal(anonymous.json().error.code, 'UNAUTHENTICATED');
    const forbidden = await http.inject({ ...route, headers: finance });
    t.equal(forbidden.statusCode, 403, `403 finance ${route.method} ${route.url}`);
  }
  const manager = await login('warden', 'password-123');
  t.equal((await http.inject({ method: 'GET', url: '/api/simulator', headers: manager })).statusCode, 200, 'a manager may');
});

t.test('plugs and unplugs appliances', async (t) => {
  const { http, runtime, admin } = await setup(t);
  const meter = runtime.campus.dormitory('A-101')!.electric!;
  const before = meter.read().powerW;

  const plugged = await http.inject({ method: 'POST', url: '/api/simulator/dormitories/A-101/appliances', headers: admin, payload: { kind: 'kettle', circuit: 'socket' } });
  t.equal(plugged.statusCode, 201);
  const { id } = plugged.json<{ id: string }>();
  t.match(id, /kettle/);
  t.equal(meter.read().powerW, Math.round((before + 1800) * 10) / 10, 'the kettle draws 1800 W on the socket circuit');

  const status = (await http.inject({ method: 'GET', url: '/api/simulator', headers: admin })).json<SimulatorStatus>();
  t.equal(status.dormitories.length, 1, 'only the dormitory touched through the API is listed');
  t.match(status.dormitories[0], { dormitoryId: 'A-101', relays: { lighting: true, socket: true, ac: true } });
  t.match(
    status.dormitories[0]!.appliances.filter((a) => a.api),
    [{ id, kind: 'kettle', circuit: 'socket', usage: 'continuous', api: true }],
  );
  t.ok(status.dormitories[0]!.appliances.some((a) => !a.api && a.kind === 'lamp'), 'the furnished room is shown too');

  for (const [payload, field] of [
    [{ kind: 'toaster', circuit: 'socket' }, 'kind'],
    [{ kind: 'kettle', circuit: 'garage' }, 'circuit'],
    [{ kind: 'kettle' }, 'circuit'],
    [{ kind: 'kettle', circuit: 'socket', watts: 3000 }, 'watts'],
    [{ kind: 1, circuit: 'socket' }, 'kind'],
  ] as const) {
    const response = await http.inject({ method: 'POST', url: '/api/simulator/dormitories/A-101/appliances', headers: admin, payload });
    t.equal(response.statusCode, 400, `400 for ${JSON.stringify(payload)}`);
    t.match(response.json().error, { code: 'VALIDATION_FAILED', field });
  }
  const unknown = await http.inject({ method: 'POST', url: '/api/simulator/dormitories/Z-999/appliances', headers: admin, payload: { kind: 'kettle', circuit: 'socket' } });
  t.equal(unknown.statusCode, 404);
  t.equal(unknown.json().error.code, 'DORMITORY_NOT_FOUND');

  const removed = await http.inject({ method: 'DELETE', url: `/api/simulator/dormitories/A-101/appliances/${id}`, headers: admin });
  t.equal(removed.statusCode, 204);
  t.equal(removed.body, '');
  t.equal(meter.read().powerW, before, 'back to the room load');
  const again = await http.inject({ method: 'DELETE', url: `/api/simulator/dormitories/A-101/appliances/${id}`, headers: admin });
  t.equal(again.statusCode, 404);
  t.equal(again.json().error.code, 'APPLIANCE_NOT_FOUND');
  const noRoom = await http.inject({ method: 'DELETE', url: '/api/simulator/dormitories/Z-999/appliances/kettle-1', headers: admin });
  t.equal(noRoom.statusCode, 404);
  t.equal(noRoom.json().error.code, 'DORMITORY_NOT_FOUND');
  const after = (await http.inject({ method: 'GET', url: '/api/simulator', headers: admin })).json<SimulatorStatus>();
  t.same(after.dormitories, [], 'nothing the API plugged is left');
});

t.test('raises and clears meter events', async (t) => {
  const { http, runtime, admin } = await setup(t);
  const meter = runtime.campus.dormitory('A-102')!.electric!;
  const event = (kind: string, dormitoryId = 'A-102') =>
    http.inject({ method: 'POST', url: `/api/simulator/dormitories/${dormitoryId}/events`, headers: admin, payload: { kind } });
  const airConditioners = () => meter.load.appliances().filter((a) => a.kind === 'air_conditioner').length;

  t.equal(airConditioners(), 1, 'a furnished room has its AC');
  const unplugged = await event('ac_unplugged');
  t.equal(unplugged.statusCode, 202);
  t.same(unplugged.json(), { dormitoryId: 'A-102', kind: 'ac_unplugged' });
  t.equal(airConditioners(), 0);
  t.equal((await event('ac_plugged')).statusCode, 202);
  t.equal(airConditioners(), 1);

  t.equal((await event('cover_opened')).statusCode, 202);
  t.equal((await event('reverse_connection')).statusCode, 202);
  t.same(meter.flags, { coverOpen: true, reverseConnection: true });
  t.ok(meter.read().powerW <= 0, 'a reverse-connected meter reads negative power');
  const status = (await http.inject({ method: 'GET', url: '/api/simulator', headers: admin })).json<SimulatorStatus>();
  t.match(status.dormitories, [{ dormitoryId: 'A-102', coverOpen: true, reverseConnection: true }], 'flagged rooms are listed');
  t.equal((await event('cover_closed')).statusCode, 202);
  t.equal((await event('connection_fixed')).statusCode, 202);
  t.same(meter.flags, { coverOpen: false, reverseConnection: false });

  const bad = await event('meter_stolen');
  t.equal(bad.statusCode, 400);
  t.match(bad.json().error, { code: 'VALIDATION_FAILED', field: 'kind' });
  const missing = await http.inject({ method: 'POST', url: '/api/simulator/dormitories/A-102/events', headers: admin, payload: {} });
  t.match(missing.json().error, { code: 'VALIDATION_FAILED', field: 'kind' });
  for (const kind of ['cover_opened', 'cover_closed']) {
    const unknown = await event(kind, 'Z-999');
    t.equal(unknown.statusCode, 404, `404 for ${kind} on an unknown dormitory`);
    t.equal(unknown.json().error.code, 'DORMITORY_NOT_FOUND');
  }
});

t.test('drops and restores gateways', async (t) => {
  const { http, runtime, admin } = await setup(t);
  const offline = await http.inject({ method: 'POST', url: '/api/simulator/gateways/GW-B2/offline', headers: admin });
  t.equal(offline.statusCode, 202);
  t.same(offline.json(), { gatewayId: 'GW-B2', online: false });
  t.equal(runtime.campus.gateway('GW-B2')!.online, false);
  const status = (await http.inject({ method: 'GET', url: '/api/simulator', headers: admin })).json<SimulatorStatus>();
  t.match(status.totals, { gateways: 10, gatewaysOnline: 9 });
  t.match(status.mqttUrl, /^mqtt:\/\/[^@]+$/, 'the broker URL is shown without user-info');
  t.notMatch(JSON.stringify(status), /sim-user|pw-in-the-url/, 'no credential of MQTT_URL anywhere in the answer');
  t.match(status.gateways.find((g) => g.gatewayId === 'GW-B2'), { protocol: 'mqtt', online: false, meterCount: 40, port: null });
  t.match(status.gateways.find((g) => g.gatewayId === 'GW-A2'), { protocol: 'modbus-tcp', online: true, port: Number });

  // The gateway's MQTT status shows it: the broker publishes its will, then it reconnects.
  const { mqttUrl, topicPrefix } = runtime.endpoints;
  const statusTopic = new MqttTopics(topicPrefix).topic('GW-B2', 'status');
  const client = await connectAsync(mqttUrl, { clientId: `test-sub-${randomUUID().slice(0, 8)}`, reconnectPeriod: 0 });
  t.teardown(() => client.endAsync(true));
  const retained = new Promise<string>((resolve) => client.once('message', (_topic, payload) => resolve(payload.toString())));
  await client.subscribeAsync(statusTopic, { qos: 1 });
  t.equal(await retained, STATUS_OFFLINE, 'the dropped gateway reads offline on MQTT');
  const backOnline = new Promise<string>((resolve) => client.once('message', (_topic, payload) => resolve(payload.toString())));

  const online = await http.inject({ method: 'POST', url: '/api/simulator/gateways/GW-B2/online', headers: admin });
  t.equal(online.statusCode, 202);
  t.equal(runtime.campus.gateway('GW-B2')!.online, true);
  t.equal(await backOnline, STATUS_ONLINE, 'and online again once restored');
  const unknown = await http.inject({ method: 'POST', url: '/api/simulator/gateways/GW-Z9/offline', headers: admin });
  t.equal(unknown.statusCode, 404);
  t.equal(unknown.json().error.code, 'GATEWAY_NOT_FOUND');
});

t.test('sets the clock speed and jumps it forward only', async (t) => {
  const { http, clock, admin } = await setup(t);
  const put = (payload: unknown) => http.inject({ method: 'PUT', url: '/api/simulator/clock', headers: admin, payload: payload as object });

  const jumpTo = '2026-03-05T00:00:00.000Z';
  const jumped = await put({ time: jumpTo });
  t.equal(jumped.statusCode, 200);
  t.same(jumped.json(), { time: jumpTo, timeMs: Date.parse(jumpTo), speed: 0 });
  t.equal(clock.now(), Date.parse(jumpTo));

  const fast = await put({ speed: 3600 });
  t.equal(fast.statusCode, 200);
  t.equal(fast.json().speed, 3600);
  t.equal(clock.speed, 3600);
  const both = await put({ speed: 0, time: '2026-03-06T08:00:00+08:00' });
  t.equal(both.statusCode, 200);
  t.match(both.json(), { time: '2026-03-06T00:00:00.000Z', speed: 0 });

  const status = (await http.inject({ method: 'GET', url: '/api/simulator', headers: admin })).json<SimulatorStatus>();
  t.match(status.clock, { time: '2026-03-06T00:00:00.000Z', speed: 0 });

  for (const [payload, field] of [
    [{ time: '2026-03-01T00:00:00Z' }, 'time'],
    [{ time: 'yesterday' }, 'time'],
    [{ speed: 3601 }, 'speed'],
    [{ speed: -1 }, 'speed'],
    [{ speed: '10' }, 'speed'],
    [{ speed: 1, rewind: true }, 'rewind'],
    [{}, 'body'],
  ] as const) {
    const response = await put(payload);
    t.equal(response.statusCode, 400, `400 for ${JSON.stringify(payload)}`);
    t.match(response.json().error, { code: 'VALIDATION_FAILED', field });
  }
  const backwards = await put({ speed: 100, time: '2026-03-01T00:00:00Z' });
  t.match(backwards.json().error.message, /only moves forward/);
  t.equal(clock.speed, 0, 'a rejected change changes nothing');
  t.equal(clock.now(), Date.parse('2026-03-06T00:00:00Z'));
});
