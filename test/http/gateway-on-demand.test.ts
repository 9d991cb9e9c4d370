// CI: also on PGlite + the embedded broker (the app starts its embedded broker on demand).
import { randomBytes } from 'node:crypto';
import { connectAsync } from 'mqtt';
import t from 'tap';
import { withoutUserInfo } from '../../src/drivers/broker-url.ts';
import { createTestApp } from '../helpers/test-app.ts';

/**
 * An MQTT gateway added over REST to a server that booted without any MQTT gateway: the node
 * connects to the broker on demand (MQTT_URL, else its embedded broker) and the gateway runs at
 * once; a broker out of reach refuses the gateway before anything is committed.
 */
t.test('POST /api/gateways starts an MQTT gateway on a node that booted without one; it comes online from its status', async (t) => {
  const test = await createTestApp(t, {
    seedDemo: false,
    env: { MQTT_TOPIC_PREFIX: `t${randomBytes(4).toString('hex')}/campus`, ...(process.env.MQTT_URL ? { MQTT_URL: process.env.MQTT_URL } : {}) },
  });
  await test.app.start();
  t.equal(test.app.mqttUrl, undefined, 'no MQTT gateway at boot: no broker connection');
  const admin = await test.login('admin', 'test-admin-password');
  const call = (method: 'GET' | 'POST', url: string, payload?: object) => test.app.http.inject({ method, url, headers: admin, ...(payload ? { payload } : {}) });
  t.equal((await call('POST', '/api/campuses', { id: 'gc', name: 'Gateway campus', timeZone: 'Asia/Shanghai' })).statusCode, 201, 'campus created');

  const created = await call('POST', '/api/gateways', { id: 'GW-Q1', campusId: 'gc', protocol: 'mqtt', address: 'GW-Q1' });
  t.equal(created.statusCode, 201, `the MQTT gateway is added (${created.body})`);
  t.ok(test.app.runtime.directory.gateways.has('GW-Q1'), 'its actor runs without a restart');
  t.ok(test.app.mqttUrl, 'the node connected to a broker on demand');

  const issued = await call('POST', '/api/gateways/GW-Q1/credentials');
  t.equal(issued.statusCode, 201, 'credentials issued');
  const { username, secret } = issued.json<{ username: string; secret: string }>();
  const client = await connectAsync(withoutUserInfo(test.app.mqttUrl!), { clientId: `gw-${randomBytes(4).toString('hex')}`, reconnectPeriod: 0, username, password: secret });
  t.teardown(() => client.endAsync(true));
  const statusTopic = `${test.config.mqttTopicPrefix}/GW-Q1/status`;
  await client.publishAsync(statusTopic, 'online', { qos: 1, retain: true });
  t.teardown(() => client.publishAsync(statusTopic, '', { qos: 1, retain: true }).then(() => undefined));
  // Event-driven: each GET is one actor ask; the status arrives through the broker.
  for (;;) {
    const shown = await call('GET', '/api/gateways/GW-Q1');
    t.equal(shown.statusCode, 200, 'GET answers');
    if (shown.json<{ online: boolean }>().online) break;
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
  t.pass('GW-Q1 is online from its retained status');

  const second = await call('POST', '/api/gateways', { id: 'GW-Q2', campusId: 'gc', protocol: 'mqtt', address: 'GW-Q2' });
  t.equal(second.statusCode, 201, 'a second MQTT gateway shares the connection');
  t.ok(test.app.runtime.directory.gateways.has('GW-Q2'), 'and runs');
});

t.test('an MQTT gateway is refused (503, nothing committed) when the broker cannot be reached', async (t) => {
  const test = await createTestApp(t, { seedDemo: false, env: { MQTT_URL: 'mqtt://127.0.0.1:1' } });
  await test.app.start();
  const admin = await test.login('admin', 'test-admin-password');
  const call = (method: 'GET' | 'POST', url: string, payload?: object) => test.app.http.inject({ method, url, headers: admin, ...(payload ? { payload } : {}) });
  t.equal((await call('POST', '/api/campuses', { id: 'gc', name: 'Gateway campus', timeZone: 'Asia/Shanghai' })).statusCode, 201, 'campus created');
  const refused = await call('POST', '/api/gateways', { id: 'GW-X', campusId: 'gc', protocol: 'mqtt', address: 'GW-X' });
  t.equal(refused.statusCode, 503, 'refused with 503');
  t.match(refused.json(), { error: { code: 'BROKER_UNAVAILABLE', field: 'protocol' } }, 'the body names the code and the field');
  t.equal(await test.database.db.selectFrom('gateways').select('id').where('id', '=', 'GW-X').executeTakeFirst(), undefined, 'no gateway row was committed');
  t.equal(await test.database.db.selectFrom('audit_log').select('id').where('action', '=', 'gateway.create').executeTakeFirst(), undefined, 'no audit record of a creation');
  t.notOk(test.app.runtime.directory.gateways.has('GW-X'), 'no actor');
  t.equal((await call('GET', '/api/gateways/GW-X')).statusCode, 404, 'GET finds no such gateway');
});
