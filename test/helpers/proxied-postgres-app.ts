import { randomBytes } from 'node:crypto';
import pino from 'pino';
import type { Test } from 'tap';
import { buildApp, type App } from '../../src/app.ts';
import { loadConfig } from '../../src/config.ts';
import { openDatabase } from '../../src/db/connect.ts';
import { liveAppEnv, quietRules, waitFor } from './live-app.ts';
import { ADMIN_PASSWORD } from './test-app.ts';
import { createTestDatabase, type TestDatabase } from './test-database.ts';
import { startTcpProxy, type TcpProxy } from './tcp-proxy.ts';

export interface ProxiedPostgresApp {
  readonly app: App;
  /** Between the app and PostgreSQL: `down()` cuts it off, `up()` restores it. */
  readonly proxy: TcpProxy;
  /** The test's own schema over a direct connection: the truth, whatever the proxy does. */
  readonly direct: TestDatabase['db'];
  readonly applicationName: string;
}

/**
 * The live app (simulator, demo campus) on a fresh schema of the PostgreSQL at DATABASE_URL,
 * reached through a TCP proxy so a test can stage a database outage. Not started.
 */
export async function proxiedPostgresApp(t: Test, options: { env?: Record<string, string>; commandRetryMs?: number; onConnectionError?: () => void; name?: string } = {}): Promise<ProxiedPostgresApp> {
  const databaseUrl = process.env.DATABASE_URL;
  if (!databaseUrl) throw new Error('proxiedPostgresApp needs DATABASE_URL');
  const target = new URL(databaseUrl);
  const schemaDb = await createTestDatabase(); // a fresh, migrated schema; its own direct connection reads the truth
  t.teardown(() => schemaDb.close());
  const proxy = await startTcpProxy(target.hostname, Number(target.port || 5432));
  t.teardown(() => proxy.close());
  const proxied = new URL(databaseUrl);
  proxied.hostname = '127.0.0.1';
  proxied.port = String(proxy.port);
  const applicationName = `${options.name ?? 'proxied'}-${randomBytes(4).toString('hex')}`;
  const handle = await openDatabase({ databaseUrl: proxied.toString(), dataDir: '', schema: schemaDb.schema, applicationName, poolSize: 5, onConnectionError: options.onConnectionError });
  const config = loadConfig({ ADMIN_PASSWORD, LOG_LEVEL: 'silent', PORT: '0', HOST: '127.0.0.1', ...liveAppEnv(), ...options.env });
  const app = await buildApp(config, { database: handle, seedDemo: true, ...(options.commandRetryMs === undefined ? {} : { commandRetryMs: options.commandRetryMs }), logger: pino({ level: 'silent' }) });
  t.teardown(async () => {
    await app.stop();
    await handle.close();
  });
  return { app, proxy, direct: schemaDb.db, applicationName };
}

/**
 * Starts the app, signs the admin in and sets the demo campus's rules quiet but for a
 * malignant-load trip that never recloses (a kettle on a socket is cut); answers the admin's header.
 */
export async function startTrippingApp(t: Test, app: App): Promise<{ authorization: string }> {
  await app.start();
  const login = await app.http.inject({ method: 'POST', url: '/api/auth/login', payload: { username: 'admin', password: ADMIN_PASSWORD } });
  const admin = { authorization: `Bearer ${login.json<{ token: string }>().token}` };
  await quietRules({ app, admin });
  // A rule PUT answers once every meter actor has the new rules.
  t.equal((await app.http.inject({ method: 'PUT', url: '/api/rules/campus/demo/malignantLoad', headers: admin, payload: { config: { mode: 'trip' } } })).statusCode, 200, 'malignant-load detection on');
  t.equal((await app.http.inject({ method: 'PUT', url: '/api/rules/campus/demo/reclose', headers: admin, payload: { config: { cooldownSeconds: 3600, maxReclosesPerDay: 0 } } })).statusCode, 200, 'no reclose');
  return admin;
}

/**
 * Makes each room draw a steady load on its AC circuit (no schedule cuts it; inductive and
 * allowed, so no malignant-load trip), so that charges and register advances do not wait on the
 * wall clock's time of day. The campus's own rhythm can draw only 5 W standbys for hours (a night
 * after a 'mild' day, a late morning), its first whole Wh 12 simulated minutes away; and an
 * air conditioner alone does not do: its compressor cycles (on 12 minutes in 20, in phase per
 * appliance), so a wait inside its off-cycle sees nothing but standby (cut-database-stall and
 * database-outage failed so at 20:05 UTC). So each room gets the air conditioner and two
 * laptops, a load of at least 90 W that never cycles: a whole Wh at least every 40 s. Answers the rooms.
 * Call it after quietRules (its AC-standby rule is off). `laptops: 0`: the air conditioner alone.
 */
export function runSteadyLoad(app: App, rooms: readonly string[], laptops = 2): readonly string[] {
  for (const room of rooms) {
    app.simulator!.plugAppliance(room, 'air_conditioner', 'ac');
    for (let i = 0; i < laptops; i++) app.simulator!.plugAppliance(room, 'laptop', 'ac');
  }
  return rooms;
}

/** Consumption-charge rows committed so far (read directly, whatever the proxy does). */
export async function consumptionCharges(direct: TestDatabase['db']): Promise<number> {
  return Number((await direct.selectFrom('ledger_entries').select((eb) => eb.fn.countAll<number>().as('n')).where('kind', '=', 'consumption_charge').executeTakeFirstOrThrow()).n);
}

/**
 * Waits until more than `above` consumption charges are committed. At 1x the next charge waits
 * for a register's next whole Wh and for the commits queued ahead of it. On a timeout the message
 * says what the ledger was doing (waiting for the database? items pending?) and what the rooms of
 * runSteadyLoad were drawing, per circuit, with their relays: a ledger that never commits, a
 * room that draws nothing and a cut circuit read differently.
 */
export async function consumptionChargesCommitted(app: App, direct: TestDatabase['db'], what: string, above: number, rooms: readonly string[]): Promise<void> {
  try {
    await waitFor(what, async () => (await consumptionCharges(direct)) > above, 60_000);
  } catch (error) {
    const drawing = rooms.map((room) => {
      const reading = app.simulator!.campus.dormitory(room)?.electric?.read();
      const circuits = reading?.circuits.map((c) => `${c.kind} ${c.powerW.toFixed(1)} W ${c.energyWh} Wh ${c.relayClosed ? 'closed' : 'OPEN'}`).join(', ');
      return `${room}: ${circuits ?? 'no electric meter'}`;
    });
    throw new Error(`${(error as Error).message}; ledger ${JSON.stringify(app.runtime.ledgerStatus)}; simulator ${drawing.join('; ')}`, { cause: error });
  }
}
