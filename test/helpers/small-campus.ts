import type { Test } from 'tap';
import { createTestDatabase, type TestDatabase } from './test-database.ts';

/**
 * A fresh database holding the smallest campus the ledger writer needs: campus `c`, building `b`,
 * MQTT gateway `g`, and per dormitory id its room, both purses' accounts and one campus meter
 * `m-<id>`. Closed after the test.
 */
export async function smallCampus(t: Test, dormitoryIds: readonly string[]): Promise<TestDatabase> {
  const database = await createTestDatabase();
  t.teardown(() => database.close());
  const { db } = database;
  await db.insertInto('campuses').values({ id: 'c', name: 'C' }).execute();
  await db.insertInto('buildings').values({ id: 'b', campus_id: 'c', name: 'B' }).execute();
  await db.insertInto('gateways').values({ id: 'g', campus_id: 'c', protocol: 'mqtt', address: 'g' }).execute();
  for (const id of dormitoryIds) {
    await db.insertInto('dormitories').values({ id, building_id: 'b', floor: 1, room: id }).execute();
    await db.insertInto('accounts').values([{ dormitory_id: id, purse: 'electricity' as const }, { dormitory_id: id, purse: 'water' as const }]).execute();
    await db.insertInto('meters').values({ id: `m-${id}`, dormitory_id: id, kind: 'electric' as const, profile: 'campus-1in3out', gateway_id: 'g', unit_address: id }).execute();
  }
  return database;
}
