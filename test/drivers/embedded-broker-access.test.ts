import { randomUUID } from 'node:crypto';
import { connectAsync, type IClientOptions, type MqttClient } from 'mqtt';
import t, { type Test } from 'tap';
import { TopicAcl, type BrokerPrincipal } from '../../src/drivers/broker-access.ts';
import { CampusBrokerAccess, newServerBrokerCredentials, SERVER_BROKER_USERNAME } from '../../src/drivers/campus-broker-access.ts';
import { EmbeddedBroker } from '../../src/drivers/embedded-broker.ts';
import { MqttTopics } from '../../src/drivers/mqtt-topics.ts';

/**
 * The embedded broker lets in only the server (its boot credential) and gateways (their issued
 * secrets), and each may touch only its own topics (docs/mqtt.md, "Credentials and ACLs").
 * Real broker, real mqtt.js clients over TCP; the secret check is an in-memory table here (the
 * app's, backed by the database, is proven in test/http/gateway-credentials.test.ts).
 */
const topics = new MqttTopics(`t${randomUUID().slice(0, 8)}/campus`);
const SECRETS: Readonly<Record<string, string>> = { 'GW-A': 'secret-of-a', 'GW-B': 'secret-of-b' };

t.test('the topic ACL, as a table', async (t) => {
  const acl = new TopicAcl(topics);
  const server: BrokerPrincipal = { kind: 'server' };
  const a: BrokerPrincipal = { kind: 'gateway', gatewayId: 'GW-A' };
  const cases: [BrokerPrincipal, 'publish' | 'subscribe', string, boolean][] = [
    [a, 'publish', topics.topic('GW-A', 'telemetry'), true],
    [a, 'publish', topics.topic('GW-A', 'ack'), true],
    [a, 'publish', topics.topic('GW-A', 'status'), true],
    [a, 'publish', topics.topic('GW-A', 'command'), false],
    [a, 'publish', topics.topic('GW-B', 'telemetry'), false],
    [a, 'publish', topics.topic('GW-B', 'ack'), false],
    [a, 'publish', 'elsewhere/GW-A/telemetry', false],
    [a, 'subscribe', topics.topic('GW-A', 'command'), true],
    [a, 'subscribe', topics.topic('GW-B', 'command'), false],
    [a, 'subscribe', topics.wildcard('command'), false],
    [a, 'subscribe', `${topics.prefix}/#`, false],
    [a, 'subscribe', topics.topic('GW-A', 'telemetry'), false],
    [server, 'publish', topics.topic('GW-B', 'command'), true],
    [server, 'publish', topics.topic('GW-B', 'ack'), false],
    [server, 'publish', topics.topic('GW-B', 'telemetry'), false],
    [server, 'subscribe', topics.wildcard('telemetry'), true],
    [server, 'subscribe', topics.wildcard('ack'), true],
    [server, 'subscribe', topics.wildcard('status'), true],
    [server, 'subscribe', topics.topic('GW-B', 'ack'), true],
    [server, 'subscribe', topics.wildcard('command'), false],
    [server, 'subscribe', `${topics.prefix}/#`, false],
    [server, 'subscribe', `${topics.prefix}/+/+`, false],
  ];
  for (const [principal, verb, topic, allowed] of cases) {
    const got = verb === 'publish' ? acl.mayPublish(principal, topic) : acl.maySubscribe(principal, topic);
    t.equal(got, allowed, `${principal.kind === 'server' ? 'server' : principal.gatewayId} ${verb} ${topic}: ${allowed ? 'allowed' : 'refused'}`);
  }
});

