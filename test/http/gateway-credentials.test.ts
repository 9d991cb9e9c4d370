import { connectAsync } from 'mqtt';
import t from 'tap';
import { waitFor } from '../helpers/live-app.ts';
import { commandState, foreignAcks, issue, live, playGateway, startCampus } from '../helpers/mqtt-gateway-campus.ts';

/**
 * Only known publishers (issue 9): the app's embedded broker lets a gateway in only with the
 * secret issued over REST, and the server counts an ack only for a command it sent to that
 * gateway. Two MQTT gateways, GW-A (room A-1) and GW-B (room B-1), played by this test with
 * real mqtt.js clients against the real app (its own embedded broker; MQTT_URL is ignored
 * here on purpose: the external broker case is test/deploy/mosquitto-acl.test.ts).
 */
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
  const state = () => commandState(campus, 'A-1', command.id);
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
