import type { Executor } from '../../src/db/executor.ts';
import { randomBytes } from 'node:crypto';
import mqtt from 'mqtt';
import type { Test } from 'tap';
import { SimulatedClock } from '../../src/clock.ts';
import { waitFor } from './live-app.ts';
import { anonymousBroker } from './open-broker.ts';
import { buildApp } from '../../src/app.ts';
import { createTestApp, type TestApp } from './test-app.ts';

/**
 * A running app (no simulator, no demo seed) whose meters are MQTT units of one gateway `GW`,
 * read from frames this test publishes through a real broker (MQTT_URL, else an embedded one),
 * on a frozen server clock the test moves. `read` publishes a register, waits until the meter
 * actor has read it and commits the ledger. The caller seeds the database before `start()`.
 */
export interface ForgedMeters extends TestApp {
  readonly clock: SimulatedClock;
  start(units: Readonly<Record<string, string>>): Promise<{ authorization: string }>;
  read(unit: string, register: number): Promise<void>;
  /**
   * Stops the server and starts a new one on the same database, broker and clock (as after a
   * restart; `app` is the new one afterwards); answers the admin's bearer header.
   */
  restart(): Promise<{ authorization: string }>;
}

export async function createForgedMeters(t: Test, startAt: number): Promise<ForgedMeters> {
  let mqttUrl = process.env.MQTT_URL || undefined;
  if (!mqttUrl) {
    const broker = anonymousBroker();
    mqttUrl = (await broker.start()).url;
    t.teardown(() => broker.stop());
  }
  const prefix = `t${randomBytes(4).toString('hex')}/campus`;
  const clock = new SimulatedClock(startAt, 0);
  t.teardown(() => clock.dispose());
  const test = await createTestApp(t, { seedDemo: false, clock, env: { MQTT_URL: mqttUrl, MQTT_TOPIC_PREFIX: prefix, BILLING_POST_INTERVAL_MS: '0', LEDGER_FLUSH_MS: '20' } });
  let app = test.app;
  let meterIdOf: Readonly<Record<string, string>> = {};
  let admin: { authorization: string } | undefined;
  const publisher = await mqtt.connectAsync(mqttUrl, { clientId: `forger-${randomBytes(3).toString('hex')}`, clean: true });
  t.teardown(() => publisher.endAsync());
  const billedRegister = async (meterId: string) => {
    const response = await app.http.inject({ method: 'GET', url: `/api/meters/${meterId}/billing`, headers: admin });
    return response.json<{ register: number | null }>().register;
  };
  const login = async (username: string, password: string) => {
    const response = await app.http.inject({ method: 'POST', url: '/api/auth/login', payload: { username, password } });
    if (response.statusCode !== 200) throw new Error(`login failed: ${response.statusCode} ${response.body}`);
    return { authorization: `Bearer ${response.json<{ token: string }>().token}` };
  };
  const boot = async () => {
    await app.start();
    admin = await login('admin', 'test-admin-password');
    await waitFor('the MQTT gateway subscribed', async () => (await app.runtime.gateway('GW'))?.meters === Object.keys(meterIdOf).length, 10_000, 20);
    return admin;
  };
  return {
    ...test,
    get app() {
      return app;
    },
    login,
    clock,
    async start(units) {
      meterIdOf = units;
      return boot();
    },
    async restart() {
      await app.stop();
      app = await buildApp(test.config, { seedDemo: false, clock, database: test.database });
      t.teardown(() => app.stop());
      return boot();
    },
    async read(unit, register) {
      const values = unit.startsWith('w') ? { volumeL: register, valveOpen: true } : { energyWh: register, voltageV: 230, currentA: 0.5, powerW: 100, powerFactor: 1 };
      await publisher.publishAsync(`${prefix}/GW/telemetry`, JSON.stringify({ [unit]: [{ ts: clock.now(), values }] }), { qos: 1 });
      await waitFor(`${meterIdOf[unit]} reads ${register}`, async () => (await billedRegister(meterIdOf[unit]!)) === register, 10_000, 20);
      await app.runtime.flush();
    },
  };
}

/** Campus `c` (Asia/Shanghai, UTC+8) with building `B`, its MQTT gateway `GW` and a single-rate electricity tariff `flat` (milli-fen per kWh). */
export async function seedFlatCampus(db: Executor, rate: number): Promise<void> {
  await db.insertInto('campuses').values({ id: 'c', name: 'Campus', utc_offset_minutes: 480, time_zone: 'Asia/Shanghai' }).execute();
  await db.insertInto('buildings').values({ id: 'B', campus_id: 'c', name: 'B', floors: 1 }).execute();
  await db.insertInto('tariffs').values({ id: 'flat', name: 'Flat', purse: 'electricity', definition: JSON.stringify({ kind: 'single', rate }) }).execute();
  await db.insertInto('gateways').values({ id: 'GW', campus_id: 'c', building_id: 'B', protocol: 'mqtt', address: 'GW' }).execute();
}
