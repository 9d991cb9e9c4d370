import { randomBytes } from 'node:crypto';
import type { Test } from 'tap';
import { buildApp, type App } from '../../src/app.ts';
import { SimulatedClock } from '../../src/clock.ts';
import { loadConfig } from '../../src/config.ts';
import type { DatabaseHandle } from '../../src/db/connect.ts';
import { appendPostings } from '../../src/db/ledger.repository.ts';
import type { CircuitKind } from '../../src/domain/reading.ts';
import { anonymousBroker } from './open-broker.ts';
import type { SimulatedCampusDescription } from '../../src/simulator/simulated-campus.ts';
import { SimulatorRuntime } from '../../src/simulator/simulator-runtime.ts';
import { getDormitory, waitFor } from './live-app.ts';
import { QUIET_RULES, writeCampusRules } from './quiet-rules.ts';
import { ADMIN_PASSWORD } from './test-app.ts';
import { createTestDatabase } from './test-database.ts';

/**
 * A small campus whose meters outlive the server, as real meters do: the simulator (Modbus TCP
 * gateway GW-R1 with, MQTT gateway GW-R2 with R-3) runs in the test on its own
 * SimulatedClock, and the server is built, stopped and built again on the same database while
 * the simulated relays keep whatever state the last command left them in.
 */
export const ROOMS = ['R-1', 'R-2', 'R-3'] as const;
export type Room = (typeof ROOMS)[number];
const GATEWAY_OF: Record<Room, 'GW-R1' | 'GW-R2'> = { 'R-1': 'GW-R1', 'R-2': 'GW-R1', 'R-3': 'GW-R2' };
const UNIT_OF: Record<Room, string> = { 'R-1': '1', 'R-2': '2', 'R-3': '3' };
const RATE = 600_000; // milli-fen per kWh: 6 yuan, so a kettle's charges show within a simulated hour

export interface RestartCampus {
  readonly clock: SimulatedClock;
  readonly simulator: SimulatorRuntime;
  readonly database: DatabaseHandle;
  /** The running server (after `start()`), or undefined between runs. */
  current: { app: App; admin: { authorization: string } } | undefined;
  /** Builds and starts a server on the same database and simulator. */
  start(): Promise<{ app: App; admin: { authorization: string } }>;
  /** Stops the running server gracefully (the simulator keeps running). */
  stop(): Promise<void>;
  /** The relays as the simulated meter holds them. */
  relays(room: Room): Partial<Record<CircuitKind, boolean>>;
}

function description(): SimulatedCampusDescription {
  return {
    seed: 11,
    utcOffsetMinutes: 480,
    gateways: (['GW-R1', 'GW-R2'] as const).map((gatewayId) => ({
      gatewayId,
      protocol: gatewayId === 'GW-R1' ? ('modbus-tcp' as const) : ('mqtt' as const),
      meters: ROOMS.filter((room) => GATEWAY_OF[room] === gatewayId).map((room) => ({
        unitAddress: UNIT_OF[room],
        profile: 'campus-1in3out' as const,
        dormitoryId: room,
        initialEnergyWh: { lighting: 10_000, socket: 20_000, ac: 30_000 },
        furnished: false,
      })),
    })),
  };
}

/** Opening balances in fen. */
async function seed(database: DatabaseHandle, modbusAddress: string, balances: Record<Room, number>, waterBalances: Record<Room, number>): Promise<void> {
  await database.db.transaction().execute(async (trx) => {
    await trx.insertInto('campuses').values({ id: 'rc', name: 'Restart campus', utc_offset_minutes: 480 }).execute();
    await trx.insertInto('buildings').values({ id: 'RB', campus_id: 'rc', name: 'Restart building', floors: 1 }).execute();
    await trx.insertInto('tariffs').values({ id: 'flat-e', name: 'flat electricity', purse: 'electricity', definition: JSON.stringify({ kind: 'single', rate: RATE }) }).execute();
    await trx
      .insertInto('gateways')
      .values([
        { id: 'GW-R1', campus_id: 'rc', building_id: 'RB', protocol: 'modbus-tcp', address: modbusAddress },
        { id: 'GW-R2', campus_id: 'rc', building_id: 'RB', protocol: 'mqtt', address: 'GW-R2' },
      ])
      .execute();
    await trx.insertInto('dormitories').values(ROOMS.map((id, i) => ({ id, building_id: 'RB', floor: 1, room: `10${i + 1}`, electricity_tariff_id: 'flat-e' }))).execute();
    await trx.insertInto('meters').values(ROOMS.map((room) => ({ id: `M-${room}`, dormitory_id: room, kind: 'electric' as const, profile: 'campus-1in3out', gateway_id: GATEWAY_OF[room], unit_address: UNIT_OF[room] }))).execute();
    await trx
      .insertInto('circuits')
      .values(ROOMS.flatMap((room) => (['lighting', 'socket', 'ac'] as const).map((kind) => ({ id: `M-${room}:${kind}`, meter_id: `M-${room}`, kind }))))
      .execute();
    await trx.insertInto('accounts').values(ROOMS.flatMap((id) => [{ dormitory_id: id, purse: 'electricity' as const }, { dormitory_id: id, purse: 'water' as const }])).execute();
    await appendPostings(
      trx,
      ROOMS.flatMap((dormitoryId) => [
        { dormitoryId, purse: 'electricity' as const, kind: 'adjustment' as const, amount: balances[dormitoryId], operator: 'seed', occurredAt: new Date(), details: { note: 'opening balance' } },
        { dormitoryId, purse: 'water' as const, kind: 'adjustment' as const, amount: waterBalances[dormitoryId], operator: 'seed', occurredAt: new Date(), details: { note: 'opening balance' } },
      ]),
    );
  });
}

