import ExcelJS from 'exceljs';
import t from 'tap';
import { SimulatedClock } from '../../src/clock.ts';
import { appendPostings } from '../../src/db/ledger.repository.ts';
import { DEMO_CAMPUS_SHAPE } from '../../src/services/demo-campus.seed.ts';
import { createTestApp } from '../helpers/test-app.ts';

/**
 * Consumption statistics (issue 11) against a hand computation on a fixed history of recorded
 * 15-minute readings and consumption charges, straddling the demo campus's (UTC+8) midnight and
 * month end: local 2026-03-01 00:00 is 2026-02-28T16:00Z. PGlite, and PostgreSQL with DATABASE_URL.
 */
const MIDNIGHT = '2026-02-28T16:00:00.000Z';
const at = (hhmm: string) => new Date(`2026-02-28T${hhmm}:00.000Z`);

interface Bucket {
  start: string;
  energyWh: number;
  costFen: number | null;
  peakW: number;
  waterL: number | null;
  waterCostFen: number | null;
}
interface Usage {
  scope: string;
  id: string;
  interval: string;
  from: string;
  to: string;
  utcOffsetMinutes: number;
  buckets: Bucket[];
}

t.test('usage per bucket on the campus clock equals a hand computation, and the exports carry the same totals', async (t) => {
  const test = await createTestApp(t, { clock: new SimulatedClock(Date.parse('2026-03-02T00:00:00Z'), 0), demoShape: { ...DEMO_CAMPUS_SHAPE, floors: 2, roomsPerFloor: 2 } });
  const { db } = test.database;
  const reading = (meter_id: string, channel: string, start: string, usage: number, max_power_w: number | null) => ({ meter_id, channel, interval_start: at(start), usage, max_power_w, register_end: 0 });
  await db
    .insertInto('interval_readings')
    .values([
      reading('M-A-101', 'main', '15:45', 100, 500), // local 2026-02-28 23:45
      reading('M-A-101', 'main', '16:00', 200, 800), // local 2026-03-01 00:00
      reading('M-A-102', 'main', '16:00', 50, 300), // same interval, other room: peaks add up
      reading('M-A-101', 'lighting', '16:00', 30, 60), // a circuit: not the billed line
      reading('M-A-101', 'main', '16:15', 120, 1500),
      reading('W-A-101', 'water', '16:15', 40, null),
      reading('M-B-101', 'main', '16:15', 999, 9999), // another building
      reading('M-A-201', 'main', '16:30', 70, 100), // floor 2
    ])
    .execute();
  const charge = (dormitoryId: string, purse: 'electricity' | 'water', fen: number, hhmm: string) => ({ dormitoryId, purse, kind: 'consumption_charge' as const, amount: -fen, usage: 1, occurredAt: at(hhmm) });
  await appendPostings(db, [charge('A-101', 'electricity', 30, '15:50'), charge('A-101', 'electricity', 45, '16:20'), charge('A-102', 'electricity', 10, '16:05'), charge('A-101', 'water', 14, '16:20'), charge('B-101', 'electricity', 500, '16:20')]);
  await appendPostings(db, [{ dormitoryId: 'A-101', purse: 'electricity', kind: 'recharge', amount: 7_000, occurredAt: at('16:10') }]); // money in is not cost
  const manager = await test.as('manager');
  const get = async (query: string) => {
    const response = await test.app.http.inject({ method: 'GET', url: `/api/reports/usage?${query}`, headers: manager });
    t.equal(response.statusCode, 200, `${query} is served (${response.statusCode === 200 ? '' : response.body})`);
    return response.json<Usage>();
  };
  const b = (start: string, energyWh: number, costFen: number | null, peakW: number, waterL: number | null, waterCostFen: number | null): Bucket => ({ start, energyWh, costFen, peakW, waterL, waterCostFen });

  const room = await get(`scope=dormitory&id=A-101&interval=15m&from=2026-02-28T15:45:00Z&to=2026-02-28T16:30:00Z`);
  t.same(room.buckets, [b('2026-02-28T15:45:00.000Z', 100, 30, 500, 0, 0), b(MIDNIGHT, 200, 0, 800, 0, 0), b('2026-02-28T16:15:00.000Z', 120, 45, 1500, 40, 14)], 'a room by quarter hour: its meters, its charges, its water');
  t.match(room, { scope: 'dormitory', id: 'A-101', interval: '15m', utcOffsetMinutes: 480, from: '2026-02-28T15:45:00.000Z', to: '2026-02-28T16:30:00.000Z' }, 'the answer says what it covers');

  const floor = await get(`scope=floor&id=BA:1&interval=day&from=2026-02-28T12:00:00Z&to=2026-03-01T12:00:00Z`);
  // Local days begin at 16:00Z; the quarter hour at 15:45Z is the 28th, 16:00Z the 1st. Peak: 800+300 at 16:00 < 1500 at 16:15.
  t.same(floor.buckets, [b('2026-02-27T16:00:00.000Z', 100, 30, 500, 0, 0), b(MIDNIGHT, 370, 55, 1500, 40, 14)], 'a floor by local day: cut at local midnight, not UTC');
  t.equal(floor.to, '2026-03-01T16:00:00.000Z', 'the range is widened to whole local days');

  const building = await get(`scope=building&id=BA&interval=month&from=2026-02-10T00:00:00Z&to=2026-03-05T00:00:00Z`);
  t.same(building.buckets, [b('2026-01-31T16:00:00.000Z', 100, 30, 500, 0, 0), b(MIDNIGHT, 440, 55, 1500, 40, 14)], 'a building by local month: February ends at 16:00Z on the 28th');
  t.equal(building.to, '2026-03-31T16:00:00.000Z', 'March ends at local midnight');

  const campus = await get(`scope=campus&id=demo&interval=hour&from=2026-02-28T15:00:00Z&to=2026-02-28T17:00:00Z`);
  // 16:15: 1500 + 9999 (A-101 and B-101 at once) is the highest sum.
  t.same(campus.buckets, [b('2026-02-28T15:00:00.000Z', 100, 30, 500, 0, 0), b(MIDNIGHT, 200 + 50 + 120 + 999 + 70, 45 + 10 + 500, 11_499, 40, 14)], 'the campus by hour: every building');

  const circuit = await get(`scope=circuit&id=M-A-101:lighting&interval=15m&from=2026-02-28T15:45:00Z&to=2026-02-28T16:15:00Z`);
  t.same(circuit.buckets, [b('2026-02-28T15:45:00.000Z', 0, null, 0, null, null), b(MIDNIGHT, 30, null, 60, null, null)], "a circuit: its own channel; money and water are the room's, not the circuit's");

  const quiet = await get('scope=dormitory&id=A-102&interval=hour');
  t.equal(quiet.buckets.length, 24, 'by default the last day by hour, on the injected clock');
  t.equal(quiet.to, '2026-03-02T00:00:00.000Z', 'ending now');
  t.ok(quiet.buckets.every((x) => x.energyWh === 0 && x.costFen === 0), 'empty buckets are listed as zeros');

  // The exports carry the JSON's numbers.
  const query = `scope=building&id=BA&interval=day&from=2026-02-27T00:00:00Z&to=2026-03-02T00:00:00Z`;
  const json = await get(query);
  const sum = (key: 'energyWh' | 'costFen' | 'peakW' | 'waterL') => json.buckets.reduce((s, x) => s + (x[key] ?? 0), 0);
  t.same([sum('energyWh'), sum('costFen'), sum('waterL')], [540, 85, 40], 'the JSON holds the history');
  const csv = await test.app.http.inject({ method: 'GET', url: `/api/reports/usage?${query}&format=csv`, headers: manager });
  t.equal(csv.statusCode, 200, 'the CSV is served');
  t.match(csv.headers['content-type'], /^text\/csv/, 'as text/csv');
  const [header, ...records] = csv.body.trimEnd().split('\r\n').map((line) => line.split(','));
  t.same(header, ['scope', 'id', 'interval', 'start', 'energy_wh', 'cost_fen', 'peak_w', 'water_l', 'water_cost_fen'], 'the documented columns');
  const column = (rows: unknown[][], names: unknown[], name: string) => rows.map((r) => Number(r[names.indexOf(name)]));
  const total = (values: number[]) => values.reduce((s, v) => s + v, 0);
  t.equal(records.length, json.buckets.length, 'one CSV row per bucket');
  t.same(['energy_wh', 'cost_fen', 'water_l'].map((c) => total(column(records, header!, c))), [sum('energyWh'), sum('costFen'), sum('waterL')], "the CSV's totals are the JSON's");
  t.same(column(records, header!, 'peak_w'), json.buckets.map((x) => x.peakW), "the CSV's peaks are the JSON's");

  const xlsx = await test.app.http.inject({ method: 'GET', url: `/api/reports/usage?${query}&format=xlsx`, headers: manager });
  t.equal(xlsx.statusCode, 200, 'the XLSX is served');
  const workbook = new ExcelJS.Workbook();
  await workbook.xlsx.load(xlsx.rawPayload as unknown as ArrayBuffer);
  const rows: unknown[][] = [];
  workbook.worksheets[0]!.eachRow((row) => rows.push((row.values as unknown[]).slice(1)));
  const [sheetHeader, ...sheetRows] = rows;
  t.same(sheetHeader, header, 'the XLSX has the CSV columns');
  t.same(['energy_wh', 'cost_fen', 'water_l'].map((c) => total(column(sheetRows, sheetHeader!, c))), [sum('energyWh'), sum('costFen'), sum('waterL')], "the XLSX's totals are the JSON's");

  // Bad input names the field.
  const bad = async (q: string, status: number, field: string) => {
    const response = await test.app.http.inject({ method: 'GET', url: `/api/reports/usage?${q}`, headers: manager });
    t.equal(response.statusCode, status, `${q}: ${status}`);
    t.equal(response.json().error?.field, field, `${q}: names ${field}`);
  };
  await bad('scope=floor&id=BA', 400, 'id');
  await bad('scope=planet&id=x', 400, 'scope');
  await bad('scope=dormitory&id=Z-999', 404, 'id');
  await bad('scope=floor&id=BA:9', 404, 'id');
  await bad('scope=dormitory&id=A-101&from=2026-03-01T00:00:00Z&to=2026-02-01T00:00:00Z', 400, 'to');
  await bad('scope=dormitory&id=A-101&interval=15m&from=2025-01-01T00:00:00Z&to=2026-03-01T00:00:00Z', 400, 'interval');
  t.equal((await test.app.http.inject({ method: 'GET', url: '/api/reports/usage?scope=campus&id=demo', headers: await test.as('student', 'A-101') })).statusCode, 403, 'a student reads the campus through /api/me, not here');
});
