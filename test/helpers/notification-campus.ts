import pino from 'pino';
import type { Test } from 'tap';
import type { SimulatedClock } from '../../src/clock.ts';
import type { DispatcherOptions } from '../../src/services/notification-dispatcher.ts';
import { createTestDatabase, type TestDatabase } from './test-database.ts';

/** One campus, building and dormitory `d1` with the given occupants, on a fresh database: what the dispatcher tests deliver to. */
export async function notificationCampus(t: Test, occupants: readonly { student_number: string; name: string; phone?: string; email?: string }[]): Promise<TestDatabase> {
  const database = await createTestDatabase();
  t.teardown(() => database.close());
  const { db } = database;
  await db.insertInto('campuses').values({ id: 'c', name: 'C' }).execute();
  await db.insertInto('buildings').values({ id: 'b', campus_id: 'c', name: 'B' }).execute();
  await db.insertInto('dormitories').values({ id: 'd1', building_id: 'b', floor: 1, room: 'd1' }).execute();
  await db.insertInto('occupants').values([...occupants]).execute();
  return database;
}

/** Dispatcher options for tests: a fixed UTC+8 (480 minutes), no quiet hours, a loose throttle, 30 s backoff base. */
export function dispatcherOptions(database: TestDatabase, clock: SimulatedClock, overrides: Partial<DispatcherOptions>): DispatcherOptions {
  return {
    db: database.db,
    clock,
    log: pino({ level: 'silent' }),
    channels: [],
    zone: 480,
    quietHours: null,
    throttle: { max: 100, windowMs: 3_600_000 },
    backoff: { baseMs: 30_000, maxMs: 3_600_000 },
    maxAttempts: 10,
    pollMs: 10_000,
    ...overrides,
  };
}
