import { randomBytes } from 'node:crypto';
import { connectAsync } from 'mqtt';
import pino from 'pino';
import type { Test } from 'tap';
import { CampusRuntime } from '../../src/actors/campus-runtime.ts';
import { SystemClock } from '../../src/clock.ts';
import type { GatewayDriverListener } from '../../src/drivers/gateway-driver.ts';
import { appendPostings } from '../../src/db/ledger.repository.ts';
import { MqttConnection } from '../../src/drivers/mqtt-connection.ts';
import { MqttGatewayDriver } from '../../src/drivers/mqtt.driver.ts';
import { MqttTopics } from '../../src/drivers/mqtt-topics.ts';
import { Metrics } from '../../src/metrics/metrics.ts';
import { anonymousBroker } from './open-broker.ts';
import { writeCampusRules } from './quiet-rules.ts';
import { createTestDatabase } from './test-database.ts';

export const GATEWAY = 'GW-FLOOD';

/**
 * A campus of `meters` rooms behind one MQTT gateway, its actor tree run by a `CampusRuntime`
 * (as the app builds it) on a real broker (MQTT_URL, else an anonymous embedded one) and a
 * fresh database; a real mqtt.js client plays the gateway and publishes every meter, 20 a
 * message, back to back (`flood`), each frame one Wh further on every register. The rig of the
 * boot and shutdown tests: readings arrive while the node boots and while it stops.
 */
export async function floodingGatewayCampus(t: Test, meters: number) {
  const database = await createTestDatabase();
  t.teardown(() => database.close());
  const db = database.db;
  const rooms = Array.from({ length: meters }, (_, i) => `R-${i + 1}`);
  await db.transaction().execute(async (trx) => {
    await trx.insertInto('campuses').values({ id: 'fc', name: 'Flood campus', utc_offset_minutes: 480 }).execute();
    await trx.insertInto('buildings').values({ id: 'FB', campus_id: 'fc', name: 'Flood building', floors: 1 }).execute();
    await trx.insertInto('tariffs').values({ id: 'flat-e', name: 'flat', purse: 'electricity', definition: JSON.stringify({ kind: 'single', rate: 600_000 }) }).execute();
    await trx.insertInto('gateways').values({ id: GATEWAY, campus_id: 'fc', building_id: 'FB', protocol: 'mqtt', address: GATEWAY }).execute();
    await trx.insertInto('dormitories').values(rooms.map((id, i) => ({ id, building_id: 'FB', floor: 1, room: String(100 + i), electricity_tariff_id: 'flat-e' }))).execute();
    await trx.insertInto('meters').values(rooms.map((room, i) => ({ id: `M-${room}`, dormitory_id: room, kind: 'electric' as const, profile: 'campus-1in3out', gateway_id: GATEWAY, unit_address: String(i + 1) }))).execute();
    await trx.insertInto('circuits').values(rooms.flatMap((room) => (['lighting', 'socket', 'ac'] as const).map((kind) => ({ id: `M-${room}:${kind}`, meter_id: `M-${room}`, kind })))).execute();
    await trx.insertInto('accounts').values(rooms.flatMap((id) => [{ dormitory_id: id, purse: 'electricity' as const }, { dormitory_id: id, purse: 'water' as const }])).execute();
    await appendPostings(trx, rooms.map((dormitoryId) => ({ dormitoryId, purse: 'electricity' as const, kind: 'adjustment' as const, amount: 100_000, operator: 'seed', occurredAt: new Date(), details: {} })));
    await writeCampusRules(trx, 'fc');
  });

  let url = process.env.MQTT_URL;
  if (!url) {
    const broker = anonymousBroker();
    url = (await broker.start()).url;
    t.teardown(() => broker.stop());
  }
  const topics = new MqttTopics(`t${randomBytes(4).toString('hex')}/campus`);
  const connection = new MqttConnection({ url, topicPrefix: topics.prefix });
  await connection.start();
  t.teardown(() => connection.stop());

  const gateway = await connectAsync(url, { clientId: `flood-${randomBytes(4).toString('hex')}`, reconnectPeriod: 0 });
  t.teardown(() => gateway.endAsync(true));
  let step = 1000;
  const circuit = (e: number) => ({ voltageV: 230, currentA: 0, powerW: 0, powerFactor: 1, energyWh: e, relayClosed: true });
  /** One telemetry payload for these units; every register one step further than the last frame's. */
  const frame = (units: readonly string[]) => {
    step++;
    const sample = [{ ts: Date.now(), values: { energyWh: step * 3, voltageV: 230, currentA: 0, powerW: 0, powerFactor: 1, circuits: { lighting: circuit(step), socket: circuit(step), ac: circuit(step) } } }];
    return JSON.stringify(Object.fromEntries(units.map((u) => [u, sample])));
  };
  const units = rooms.map((_, i) => String(i + 1));
  const publish = (payload: string) => gateway.publishAsync(topics.topic(GATEWAY, 'telemetry'), payload, { qos: 1 });
  let flooding = false;
  let flooded: Promise<void> = Promise.resolve();
  const flood = () => {
    flooding = true;
    flooded = (async () => {
      while (flooding && gateway.connected) {
        for (let i = 0; i < units.length; i += 20) await publish(frame(units.slice(i, i + 20)));
      }
    })().catch(() => undefined);
  };
  const stopFlood = async () => {
    flooding = false;
    await flooded;
  };
  t.teardown(stopFlood);

  const lines: { level: number; msg: string; rejected?: number; unwritten?: number }[] = [];
  const log = pino({ level: 'info' }, { write: (line: string) => void lines.push(JSON.parse(line) as (typeof lines)[number]) });
  const metrics = new Metrics();
  /** The last register the driver handed over, per unit address (what the meters were given). */
  const delivered = new Map<string, number>();
  const runtime = new CampusRuntime({
    db,
    deps: { clock: new SystemClock(), log, metrics, postingIntervalMs: 3_600_000, commandRetryMs: 30_000, nodeId: 'flood' },
    ledgerFlushMs: 50,
    ledgerBatchSize: 500,
    createDriver: (g, listener) => {
      const recording: GatewayDriverListener = {
        ...listener,
        reading: (reading, decodedAtNs) => {
          if (reading.type === 'electric') delivered.set(reading.unitAddress, reading.energyWh);
          listener.reading(reading, decodedAtNs);
        },
      };
      return new MqttGatewayDriver({ gatewayId: g.id, connection, listener: recording, clock: new SystemClock(), expectedIntervalMs: 60_000 });
    },
  });
  let stopped = false;
  t.teardown(() => (stopped ? undefined : runtime.stop()));
  return {
    db,
    rooms,
    units,
    metrics,
    lines,
    delivered,
    runtime,
    frame,
    publish,
    flood,
    stopFlood,
    async stopRuntime() {
      stopped = true;
      await runtime.stop();
    },
    rejectedTotal: async () => (await metrics.framesRejected.get()).values.reduce((sum, v) => sum + v.value, 0),
    /** Resolves once every meter has handled a reading (each check is one ask per meter). */
    async everyMeterRead() {
      for (const room of rooms) {
        for (;;) {
          const view = await runtime.meterBilling(room, `M-${room}`);
          if (view?.register !== null && view?.register !== undefined) break;
          await new Promise((resolve) => setImmediate(resolve));
        }
      }
    },
  };
}
