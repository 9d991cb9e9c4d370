// CI: also on PGlite + the embedded broker (a SIGKILLed server on a PGlite DATA_DIR and the embedded broker restarts with its cuts).
import { spawn, execFile, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import path from 'node:path';
import { promisify } from 'node:util';
import t, { type Test } from 'tap';
import { SimulatedClock } from '../../src/clock.ts';
import type { DatabaseHandle } from '../../src/db/connect.ts';
import { appendPostings } from '../../src/db/ledger.repository.ts';
import { anonymousBroker } from '../helpers/open-broker.ts';
import type { SimulatedCampusDescription } from '../../src/simulator/simulated-campus.ts';
import { SimulatorRuntime } from '../../src/simulator/simulator-runtime.ts';
import { waitFor } from '../helpers/live-app.ts';
import { serverProcessDatabase } from '../helpers/server-process-database.ts';

/**
 * "The server killed with SIGKILL mid-run and restarted: `reconcile` passes, and total billed
 * energy equals the meters' register advance (nothing lost, nothing twice)."
 *
 * The server is a real child process (`campus-prepaid serve`); the simulator runs here, in
 * the test process, so it keeps running (and its registers keep moving) while the server is
 * dead. The server is SIGKILLed once it has committed charges for every electricity meter,
 * left dead for a few seconds of simulated consumption, restarted, and finally stopped with
 * SIGTERM after the simulator is frozen, so the meters' final registers are known exactly.
 */

const BIN = path.resolve(import.meta.dirname, '../../bin/campus-prepaid.js');
const run = promisify(execFile);
const ADMIN_PASSWORD = 'crash-admin-password';
const ELECTRIC_RATE = 56_789; // milli-fen per kWh: charges carry fractions of a fen
const WATER_RATE = 351_234; // milli-fen per m3
const OPENING_BALANCE = 1_000_000; // fen: nobody runs out of money here
const SPEED = 60;

interface MeterSpec {
  readonly meterId: string;
  readonly dormitoryId: string;
  readonly kind: 'electric' | 'water';
  readonly profile: 'campus-1in3out' | 'acrel-ddsy1352' | 'sdm120' | 'water-valve';
  readonly gatewayId: 'GW-MB' | 'GW-MQ';
  readonly unitAddress: string;
  readonly initial: SimulatedCampusDescription['gateways'][number]['meters'][number]['initialEnergyWh'] | number;
}

const METERS: readonly MeterSpec[] = [
  { meterId: 'M-D1', dormitoryId: 'D-1', kind: 'electric', profile: 'campus-1in3out', gatewayId: 'GW-MB', unitAddress: '1', initial: { lighting: 120_001, socket: 80_002, ac: 40_003 } },
  { meterId: 'W-D1', dormitoryId: 'D-1', kind: 'water', profile: 'water-valve', gatewayId: 'GW-MB', unitAddress: '101', initial: 12_345 },
  { meterId: 'M-D2', dormitoryId: 'D-2', kind: 'electric', profile: 'acrel-ddsy1352', gatewayId: 'GW-MB', unitAddress: '2', initial: { main: 777_770 } },
  { meterId: 'M-D3', dormitoryId: 'D-3', kind: 'electric', profile: 'campus-1in3out', gatewayId: 'GW-MQ', unitAddress: '1', initial: { lighting: 5_000, socket: 6_000, ac: 7_000 } },
  { meterId: 'W-D3', dormitoryId: 'D-3', kind: 'water', profile: 'water-valve', gatewayId: 'GW-MQ', unitAddress: 'w3', initial: 54_321 },
  { meterId: 'M-D4', dormitoryId: 'D-4', kind: 'electric', profile: 'sdm120', gatewayId: 'GW-MQ', unitAddress: '4', initial: { main: 42_424 } },
];
const DORMITORIES = ['D-1', 'D-2', 'D-3', 'D-4'];
const ELECTRIC = METERS.filter((m) => m.kind === 'electric');

/** A small campus with single-rate tariffs and no free quota, so every Wh costs money. */
async function seed(handle: DatabaseHandle, modbusAddress: string): Promise<void> {
  await handle.db.transaction().execute(async (trx) => {
    await trx.insertInto('campuses').values({ id: 'crash', name: 'Crash campus', utc_offset_minutes: 480 }).execute();
    await trx.insertInto('buildings').values({ id: 'CB', campus_id: 'crash', name: 'Crash building', floors: 1 }).execute();
    await trx
      .insertInto('tariffs')
      .values([
        { id: 'flat-e', name: 'flat electricity', purse: 'electricity', definition: JSON.stringify({ kind: 'single', rate: ELECTRIC_RATE }) },
        { id: 'flat-w', name: 'flat water', purse: 'water', definition: JSON.stringify({ kind: 'single', rate: WATER_RATE }) },
      ])
      .execute();
    await trx
      .insertInto('gateways')
      .values([
        { id: 'GW-MB', campus_id: 'crash', building_id: 'CB', protocol: 'modbus-tcp', address: modbusAddress },
        { id: 'GW-MQ', campus_id: 'crash', building_id: 'CB', protocol: 'mqtt', address: 'GW-MQ' },
      ])
      .execute();
    await trx
      .insertInto('dormitories')
      .values(DORMITORIES.map((id, i) => ({ id, building_id: 'CB', floor: 1, room: `10${i + 1}`, electricity_tariff_id: 'flat-e', water_tariff_id: 'flat-w' })))
      .execute();
    await trx.insertInto('meters').values(METERS.map((m) => ({ id: m.meterId, dormitory_id: m.dormitoryId, kind: m.kind, profile: m.profile, gateway_id: m.gatewayId, unit_address: m.unitAddress }))).execute();
    await trx
      .insertInto('circuits')
      .values(METERS.filter((m) => m.profile === 'campus-1in3out').flatMap((m) => (['lighting', 'socket', 'ac'] as const).map((kind) => ({ id: `${m.meterId}:${kind}`, meter_id: m.meterId, kind }))))
      .execute();
    await trx.insertInto('accounts').values(DORMITORIES.flatMap((id) => [{ dormitory_id: id, purse: 'electricity' as const }, { dormitory_id: id, purse: 'water' as const }])).execute();
    await appendPostings(
      trx,
      DORMITORIES.flatMap((dormitoryId) =>
        (['electricity', 'water'] as const).map((purse) => ({ dormitoryId, purse, kind: 'adjustment' as const, amount: OPENING_BALANCE, operator: 'seed', occurredAt: new Date(), details: { note: 'opening balance' } })),
      ),
    );
  });
}

function description(): SimulatedCampusDescription {
  return {
    seed: 7,
    utcOffsetMinutes: 480,
    gateways: (['GW-MB', 'GW-MQ'] as const).map((gatewayId) => ({
      gatewayId,
      protocol: gatewayId === 'GW-MB' ? ('modbus-tcp' as const) : ('mqtt' as const),
      meters: METERS.filter((m) => m.gatewayId === gatewayId).map((m) =>
        m.kind === 'water'
          ? { unitAddress: m.unitAddress, profile: m.profile, dormitoryId: m.dormitoryId, initialVolumeL: m.initial as number }
          : { unitAddress: m.unitAddress, profile: m.profile, dormitoryId: m.dormitoryId, initialEnergyWh: m.initial as Record<string, number> },
      ),
    })),
  };
}

/** The register as the server decodes it from the meter's protocol (its resolution). */
function asDecoded(profile: MeterSpec['profile'], register: number): number {
  if (profile === 'acrel-ddsy1352') return Math.floor(register / 10) * 10; // 0.01 kWh steps
  if (profile === 'sdm120') return Math.round(Math.fround(register / 1000) * 1000); // float32 kWh
  return register;
}

function simulatedRegister(simulator: SimulatorRuntime, meter: MeterSpec): number {
  const dormitory = simulator.campus.dormitory(meter.dormitoryId)!;
  return meter.kind === 'water' ? dormitory.water!.read().volumeL : dormitory.electric!.read().energyWh;
}

interface ServerProcess {
  readonly child: ChildProcess;
  readonly url: string;
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  output(): string;
}

async function startServer(t: Test, env: Record<string, string>): Promise<ServerProcess> {
  const child = spawn(process.execPath, [BIN, 'serve'], { env: { PATH: process.env.PATH ?? '', ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  child.stdout!.on('data', (chunk: Buffer) => (output += chunk.toString()));
  child.stderr!.on('data', (chunk: Buffer) => (output += chunk.toString()));
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => child.once('exit', (code, signal) => resolve({ code, signal })));
  t.teardown(() => {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  });
  const url = await waitFor(
    'the server to listen',
    () => {
      if (child.exitCode !== null) throw new Error(`server exited ${child.exitCode}: ${output}`);
      return /listening on (http:\/\/\S+)/.exec(output)?.[1];
    },
    60_000,
  );
  return { child, url, exited, output: () => output };
}

async function login(url: string): Promise<{ authorization: string }> {
  const response = await fetch(`${url}/api/auth/login`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ username: 'admin', password: ADMIN_PASSWORD }) });
  if (response.status !== 200) throw new Error(`login: ${response.status} ${await response.text()}`);
  return { authorization: `Bearer ${((await response.json()) as { token: string }).token}` };
}