export interface RestartCampusOptions {
  /** Electricity balances in fen (default 1,000 yuan each). */
  readonly balances?: Partial<Record<Room, number>>;
  /** Water balances in fen (default 100 yuan each). */
  readonly waterBalances?: Partial<Record<Room, number>>;
  /** Campus rule settings over QUIET_RULES. */
  readonly rules?: Record<string, unknown>;
  /** Server variables over the defaults here. */
  readonly env?: Record<string, string>;
}

export async function startRestartCampus(t: Test, options: RestartCampusOptions = {}): Promise<RestartCampus> {
  const database = await createTestDatabase();
  t.teardown(() => database.close());
  let mqttUrl = process.env.MQTT_URL || undefined;
  if (!mqttUrl) {
    const broker = anonymousBroker();
    mqttUrl = (await broker.start()).url;
    t.teardown(() => broker.stop());
  }
  const topicPrefix = `t${randomBytes(4).toString('hex')}/restart`;
  const clock = new SimulatedClock(Date.now(), 1);
  t.teardown(() => clock.dispose());
  const simulator = new SimulatorRuntime({ description: description(), clock, mqttUrl, topicPrefix, publishIntervalMs: 300 });
  const endpoints = await simulator.start();
  t.teardown(() => simulator.stop());
  const modbus = endpoints.gateways.get('GW-R1');
  if (modbus?.protocol !== 'modbus-tcp') throw new Error('no Modbus endpoint for GW-R1');
  await seed(database, `${modbus.host}:${modbus.port}`, { 'R-1': 100_000, 'R-2': 100_000, 'R-3': 100_000, ...options.balances }, { 'R-1': 10_000, 'R-2': 10_000, 'R-3': 10_000, ...options.waterBalances });
  await writeCampusRules(database.db, 'rc', { ...QUIET_RULES, ...options.rules });
  const config = loadConfig({
    ADMIN_PASSWORD,
    LOG_LEVEL: process.env.TEST_LOG_LEVEL ?? 'silent',
    PORT: '0',
    HOST: '127.0.0.1',
    MQTT_URL: mqttUrl,
    MQTT_TOPIC_PREFIX: topicPrefix,
    POLL_INTERVAL_MS: '200',
    BILLING_POST_INTERVAL_MS: '0',
    LEDGER_FLUSH_MS: '50',
    ...options.env,
  });

  const campus: RestartCampus = {
    clock,
    simulator,
    database,
    current: undefined,
    async start() {
      if (campus.current) throw new Error('a server is already running');
      const app = await buildApp(config, { database, clock, commandRetryMs: 2000 });
      await app.start();
      const login = await app.http.inject({ method: 'POST', url: '/api/auth/login', payload: { username: 'admin', password: ADMIN_PASSWORD } });
      if (login.statusCode !== 200) throw new Error(`login failed: ${login.statusCode} ${login.body}`);
      campus.current = { app, admin: { authorization: `Bearer ${login.json<{ token: string }>().token}` } };
      return campus.current;
    },
    async stop() {
      const running = campus.current;
      campus.current = undefined;
      await running?.app.stop();
    },
    relays(room) {
      const reading = simulator.campus.dormitory(room)!.electric!.read();
      return Object.fromEntries(reading.circuits.map((c) => [c.kind, c.relayClosed]));
    },
  };
  t.teardown(() => campus.stop());
  return campus;
}

/** Waits until the server has handled `readings` more readings of the room's meter (its live `lastReadingAt` moved that often). */
export async function afterReadings(server: { app: App; admin: { authorization: string } }, room: Room, readings = 3): Promise<void> {
  let last: number | null = null;
  let seen = 0;
  await waitFor(`${readings} readings of ${room}`, async () => {
    const at = (await getDormitory(server, room) as unknown as { lastReadingAt: number | null }).lastReadingAt;
    if (at !== null && at !== last) {
      if (last !== null) seen++;
      last = at;
    }
    return seen >= readings;
  }, 30_000, 50);
}

/** Commands the server asked for on the room's circuits since `since`, from the database (after a flush). */
export async function commandsSince(campus: RestartCampus, room: Room, since: Date): Promise<{ target: string; action: string; reason: string }[]> {
  await campus.current?.app.runtime.flush();
  return campus.database.db.selectFrom('commands').select(['target', 'action', 'reason']).where('dormitory_id', '=', room).where('requested_at', '>=', since).orderBy('requested_at').execute();
}
