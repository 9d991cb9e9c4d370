import { randomBytes } from 'node:crypto';
import { connectAsync, type IClientOptions } from 'mqtt';
import t, { type Test } from 'tap';
import { appendPostings } from '../../src/db/ledger.repository.ts';
import { MqttTopics } from '../../src/drivers/mqtt-topics.ts';
import { waitFor } from '../helpers/live-app.ts';
import { QUIET_RULES } from '../helpers/restart-campus.ts';
import { createTestApp, type TestApp } from '../helpers/test-app.ts';

/**
 * Only known publishers (issue 9): the app's embedded broker lets a gateway in only with the
 * secret issued over REST, and the server counts an ack only for a command it sent to that
 * gateway. Two MQTT gateways, GW-A (room A-1) and GW-B (room B-1), played by this test with
 * real mqtt.js clients against the real app (its own embedded broker; MQTT_URL is ignored
 * here on purpose: the external broker case is test/deploy/mosquitto-acl.test.ts).
 */
const ROOMS = { 'A-1': 'GW-A', 'B-1': 'GW-B' } as const;

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
    for (const [rule, config] of Object.entries(QUIET_RULES)) {
      await trx.insertInto('rule_settings').values({ scope: 'campus', scope_id: 'gc', rule, config: JSON.stringify(config) }).execute();
    }
  });
}

async function startCampus(t: Test) {
  const test = await createTestApp(t, { seedDemo: false, env: { MQTT_TOPIC_PREFIX: `t${randomBytes(4).toString('hex')}/campus`, LEDGER_FLUSH_MS: '50', BILLING_POST_INTERVAL_MS: '0' } });
  await seed(test);
  await test.app.start();
  const url = test.app.mqttUrl;
  if (!url) throw new Error('the app started no broker');
  const topics = new MqttTopics(test.config.mqttTopicPrefix);
  const admin = await test.login('admin', 'test-admin-password');
  return { ...test, url, topics, admin };
}

type Campus = Awaited<ReturnType<typeof startCampus>>;

function telemetry(relayClosed: Record<'lighting' | 'socket' | 'ac', boolean>): string {
  const circuit = (kind: 'lighting' | 'socket' | 'ac', energyWh: number) => ({ voltageV: 230, currentA: 0, powerW: 0, powerFactor: 1, energyWh, relayClosed: relayClosed[kind] });
  return JSON.stringify({
    '1': [{ ts: Date.now(), values: { energyWh: 6000, voltageV: 230, currentA: 0, powerW: 0, powerFactor: 1, circuits: { lighting: circuit('lighting', 1000), socket: circuit('socket', 2000), ac: circuit('ac', 3000) } } }],
  });
}

/** A gateway as the field has them: will, `command` subscription, `online`, telemetry every 300 ms (its relays as `relays` holds them). */
async function playGateway(t: Test, campus: Campus, gatewayId: string, password: string | undefined, extra: IClientOptions = {}) {
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
  const timer = setInterval(publish, 300);
  t.teardown(() => clearInterval(timer));
  return { client, relays, commands };
}

async function issue(campus: Campus, gatewayId: string, headers = campus.admin) {
  return campus.app.http.inject({ method: 'POST', url: `/api/gateways/${gatewayId}/credentials`, headers });
}

async function live(campus: Campus, room: string) {
  return (await campus.app.http.inject({ method: 'GET', url: `/api/dormitories/${room}`, headers: campus.admin })).json<{ online: boolean }>();
}

async function foreignAcks(campus: Campus): Promise<number> {
  const metric = await campus.app.metrics.framesRejected.get();
  return metric.values.filter((v) => v.labels.reason === 'foreign_ack').reduce((sum, v) => sum + v.value, 0);
}