async function startBroker(t: Test) {
  const server = newServerBrokerCredentials();
  const access = new CampusBrokerAccess(topics, server, async (gatewayId, secret) => SECRETS[gatewayId] === secret);
  const broker = new EmbeddedBroker({ access });
  const { url } = await broker.start();
  t.teardown(() => broker.stop());
  const client = async (options: IClientOptions): Promise<MqttClient> => {
    const connected = await connectAsync(url, { reconnectPeriod: 0, connectTimeout: 5_000, ...options });
    t.teardown(() => connected.endAsync(true));
    return connected;
  };
  const gateway = (gatewayId: string, options: IClientOptions = {}) => client({ username: gatewayId, password: SECRETS[gatewayId], ...options });
  const serverClient = await client({ username: server.username, password: server.password });
  return { url, broker, server, client, gateway, serverClient };
}

function nextMessage(client: MqttClient, topic: string): Promise<string> {
  return new Promise((resolve) => {
    const onMessage = (received: string, payload: Buffer): void => {
      if (received !== topic) return;
      client.off('message', onMessage);
      resolve(payload.toString());
    };
    client.on('message', onMessage);
  });
}

/** The SUBACK return codes (mqtt.js rejects the whole call when any is 0x80). */
async function grants(client: MqttClient, filters: string[]): Promise<number[]> {
  try {
    return (await client.subscribeAsync(filters, { qos: 1 })).map((grant) => grant.qos);
  } catch (error) {
    const granted = (error as { packet?: { granted?: number[] } }).packet?.granted;
    if (!granted) throw error;
    return granted;
  }
}

const closed = (client: MqttClient): Promise<void> => new Promise((resolve) => (client.connected ? client.once('close', () => resolve()) : resolve()));

t.test('no CONNECT without a valid credential', async (t) => {
  const { url, server } = await startBroker(t);
  const refused = async (options: IClientOptions, why: string) => {
    await t.rejects(connectAsync(url, { reconnectPeriod: 0, connectTimeout: 5_000, ...options }), /Bad username or password|Not authorized/i, why);
  };
  await refused({}, 'anonymous');
  await refused({ username: 'GW-A' }, 'a gateway without a password');
  await refused({ username: 'GW-A', password: 'secret-of-b' }, "another gateway's secret");
  await refused({ username: 'GW-C', password: 'secret-of-a' }, 'an unknown gateway');
  await refused({ username: SERVER_BROKER_USERNAME, password: 'guess' }, 'the server name with a wrong password');
  await refused({ username: server.username, password: `${server.password}x` }, 'the server password with a byte more');
});

t.test('a gateway publishes only its own telemetry, ack and status; the server hears them', async (t) => {
  const { serverClient, gateway } = await startBroker(t);
  await serverClient.subscribeAsync([topics.wildcard('telemetry'), topics.wildcard('ack'), topics.wildcard('status')], { qos: 1 });
  const a = await gateway('GW-A');
  const heard = nextMessage(serverClient, topics.topic('GW-A', 'telemetry'));
  await a.publishAsync(topics.topic('GW-A', 'telemetry'), '{"1":[]}', { qos: 1 });
  t.equal(await heard, '{"1":[]}', "A's own telemetry reaches the server");

  // A forges B's ack: the broker drops A and delivers nothing; the real B is heard afterwards.
  const b = await gateway('GW-B');
  const bAck = nextMessage(serverClient, topics.topic('GW-B', 'ack'));
  const dropped = closed(a);
  a.publish(topics.topic('GW-B', 'ack'), '{"id":"forged","ok":true,"relayClosed":false}', { qos: 1 });
  await dropped;
  t.pass('the forging gateway was disconnected');
  await b.publishAsync(topics.topic('GW-B', 'ack'), '{"id":"real","ok":true,"relayClosed":false}', { qos: 1 });
  t.equal(await bAck, '{"id":"real","ok":true,"relayClosed":false}', 'the first ack the server hears on B is the real one');

  const again = await gateway('GW-A');
  const dropped2 = closed(again);
  again.publish(topics.topic('GW-A', 'command'), '{"id":"x","unit":"1","target":"socket","action":"cut"}', { qos: 1 });
  await dropped2;
  t.pass('a gateway cannot publish commands, not even to itself');
});

