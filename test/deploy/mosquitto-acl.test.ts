import { spawn, execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { createServer, type AddressInfo } from 'node:net';
import { tmpdir, userInfo } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { connectAsync, type MqttClient } from 'mqtt';
import t, { type Test } from 'tap';
import { waitFor } from '../helpers/live-app.ts';
import { commandState, foreignAcks, issue, live, playGateway, startCampus } from '../helpers/mqtt-gateway-campus.ts';

/**
 * The shipped Mosquitto ACL (deploy/mosquitto/campus-prepaid.acl), on a Mosquitto of this test's
 * own (a generated conf on an ephemeral port; the machine's broker is never touched), with a
 * password file made by mosquitto_passwd from credentials issued over REST, as docs/mqtt.md
 * tells an operator to: the server works through it, a gateway cannot publish to another
 * gateway's topics, anonymous clients are refused.
 */
const MOSQUITTO = '/usr/sbin/mosquitto';
const MOSQUITTO_PASSWD = '/usr/bin/mosquitto_passwd';
const SHIPPED_ACL = new URL('../../deploy/mosquitto/campus-prepaid.acl', import.meta.url).pathname;
const run = promisify(execFile);

async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

/** Starts `mosquitto -c <conf>` with the shipped ACL and a fresh password file; resolves once it listens. */
async function startMosquitto(t: Test) {
  const dir = await mkdtemp(join(tmpdir(), 'campus-mosquitto-'));
  t.teardown(() => rm(dir, { recursive: true, force: true }));
  const passwordFile = join(dir, 'campus-prepaid.passwd');
  const port = await freePort();
  const conf = join(dir, 'mosquitto.conf');
  // `user`: started as root, Mosquitto would switch to the `mosquitto` user, who cannot read this test's files.
  await writeFile(conf, [`user ${userInfo().username}`, `listener ${port} 127.0.0.1`, 'allow_anonymous false', `password_file ${passwordFile}`, `acl_file ${SHIPPED_ACL}`, 'persistence false', 'log_dest stderr', ''].join('\n'));
  const addUser = async (username: string, password: string) => {
    await run(MOSQUITTO_PASSWD, existsSync(passwordFile) ? ['-b', passwordFile, username, password] : ['-c', '-b', passwordFile, username, password]);
  };
  const serverPassword = `server-${Math.random().toString(36).slice(2)}`;
  await addUser('campus-server', serverPassword);
  const broker = spawn(MOSQUITTO, ['-c', conf], { stdio: ['ignore', 'ignore', 'pipe'] });
  let log = '';
  const exited = new Promise<void>((resolve) => broker.once('exit', () => resolve()));
  t.teardown(async () => {
    broker.kill('SIGTERM');
    await exited;
  });
  await new Promise<void>((resolve, reject) => {
    broker.stderr.on('data', (chunk: Buffer) => {
      log += chunk.toString();
      if (/running/.test(log)) resolve();
    });
    broker.once('exit', (code) => reject(new Error(`mosquitto exited (${code}): ${log}`)));
  });
  return {
    url: `mqtt://127.0.0.1:${port}`,
    serverPassword,
    addUser,
    /** Re-reads the password file and the ACL (SIGHUP), as an operator does after mosquitto_passwd. */
    reload: () => broker.kill('SIGHUP'),
  };
}

t.test('the shipped ACL on a real Mosquitto: gateways keep to their own topics, the server works through it', { skip: existsSync(MOSQUITTO) && existsSync(MOSQUITTO_PASSWD) ? false : `needs ${MOSQUITTO} and ${MOSQUITTO_PASSWD}` }, async (t) => {
  const mosquitto = await startMosquitto(t);
  const campus = await startCampus(t, { MQTT_URL: `mqtt://campus-server:${mosquitto.serverPassword}@127.0.0.1:${new URL(mosquitto.url).port}`, MQTT_TOPIC_PREFIX: 'campus' });
  await t.rejects(connectAsync(mosquitto.url, { reconnectPeriod: 0, connectTimeout: 5_000 }), /Not authorized|Bad username/i, 'anonymous clients are refused');

  // The operator's routine: issue over REST, add to the password file, reload the broker.
  const secrets: Record<string, string> = {};
  for (const id of ['GW-A', 'GW-B']) {
    const issued = await issue(campus, id);
    t.equal(issued.json().connectionsDropped, undefined);
    secrets[id] = issued.json<{ secret: string }>().secret;
    await mosquitto.addUser(id, secrets[id]);
  }
  mosquitto.reload();
  await waitFor('the reloaded password file', async () => {
    const probe = await connectAsync(mosquitto.url, { reconnectPeriod: 0, connectTimeout: 2_000, username: 'GW-A', password: secrets['GW-A'] }).catch(() => undefined);
    await probe?.endAsync(true);
    return probe !== undefined;
  });

  const a = await playGateway(t, campus, 'GW-A', secrets['GW-A']);
  const b = await playGateway(t, campus, 'GW-B', secrets['GW-B']);
  await waitFor('both rooms online through Mosquitto', async () => (await live(campus, 'A-1')).online && (await live(campus, 'B-1')).online);
  t.pass('the server reads telemetry through the ACL');

  const eavesdropped: string[] = [];
  const spy: MqttClient = b.client;
  await spy.subscribeAsync('campus/GW-A/command', { qos: 1 }).catch(() => undefined); // refused or silently empty: either way nothing must arrive
  spy.on('message', (topic) => {
    if (topic === 'campus/GW-A/command') eavesdropped.push(topic);
  });

  t.equal((await campus.app.http.inject({ method: 'POST', url: '/api/dormitories/A-1/commands', headers: campus.admin, payload: { circuit: 'socket', action: 'cut', reason: 'acl test' } })).statusCode, 202);
  const command = await waitFor("A's command through Mosquitto", () => a.commands.find((c) => c.target === 'socket' && c.action === 'cut'));
  await waitFor('the command recorded as sent', async () => (await commandState(campus, 'A-1', command.id)) === 'sent');

  // B forges A's ack: Mosquitto takes it (QoS 1 PUBACK) and drops it. Then the same ack on B's
  // own topic, which the broker does deliver: once the server has counted that one as foreign,
  // the earlier one would have been handled too, had the broker let it through.
  const forged = JSON.stringify({ id: command.id, ok: true, relayClosed: false });
  const before = await foreignAcks(campus);
  await b.client.publishAsync('campus/GW-A/ack', forged, { qos: 1 });
  await b.client.publishAsync('campus/GW-A/telemetry', '{"1":[{"ts":0,"values":{"energyWh":999999999}}]}', { qos: 1 });
  await b.client.publishAsync('campus/GW-B/ack', forged, { qos: 1 });
  await waitFor('the ack on B’s own topic counted as foreign', async () => (await foreignAcks(campus)) > before);
  t.equal(await commandState(campus, 'A-1', command.id), 'sent', 'the ack forged on A’s topic never reached the server');
  t.same(eavesdropped, [], 'B never saw A’s command');

  a.relays.socket = false;
  await a.client.publishAsync('campus/GW-A/ack', forged, { qos: 1 });
  await waitFor('confirmed by A itself', async () => (await commandState(campus, 'A-1', command.id)) === 'confirmed');
  t.pass('A’s own ack confirms it');
});