t.test('a gateway connects only with the secret issued over REST; the secret is shown once and only its hash kept; revoking drops it', async (t) => {
  const campus = await startCampus(t);
  await t.rejects(connectAsync(campus.url, { reconnectPeriod: 0, connectTimeout: 5_000 }), /Bad username or password|Not authorized/i, 'anonymous clients are refused');
  await t.rejects(connectAsync(campus.url, { reconnectPeriod: 0, connectTimeout: 5_000, username: 'GW-A', password: 'guess' }), /Bad username or password/i, 'before a credential is issued, nothing gets in');

  const manager = await campus.as('manager');
  t.equal((await issue(campus, 'GW-A', manager)).statusCode, 403, 'a manager cannot issue credentials');
  t.equal((await issue(campus, 'GW-NONE')).json().error.code, 'GATEWAY_NOT_FOUND');

  const issued = await issue(campus, 'GW-A');
  t.equal(issued.statusCode, 201);
  t.equal(issued.headers['cache-control'], 'no-store');
  const { secret, username } = issued.json<{ secret: string; username: string }>();
  t.equal(username, 'GW-A', 'the MQTT username is the gateway id');
  t.ok(secret.length >= 40, 'a long random secret');
  const row = await campus.database.db.selectFrom('gateway_credentials').selectAll().where('gateway_id', '=', 'GW-A').executeTakeFirstOrThrow();
  t.match(row.secret_hash, /^sha256\$[0-9a-f]{64}$/, 'a hash is stored');
  t.notOk(row.secret_hash.includes(secret), 'never the secret');
  t.equal(row.issued_by, 'admin');
  const audit = await campus.database.db.selectFrom('audit_log').select(['action', 'operator']).where('target_id', '=', 'GW-A').execute();
  t.same(audit, [{ action: 'gateway.credential.issue', operator: 'admin' }], 'issuing is audited');

  const a = await playGateway(t, campus, 'GW-A', secret);
  await waitFor('A-1 online through the authenticated gateway', async () => (await live(campus, 'A-1')).online);

  const dropped = new Promise<void>((resolve) => a.client.once('close', () => resolve()));
  const revoked = await campus.app.http.inject({ method: 'DELETE', url: '/api/gateways/GW-A/credentials', headers: campus.admin });
  t.equal(revoked.statusCode, 200);
  t.same(revoked.json(), { gatewayId: 'GW-A', connectionsDropped: 1 });
  await dropped;
  t.pass('the live connection of the revoked gateway was dropped');
  await t.rejects(connectAsync(campus.url, { reconnectPeriod: 0, connectTimeout: 5_000, username: 'GW-A', password: secret }), /Bad username or password/i, 'the revoked secret no longer connects');
  t.equal((await campus.app.http.inject({ method: 'DELETE', url: '/api/gateways/GW-A/credentials', headers: campus.admin })).json().error.code, 'CREDENTIAL_NOT_FOUND');
  t.same(
    (await campus.database.db.selectFrom('audit_log').select('action').where('target_id', '=', 'GW-A').orderBy('id').execute()).map((r) => r.action),
    ['gateway.credential.issue', 'gateway.credential.revoke'],
  );

  const first = (await issue(campus, 'GW-A')).json<{ secret: string }>().secret;
  const second = (await issue(campus, 'GW-A')).json<{ secret: string }>().secret;
  await t.rejects(connectAsync(campus.url, { reconnectPeriod: 0, connectTimeout: 5_000, username: 'GW-A', password: first }), /Bad username or password/i, 're-issuing replaces the old secret');
  const again = await connectAsync(campus.url, { reconnectPeriod: 0, connectTimeout: 5_000, username: 'GW-A', password: second });
  await again.endAsync(true);
});

t.test("a forged ack for gateway A's pending command, published as gateway B, changes nothing", async (t) => {
  const campus = await startCampus(t);
  const secretOf = async (id: string) => (await issue(campus, id)).json<{ secret: string }>().secret;
  const a = await playGateway(t, campus, 'GW-A', await secretOf('GW-A'));
  const b = await playGateway(t, campus, 'GW-B', await secretOf('GW-B'));
  await waitFor('both rooms online', async () => (await live(campus, 'A-1')).online && (await live(campus, 'B-1')).online);

  const cut = await campus.app.http.inject({ method: 'POST', url: '/api/dormitories/A-1/commands', headers: campus.admin, payload: { circuit: 'socket', action: 'cut', reason: 'forgery test' } });
  t.equal(cut.statusCode, 202);
  const command = await waitFor("A's socket command on A's command topic", () => a.commands.find((c) => c.target === 'socket' && c.action === 'cut'));
  const state = async () => {
    const list = (await campus.app.http.inject({ method: 'GET', url: '/api/dormitories/A-1/commands', headers: campus.admin })).json<{ items: { id: string; state: string }[] }>();
    return list.items.find((c) => c.id === command.id)?.state;
  };
  await waitFor('the command recorded as sent', async () => (await state()) === 'sent');
  const forged = JSON.stringify({ id: command.id, ok: true, relayClosed: false });

  // B on A's ack topic: the broker refuses the publish and drops B.
  const droppedB = new Promise<void>((resolve) => b.client.once('close', () => resolve()));
  b.client.publish(campus.topics.topic('GW-A', 'ack'), forged, { qos: 1 });
  await droppedB;
  t.pass("B publishing on A's topic was dropped by the broker");

  // B, reconnected, on its own ack topic: the server refuses an id it never sent to B.
  const before = await foreignAcks(campus);
  const b2 = await playGateway(t, campus, 'GW-B', await secretOf('GW-B'));
  await b2.client.publishAsync(campus.topics.topic('GW-B', 'ack'), forged, { qos: 1 });
  await waitFor('the forged ack counted as foreign', async () => (await foreignAcks(campus)) > before);
  t.equal(await state(), 'sent', 'the forged ack confirmed nothing');
  t.equal(a.relays.socket, true, 'and the relay was never switched');

  // A's real ack still confirms it.
  a.relays.socket = false;
  await a.client.publishAsync(campus.topics.topic('GW-A', 'ack'), JSON.stringify({ id: command.id, ok: true, relayClosed: false }), { qos: 1 });
  await waitFor('the command confirmed by its own gateway', async () => (await state()) === 'confirmed');
  t.pass('confirmed by A');
});
