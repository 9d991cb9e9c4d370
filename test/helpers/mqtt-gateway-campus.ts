import { randomBytes } from 'node:crypto';
import { connectAsync, type IClientOptions } from 'mqtt';
import type { Test } from 'tap';
import { appendPostings } from '../../src/db/ledger.repository.ts';
import { MqttTopics } from '../../src/drivers/mqtt-topics.ts';
import { withoutUserInfo } from '../../src/drivers/broker-url.ts';
import { writeCampusRules } from './quiet-rules.ts';
import { createTestApp, type TestApp } from './test-app.ts';

/**
 * A running app (no simulator, no demo seed) with two MQTT gateways, GW-A (room A-1) and GW-B
 * (room B-1), each with one campus meter at unit `1`, that the test plays with real mqtt.js
 * clients (`playGateway`): the rig of the "only known publishers" tests. The app uses its own
 * embedded broker unless `env` names one (MQTT_URL).
 */
export const ROOMS = { 'A-1': 'GW-A', 'B-1': 'GW-B' } as const;

async function seed(test: TestApp): Promise<void> {
  await test.database.db.transaction().execute(async (trx) => {
    await trx.insertInto('campuses').values({ id: 'gc', name: 'Gateway campus', utc_offset_minutes: 480 }).execute();
    await trx.insertInto('buildings').values({ id: 'GB', campus_id: 'gc', name: 'Gateway building', floors: 1 }).execute();
    await trx.insertInto('tariffs').values({ id: 'flat-e', name: 'flat', purse: 'electricity', definition: JSON.stringify({ kind: 'single', rate: 600_000 }) }).execute();
    await trx.insertInto('gateways').values(Object.values(ROOMS).map((id) => ({ id, campus_id: 'gc', building_id: 'GB', protocol: 'mqtt' as const, address: id }))).execute();
    await trx.insertInto('dormitories').values(Object.keys(ROOMS).map((id, i) => ({ id, building_id: 'GB', floor: 1, room: `10${i}`, electricity_tariff_id: 'flat-e' }))).execute();
    await trx.insertInto('meters').values(Object.entries(ROOMS).map(([room, gateway]) => ({ id: `M-${room}`, dormitory_id: room, kind: 'electric' as const, profile: 'campus-1in3out', gateway_id: gateway, unit_address: '1' }))).execute();
    await trx
      .insertInto('circuits')
      .values(Object.keys(ROOMS).flatMap((room) => (['lighting', 'socket', 'ac'] as const).map((kind) => ({ id: `M-${room}:${kind}`, meter_id: `M-${room}`, kind }))))
      .execute();
    await trx.insertInto('accounts').values(Object.keys(ROOMS).flatMap((id) => [{ dormitory_id: id, purse: 'electricity' as const }, { dormitory_id: id, purse: 'water' as const }])).execute();
    await appendPostings(
      trx,
      Object.keys(ROOMS).map((dormitoryId) => ({ dormitoryId, purse: 'electricity' as const, kind: 'adjustment' as const, amount: 100_000, operator: 'seed', occurredAt: new Date(), details: {} })),
    );
    await writeCampusRules(trx, 'gc');
  });
}

export async function startCampus(t: Test, env: Record<string, string> = {}) {
  const test = await createTestApp(t, { seedDemo: false, env: { MQTT_TOPIC_PREFIX: `t${randomBytes(4).toString('hex')}/campus`, LEDGER_FLUSH_MS: '50', BILLING_POST_INTERVAL_MS: '0', ...env } });
  await seed(test);
  await test.app.start();
  if (!test.app.mqttUrl) throw new Error('the app started no broker');
  // Gateways connect as themselves: MQTT_URL's user-info is the server's (mqtt.js would prefer it to `username`).
  const url = withoutUserInfo(test.app.mqttUrl);
  const topics = new MqttTopics(test.config.mqttTopicPrefix);
  const admin = await test.login('admin', 'test-admin-password');
  return { ...test, url, topics, admin };
}

