import t from 'tap';
import { SimulatedClock } from '../../src/clock.ts';
import { ADMIN_PASSWORD, createTestApp } from '../helpers/test-app.ts';

/**
 * GET /api/me/usage: a student's own room by day on the campus's clock (UTC+8 in the demo),
 * from the usage report (docs/reports.md), each circuit aligned with the days. The session names
 * the room; there is no parameter to ask for another.
 */
t.test('a student reads their own room’s usage by day and by circuit', async (t) => {
  // The server's clock is frozen at a fixed local afternoon: 'today' is the same day for the
  // readings laid out here and for the server's later answer (no local midnight in between).
  const now = Date.parse('2026-11-18T15:00:00+08:00');
  const test = await createTestApp(t, { clock: new SimulatedClock(now, 0) });
  const { db } = test.database;
  // Local days (UTC+8) of the readings: 15:45Z is 23:45 local, 16:00Z already the next local day.
  const at = (iso: string) => new Date(iso);
  const reading = (meter_id: string, channel: string, iso: string, usage: number) => ({ meter_id, channel, interval_start: at(iso), usage, max_power_w: 500, register_end: 0 });
  const dayStart = (offsetDays: number) => {
    const local = new Date(now + 8 * 3_600_000);
    return Date.UTC(local.getUTCFullYear(), local.getUTCMonth(), local.getUTCDate() - offsetDays) - 8 * 3_600_000;
  };
  const iso = (ms: number) => new Date(ms).toISOString();
  await db
    .insertInto('interval_readings')
    .values([
      reading('M-A-103', 'main', iso(dayStart(0)), 700), // today, first quarter hour
      reading('M-A-103', 'socket', iso(dayStart(0)), 600),
      reading('M-A-103', 'main', iso(dayStart(0) - 900_000), 300), // yesterday's last quarter hour
      reading('M-A-103', 'lighting', iso(dayStart(0) - 900_000), 300),
      reading('M-A-103', 'main', iso(dayStart(2) + 3_600_000), 1000), // two days ago
      reading('M-A-104', 'main', iso(dayStart(0)), 9999), // another room
    ])
    .execute();

  const student = await test.as('student', 'A-103');
  const response = await test.app.http.inject({ method: 'GET', url: '/api/me/usage?days=3', headers: student });
  t.equal(response.statusCode, 200, response.body);
  const usage = response.json<{ dormitoryId: string; timeZone: string; from: string; to: string; days: { start: string; energyWh: number }[]; circuits: { kind: string; energyWh: number[] }[] }>();
  t.equal(usage.dormitoryId, 'A-103', 'my own room');
  t.equal(usage.timeZone, 'Etc/GMT-8', 'the days are cut on the campus’s IANA zone (the demo campus: UTC+8)');
  t.same(
    usage.days.map((d) => [d.start, d.energyWh]),
    [
      [iso(dayStart(2)), 1000],
      [iso(dayStart(1)), 300],
      [iso(dayStart(0)), 700],
    ],
    'three local days, today last; 23:45 local is yesterday, 00:00 today; another room’s readings are not mine',
  );
  const byKind = Object.fromEntries(usage.circuits.map((c) => [c.kind, c.energyWh]));
  t.same(byKind, { lighting: [0, 300, 0], socket: [0, 0, 600], ac: [0, 0, 0] }, 'each circuit per day, aligned with the days');

  t.equal((await test.app.http.inject({ method: 'GET', url: '/api/me/usage', headers: student })).json<{ days: unknown[] }>().days.length, 14, 'fourteen days by default');
  const tooMany = await test.app.http.inject({ method: 'GET', url: '/api/me/usage?days=63', headers: student });
  t.equal(tooMany.statusCode, 400);
  t.equal(tooMany.json<{ error: { field: string } }>().error.field, 'days', 'more than 62 days is a 400 naming days');
  const admin = await test.login('admin', ADMIN_PASSWORD);
  t.equal((await test.app.http.inject({ method: 'GET', url: '/api/me/usage', headers: admin })).statusCode, 403, 'staff read usage through /api/reports/usage');
  const homeless = await test.as('student');
  const none = await test.app.http.inject({ method: 'GET', url: '/api/me/usage', headers: homeless });
  t.equal(none.statusCode, 409);
  t.equal(none.json<{ error: { code: string } }>().error.code, 'NOT_CHECKED_IN', 'a student with no room has no usage');
});
