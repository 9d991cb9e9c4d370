// CI: also on PGlite + the embedded broker (the demo's simulator publishing through an embedded broker, as npm start does).
import { randomUUID } from 'node:crypto';
import { connectAsync, type MqttClient } from 'mqtt';
import t, { type Test } from 'tap';
import { SimulatedClock } from '../../src/clock.ts';
import type { Database } from '../../src/db/database.ts';
import type { MeterReading } from '../../src/domain/reading.ts';
import type { MeterEndpoint } from '../../src/drivers/gateway-driver.ts';
import { ModbusTcpDriver } from '../../src/drivers/modbus-tcp.driver.ts';
import { decodeTelemetry, STATUS_OFFLINE, STATUS_ONLINE } from '../../src/drivers/mqtt-payload.ts';
import { MqttTopics } from '../../src/drivers/mqtt-topics.ts';
import { seedDemoCampus } from '../../src/services/demo-campus.seed.ts';
import { describeCampusFromDatabase, initialEnergyWh, simulatedClockStartMs } from '../../src/simulator/campus-description.repository.ts';
import { SimulatedCampus } from '../../src/simulator/simulated-campus.ts';
import { SimulatorRuntime, type SimulatorEndpoints } from '../../src/simulator/simulator-runtime.ts';
import type { Kysely } from 'kysely';
import { RecordingListener } from '../drivers/recording-listener.ts';
import { anonymousBroker } from '../helpers/open-broker.ts';
import { createTestDatabase } from '../helpers/test-database.ts';

// MQTT_URL (e.g. the machine's Mosquitto) when set, else an anonymous embedded broker of the test's.
const MQTT_URL = process.env['MQTT_URL'] || undefined;
/** 20:00 local time in the demo campus (UTC+8): rooms are lived in. */
const START_MS = Date.parse('2026-03-02T12:00:00Z');
t.comment(`MQTT: ${MQTT_URL ?? 'embedded broker started by the test'}`);

function uniquePrefix(): string {
  return `test-${randomUUID().slice(0, 8)}/campus`;
}

async function seededDatabase(t: Test) {
  const database = await createTestDatabase();
  t.teardown(() => database.close());
  await seedDemoCampus(database.db, new Date(START_MS));
  return database.db;
}

async function startRuntime(t: Test, db: Kysely<Database>, clock: SimulatedClock, options: { mqttUrl?: string | undefined; topicPrefix: string }) {
  const broker = options.mqttUrl ? undefined : anonymousBroker();
  const mqttUrl = options.mqttUrl ?? (await broker!.start()).url;
  const runtime = new SimulatorRuntime({
    description: await describeCampusFromDatabase(db, { seed: 7 }),
    clock,
    publishIntervalMs: 100,
    topicPrefix: options.topicPrefix,
    mqttUrl,
  });
  t.teardown(async () => {
    await runtime.stop();
    await broker?.stop();
  });
  const endpoints = await runtime.start();
  return { runtime, endpoints };
}

/** A real Modbus TCP poller (the project's driver) on one simulated gateway. */
async function modbusPoller(t: Test, endpoints: SimulatorEndpoints, gatewayId: string, clock: SimulatedClock, meters: readonly MeterEndpoint[]) {
  const endpoint = endpoints.gateways.get(gatewayId);
  if (endpoint?.protocol !== 'modbus-tcp') throw new Error(`${gatewayId} is not a Modbus gateway`);
  const listener = new RecordingListener();
  const driver = new ModbusTcpDriver({
    host: endpoint.host,
    port: endpoint.port,
    clock,
    listener,
    pollIntervalMs: 50,
    requestTimeoutMs: 200,
    offlineAfterFailedPolls: 2,
    reconnectMinDelayMs: 50,
    reconnectMaxDelayMs: 200,
  });
  driver.setMeters(meters);
  await driver.start();
  t.teardown(() => driver.stop());
  return listener;
}

/** Waits for the first message on `topic` whose payload passes `accept`. */
function nextMessage(client: MqttClient, topic: string, accept: (payload: Buffer) => boolean = () => true, timeoutMs = 5000): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      client.off('message', onMessage);
      reject(new Error(`no message on ${topic} within ${timeoutMs} ms`));
    }, timeoutMs);
    const onMessage = (received: string, payload: Buffer): void => {
      if (received !== topic || !accept(payload)) return;
      clearTimeout(timer);
      client.off('message', onMessage);
      resolve(payload);
    };
    client.on('message', onMessage);
  });
}