interface LedgerItem {
  readonly kind: string;
  readonly meterId: string | null;
  readonly usage: number | null;
}

/** Committed consumption charges per meter, read through the running server. */
async function chargesByMeter(url: string, auth: { authorization: string }): Promise<Map<string, number>> {
  const counts = new Map<string, number>();
  for (const id of DORMITORIES) {
    const response = await fetch(`${url}/api/dormitories/${id}/ledger?pageSize=500`, { headers: auth });
    if (response.status !== 200) throw new Error(`ledger ${id}: ${response.status}`);
    for (const item of ((await response.json()) as { items: LedgerItem[] }).items) {
      if (item.kind === 'consumption_charge' && item.meterId) counts.set(item.meterId, (counts.get(item.meterId) ?? 0) + 1);
    }
  }
  return counts;
}

async function dormitoriesOnline(url: string, auth: { authorization: string }): Promise<boolean> {
  for (const id of DORMITORIES) {
    const response = await fetch(`${url}/api/dormitories/${id}`, { headers: auth });
    if (response.status !== 200 || !((await response.json()) as { online?: boolean }).online) return false;
  }
  return true;
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

t.test('SIGKILL mid-run and restart: reconcile passes and billed energy equals the register advance', async (t) => {
  // ---- the database the child server will use ----
  const database = await serverProcessDatabase(t, 'crash-recovery');
  let handle = database.handle;
  const { reopen, pglite, env: dbEnv } = database;

  // ---- the simulator, here in the test process, frozen until the server has opened its cursors ----
  let mqttUrl = process.env.MQTT_URL || undefined;
  if (!mqttUrl) {
    const broker = anonymousBroker();
    mqttUrl = (await broker.start()).url;
    t.teardown(() => broker.stop());
  }
  const topicPrefix = `t${randomBytes(4).toString('hex')}/crash`;
  const clock = new SimulatedClock(Date.now(), 0);
  t.teardown(() => clock.dispose());
  const simulator = new SimulatorRuntime({ description: description(), clock, mqttUrl, topicPrefix });
  const endpoints = await simulator.start();
  t.teardown(() => simulator.stop());
  const modbus = endpoints.gateways.get('GW-MB');
  if (modbus?.protocol !== 'modbus-tcp') throw new Error('no Modbus endpoint for GW-MB');
  // Some real, legal load in every room (the furnished rooms add their own).
  for (const id of DORMITORIES) {
    simulator.plugAppliance(id, 'air_conditioner', 'ac');
    simulator.plugAppliance(id, 'laptop', 'socket');
  }
  const opening = new Map(METERS.map((m) => [m.meterId, asDecoded(m.profile, simulatedRegister(simulator, m))]));
  for (const m of METERS) {
    const start = m.kind === 'water' ? (m.initial as number) : Object.values(m.initial as Record<string, number>).reduce((a, b) => a + b, 0);
    t.equal(simulatedRegister(simulator, m), start, `${m.meterId}: the frozen simulator shows its starting register`);
  }

  await seed(handle, `${modbus.host}:${modbus.port}`);
  if (pglite) await handle.close(); // PGlite: one process per data directory

  const env = {
    ...dbEnv,
    MQTT_URL: mqttUrl,
    MQTT_TOPIC_PREFIX: topicPrefix,
    PORT: '0',
    HOST: '127.0.0.1',
    LOG_LEVEL: 'warn',
    POLL_INTERVAL_MS: '200',
    BILLING_POST_INTERVAL_MS: '0',
    LEDGER_FLUSH_MS: '50',
    ADMIN_PASSWORD,
  };

  // ---- first run: open the cursors on the frozen registers, then bill, then SIGKILL ----
  const first = await startServer(t, env);
  let auth = await login(first.url);
  await waitFor('every dormitory online', () => dormitoriesOnline(first.url, auth), 30_000, 200);
  await sleep(1_000); // the opening cursors are committed within LEDGER_FLUSH_MS
  clock.setSpeed(SPEED);
  await waitFor(
    'committed charges for every electricity meter',
    async () => {
      const counts = await chargesByMeter(first.url, auth);
      return ELECTRIC.every((m) => (counts.get(m.meterId) ?? 0) >= 3);
    },
    40_000,
    200,
  );
  await sleep(150 + Math.floor(Math.random() * 200)); // somewhere inside a group-commit cycle
  const killedAt = new Date();
  first.child.kill('SIGKILL');
  const killed = await first.exited;
  t.equal(killed.signal, 'SIGKILL', 'the first server died of SIGKILL');

  // ---- the meters keep counting while the server is dead ----
  const registersAtKill = new Map(METERS.map((m) => [m.meterId, simulatedRegister(simulator, m)]));
  await sleep(3_000);
  const restartedAt = new Date();

  // ---- second run: resumes from the committed cursors, bills the gap once ----
  const second = await startServer(t, env);
  auth = await login(second.url);
  const before = await chargesByMeter(second.url, auth);
  await waitFor(
    'more charges after the restart',
    async () => {
      const counts = await chargesByMeter(second.url, auth);
      return ELECTRIC.every((m) => (counts.get(m.meterId) ?? 0) >= (before.get(m.meterId) ?? 0) + 3);
    },
    40_000,
    200,
  );
  for (const m of ELECTRIC) t.ok(simulatedRegister(simulator, m) > registersAtKill.get(m.meterId)!, `${m.meterId}: the register advanced since the kill`);
  for (const id of ['GW-MB', 'GW-MQ']) {
    // GW-MQ's "online" is a retained status the broker handed over before the driver registered.
    const online = await waitFor(`${id} online after the restart`, async () => {
      const response = await fetch(`${second.url}/api/gateways/${id}`, { headers: auth });
      return ((await response.json()) as { online?: boolean }).online;
    }, 10_000, 200);
    t.ok(online, `${id} is online after the restart`);
  }

  // Freeze the meters, let the server read the final registers, then stop it gracefully.
  clock.setSpeed(0);
  const closing = new Map(METERS.map((m) => [m.meterId, asDecoded(m.profile, simulatedRegister(simulator, m))]));
  await sleep(2_500); // > 2 MQTT publish periods and many Modbus polls
  second.child.kill('SIGTERM');
  let deadline: NodeJS.Timeout | undefined;
  const stopped = await Promise.race([second.exited, new Promise((resolve) => (deadline = setTimeout(() => resolve({ code: null, signal: 'timeout' }), 30_000)))]);
  clearTimeout(deadline);
  t.same(stopped, { code: 0, signal: null }, `SIGTERM stops the server cleanly\n${second.output()}`);

  // ---- reconcile passes ----
  const reconcile = await run(process.execPath, [BIN, 'reconcile'], { env: { PATH: process.env.PATH ?? '', LOG_LEVEL: 'silent', ...dbEnv } }).then(
    ({ stdout }) => ({ code: 0, stdout }),
    (error: { code: number; stdout: string }) => ({ code: error.code, stdout: error.stdout }),
  );
  t.equal(reconcile.code, 0, `reconcile exits 0\n${reconcile.stdout}`);
  t.match(reconcile.stdout, /8 accounts checked, 0 mismatches/);

  // ---- billed energy == register advance, per meter; money == the hand computation ----
  if (pglite) handle = await reopen();
  const db = handle.db;
  const cursors = new Map((await db.selectFrom('billing_cursors').select(['meter_id', 'register']).execute()).map((c) => [c.meter_id, c.register]));
  const charges = await db
    .selectFrom('ledger_entries')
    .select(['id', 'meter_id', 'dormitory_id', 'purse', 'amount', 'usage', 'details', 'created_at'])
    .where('kind', '=', 'consumption_charge')
    .orderBy('id')
    .execute();
  for (const m of METERS) {
    const mine = charges.filter((c) => c.meter_id === m.meterId);
    const billedUsage = mine.reduce((sum, c) => sum + c.usage!, 0);
    const cursor = cursors.get(m.meterId);
    t.equal(cursor, closing.get(m.meterId), `${m.meterId}: the final cursor is the meter's final register`);
    t.equal(billedUsage, cursor! - opening.get(m.meterId)!, `${m.meterId}: billed ${billedUsage} = register advance ${cursor! - opening.get(m.meterId)!} (opening ${opening.get(m.meterId)})`);

    // The charges form one unbroken chain of register intervals: no gap (lost), no overlap (twice).
    let expectedFrom = opening.get(m.meterId)!;
    let chained = true;
    for (const c of mine) {
      const details = c.details as { fromRegister: number; toRegister: number };
      if (details.fromRegister !== expectedFrom || details.toRegister - details.fromRegister !== c.usage || c.usage! <= 0) {
        chained = false;
        t.fail(`${m.meterId}: charge ${c.id} covers ${details.fromRegister}..${details.toRegister} (usage ${c.usage}), expected to start at ${expectedFrom}`);
        break;
      }
      expectedFrom = details.toRegister;
    }
    t.ok(chained, `${m.meterId}: ${mine.length} charges chain from the opening register to the final cursor`);

    const rate = m.kind === 'electric' ? ELECTRIC_RATE : WATER_RATE;
    const billedMoney = mine.reduce((sum, c) => sum - c.amount, 0);
    t.equal(billedMoney, Math.floor((billedUsage * rate) / 1e6), `${m.meterId}: billed ${billedMoney} fen = floor(${billedUsage} x ${rate} / 1e6)`);

    if (m.kind === 'electric') {
      t.ok(mine.some((c) => new Date(c.created_at) < killedAt), `${m.meterId}: charges committed before the kill`);
      t.ok(mine.some((c) => new Date(c.created_at) > restartedAt), `${m.meterId}: charges committed after the restart`);
    }
  }

  // Balances: the opening balance less exactly what was charged.
  const accounts = await db.selectFrom('accounts').select(['dormitory_id', 'purse', 'balance']).execute();
  for (const a of accounts) {
    const charged = charges.filter((c) => c.dormitory_id === a.dormitory_id && c.purse === a.purse).reduce((sum, c) => sum - c.amount, 0);
    t.equal(a.balance, OPENING_BALANCE - charged, `${a.dormitory_id} ${a.purse}: balance = opening - charges`);
  }
  if (pglite) await handle.close();
});
