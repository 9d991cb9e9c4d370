import { randomBytes } from 'node:crypto';
import pino from 'pino';
import type { Test } from 'tap';
import { buildApp, type App } from '../../src/app.ts';
import { loadConfig } from '../../src/config.ts';
import { openDatabase } from '../../src/db/connect.ts';
import { liveAppEnv, quietRules } from './live-app.ts';
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
 * Plugs an always-on air conditioner (inductive: no malignant-load trip) into each room, so that
 * charges and register advances do not wait on the wall clock's time of day: at 1x a campus
 * can draw only its 5 W standbys for hours (a night after a 'mild' day, or a late morning), its
 * first whole Wh 12 simulated minutes away. Answers the rooms.
 */
export function runAirConditioners(app: App, rooms: readonly string[]): readonly string[] {
  for (const room of rooms) app.simulator!.plugAppliance(room, 'air_conditioner', 'ac');
  return rooms;
}