async function subscriber(t: Test, url: string, topics: readonly string[]): Promise<MqttClient> {
  const client = await connectAsync(url, { clientId: `test-sub-${randomUUID().slice(0, 8)}`, reconnectPeriod: 0 });
  t.teardown(() => client.endAsync(true));
  await client.subscribeAsync([...topics], { qos: 1 });
  return client;
}

function telemetryReading(payload: Buffer, unitAddress: string): MeterReading | undefined {
  const { readings } = decodeTelemetry(payload);
  return readings.find((r) => r.unitAddress === unitAddress);
}

t.test('describes the simulated part of the campus from the database', async (t) => {
  const db = await seededDatabase(t);
  const description = await describeCampusFromDatabase(db, { seed: 42 });
  t.equal(description.seed, 42);
  t.equal(description.utcOffsetMinutes, 480, 'time zone from the campus row');
  t.same(
    description.gateways.map((g) => [g.gatewayId, g.protocol, g.meters.length]),
    ['A1', 'A2', 'A3', 'A4', 'A5', 'B1', 'B2', 'B3', 'B4', 'B5'].map((id) => [`GW-${id}`, id.startsWith('A') ? 'modbus-tcp' : 'mqtt', 40]),
  );
  const a1 = description.gateways[0]!;
  t.same(a1.meters.slice(0, 2).map((m) => m.unitAddress), ['1', '2'], 'meters in numeric unit order');
  t.match(a1.meters[0], { unitAddress: '1', profile: 'campus-1in3out', dormitoryId: 'A-101', initialEnergyWh: { lighting: 0, socket: 0, ac: 0 } });
  t.match(a1.meters.find((m) => m.unitAddress === '101'), { profile: 'water-valve', dormitoryId: 'A-101', initialVolumeL: 0 });

  await db.updateTable('gateways').set({ address: '10.0.0.9:502' }).where('id', '=', 'GW-A5').execute();
  const fewer = await describeCampusFromDatabase(db, {});
  t.notOk(fewer.gateways.some((g) => g.gatewayId === 'GW-A5'), 'only gateways the simulator provides');
  t.equal(fewer.seed, undefined, 'seed left to the campus default');
});

t.test('a second meter of a kind in one dormitory is left out of the simulation, not a failed start', async (t) => {
  // Found from outside: POST /api/dormitories/B-105/meters with a second electricity meter on
  // GW-B1 answered 201, and the next `serve --simulate` exited with "dormitory B-105 already has
  // an electricity meter".
  const db = await seededDatabase(t);
  await db
    .insertInto('meters')
    .values([
      { id: 'X-A-101', dormitory_id: 'A-101', kind: 'electric', profile: 'sdm120', gateway_id: 'GW-A1', unit_address: '201' },
      { id: 'Y-A-101', dormitory_id: 'A-101', kind: 'water', profile: 'water-valve', gateway_id: 'GW-A1', unit_address: '202' },
    ])
    .execute();
  const description = await describeCampusFromDatabase(db, { seed: 5 });
  t.same(
    description.unsimulated.map((m) => [m.meterId, m.gatewayId]),
    [
      ['X-A-101', 'GW-A1'],
      ['Y-A-101', 'GW-A1'],
    ],
  );
  t.match(description.unsimulated[0]!.reason, /A-101 already has a simulated electricity meter \(M-A-101\)/);
  const a1 = description.gateways.find((g) => g.gatewayId === 'GW-A1')!;
  t.equal(a1.meters.length, 40, 'the seeded meters are all simulated');
  t.doesNotThrow(() => new SimulatedCampus(description, new SimulatedClock(START_MS, 0)), 'the simulated campus builds');
});

