import t from 'tap';
import { buildApp } from '../../src/app.ts';
import { loadConfig } from '../../src/config.ts';
import { createTestDatabase } from '../helpers/test-database.ts';
import { ADMIN_PASSWORD, TEST_ENV } from '../helpers/test-app.ts';

/**
 * Found from outside: `serve --simulate` run at SIMULATOR_SPEED=60 for a while, then restarted
 * at speed 1, started its simulated clock at the wall clock, an hour behind the billing cursors;
 * every meter's postings then waited for the clock to catch up (a pending charge unposted).
 * A restarted simulated clock starts no earlier than the latest billed reading of a simulated meter.
 */
t.test('a restarted simulated clock starts at the latest billed reading, not behind it', async (t) => {
  const database = await createTestDatabase();
  t.teardown(() => database.close());
  const db = database.db;
  const billedAt = Date.now() + 3 * 3_600_000;
  await db.transaction().execute(async (trx) => {
    await trx.insertInto('campuses').values({ id: 'c', name: 'Campus', utc_offset_minutes: 480 }).execute();
    await trx.insertInto('buildings').values({ id: 'B', campus_id: 'c', name: 'B', floors: 1 }).execute();
    await trx.insertInto('gateways').values({ id: 'GW', campus_id: 'c', building_id: 'B', protocol: 'modbus-tcp', address: 'simulator' }).execute();
    await trx.insertInto('dormitories').values({ id: 'D-1', building_id: 'B', floor: 1, room: '101' }).execute();
    await trx.insertInto('meters').values({ id: 'M-1', dormitory_id: 'D-1', kind: 'electric', profile: 'sdm120', gateway_id: 'GW', unit_address: '1' }).execute();
    await trx.insertInto('billing_cursors').values({ meter_id: 'M-1', register: 5_000, read_at: new Date(billedAt), billing_state: JSON.stringify({}) }).execute();
  });
  const config = loadConfig({ ADMIN_PASSWORD, LOG_LEVEL: 'silent', PORT: '0', HOST: '127.0.0.1', ...TEST_ENV, SIMULATE: 'true', SIMULATOR_SPEED: '1' });
  const app = await buildApp(config, { seedDemo: true, database });
  t.teardown(() => app.stop());
  const now = app.context.clock.now();
  t.ok(now >= billedAt, `the clock starts at the billed reading (${new Date(now).toISOString()} >= ${new Date(billedAt).toISOString()})`);
  t.ok(now < billedAt + 60_000, 'and not beyond it');
});