t.test("a gateway subscribes only to its own command topic; its will cannot name another gateway's status", async (t) => {
  const { serverClient, gateway } = await startBroker(t);
  const a = await gateway('GW-A');
  t.same(
    await grants(a, [topics.topic('GW-A', 'command'), topics.topic('GW-B', 'command'), topics.wildcard('command'), topics.wildcard('telemetry')]),
    [1, 128, 128, 128],
    'own command granted; the others refused',
  );
  await serverClient.subscribeAsync(topics.wildcard('status'), { qos: 1 });
  const statuses: string[] = [];
  serverClient.on('message', (topic, payload) => statuses.push(`${topic}=${payload.toString()}`));
  const liar = await gateway('GW-A', { will: { topic: topics.topic('GW-B', 'status'), payload: Buffer.from('offline'), qos: 1, retain: true } });
  liar.stream.destroy(); // dies without DISCONNECT: the broker would publish the will
  const honest = await gateway('GW-A', { will: { topic: topics.topic('GW-A', 'status'), payload: Buffer.from('offline'), qos: 1, retain: true } });
  const heard = nextMessage(serverClient, topics.topic('GW-A', 'status'));
  honest.stream.destroy();
  t.equal(await heard, 'offline', "the gateway's own will is published");
  t.notOk(
    statuses.some((s) => s.startsWith(topics.topic('GW-B', 'status'))),
    "a will on another gateway's status was refused (the broker handles a connection's events in order: the liar died first)",
  );
});

t.test('the server may publish commands and subscribe to every gateway, nothing else', async (t) => {
  const { serverClient, gateway } = await startBroker(t);
  const a = await gateway('GW-A');
  await a.subscribeAsync(topics.topic('GW-A', 'command'), { qos: 1 });
  const command = nextMessage(a, topics.topic('GW-A', 'command'));
  await serverClient.publishAsync(topics.topic('GW-A', 'command'), '{"id":"c1"}', { qos: 1 });
  t.equal(await command, '{"id":"c1"}');
  t.same(
    await grants(serverClient, [topics.wildcard('command'), `${topics.prefix}/#`]),
    [128, 128],
    'the server cannot eavesdrop on commands or subscribe to everything',
  );
});

t.test('disconnectGateway drops exactly that gateway', async (t) => {
  const { broker, gateway } = await startBroker(t);
  const a = await gateway('GW-A');
  const b = await gateway('GW-B');
  const dropped = closed(a);
  t.equal(broker.disconnectGateway('GW-A'), 1, 'one connection dropped');
  await dropped;
  t.ok(b.connected, 'B stays connected');
  t.equal(broker.disconnectGateway('GW-A'), 0, 'nothing left to drop');
});

t.test('a credential revoked while its check is in flight does not get in', async (t) => {
  let release: (() => void) | undefined;
  const checked = new Promise<void>((resolve) => (release = resolve));
  let asked!: () => void;
  const checking = new Promise<void>((resolve) => (asked = resolve));
  const access = new CampusBrokerAccess(topics, newServerBrokerCredentials(), async () => {
    asked();
    await checked; // the database read of the old row, still on its way back
    return true;
  });
  const broker = new EmbeddedBroker({ access });
  const { url } = await broker.start();
  t.teardown(() => broker.stop());
  const connecting = connectAsync(url, { reconnectPeriod: 0, connectTimeout: 5_000, username: 'GW-A', password: 'old-secret' });
  await checking;
  t.equal(broker.disconnectGateway('GW-A'), 0, 'revoked before its CONNACK: nothing connected yet');
  release!();
  await t.rejects(connecting, /Bad username or password/i, 'the check that read the revoked row is refused');
  const later = await connectAsync(url, { reconnectPeriod: 0, connectTimeout: 5_000, username: 'GW-A', password: 'new-secret' });
  t.ok(later.connected, 'a check that starts after the revocation is judged on its own');
  await later.endAsync(true);
});