t.test('spreads the billed register over the circuits so the incoming line equals it', async (t) => {
  const circuits = (lighting: number | null, socket: number | null, ac: number | null) => ({ lighting, socket, ac });
  t.same(initialEnergyWh('campus-1in3out', { cursor: 10_000, circuits: circuits(null, null, null) }), { lighting: 10_000, socket: 0, ac: 0 });
  t.same(initialEnergyWh('campus-1in3out', { cursor: 10_000, circuits: circuits(1000, 2000, 3000) }), { lighting: 5000, socket: 2000, ac: 3000 }, 'circuits resume, the rest on lighting');
  t.same(initialEnergyWh('campus-1in3out', { cursor: 5000, circuits: circuits(1000, 2000, 3000) }), { lighting: 5000, socket: 0, ac: 0 }, 'circuits that do not fit under the cursor are dropped');
  t.same(initialEnergyWh('campus-1in3out', { cursor: null, circuits: circuits(1, 2, 3) }), { lighting: 1, socket: 2, ac: 3 }, 'never billed: circuits as stored');
  t.same(initialEnergyWh('acrel-ddsy1352', { cursor: 7770, circuits: circuits(null, null, null) }), { main: 7770 });
  t.same(initialEnergyWh('sdm120', { cursor: null, circuits: circuits(null, null, null) }), { main: 0 });
});