export type Campus = Awaited<ReturnType<typeof startCampus>>;

function telemetry(relayClosed: Record<'lighting' | 'socket' | 'ac', boolean>, ts = Date.now()): string {
  const circuit = (kind: 'lighting' | 'socket' | 'ac', energyWh: number) => ({ voltageV: 230, currentA: 0, powerW: 0, powerFactor: 1, energyWh, relayClosed: relayClosed[kind] });
  return JSON.stringify({
    '1': [{ ts, values: { energyWh: 6000, voltageV: 230, currentA: 0, powerW: 0, powerFactor: 1, circuits: { lighting: circuit('lighting', 1000), socket: circuit('socket', 2000), ac: circuit('ac', 3000) } } }],
  });
}

/** A gateway as the field has them: will, `command` subscription, `online`, telemetry every 300 ms (its relays as `relays` holds them). */
export async function playGateway(t: Test, campus: Campus, gatewayId: string, password: string | undefined, extra: IClientOptions = {}) {
  const { topics } = campus;
  const client = await connectAsync(campus.url, {
    reconnectPeriod: 0,
    connectTimeout: 5_000,
    username: gatewayId,
    ...(password === undefined ? {} : { password }),
    will: { topic: topics.topic(gatewayId, 'status'), payload: Buffer.from('offline'), qos: 1, retain: true },
    ...extra,
  });
  t.teardown(() => client.endAsync(true));
  const relays = { lighting: true, socket: true, ac: true };
  const commands: { id: string; target: string; action: string }[] = [];
  client.on('message', (topic, payload) => {
    if (topic === topics.topic(gatewayId, 'command')) commands.push(JSON.parse(payload.toString()) as { id: string; target: string; action: string });
  });
  await client.subscribeAsync(topics.topic(gatewayId, 'command'), { qos: 1 });
  await client.publishAsync(topics.topic(gatewayId, 'status'), 'online', { qos: 1, retain: true });
  const publish = () => client.connected && client.publish(topics.topic(gatewayId, 'telemetry'), telemetry(relays), { qos: 1 });
  publish();
  let timer: NodeJS.Timeout | undefined = setInterval(publish, 300);
  t.teardown(() => clearInterval(timer));
  /** Stops the periodic telemetry (frames then go out only by `frame`) or starts it again. */
  const pause = () => {
    clearInterval(timer);
    timer = undefined;
  };
  const resume = () => {
    publish();
    timer ??= setInterval(publish, 300);
  };
  /** One telemetry frame with these relay states, stamped `ts` (the periodic frames keep `relays`, stamped now). */
  const frame = (states: typeof relays, ts = Date.now()) => client.publishAsync(topics.topic(gatewayId, 'telemetry'), telemetry(states, ts), { qos: 1 });
  return { client, relays, commands, pause, resume, frame };
}

export async function issue(campus: Campus, gatewayId: string, headers = campus.admin) {
  return campus.app.http.inject({ method: 'POST', url: `/api/gateways/${gatewayId}/credentials`, headers });
}

export async function live(campus: Campus, room: string) {
  return (await campus.app.http.inject({ method: 'GET', url: `/api/dormitories/${room}`, headers: campus.admin })).json<{ online: boolean }>();
}

export async function foreignAcks(campus: Campus): Promise<number> {
  const metric = await campus.app.metrics.framesRejected.get();
  return metric.values.filter((v) => v.labels.reason === 'foreign_ack').reduce((sum, v) => sum + v.value, 0);
}

/** The lifecycle state of command `id` of `room`, as GET /api/dormitories/:id/commands shows it. */
export async function commandState(campus: Campus, room: string, id: string): Promise<string | undefined> {
  const list = (await campus.app.http.inject({ method: 'GET', url: `/api/dormitories/${room}/commands`, headers: campus.admin })).json<{ items: { id: string; state: string }[] }>();
  return list.items.find((c) => c.id === id)?.state;
}