t.test('serves building A over Modbus TCP and building B over MQTT; a dropped gateway goes quiet', async (t) => {
  const db = await seededDatabase(t);
  const clock = new SimulatedClock(START_MS, 0);
  const prefix = uniquePrefix();
  const { runtime, endpoints } = await startRuntime(t, db, clock, { mqttUrl: MQTT_URL, topicPrefix: prefix });
  t.equal(endpoints.mqttUrl, runtime.endpoints.mqttUrl, 'the broker it was given');
  t.match(endpoints.mqttUrl, /^mqtt:\/\//);
  t.equal(endpoints.gateways.size, 10);
  t.match(endpoints.gateways.get('GW-A1'), { protocol: 'modbus-tcp', host: '127.0.0.1', port: Number });
  t.same(endpoints.gateways.get('GW-B1'), { protocol: 'mqtt', gatewayId: 'GW-B1' });
  t.equal(endpoints.publishIntervalMs, 100);
  const ports = [...endpoints.gateways.values()].flatMap((e) => (e.protocol === 'modbus-tcp' ? [e.port] : []));
  t.equal(new Set(ports).size, 5, 'one Modbus server per building-A gateway, each on its own port');

  clock.advance(2 * 3_600_000); // two evening hours of load
  const expected = runtime.campus.gateway('GW-A1')!.meter('1')!.read();
  t.ok(expected.type === 'electric' && expected.energyWh > 0, 'the room used energy');

  // Modbus: a real client reads A-101's meter from its gateway's endpoint.
  const listener = await modbusPoller(t, endpoints, 'GW-A1', clock, [
    { unitAddress: '1', profile: 'campus-1in3out' },
    { unitAddress: '101', profile: 'water-valve' },
  ]);
  const { reading } = await listener.waitFor('reading', (e) => e.reading.unitAddress === '1');
  t.equal(reading.type, 'electric');
  if (reading.type === 'electric' && expected.type === 'electric') {
    t.equal(reading.energyWh, expected.energyWh, 'the register read over Modbus is the simulated one');
    t.same(reading.circuits.map((c) => c.energyWh), expected.circuits.map((c) => c.energyWh));
    t.equal(reading.at, START_MS + 2 * 3_600_000, 'stamped with simulated time');
  }
  await listener.waitFor('reading', (e) => e.reading.unitAddress === '101');

  // MQTT: a real subscriber receives building B's telemetry and retained status.
  const topics = new MqttTopics(prefix);
  const client = await subscriber(t, endpoints.mqttUrl, [topics.topic('GW-B1', 'telemetry'), topics.topic('GW-B1', 'status')]);
  const payload = await nextMessage(client, topics.topic('GW-B1', 'telemetry'), (p) => telemetryReading(p, '1') !== undefined);
  const b101 = telemetryReading(payload, '1')!;
  const simulatedB101 = runtime.campus.gateway('GW-B1')!.meter('1')!.read();
  t.equal(b101.type, 'electric');
  t.equal(b101.at, clock.now(), 'telemetry carries simulated time');
  if (b101.type === 'electric' && simulatedB101.type === 'electric') t.equal(b101.energyWh, simulatedB101.energyWh);

  // Dropping the MQTT gateway: the broker publishes its will, telemetry stops.
  const offlineStatus = nextMessage(client, topics.topic('GW-B1', 'status'), (p) => p.toString() === STATUS_OFFLINE);
  runtime.setGatewayOnline('GW-B1', false);
  await offlineStatus;
  let afterDrop = 0;
  const count = (topic: string): void => {
    if (topic === topics.topic('GW-B1', 'telemetry')) afterDrop++;
  };
  await new Promise((resolve) => setTimeout(resolve, 100)); // let in-flight messages land
  client.on('message', count);
  await new Promise((resolve) => setTimeout(resolve, 400));
  client.off('message', count);
  t.equal(afterDrop, 0, 'a dropped MQTT gateway publishes nothing');
  const onlineAgain = nextMessage(client, topics.topic('GW-B1', 'status'), (p) => p.toString() === STATUS_ONLINE);
  runtime.setGatewayOnline('GW-B1', true);
  await onlineAgain;
  await nextMessage(client, topics.topic('GW-B1', 'telemetry'));
  t.pass('back online, publishing again');

  // Dropping the Modbus gateway: no answers, the poller marks its meters offline.
  const mark = listener.events.length;
  runtime.setGatewayOnline('GW-A1', false);
  await listener.waitFor('meterStatus', (e) => e.unitAddress === '1' && !e.online, 5000, mark);
  const readingsWhileDown = listener.of('reading').length;
  await new Promise((resolve) => setTimeout(resolve, 300));
  t.equal(listener.of('reading').length, readingsWhileDown, 'no readings from a dropped gateway');
  t.match(runtime.status().gateways.find((g) => g.gatewayId === 'GW-A1'), { online: false, meterCount: 40 });
  const back = listener.events.length;
  runtime.setGatewayOnline('GW-A1', true);
  await listener.waitFor('meterStatus', (e) => e.unitAddress === '1' && e.online, 5000, back);
  t.pass('the Modbus gateway answers again');

  const status = runtime.status();
  t.match(status, { running: true, totals: { gateways: 10, gatewaysOnline: 10, meters: 400, dormitories: 200 }, dormitories: [] });
  t.ok(status.totals.powerW > 0);
  t.ok(JSON.stringify(status).length < 10_000, 'the status is a summary');
});

t.test('a restarted simulator continues its registers from the billing cursors', async (t) => {
  const db = await seededDatabase(t);
  const clock = new SimulatedClock(START_MS, 0);
  const now = new Date(START_MS);
  await db
    .insertInto('billing_cursors')
    .values([
      { meter_id: 'M-A-101', register: 123_456, read_at: now, billing_state: '{}' },
      { meter_id: 'W-A-101', register: 789, read_at: now, billing_state: '{}' },
      { meter_id: 'M-B-101', register: 10_000, read_at: now, billing_state: '{}' },
    ])
    .execute();
  await db
    .insertInto('interval_readings')
    .values(
      (
        [
          ['lighting', 900, 1000],
          ['socket', 1500, 2000],
          ['ac', 2500, 3000],
        ] as const
      ).flatMap(([channel, older, newer]) => [
        { meter_id: 'M-B-101', channel, interval_start: new Date(START_MS - 1_800_000), usage: 1, max_power_w: 1, register_end: older },
        { meter_id: 'M-B-101', channel, interval_start: new Date(START_MS - 900_000), usage: 1, max_power_w: 1, register_end: newer },
      ]),
    )
    .execute();

  t.equal(await simulatedClockStartMs(db, START_MS - 60_000), START_MS, 'a restarted clock starts no earlier than billing read');
  t.equal(await simulatedClockStartMs(db, START_MS + 60_000), START_MS + 60_000);

  const first = await startRuntime(t, db, clock, { topicPrefix: uniquePrefix() });
  const a101 = first.runtime.campus.gateway('GW-A1')!.meter('1')!.read();
  t.equal(a101.type === 'electric' && a101.energyWh, 123_456, 'starts at the billed register');
  const topics = new MqttTopics(first.endpoints.topicPrefix);
  const client = await subscriber(t, first.endpoints.mqttUrl, [topics.topic('GW-B1', 'telemetry')]);
  const b101 = telemetryReading(await nextMessage(client, topics.topic('GW-B1', 'telemetry'), (p) => telemetryReading(p, '1') !== undefined), '1')!;
  t.equal(b101.type === 'electric' && b101.energyWh, 10_000);
  t.same(b101.type === 'electric' && b101.circuits.map((c) => c.energyWh), [5000, 2000, 3000], 'circuits resume from their last interval readings');
  await client.endAsync(true);

  const listener = await modbusPoller(t, first.endpoints, 'GW-A1', clock, [
    { unitAddress: '1', profile: 'campus-1in3out' },
    { unitAddress: '101', profile: 'water-valve' },
  ]);
  clock.advance(6 * 3_600_000);
  const mark = listener.events.length;
  const water = (await listener.waitFor('reading', (e) => e.reading.unitAddress === '101', 5000, mark)).reading;
  const electric = (await listener.waitFor('reading', (e) => e.reading.unitAddress === '1', 5000, mark)).reading;
  if (electric.type !== 'electric' || water.type !== 'water') throw new Error('unexpected reading types');
  t.ok(electric.energyWh > 123_456, `the register advanced (${electric.energyWh} Wh)`);
  t.ok(water.volumeL >= 789, `the water register kept counting (${water.volumeL} L)`);

  // Billing stores what it read; the simulator restarts (as after a crash of the process).
  await db.updateTable('billing_cursors').set({ register: electric.energyWh }).where('meter_id', '=', 'M-A-101').execute();
  await db.updateTable('billing_cursors').set({ register: water.volumeL }).where('meter_id', '=', 'W-A-101').execute();
  await first.runtime.stop();
  t.notOk(first.runtime.isRunning);
  await first.runtime.stop(); // idempotent

  const second = await startRuntime(t, db, clock, { topicPrefix: uniquePrefix() });
  const again = await modbusPoller(t, second.endpoints, 'GW-A1', clock, [
    { unitAddress: '1', profile: 'campus-1in3out' },
    { unitAddress: '101', profile: 'water-valve' },
  ]);
  const electricAgain = (await again.waitFor('reading', (e) => e.reading.unitAddress === '1')).reading;
  const waterAgain = (await again.waitFor('reading', (e) => e.reading.unitAddress === '101')).reading;
  t.equal(electricAgain.type === 'electric' && electricAgain.energyWh, electric.energyWh, 'the restarted meter continues from the billed register');
  t.equal(waterAgain.type === 'water' && waterAgain.volumeL, water.volumeL, 'so does the water meter');
  clock.advance(3_600_000);
  const later = second.runtime.campus.gateway('GW-A1')!.meter('1')!.read();
  t.ok(later.type === 'electric' && later.energyWh >= electric.energyWh, 'and only goes forward');
});

t.test('a start that fails leaves nothing running; status before start', async (t) => {
  const db = await seededDatabase(t);
  const clock = new SimulatedClock(START_MS, 0);
  const runtime = new SimulatorRuntime({
    description: await describeCampusFromDatabase(db),
    clock,
    mqttUrl: 'mqtt://127.0.0.1:1', // never reached: the Modbus servers fail first
    host: '203.0.113.1', // TEST-NET-3: not an address of this machine
  });
  t.match(runtime.status(), { running: false, totals: { gateways: 0 } });
  t.throws(() => runtime.campus, /not running/);
  const started = Date.now();
  await t.rejects(runtime.start());
  t.notOk(runtime.isRunning);
  t.ok(Date.now() - started < 5_000, 'fails fast');
  await runtime.stop(); // nothing to stop
});

t.test('a clock change of speed and time lands on that time exactly; a refused one changes nothing', async (t) => {
  const db = await seededDatabase(t);
  const clock = new SimulatedClock(START_MS, 3600);
  const runtime = new SimulatorRuntime({ description: await describeCampusFromDatabase(db), clock, mqttUrl: 'mqtt://127.0.0.1:1', host: '127.0.0.1' });
  // A timer that falls due in the jump and takes 20 ms of real time (at 3600x, 72 simulated seconds).
  clock.schedule(60_000, () => {
    const until = performance.now() + 20;
    while (performance.now() < until);
  });
  const target = START_MS + 3_600_000;
  const state = runtime.setClock({ speed: 0, timeMs: target });
  t.same(state, { time: new Date(target).toISOString(), timeMs: target, speed: 0 }, 'speed 0 at the given time: the clock stands at exactly that time');
  t.equal(clock.now(), target);

  clock.setSpeed(60);
  t.throws(() => runtime.setClock({ speed: 0, timeMs: START_MS }), /before the simulated now/, 'a jump backwards is refused');
  t.equal(clock.speed, 60, 'and the speed asked for with it is not applied');
});
